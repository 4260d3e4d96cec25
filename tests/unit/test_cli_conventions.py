"""One name per concept across the commands: ``--broker`` (``--bootstrap`` deprecated), ``--broker-timeout`` vs
``--idle-timeout``, Beam's options only after ``--``, examples under every command's ``--help``."""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from storywire.connectors.errors import ConfigError, StorywireError
from storywire.pipelines.cli.main import _parser, main, parse_command_line
from storywire.pipelines.cli.topics import broker_config, create_command

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
LIVE = 'feeds: [https://a.example/rss]\nhttp: {user_agent: "t/1.0 (+https://t.example)"}\n'


def test_beam_options_go_after_the_double_dash() -> None:
    args, beam = parse_command_line(
        ["run", "--config", "f.yaml", "--runner", "FlinkRunner", "--", "--flink_master=host:8081", "--parallelism=4"]
    )
    assert (args.command, args.config, args.runner) == ("run", "f.yaml", "FlinkRunner")
    assert beam == ["--flink_master=host:8081", "--parallelism=4"]
    args, beam = parse_command_line(["replay", "a.warc.gz", "b.warc.gz", "--", "--direct_num_workers=2"])
    assert args.inputs == ["a.warc.gz", "b.warc.gz"] and beam == ["--direct_num_workers=2"]


def test_the_runner_after_the_double_dash_is_storywires_runner() -> None:
    args, beam = parse_command_line(["run", "--config", "f.yaml", "--", "--runner=FlinkRunner", "--flink_master=h"])
    assert args.runner == "FlinkRunner" and beam == ["--flink_master=h"]
    args, beam = parse_command_line(["demo", "--", "--runner", "DirectRunner"])
    assert args.runner == "DirectRunner" and beam == []
    with pytest.raises(ConfigError, match=r"--runner FlinkRunner and --runner=DirectRunner .* disagree"):
        parse_command_line(["run", "--config", "f", "--runner", "FlinkRunner", "--", "--runner=DirectRunner"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--summry"], "unknown option --summry of storywire demo; did you mean --summary?"),
        (["run", "--config", "f", "--max-runds", "2"], "unknown option --max-runds of storywire run; did you mean"),
        (
            ["run", "--config", "f", "--flink_master=h:8081"],
            "unknown option --flink_master of storywire run; Beam's options go after --: ... -- --flink_master=h:8081",
        ),
        (["topics", "check", "--brokr", "b:9092"], "unknown option --brokr of storywire topics check; did you mean "),
        (["status", "--config", "f", "--", "--x=1"], "storywire status takes no Beam options (after --): --x=1"),
        (["run", "--config", "f", "--", "oops"], "unexpected argument(s) after --: oops"),
        (["summary", "out", "extra"], "unexpected argument(s) for storywire summary: extra"),
    ],
)
def test_unknown_options_are_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_command_line(argv)
    assert str(caught.value).startswith(message)


def test_unknown_options_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tail", "stories", "--timout", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("storywire: error: unknown option --timout of storywire tail; did you mean --"), err
    assert "--timeout?" not in err and "\n" not in err  # the deprecated name is never suggested


def test_broker_and_timeouts_have_one_name_each(capsys: pytest.CaptureFixture[str]) -> None:
    args, _ = parse_command_line(["tail", "stories", "--broker", "kafka://b:9092", "--idle-timeout", "3"])
    assert (args.broker, args.idle_timeout, args.broker_timeout) == ("kafka://b:9092", 3.0, 10.0)
    args, _ = parse_command_line(["topics", "check", "--broker", "kafka://b:9092", "--broker-timeout", "4"])
    assert (args.broker, args.broker_timeout) == ("kafka://b:9092", 4.0)
    assert capsys.readouterr().err == ""


def test_the_old_names_still_work_with_a_one_line_warning(capsys: pytest.CaptureFixture[str]) -> None:
    args, _ = parse_command_line(["tail", "stories", "--bootstrap", "b:9092", "--timeout", "3"])
    assert (args.broker, args.idle_timeout) == ("b:9092", 3.0)
    assert capsys.readouterr().err.splitlines() == [
        "storywire: warning: --bootstrap is deprecated; use --broker URL",
        "storywire: warning: --timeout is deprecated; use --idle-timeout S",
    ]
    args, _ = parse_command_line(["topics", "create", "--bootstrap", "b:9092", "--timeout", "4"])
    assert (args.broker, args.broker_timeout) == ("b:9092", 4.0)
    assert (
        capsys.readouterr().err.splitlines()[1] == "storywire: warning: --timeout is deprecated; use --broker-timeout S"
    )


def test_a_bad_broker_names_the_option_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORYWIRE_BROKER", raising=False)
    for flag in ("--broker", "--bootstrap"):
        args, _ = parse_command_line(["tail", "stories", flag, "kafka://b:9092?sasl_password=x"])
        with pytest.raises(StorywireError, match=rf"^{flag}: kafka URL"):
            broker_config(args)
    monkeypatch.setenv("STORYWIRE_BROKER", "kafka://b:9092?nonsense=1")
    with pytest.raises(StorywireError, match=r"^STORYWIRE_BROKER: kafka URL: unknown parameter 'nonsense'"):
        broker_config(parse_command_line(["tail", "stories"])[0])


