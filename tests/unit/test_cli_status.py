"""`storywire status`: each feed's state from the files a live engine wrote (no network)."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta
from pathlib import Path

import pytest

from storywire.connectors.errors import HttpStatusError, SourceUnavailableError
from storywire.pipelines.cli import status
from storywire.pipelines.config.loading import load_config
from storywire.pipelines.live.engine import LiveEngine
from tests.support.warc import page
from tests.unit.test_live_engine import PARAS, T0, ScriptedFetcher, _items

GOOD, GONE, OFF = "https://alpha.example/rss.xml", "https://gone.example/rss.xml", "https://off.example/rss.xml"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(
        f"""
feeds: [{GOOD}, {GONE}, {{url: {OFF}, enabled: false}}]
http: {{user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)"}}
polling: {{min_interval: 10m, initial_interval: 10m, startup_spread: 0s}}
state: {{path: {tmp_path / "state.json"}}}
"""
    )
    return path


def test_status_lists_each_feed_and_says_which_are_broken(tmp_path: Path) -> None:
    path = _config(tmp_path)
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    link = "https://alpha.example/a"
    fetcher.routes = {GOOD: _items(link), link: page("A", PARAS), GONE: HttpStatusError(410, GONE)}
    engine = LiveEngine(load_config(path), fetcher, now=lambda: clock[0])
    engine.step()
    engine.close()
    out = io.StringIO()
    code = status.run(argparse.Namespace(config=str(path)), out, now=T0 + timedelta(minutes=1))
    text = out.getvalue()
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("https://")}
    assert code == 1  # a broken feed: scripts and probes can alert on the exit status
    assert " ok " in lines[GOOD] and "2023-05-03 09:00:00Z (1m00s ago)" in lines[GOOD]
    assert "2023-05-03 09:10:00Z (in 9m00s)" in lines[GOOD] and "10m00s" in lines[GOOD]
    assert " broken " in lines[GONE] and "410" in lines[GONE]
    assert " disabled " in lines[OFF]
    assert "3 feeds: 1 ok, 0 failing, 1 broken; 0 pages pending" in text


def test_status_without_a_state_file_says_where_it_looked(tmp_path: Path) -> None:
    path = _config(tmp_path)
    with pytest.raises(SourceUnavailableError, match=r"no poll state at .*state\.json"):
        status.run(argparse.Namespace(config=str(path)), io.StringIO())
