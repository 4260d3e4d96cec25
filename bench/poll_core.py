"""CPU cost of the poll core per poll when nothing changed (304 or an identical body), for 10,000 feeds.

The claim under test: a feed that did not change costs next to nothing, because the core never parses it.
Four figures per poll, CPU time (``time.process_time``), best of ``--repeat`` rounds:

- ``baseline``: a plain Python loop doing the least any scheduler must do per result (a dict lookup, two
  attribute writes, a heap push);
- ``core 304``: ``FeedPoller.due`` + ``on_result`` for a 304 (the mix of a live cycle: ``--unchanged`` share
  of the feeds answer 200 with the same body instead);
- ``hash only``: hashing the body of an unchanged 200 in a plain loop (the floor of that path);
- ``parse``: ``parse_feed`` of the same body, which is what the core avoids.

The ratio ``core / baseline`` is printed; so is the state memory per feed after priming (seen items kept).

Usage::

    python bench/poll_core.py [--feeds 10000] [--items 50] [--unchanged 0.2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import heapq
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storywire.connectors.feeds.parse import parse_feed
from storywire.connectors.feeds.poll import FeedPoller
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.feeds.state_store import state_from_dict, state_to_dict
from storywire.connectors.http_types import CapturedResponse

T0 = datetime(2023, 5, 3, 9, 0, tzinfo=timezone.utc)
HEADERS = (("Content-Type", "application/rss+xml; charset=utf-8"), ("ETag", '"abc123"'), ("Server", "nginx"))


@dataclass(frozen=True, slots=True)
class Result:
    """The HTTP layer's FetchResult, reduced to what the core reads."""

    response: CapturedResponse
    not_modified: bool
    permanent_redirect: str | None = None


def feed_body(n: int, items: int) -> bytes:
    """A realistic RSS body: ``items`` entries with titles, links, guids, dates and a paragraph each."""
    entries = "".join(
        f"<item><title>Story {k} of outlet {n}: council approves the harbour budget after a long debate</title>"
        f"<link>https://outlet{n}.example/news/2023/05/03/story-{k}</link><guid>outlet{n}-{k}</guid>"
        f"<pubDate>Wed, 03 May 2023 {k % 24:02d}:00:00 GMT</pubDate>"
        f"<description>{'The council met on Tuesday evening and voted on the budget. ' * 4}</description></item>"
        for k in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {n}</title><link>https://outlet{n}.example/</link><description>News</description>"
        f"<lastBuildDate>Wed, 03 May 2023 09:00:00 GMT</lastBuildDate>{entries}</channel></rss>"
    ).encode()


def build(feeds: int, items: int) -> tuple[FeedPoller, list[str], dict[str, bytes]]:
    """A poller whose feeds were all polled once (200 + parse), as after a restart from a checkpoint.

    Parsing 10,000 bodies would take minutes and is not what is measured: one feed is polled for real and its
    checkpointed state is cloned to the others through the checkpoint codec; they all serve the same body.
    """
    urls = [f"https://outlet{n}.example/rss" for n in range(feeds)]
    body = feed_body(0, items)
    settings = PollSettings(startup_spread=timedelta(0))
    seed = FeedPoller([FeedSpec(urls[0])], settings, T0)
    seed.due(T0)
    outcome = seed.on_result(urls[0], Result(CapturedResponse(urls[0], T0, 200, HEADERS, body, "live"), False), T0)
    assert len(outcome.new_items) == items, outcome
    template = state_to_dict(seed.state(urls[0]))
    states = {u: state_from_dict({**template, "feed_url": u, "current_url": u}, settings.seen_items) for u in urls}
    poller = FeedPoller([FeedSpec(u) for u in urls], settings, T0, states)
    return poller, urls, dict.fromkeys(urls, body)


