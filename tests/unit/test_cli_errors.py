"""User-facing errors of the storywire command: one line, says what and how to fix, exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storywire.pipelines.cli.main import main

TINY_WARC = b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n"
"""A readable archive holding nothing: the start-up checks after the inputs' are reached."""


def test_missing_archive_names_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.warc.gz"
    assert main(["replay", str(missing), "--sink", f"file://{tmp_path}/out"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"storywire: error: {missing} not found; give WARC archives (.warc, .warc.gz) or JSONL article dumps "
        "(.jsonl, .jsonl.gz), or directories or patterns of them"
    )


def test_unknown_sink_scheme_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(TINY_WARC)
    assert main(["replay", str(archive), "--sink", "s3://bucket/x"]) == 2
    assert "unknown scheme 's3'" in capsys.readouterr().err


def test_unreachable_broker_fails_fast_naming_the_address(tmp_path: Path) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(TINY_WARC)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "storywire",
            "replay",
            str(archive),
            "--sink",
            f"kafka://127.0.0.1:{port}",
            "--broker-timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and result.stderr.startswith("storywire: error:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 30


def test_replay_config_that_does_not_exist_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(TINY_WARC)
    missing = tmp_path / "live.yaml"
    assert main(["replay", str(archive), "--sink", f"file://{tmp_path}/out", "--config", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("storywire: error: ") and str(missing) in err and "\n" not in err


def test_replay_config_with_a_bad_story_setting_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(TINY_WARC)
    live = tmp_path / "live.yaml"
    live.write_text(
        'feeds: [https://a.example/rss]\nhttp: {user_agent: "t/1.0 (+https://t.example)"}\nstories: {dormancy: 2}\n',
        encoding="utf-8",
    )
    assert main(["replay", str(archive), "--sink", f"file://{tmp_path}/out", "--config", str(live)]) == 2
    err = capsys.readouterr().err
    assert "stories.dormancy" in err and "live.yaml" in err


LIVE = 'feeds: [https://a.example/rss]\nhttp: {user_agent: "t/1.0 (+https://t.example)"}\n'


def _storywire(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storywire", *argv], capture_output=True, text=True, timeout=60, check=False
    )


def test_run_with_an_unreachable_broker_is_one_line_before_any_work(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = tmp_path / "live.yaml"
    state = tmp_path / "state" / "feeds.json"
    live.write_text(LIVE + f"state: {{path: {state}}}\nsinks: [kafka://127.0.0.1:{port}]\n", encoding="utf-8")
    started = time.monotonic()
    result = _storywire("run", "--config", str(live), "--broker-timeout", "2")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("storywire: error:") and f"127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == "" and not state.exists()  # nothing polled, nothing checkpointed
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("polling: {max_failures: lots}\n", "line 3: polling.max_failures: 'lots' must be a whole number"),
        ("polling: {min_interval: 10}\n", "line 3: polling.min_interval: 10 has no unit"),
        ("polling: {min_intervall: 10m}\n", "line 3: polling.min_intervall: unknown key; did you mean 'min_interval'?"),
        ("sinks: [s3://bucket]\n", "line 3: sinks[0]: sink s3://bucket: unknown scheme 's3'"),
    ],
)
def test_run_with_a_bad_config_value_is_one_line_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, expected: str
) -> None:
    live = tmp_path / "live.yaml"
    live.write_text(LIVE + yaml_text, encoding="utf-8")
    assert main(["run", "--config", str(live)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"storywire: error: {live} {expected}"), err
    assert "\n" not in err


def test_run_with_an_unwritable_state_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    live = tmp_path / "live.yaml"
    live.write_text(LIVE + f"state: {{path: {blocker}/state/feeds.json}}\nsinks: [file://{tmp_path}/out]\n")
    assert main(["run", "--config", str(live)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"storywire: error: state.path: cannot write to {blocker}/state") and "\n" not in err


def test_an_unknown_option_is_an_error_with_the_closest_one_not_passed_to_beam(tmp_path: Path) -> None:
    result = _storywire("demo", "--summry")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "storywire: error: unknown option --summry of storywire demo; did you mean --summary?"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--since", "yesterday"], "'yesterday' is not a date or time; write 2023-05-03"),
        (["--since", "2023-05-04", "--until", "2023-05-03"], "--since 2023-05-04 00:00 is after --until 2023-05-03"),
        (["--workers", "-1"], "'-1' must be 0 or more"),
        (["--outlet", ","], "',' names nothing"),
    ],
)
def test_bad_replay_filters_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], says: str
) -> None:
    archive = tmp_path / "a.warc"
    archive.write_bytes(TINY_WARC)
    try:
        code = main(["replay", str(archive), "--sink", f"file://{tmp_path}/out", *flags])
    except SystemExit as exit_:  # argparse refuses a value of the wrong form itself, with the usage
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and says in err, err
    assert not (tmp_path / "out").exists()
