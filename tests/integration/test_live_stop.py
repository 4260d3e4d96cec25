"""`storywire run` with a host that stalls its response headers: the other hosts' articles arrive anyway, SIGTERM
ends the run within the stop grace, the stalled page is kept as pending, and the restart emits it exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from storywire.connectors.kafka.topics import TopicNames
from tests.support.http_server import LoopbackHttpServer
from tests.support.replay_archive import KREMLIN, RATES
from tests.support.warc import page, rss

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HTML = "text/html; charset=utf-8"
DATE = "Wed, 03 May 2023 07:00:00 GMT"
GRACE_S = 6.0


def _feed(server: LoopbackHttpServer, *paths: str) -> bytes:
    items = [{"title": p, "link": server.url(p), "date": DATE, "guid": server.url(p)} for p in paths]
    return rss("Outlet", server.url("/"), items)


def _config(tmp_path: Path, *servers: LoopbackHttpServer) -> Path:
    path = tmp_path / "live.yaml"
    feeds = "\n".join(f"  - {s.url('/rss.xml')}" for s in servers)
    path.write_text(
        f"""
feeds:
{feeds}
http:
  user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)"
  min_delay: 0s
  allowed_networks: [127.0.0.0/8]
  total_timeout: 60s
  read_timeout: 60s
polling: {{min_interval: 1s, initial_interval: 1s, startup_spread: 0s}}
state: {{path: {tmp_path / "state" / "feeds.json"}, checkpoint_interval: 1s}}
sinks: [file://{tmp_path / "out"}]
run: {{stop_grace: {GRACE_S:.0f}s}}
progress: {{interval: 0s}}
"""
    )
    return path


def _article_urls(out: Path) -> list[str]:
    path = out / f"{TopicNames().articles}.jsonl"
    if not path.exists():
        return []
    return [orjson.loads(line)["url"] for line in path.read_bytes().splitlines()]


def test_a_stalled_host_holds_nothing_and_sigterm_stops_within_the_grace_losing_nothing(tmp_path: Path) -> None:
    with (
        LoopbackHttpServer("127.0.0.2") as alpha,
        LoopbackHttpServer("127.0.0.3") as beta,
        LoopbackHttpServer("127.0.0.4") as stalled,
    ):
        alpha.serve("/rss.xml", _feed(alpha, "/kremlin"))
        alpha.serve("/kremlin", page("Kremlin drones", KREMLIN), content_type=HTML)
        beta.serve("/rss.xml", _feed(beta, "/rates"))
        beta.serve("/rates", page("Rates up", RATES), content_type=HTML)
        stalled.serve("/rss.xml", _feed(stalled, "/slow"))
        body = page("Slow news", KREMLIN[::-1])
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {HTML}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        stalled.trickle("/slow", head.encode() + body, interval_s=1.0)  # headers at one byte a second
        config = _config(tmp_path, alpha, beta, stalled)
        out = tmp_path / "out"
        process = subprocess.Popen(
            [sys.executable, "-m", "storywire", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while len(_article_urls(out)) < 2 and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()
                time.sleep(0.1)
            # The healthy hosts' articles are out while the stalled page is still coming in.
            assert sorted(_article_urls(out)) == [alpha.url("/kremlin"), beta.url("/rates")]
            assert stalled.requests_for("/slow"), "the stalled page was never asked for"
            asked = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=30)
            stop_s = time.monotonic() - asked
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, stdout + stderr
        assert stop_s <= GRACE_S + 1.0, f"stopped in {stop_s:.1f}s, grace {GRACE_S}s"
        assert "Traceback" not in stderr, stderr[-3000:]
        assert "1 page(s) not done yet are saved as pending" in stderr, stderr[-3000:]
        # Every page the run took is an article, a dead letter or pending: an equation, not a hope.
        assert (
            "balance live pages: 3 = 3 ok (pending at start + items taken = articles 2 + dead letters 0 + "
            "pending at end 1)" in stdout
        ), stdout
        saved = orjson.loads((tmp_path / "state" / "feeds.json.pages").read_bytes())["pages"]
        assert [p["item"]["link"] for p in saved] == [stalled.url("/slow")]

        # The host recovers; the restart fetches the pending page, once, and nothing else again.
        stalled.serve("/slow", body, content_type=HTML)
        restart = subprocess.run(
            [sys.executable, "-m", "storywire", "run", "--config", str(config), "--max-rounds", "1"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
        assert restart.returncode == 0, restart.stdout + restart.stderr
        assert "balance live pages: 1 = 1 ok" in restart.stdout and "articles 1 +" in restart.stdout, restart.stdout
        expected = sorted([alpha.url("/kremlin"), beta.url("/rates"), stalled.url("/slow")])
    urls = _article_urls(out)
    assert sorted(urls) == expected, urls
    assert orjson.loads((tmp_path / "state" / "feeds.json.pages").read_bytes())["pages"] == []
