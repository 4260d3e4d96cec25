"""The command's logging: JSON lines off a terminal, text lines with timestamps on one, levels from anywhere on
the command line, the libraries kept at WARNING, storywire's progress and outage lines shown by default."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import orjson
import pytest

from storywire.connectors.kafka.producer import OUTAGE_LOGGER
from storywire.pipelines.cli import logs
from storywire.pipelines.cli.main import main, parse_command_line
from storywire.pipelines.cli.progress import LOGGER as REPLAY_PROGRESS_LOGGER
from storywire.pipelines.live.progress import FEEDS_LOGGER, PROGRESS_LOGGER

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
NAMES = ("", "storywire", PROGRESS_LOGGER, FEEDS_LOGGER, OUTAGE_LOGGER, "kafka", "apache_beam", "warcio")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in (*NAMES, *logs.SILENCED, *logs.THIRD_PARTY)}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _configured(level: str | None = None, fmt: str = "json", verbose: int = 0) -> io.StringIO:
    out = io.StringIO()
    logs.configure(logs.resolve(level, fmt, verbose, environ={}), stream=out)
    return out


def test_json_lines_carry_timestamp_level_logger_message_and_the_extra_attributes() -> None:
    out = _configured("info")
    logging.getLogger(FEEDS_LOGGER).info(
        "feed %s: %s", "https://a.example/rss", "ok", extra={"feed_url": "https://a.example/rss", "outcome": "ok"}
    )
    (line,) = out.getvalue().splitlines()
    entry = orjson.loads(line)
    assert re.fullmatch(TIMESTAMP, entry.pop("timestamp"))
    assert entry == {
        "level": "INFO",
        "logger": FEEDS_LOGGER,
        "message": "feed https://a.example/rss: ok",
        "feed_url": "https://a.example/rss",
        "outcome": "ok",
    }


def test_json_holds_a_traceback_and_values_json_cannot_hold() -> None:
    out = _configured()
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logging.getLogger("storywire.x").exception("failed", extra={"level": "clash", "when": object()})
    (line,) = out.getvalue().splitlines()  # one line, the traceback escaped inside it
    entry = orjson.loads(line)
    assert entry["level"] == "ERROR" and entry["extra.level"] == "clash"
    assert entry["when"].startswith("<object object")
    assert "ValueError: bad\nthing" in entry["exc_info"]


def test_text_lines_start_with_a_timestamp_and_name_other_libraries() -> None:
    out = _configured(fmt="text")
    logging.getLogger(PROGRESS_LOGGER).info("live: 3 polls")
    logging.getLogger("apache_beam.io").warning("slow")
    first, second = out.getvalue().splitlines()
    assert re.fullmatch(rf"{TIMESTAMP} INFO live: 3 polls", first)
    assert re.fullmatch(rf"{TIMESTAMP} WARNING \[apache_beam.io\] slow", second)


def test_format_follows_the_terminal_unless_asked() -> None:
    assert logs.resolve(None, None, stream=_Terminal(), environ={}).format == "text"
    assert logs.resolve(None, None, stream=io.StringIO(), environ={}).format == "json"
    assert logs.resolve(None, "text", stream=io.StringIO(), environ={}).format == "text"
    assert logs.resolve(None, None, stream=_Terminal(), environ={logs.FORMAT_ENV: "json"}).format == "json"


def test_level_from_the_flag_the_environment_or_v() -> None:
    assert logs.resolve(None, "json", 0, environ={}).level is None
    assert logs.resolve(None, "json", 1, environ={}).level == logging.INFO
    assert logs.resolve(None, "json", 2, environ={}).level == logging.DEBUG
    assert logs.resolve("error", "json", 2, environ={}).level == logging.ERROR
    assert logs.resolve(None, "json", 0, environ={logs.LEVEL_ENV: "debug"}).level == logging.DEBUG
    with pytest.raises(ValueError, match="STORYWIRE_LOG_LEVEL='loud' is not a level"):
        logs.resolve(None, "json", environ={logs.LEVEL_ENV: "loud"})


def test_default_shows_progress_and_outage_lines_not_poll_events_nor_library_noise() -> None:
    out = _configured()
    logging.getLogger(PROGRESS_LOGGER).info("progress")
    logging.getLogger(OUTAGE_LOGGER).info("broker back")
    logging.getLogger(FEEDS_LOGGER).info("poll event")
    logging.getLogger("storywire.connectors.x").info("detail")
    logging.getLogger("kafka.conn").error("connection refused")  # said in our own one-line error instead
    logging.getLogger("apache_beam.runners.common").error("bundle failed")
    logging.getLogger("apache_beam.io").info("beam chatter")
    logging.getLogger("apache_beam.io").warning("beam warning")
    assert [orjson.loads(line)["message"] for line in out.getvalue().splitlines()] == [
        "progress",
        "broker back",
        "beam warning",
    ]


def test_debug_is_ours_the_libraries_stay_at_warning() -> None:
    out = _configured("debug")
    logging.getLogger("storywire.connectors.x").debug("ours")
    logging.getLogger("apache_beam.io").info("beam chatter")
    logging.getLogger("kafka.conn").debug("kafka chatter")
    logging.getLogger("kafka.conn").error("connection refused")
    assert [orjson.loads(line)["message"] for line in out.getvalue().splitlines()] == ["ours", "connection refused"]


def test_an_explicit_level_above_info_hides_the_progress_lines() -> None:
    out = _configured("error")
    logging.getLogger(PROGRESS_LOGGER).info("progress")
    logging.getLogger(OUTAGE_LOGGER).warning("broker unreachable")
    logging.getLogger(OUTAGE_LOGGER).error("gave up")
    assert [orjson.loads(line)["message"] for line in out.getvalue().splitlines()] == ["gave up"]


def test_the_default_visible_loggers_are_the_ones_the_code_uses() -> None:
    assert set(logs.DEFAULT_VISIBLE) == {PROGRESS_LOGGER, OUTAGE_LOGGER, REPLAY_PROGRESS_LOGGER}
    assert logs.QUIET_BY_DEFAULT == (FEEDS_LOGGER,)


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-level", "debug", "-v", "config", "check", "x.yaml"],
        ["config", "--log-level", "debug", "-v", "check", "x.yaml"],
        ["config", "check", "x.yaml", "-v", "--log-level", "DEBUG"],
        ["-v", "config", "check", "--log-level=debug", "x.yaml"],
    ],
)
def test_global_options_go_anywhere(argv: list[str]) -> None:
    args, beam = parse_command_line(argv)
    assert (args.command, args.config_command, args.file) == ("config", "check", "x.yaml")
    assert (args.log_level, args.verbose, beam) == ("debug", 1, [])


def test_v_counts_across_the_line_and_format_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    args, _ = parse_command_line(["-v", "topics", "-v", "check", "-v"])
    assert args.verbose == 3 and args.log_format is None
    assert parse_command_line(["tail", "x", "--log-format", "TEXT"])[0].log_format == "text"
    with pytest.raises(SystemExit) as exit_info:
        parse_command_line(["tail", "x", "--log-format", "xml"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_a_bad_level_in_the_environment_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(logs.LEVEL_ENV, "loud")
    assert main(["config", "check", "x.yaml"]) == 2
    assert capsys.readouterr().err.strip() == (
        "storywire: error: STORYWIRE_LOG_LEVEL='loud' is not a level; use one of debug, info, warning, error, critical"
    )
