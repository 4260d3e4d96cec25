"""User-facing errors of the storywire command: one line, says what and how to fix, exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storywire.pipelines.cli.main import main


def test_missing_archive_names_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.warc.gz"
    assert main(["replay", str(missing), "--sink", f"file://{tmp_path}/out"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"storywire: error: archive not found: {missing} (give the path of a .warc or .warc.gz file)"


def test_unknown_sink_scheme_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(b"")
    assert main(["replay", str(archive), "--sink", "s3://bucket/x"]) == 2
    assert "unknown scheme 's3'" in capsys.readouterr().err


def test_unreachable_broker_fails_fast_naming_the_address(tmp_path: Path) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(b"")
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
    archive.write_bytes(b"")
    missing = tmp_path / "live.yaml"
    assert main(["replay", str(archive), "--sink", f"file://{tmp_path}/out", "--config", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("storywire: error: ") and str(missing) in err and "\n" not in err


def test_replay_config_with_a_bad_story_setting_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.warc.gz"
    archive.write_bytes(b"")
    live = tmp_path / "live.yaml"
    live.write_text(
        'feeds: [https://a.example/rss]\nhttp: {user_agent: "t/1.0 (+https://t.example)"}\nstories: {dormancy: 2}\n',
        encoding="utf-8",
    )
    assert main(["replay", str(archive), "--sink", f"file://{tmp_path}/out", "--config", str(live)]) == 2
    err = capsys.readouterr().err
    assert "stories.dormancy" in err and "live.yaml" in err
