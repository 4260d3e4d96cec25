"""Ctrl-C on a replay: one line saying what the sinks hold and what to do, exit 130, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.synthetic_archive import synthetic_captures
from tests.support.warc import write_warc

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("to_group", [True, False], ids=["terminal-ctrl-c", "signal-to-the-main-process"])
def test_ctrl_c_stops_a_replay_with_one_line_and_exit_130(tmp_path: Path, to_group: bool) -> None:
    """A terminal's Ctrl-C reaches every process of the group (the extraction workers too): still one line."""
    archive = write_warc(tmp_path / "big.warc.gz", synthetic_captures(outlets=250))  # about 10 s of replay
    command = ["replay", str(archive), "--sink", f"file://{tmp_path / 'out'}", "--progress-interval", "0.5"]
    log = tmp_path / "stderr.txt"
    with open(log, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "storywire", *command],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            start_new_session=True,  # its own process group: the signal goes to it alone, as Ctrl-C would
        )
        deadline = time.monotonic() + 60
        while '"phase":"extracting"' not in log.read_text(encoding="utf-8"):  # the workers are busy
            assert process.poll() is None, "the replay ended before it could be interrupted"
            assert time.monotonic() < deadline, "no extraction within 60 s"
            time.sleep(0.2)
        if to_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    err = log.read_text(encoding="utf-8")
    assert process.returncode == 130, err[-2000:]
    progress = [line for line in err.splitlines() if '"logger":"storywire.replay"' in line]
    assert progress, "the replay logged no progress line while it ran"
    lines = [line for line in err.strip().splitlines() if line not in progress]
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("storywire: interrupted: the replay stopped before it finished")
    assert "Run the same replay again" in lines[0]
    assert "Traceback" not in err


def test_ctrl_c_after_the_pipeline_finished_says_the_sinks_are_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from storywire.pipelines.cli import replay as replay_cli
    from storywire.pipelines.cli.main import main

    def interrupted_report(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(replay_cli, "_finish", interrupted_report)
    out = tmp_path / "out"
    archive = write_warc(tmp_path / "small.warc.gz", synthetic_captures(outlets=3))
    assert main(["replay", str(archive), "--sink", f"file://{out}", "--no-progress"]) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"storywire: interrupted: {replay_cli.SINKS_COMPLETE}"
    assert (out / "news.articles.v1.jsonl").stat().st_size > 0
