"""The whole live poller on N feeds answering 304, against bare conditional GETs, in the same run.

A loopback server (``tests/http_server.py``) runs in a **separate process**, so ``time.process_time`` counts the
poller only. Its one feed is reached under N distinct URLs (``/feed.xml?feed=i``), i.e. N feeds to the poller.

- ``bare``: one httpx client GETs each URL with ``If-None-Match`` and gets 304, one request at a time: the floor;
- ``engine``: :class:`storywire.pipelines.live.engine.LiveEngine` polls all N feeds per round (poll core,
  guarded fetcher, politeness with ``min_delay=0``, thread pool, checkpoint): what a live run pays per poll. The
  first round (200s, parsing) is a warm-up; the measured rounds are all 304s, the steady state of a live run. The clock
  the poll core sees jumps a day between rounds so every feed is due each round.

Prints polls/s and CPU per poll for both, their ratio (target: engine <= 1.5x bare CPU per poll), and what that
means for 10,000 feeds at a 15-minute average interval (11.1 polls/s) on 2 cores.

Usage::

    python bench/live_poll.py [--feeds 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.live.engine import LiveEngine

ROOT = Path(__file__).resolve().parent.parent
UA = "storywire-bench/0.1 (+https://example.org/bot)"
TARGET_POLLS_PER_S = 10_000 / (15 * 60)


def _bare(urls: list[str], etag: str) -> tuple[float, float]:
    with httpx.Client(headers={"User-Agent": UA}) as client:
        wall, cpu = time.perf_counter(), time.process_time()
        for url in urls:
            response = client.get(url, headers={"If-None-Match": etag})
            assert response.status_code == 304, response.status_code
        return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)

    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "http_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        urls = [f"http://127.0.0.1:{port}/feed.xml?feed={i}" for i in range(args.feeds)]
        etag = httpx.get(urls[0]).headers["ETag"]
        with tempfile.TemporaryDirectory() as state_dir:
            feeds = "\n".join(f"  - {url}" for url in urls)
            config = parse_config(
                f"""
feeds:
{feeds}
http: {{user_agent: "{UA}", min_delay: 0s, max_concurrency_per_host: {args.workers},
        allowed_networks: [127.0.0.0/8], max_connections: {args.workers * 2}}}
polling: {{min_interval: 1m, initial_interval: 1m, max_interval: 30d, startup_spread: 0s, seen_items: 10}}
state: {{path: {state_dir}/state.json, checkpoint_interval: 1s}}
""",
                "bench",
                {},
            )
            from storywire.connectors.http import HttpConfig, HttpFetcher

            assert isinstance(config.http, HttpConfig)
            clock = [datetime.now(timezone.utc)]
            engine = LiveEngine(config, HttpFetcher(config.http), now=lambda: clock[0], workers=args.workers)
            warm = engine.step()
            assert warm.counts["polls.new_items"] == args.feeds, warm.counts
            engine_runs: list[tuple[float, float]] = []
            bare_runs: list[tuple[float, float]] = []
            checkpoint_cpu: list[float] = []
            for _ in range(args.rounds):
                bare_runs.append(_bare(urls, etag))
                clock[0] += timedelta(days=1)
                wall, cpu = time.perf_counter(), time.process_time()
                result = engine.step()
                engine_runs.append((time.perf_counter() - wall, time.process_time() - cpu))
                saved = time.process_time()
                engine.checkpoint(force=True)  # every checkpoint_interval (60 s) in a live run, not per round
                checkpoint_cpu.append(time.process_time() - saved)
                assert result.counts["polls.not_modified"] == args.feeds, result.counts
            engine.close()
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)

    def report(name: str, runs: list[tuple[float, float]]) -> tuple[float, float]:
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(
            f"{name:<8} {args.feeds / wall:9.0f} polls/s   {cpu / args.feeds * 1e6:7.0f} us CPU/poll   "
            f"(median of {len(runs)} rounds of {args.feeds})"
        )
        return wall, cpu

    print(f"{args.feeds} feeds answering 304 from a loopback server in another process")
    _, bare_cpu = report("bare", bare_runs)
    _, engine_cpu = report("engine", engine_runs)
    print(f"checkpoint of {args.feeds} feed states: {statistics.median(checkpoint_cpu) * 1e3:.0f} ms CPU")
    ratio = engine_cpu / bare_cpu
    print(f"engine / bare CPU per poll: {ratio:.2f}x (target <= 1.5x)")
    cpu_per_poll = engine_cpu / args.feeds
    load = TARGET_POLLS_PER_S * cpu_per_poll
    print(
        f"10,000 feeds every 15 min = {TARGET_POLLS_PER_S:.1f} polls/s -> {load * 100:.1f}% of one core "
        f"for polling (2 cores available)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
