"""Cost of the HTTP layer: conditional GETs answered 304, through ``HttpFetcher`` vs bare httpx, same run.

A loopback server (``tests/http_server.py``) runs in a **separate process**, so ``time.process_time`` counts the
client only. Three clients GET the same feed with ``If-None-Match`` and get 304 each time, over one kept-alive
connection, one request at a time:

- ``bare httpx``: ``httpx.Client().get(...)`` with its default transport: the floor;
- ``bare pinned``: the same client over our ``PinnedTransport`` (guarded, pinned connections): transport cost;
- ``HttpFetcher``: the full path (guard check, politeness slot with ``min_delay_s=0``, bounded decoding,
  ``CapturedResponse``), i.e. what every live poll pays.

Rounds alternate the clients to even out drift; the median round is reported. The poller's budget is a
fetcher cost <= 1.5x the bare cost per request.

Usage::

    python bench/http_fetch.py [--requests 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storywire.connectors.http import HttpConfig, HttpFetcher
from storywire.connectors.http.transport import PinnedTransport

ROOT = Path(__file__).resolve().parent.parent
UA = "storywire-bench/0.1 (+https://example.org/bot)"


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    requests: int

    @property
    def per_second(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.requests * 1e6


def measure(call: Callable[[], None], requests: int) -> Sample:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        call()
    return Sample(time.perf_counter() - wall, time.process_time() - cpu, requests)


def start_server() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "http_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="conditional GETs per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    process, port = start_server()
    url = f"http://127.0.0.1:{port}/feed.xml"
    config = HttpConfig(
        user_agent=UA, allowed_networks=("127.0.0.0/8",), min_delay_s=0.0, robots_enabled=False, max_wait_s=1.0
    )
    fetcher = HttpFetcher(config)
    bare = httpx.Client(trust_env=False, headers={"User-Agent": UA})
    pinned = httpx.Client(trust_env=False, headers={"User-Agent": UA}, transport=PinnedTransport(config, fetcher.guard))
    try:
        first = fetcher.fetch(url, kind="feed")
        etag = first.response.header("ETag")
        assert etag, "the server must send an ETag"
        conditional = {"If-None-Match": etag}

        def via_fetcher() -> None:
            assert fetcher.fetch(url, kind="feed", etag=etag).not_modified

        def via_bare() -> None:
            assert bare.get(url, headers=conditional).status_code == 304

        def via_pinned() -> None:
            assert pinned.get(url, headers=conditional).status_code == 304

        clients: dict[str, Callable[[], None]] = {
            "bare httpx": via_bare,
            "bare pinned": via_pinned,
            "HttpFetcher": via_fetcher,
        }
        for call in clients.values():  # warm up: connections open, code paths hot
            measure(call, 100)
        results: dict[str, list[Sample]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, call in clients.items():
                results[name].append(measure(call, args.requests))
    finally:
        fetcher.close()
        bare.close()
        pinned.close()
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)

    def median(name: str) -> Sample:
        return sorted(results[name], key=lambda sample: sample.cpu_s)[len(results[name]) // 2]

    base = median("bare httpx")
    print(f"{args.requests} conditional GETs (304) per client per round, {args.rounds} rounds, median round")
    print(f"{'client':<14}{'req/s':>10}{'CPU us/req':>13}{'CPU x bare':>12}")
    for name in clients:
        sample = median(name)
        print(f"{name:<14}{sample.per_second:>10.0f}{sample.cpu_us:>13.1f}{sample.cpu_us / base.cpu_us:>12.2f}")
    spread = statistics.pstdev(s.cpu_us for s in results["HttpFetcher"])
    print(f"HttpFetcher CPU us/req spread across rounds (stdev): {spread:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
