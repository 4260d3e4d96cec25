"""A live run stopped and restarted on its state continues the same stories: an article published after the
restart joins the story opened before it, with the same story id (issue 14), whether the story state comes back
from the log alone or from a snapshot plus the log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.stories.store import StoryStateStore
from tests.support.http_server import LoopbackHttpServer
from tests.support.replay_archive import KREMLIN, RATES
from tests.support.warc import page, rss

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HTML = "text/html; charset=utf-8"
DATE = "Wed, 03 May 2023 07:00:00 GMT"
LATER = "Wed, 03 May 2023 09:00:00 GMT"


def _feed(server: LoopbackHttpServer, *items: tuple[str, str, str]) -> bytes:
    entries = [{"title": t, "link": server.url(p), "date": d, "guid": server.url(p)} for t, p, d in items]
    return rss("Outlet", server.url("/"), entries)


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storywire", "run", "--config", str(config), "--max-rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def _articles(out: Path) -> dict[str, dict[str, object]]:
    lines = (out / f"{TopicNames().articles}.jsonl").read_bytes().splitlines()
    return {str(a["url"]): a for a in map(orjson.loads, lines)}


@pytest.mark.parametrize("snapshot_every", [1000, 1], ids=["log", "snapshot"])
def test_a_restart_continues_the_stories_it_had(tmp_path: Path, snapshot_every: int) -> None:
    with LoopbackHttpServer("127.0.0.2") as alpha, LoopbackHttpServer("127.0.0.3") as beta:
        alpha.serve(
            "/rss.xml", _feed(alpha, ("Drones over the Kremlin", "/kremlin", DATE), ("Rates up", "/rates", DATE))
        )
        alpha.serve("/kremlin", page("Drones over the Kremlin", KREMLIN), content_type=HTML)
        alpha.serve("/rates", page("Rates up", RATES), content_type=HTML)
        beta.serve("/rss.xml", _feed(beta))
        config = tmp_path / "live.yaml"
        config.write_text(
            f"""
feeds: [{alpha.url("/rss.xml")}, {beta.url("/rss.xml")}]
http: {{user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)", min_delay: 0s,
       allowed_networks: [127.0.0.0/8]}}
polling: {{min_interval: 1s, initial_interval: 1s, startup_spread: 0s}}
state: {{path: {tmp_path / "state" / "feeds.json"}, checkpoint_interval: 1s,
        stories_snapshot_every: {snapshot_every}}}
sinks: [file://{tmp_path / "out"}]
progress: {{interval: 0s}}
"""
        )
        first = _run(config)
        assert first.returncode == 0, first.stdout + first.stderr
        before = _articles(tmp_path / "out")
        assert sorted(before) == [alpha.url("/kremlin"), alpha.url("/rates")]
        store = StoryStateStore(tmp_path / "state" / "stories.sqlite")
        snapshot, logged = store.load("en")
        store.close()
        if snapshot_every == 1:
            assert snapshot is not None and logged == []
        else:
            assert snapshot is None and len(logged) == 2

        # After the restart another outlet covers the Kremlin story, and a new story begins.
        beta.serve(
            "/rss.xml",
            _feed(beta, ("Kremlin says drones attacked", "/drones", LATER), ("Bridge reopens", "/bridge", LATER)),
        )
        beta.serve("/drones", page("Kremlin says drones attacked", KREMLIN[::-1]), content_type=HTML)
        bridge = [f"The old swing bridge reopened on day {d} after a two-year repair of its deck." for d in range(5)]
        beta.serve("/bridge", page("Bridge reopens", bridge), content_type=HTML)
        second = _run(config)
        assert second.returncode == 0, second.stdout + second.stderr
        after = _articles(tmp_path / "out")
        kremlin, drones, bridge_url = alpha.url("/kremlin"), beta.url("/drones"), beta.url("/bridge")
    assert after[drones]["story_id"] == before[kremlin]["story_id"]
    assert after[bridge_url]["story_id"] not in {a["story_id"] for a in before.values()}
    assert "stories.restored_articles" in second.stdout