def test_tail_and_topics_take_the_broker_from_the_environment_or_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORYWIRE_BROKER", raising=False)
    config, given = broker_config(parse_command_line(["tail", "stories"])[0])
    assert config.bootstrap_servers == "127.0.0.1:19092" and config.topic_prefix == "news"  # the local broker
    live = tmp_path / "live.yaml"
    live.write_text(
        LIVE + "sinks: [file://out, 'kafka://k1:9092,k2:9092?compression=zstd']\ntopic_prefix: staging.news\n"
    )
    args = parse_command_line(["tail", "stories", "--config", str(live), "--broker-timeout", "3"])[0]
    config, given = broker_config(args)
    assert (config.bootstrap_servers, config.topic_prefix, args.topic_prefix) == (
        "k1:9092,k2:9092",
        "staging.news",
        "staging.news",
    )
    assert config.bootstrap_timeout_ms == 3000 and config.compression_type == "zstd"
    assert create_command(given, args.topic_prefix) == (
        f"storywire topics create --config {live} --topic-prefix staging.news"
    )
    monkeypatch.setenv("STORYWIRE_BROKER", "kafka://env-broker:9092")
    config, given = broker_config(parse_command_line(["topics", "check", "--config", str(live)])[0])
    assert config.bootstrap_servers == "env-broker:9092" and config.topic_prefix == "staging.news"
    config, _ = broker_config(parse_command_line(["topics", "check", "--broker", "kafka://flag:9092"])[0])
    assert config.bootstrap_servers == "flag:9092"  # the flag wins


def test_a_config_without_a_kafka_sink_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = tmp_path / "live.yaml"
    live.write_text(LIVE + "sinks: [file://out]\n")
    assert main(["tail", "stories", "--config", str(live)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"storywire: error: {live} has no kafka:// sink; give the broker with --broker kafka://HOST:PORT"
    )


def test_the_suggested_create_command_uses_broker() -> None:
    assert create_command("b:9092", "news") == "storywire topics create --broker kafka://b:9092"
    assert (
        create_command("kafka+ssl://b:9093?x=1", "news") == "storywire topics create --broker 'kafka+ssl://b:9093?x=1'"
    )


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if child._subparsers is None:
                    found.append((f"{prefix}{name}", child))
                found += _commands(child, f"{prefix}{name} ")
    return found


def test_every_command_has_examples_and_the_global_options() -> None:
    commands = _commands(_parser())
    ours = {"replay", "demo", "summary", "run", "tail", "status", "feeds import"}
    ours |= {f"topics {name}" for name in ("create", "describe", "check")} | {"config check", "config show"}
    assert ours <= {name for name, _ in commands}
    for name, parser in commands:
        if name not in ours:  # report, stories, export: their module's own help
            continue
        text = parser.format_help()
        assert "example" in text and "storywire " in (parser.epilog or ""), name
        assert "--log-level" in text and "--log-format" in text, name


def test_make_demo_hint_keeps_a_custom_broker_dir() -> None:
    def hint(*variables: str) -> str:
        result = subprocess.run(
            ["make", "-n", "--no-print-directory", "demo", *variables],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return next(line for line in result.stdout.splitlines() if "broker-stop" in line)

    assert "make broker-stop BROKER_DIR=/tmp/other-broker" in hint("BROKER_DIR=/tmp/other-broker")
    assert "BROKER_DIR=" not in hint()
    assert "STORYWIRE_BROKER=kafka://127.0.0.1:29092" in hint("BROKER_PORT=29092")


def test_run_counts_enabled_feeds_and_logs_json_off_a_terminal(tmp_path: Path) -> None:
    """A real (short) run: no broker, a feed on a port nothing listens on; -v after the command; stderr a pipe."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = tmp_path / "live.yaml"
    live.write_text(
        f"""
feeds:
  - http://127.0.0.1:{port}/rss.xml
  - {{url: "http://127.0.0.1:{port}/other.xml", enabled: false}}
http: {{user_agent: "t/1.0 (+https://t.example)", allowed_networks: [127.0.0.0/8], min_delay: 0s, connect_timeout: 1s}}
polling: {{startup_spread: 0s}}
state: {{path: {tmp_path / "state" / "feeds.json"}}}
sinks: [file://{tmp_path / "out"}]
"""
    )
    result = subprocess.run(
        [sys.executable, "-m", "storywire", "run", "--config", str(live), "--max-rounds", "1", "-v"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "storywire run: polling 1 feed(s) (1 disabled, not polled);" in result.stdout
    entries = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    polls = [e for e in entries if e["logger"] == "storywire.live.feeds"]
    assert polls and polls[0]["feed_url"] == f"http://127.0.0.1:{port}/rss.xml", result.stderr
    assert polls[0]["level"] == "INFO" and polls[0]["outcome"] and re.fullmatch(TIMESTAMP, polls[0]["timestamp"])
    assert all(not e["logger"].startswith(("apache_beam", "kafka")) or e["level"] != "INFO" for e in entries)