def core_cycle(poller: FeedPoller, bodies: dict[str, bytes], now: datetime, unchanged_every: int) -> float:
    """One cycle of the live loop for every due feed; CPU seconds."""
    not_modified = CapturedResponse("", now, 304, (("ETag", '"abc123"'),), b"", "live")
    gc.collect()
    started = time.process_time()
    for index, request in enumerate(poller.due(now)):
        if unchanged_every and index % unchanged_every == 0:
            response = CapturedResponse(request.fetch_url, now, 200, HEADERS, bodies[request.feed_url], "live")
            poller.on_result(request.feed_url, Result(response, False), now)
        else:
            poller.on_result(request.feed_url, Result(not_modified, True), now)
    return time.process_time() - started


@dataclass(slots=True)
class _Plain:
    next_at: float = 0.0
    etag: str | None = None


def baseline(urls: list[str]) -> float:
    """The least a scheduler does per result: look the feed up, write two fields, push its next time."""
    states = {u: _Plain() for u in urls}
    heap: list[tuple[float, str]] = []
    gc.collect()
    started = time.process_time()
    for n, url in enumerate(urls):
        state = states[url]
        state.next_at = 1000.0 + n
        state.etag = '"abc123"'
        heapq.heappush(heap, (state.next_at, url))
    return time.process_time() - started


def hash_only(urls: list[str], bodies: dict[str, bytes]) -> float:
    gc.collect()
    started = time.process_time()
    for url in urls:
        hashlib.blake2b(bodies[url], digest_size=16).hexdigest()
    return time.process_time() - started


def parse_cost(bodies: list[bytes]) -> float:
    started = time.process_time()
    for body in bodies:
        parse_feed(body, "https://outlet0.example/rss", T0)
    return (time.process_time() - started) / len(bodies)


def state_memory(feeds: int, items: int) -> float:
    """Bytes allocated per primed feed (state, seen items, heap entry), measured on ``feeds`` feeds."""
    gc.collect()
    tracemalloc.start()
    poller, _, bodies = build(feeds, items)
    del bodies
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del poller
    return current / feeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=50, help="items per feed body")
    parser.add_argument("--unchanged", type=float, default=0.2, help="share of polls answered 200 + same body")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    unchanged_every = round(1 / args.unchanged) if args.unchanged > 0 else 0

    poller, urls, bodies = build(args.feeds, args.items)
    body_kib = len(next(iter(bodies.values()))) / 1024
    now, core_runs, only_304 = T0, [], []
    for _ in range(args.repeat):
        now += timedelta(days=2)  # every feed is due again
        core_runs.append(core_cycle(poller, bodies, now, unchanged_every))
    for _ in range(args.repeat):
        now += timedelta(days=2)
        only_304.append(core_cycle(poller, bodies, now, 0))
    statuses_ok = all(s.failures == 0 and len(s.seen) == args.items for s in poller.states())
    base = min(baseline(urls) for _ in range(args.repeat))
    hashed = min(hash_only(urls, bodies) for _ in range(args.repeat))
    parse_s = parse_cost(list(bodies.values())[:20])
    memory = state_memory(min(args.feeds, 2000), args.items)

    per = 1e6 / args.feeds
    core, core_304 = min(core_runs), min(only_304)
    mix = f"core, {1 - args.unchanged:.0%} 304 + {args.unchanged:.0%} same body"
    print(f"poll core: {args.feeds} feeds, {args.items} items per feed ({body_kib:.1f} KiB), best of {args.repeat}")
    rows = [
        ("baseline plain loop", base * per, ""),
        ("core, all 304", core_304 * per, f"ratio {core_304 / base:.1f}x baseline"),
        (mix, core * per, f"ratio {core / base:.1f}x baseline"),
        ("hash of the body alone", hashed * per, ""),
        ("parse_feed of the body", parse_s * 1e6, f"{parse_s / (core / args.feeds):.0f}x the core's mix"),
    ]
    for label, micros, note in rows:
        print(f"  {label:<32} {micros:10.2f} us/poll   {note}".rstrip())
    print(f"  {'state memory':<32} {memory / 1024:10.1f} KiB/feed with {args.items} seen items")
    print(f"  {'CPU per cycle of 10,000 feeds':<32} {core / args.feeds * 10_000 * 1000:10.0f} ms (the mix)")
    if not statuses_ok:
        raise SystemExit("unexpected state: a feed failed or lost seen items")


if __name__ == "__main__":
    main()
