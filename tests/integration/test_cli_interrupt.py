"""Ctrl-C on a replay: one line saying what the sinks hold and what to do, exit 130, no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.synthetic_archive import synthetic_captures
from tests.support.warc import write_warc

pytestmark = pytest.mark.integration


def test_ctrl_c_stops_a_replay_with_one_line_and_exit_130(tmp_path: Path) -> None:
    archive = write_warc(tmp_path / "big.warc.gz", synthetic_captures(outlets=250))  # about 10 s of replay
    process = subprocess.Popen(
        [sys.executable, "-m", "storywire", "replay", str(archive), "--sink", f"file://{tmp_path / 'out'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the signal goes to it alone, as Ctrl-C would
    )
    time.sleep(3.0)  # past start-up, well before the end
    assert process.poll() is None, "the replay ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("storywire: interrupted: the replay stopped before it finished")
    assert "Run the same replay again" in lines[0]
    assert "Traceback" not in err
