"""Live latency: from an item's appearance in its feed to its article on the sink, through ``storywire run``.

A loopback site (``bench/loopback_site.py``, in this process, one asyncio thread) serves ``--hosts`` healthy
outlets plus four bad ones, each on its own ``127.77.0.N`` address so per-host politeness is real: a throttled
host (every other request 429 + ``Retry-After: 5``), a host stalling its headers (one byte per second), a host
publishing 500 items at once, and a broken host (its pages answer 404 or 500). Items appear at random times over
``--window`` seconds. ``storywire run --config ...`` runs as a subprocess with the default HTTP politeness
(``min_delay`` 5s, one connection per host, robots.txt) and a compressed poll clock (every feed polled every
``--interval`` seconds: ``polling.min_interval = max_interval = initial_interval``; backoffs and page retries
compressed to match), sinking to ``file://``. The bench tails the articles and dead-letter JSONL files every
100 ms and stamps each new line.

Definitions:

- **latency** of an item: wall time its article line appeared in ``news.articles.v1.jsonl`` minus the wall time
  the item appeared in its feed (server side). An item of a healthy host that never arrived counts as infinite
  (the percentiles say "never" when more than that share is missing).
- **ideal**, measured in the same run: the poll interval (the longest a perfect poller leaves a new item unseen)
  plus the fetch time of the feed and of the item's page, timed by plain sequential GETs (a new connection each)
  from this process against a healthy probe outlet that storywire does not poll, every 2 s during the run. Ideal
  p50/p90 use the p50/p90 of those fetch times. The politeness gap between a feed and a page on one host
  (``min_delay``) is not part of the ideal.
- **stop**: seconds from SIGTERM to the process's exit (killed after ``--stop-cap`` seconds).
- **accounting**, for every item listed before the SIGTERM by a polled outlet: an *article* (on the sink), else a
  *dead letter* (identity = its link), else *pending*: either in the pending-pages file beside the poll state
  (``<state.path>.pages``, a retry a restart resumes) or not yet taken (its key is not among the feed's seen items
  in the saved poll state: never polled since it appeared, or held back by ``max_new_items_per_poll``; a restart
  lists it again). *Unaccounted* is the rest: marked seen, yet neither delivered, dead-lettered nor pending.

Runs twice, with the bad hosts and without them (the same healthy hosts and items), and prints both. Targets
(issue 13): healthy p90 <= 1.5x the ideal p90 and within 20% of the run without bad hosts; stop within 10 s;
nothing unaccounted.

Usage::

    python bench/live_latency.py [--hosts 50] [--window 60] [--quick] [--no-bad] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loopback_site import Behaviour, Item, LoopbackSite, Outlet, build_outlets, live_config
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.feeds.state import item_key_hash
from storywire.connectors.feeds.state_store import CheckpointStore

ROOT = Path(__file__).resolve().parent.parent
UA = "storywire-bench/0.1 (+https://example.org/bot)"
ARTICLES = "news.articles.v1.jsonl"
DEAD_LETTERS = "news.deadletter.v1.jsonl"
SEEN_ITEMS = 200


@dataclass
class Tail:
    """New complete lines of a growing JSONL file, each stamped with the wall time it was first seen."""

    path: Path
    offset: int = 0
    partial: bytes = b""
    lines: list[tuple[float, dict[str, object]]] = field(default_factory=list)

    def poll(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return
        if not data:
            return
        stamp = time.time()
        self.offset += len(data)
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        for line in complete:
            if line.strip():
                self.lines.append((stamp, json.loads(line)))


@dataclass
class Accounting:
    listed: int = 0
    articles: int = 0
    dead_letters: int = 0
    pending_pages: int = 0
    not_taken: int = 0
    unaccounted: int = 0

    @property
    def pending(self) -> int:
        return self.pending_pages + self.not_taken


@dataclass
class RunResult:
    label: str
    latencies: list[float]  # healthy hosts' items; inf: never arrived
    fetch_s: list[float]
    interval_s: float
    stop_s: float
    killed: bool
    exit_code: int | None
    accounting: Accounting
    by_behaviour: dict[str, Accounting]

    @property
    def ideal(self) -> tuple[float, float]:
        return self.interval_s + percentile(self.fetch_s, 50), self.interval_s + percentile(self.fetch_s, 90)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (inf entries sort last); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def config_text(outlets: list[Outlet], workdir: Path, interval_s: float, min_delay_s: float = 5.0) -> str:
    return live_config(
        outlets, workdir, interval_s, user_agent=UA, sinks=[f"file://{workdir / 'out'}"], min_delay_s=min_delay_s
    )


def probe_fetch(site: LoopbackSite, probe: Outlet) -> float | None:
    """Seconds for a plain GET of the probe outlet's feed and of its newest visible page (None: nothing yet)."""
    now = time.time()
    visible = [i for i in probe.items if (site.appeared_at(i) or math.inf) <= now]
    if not visible:
        return None
    started = time.perf_counter()
    headers = {"User-Agent": UA}
    for url in (probe.feed_url, probe.url(visible[-1])):
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            response.read()
    return time.perf_counter() - started


def run_once(args: argparse.Namespace, *, bad: bool, workdir: Path) -> RunResult:
    label = "with bad hosts" if bad else "without bad hosts"
    outlets = build_outlets(args.hosts, window_s=args.window, item_every_s=args.item_every, bad=bad)
    probe, polled = outlets[-1], outlets[:-1]
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "live.yaml"
    out = workdir / "out"
    with LoopbackSite(outlets) as site:
        config.write_text(config_text(polled, workdir, args.interval, args.min_delay))
        stdout, stderr = (workdir / "stdout.txt").open("wb"), (workdir / "stderr.txt").open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env = {k: v for k, v in env.items() if not k.startswith("STORYWIRE__")}
        if args.source is not None:  # run that checkout's code instead of the installed (editable) package
            env["PYTHONPATH"] = os.pathsep.join([str(args.source), *filter(None, [env.get("PYTHONPATH")])])
        process = subprocess.Popen(
            [sys.executable, "-m", "storywire", "run", "--config", str(config)],
            cwd=workdir,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
        tails = {name: Tail(out / name) for name in (ARTICLES, DEAD_LETTERS)}
        try:
            go = _start_clock(site, polled, process, workdir)
            print(f"  [{label}] storywire polling; items appear over {args.window:.0f}s", file=sys.stderr, flush=True)
            fetch_s: list[float] = []
            end, next_probe = go + args.window + args.margin, 0.0
            while time.time() < end and process.poll() is None:
                for tail in tails.values():
                    tail.poll()
                if time.monotonic() >= next_probe:
                    next_probe = time.monotonic() + 2.0
                    with contextlib.suppress(OSError, urllib.error.URLError):
                        sample = probe_fetch(site, probe)
                        if sample is not None:
                            fetch_s.append(sample)
                time.sleep(0.1)
            stopped_at = time.time()
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            killed = False
            while process.poll() is None:
                for tail in tails.values():
                    tail.poll()
                if time.monotonic() - signalled > args.stop_cap:
                    process.kill()
                    process.wait()
                    killed = True
                    break
                time.sleep(0.05)
            stop_s = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            stdout.close()
            stderr.close()
        for tail in tails.values():
            tail.poll()
    latencies, total, by_behaviour = _account(site, polled, tails, workdir, stopped_at)
    return RunResult(label, latencies, fetch_s, args.interval, stop_s, killed, process.returncode, total, by_behaviour)


def _start_clock(site: LoopbackSite, polled: list[Outlet], process: subprocess.Popen[bytes], workdir: Path) -> float:
    """Start the items once 90% of the outlets had their first poll (or 60 s passed), one second later."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = (workdir / "stderr.txt").read_text(errors="replace")[-3000:]
            raise SystemExit(f"storywire run exited with {process.returncode} before polling:\n{err}")
        if sum(1 for o in polled if o.requests) >= 0.9 * len(polled):
            break
        time.sleep(0.1)
    return site.go(time.time() + 1.0)


def _account(
    site: LoopbackSite, polled: list[Outlet], tails: dict[str, Tail], workdir: Path, stopped_at: float
) -> tuple[list[float], Accounting, dict[str, Accounting]]:
    arrived: dict[str, float] = {}
    for stamp, record in tails[ARTICLES].lines:
        for key in ("url", "canonical_url"):
            url = str(record.get(key))
            arrived.setdefault(url, stamp)
    dead = {str(record.get("identity")) for _, record in tails[DEAD_LETTERS].lines}
    state_path = workdir / "state" / "feed-state.json"
    states = CheckpointStore(state_path).load(SEEN_ITEMS) if state_path.exists() else {}
    pending_links = _pending_links(Path(f"{state_path}.pages"))
    latencies: list[float] = []
    total = Accounting()
    by_behaviour: dict[str, Accounting] = {}
    for outlet in polled:
        state = states.get(outlet.feed_url)
        part = by_behaviour.setdefault(outlet.behaviour.value, Accounting())
        for item in outlet.items:
            appeared = site.appeared_at(item)
            if appeared is None or appeared > stopped_at:
                continue
            url = outlet.url(item)
            for acc in (total, part):
                acc.listed += 1
            if url in arrived:
                bucket = "articles"
            elif url in dead:
                bucket = "dead_letters"
            elif url in pending_links:
                bucket = "pending_pages"
            elif state is None or item_key_hash(_feed_item(item)) not in state.seen:
                bucket = "not_taken"
            else:
                bucket = "unaccounted"
            for acc in (total, part):
                setattr(acc, bucket, getattr(acc, bucket) + 1)
            if outlet.behaviour is Behaviour.HEALTHY:
                latencies.append(arrived[url] - appeared if url in arrived else math.inf)
    return latencies, total, by_behaviour


def _pending_links(path: Path) -> set[str]:
    """The links in the pending-pages file (``{"version": 1, "pages": [{"item": {"link": ...}, ...}]}``)."""
    try:
        pages = json.loads(path.read_bytes())["pages"]
    except FileNotFoundError:
        return set()
    return {str(page["item"]["link"]) for page in pages}


def _feed_item(item: Item) -> FeedItem:
    return FeedItem(
        item_key=item.guid,
        link="",
        title="",
        summary="",
        authors=(),
        published_at=None,
        feed_url="",
        feed_title="",
        feed_language=None,
        seen_at=datetime.now(timezone.utc),
    )


def _s(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "never" if math.isinf(value) else f"{value:.1f}s"


def _ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "n/a"
    return "inf" if math.isinf(a) else f"{a / b:.2f}x"


def report(results: list[RunResult], args: argparse.Namespace) -> None:
    print(
        f"live latency: {args.hosts} healthy hosts (+4 bad in the first run), items over {args.window:.0f}s, "
        f"poll interval {args.interval:.0f}s, politeness min_delay {args.min_delay:g}s"
        + (" (the default)" if args.min_delay == 5.0 else "")
    )
    print(f"storywire code: {'git ' + args.rev if args.rev else 'the installed package (working tree)'}")
    print(f"{'':20} {'p50':>7} {'p90':>7} {'ideal p50':>10} {'ideal p90':>10} {'p90/ideal':>10} {'arrived':>9}")
    for r in results:
        p50, p90 = percentile(r.latencies, 50), percentile(r.latencies, 90)
        ideal50, ideal90 = r.ideal
        arrived = sum(1 for x in r.latencies if math.isfinite(x))
        print(
            f"{r.label:20} {_s(p50):>7} {_s(p90):>7} {_s(ideal50):>10} {_s(ideal90):>10} "
            f"{_ratio(p90, ideal90):>10} {arrived:>4}/{len(r.latencies):<4}"
        )
    for r in results:
        arrived_only = [x for x in r.latencies if math.isfinite(x)]
        print(
            f"  {r.label}: of the arrived only, p50 {_s(percentile(arrived_only, 50))} "
            f"p90 {_s(percentile(arrived_only, 90))}; probe fetch (feed + page) p50 "
            f"{percentile(r.fetch_s, 50) * 1000:.1f} ms, p90 {percentile(r.fetch_s, 90) * 1000:.1f} ms "
            f"over {len(r.fetch_s)} probes"
        )
    if len(results) == 2:
        with_bad, without = results
        ratio = _ratio(percentile(with_bad.latencies, 90), percentile(without.latencies, 90))
        print(f"healthy p90 with bad hosts / without: {ratio} (target <= 1.20x)")
    for r in results:
        ideal90 = r.ideal[1]
        print(f"{r.label}: healthy p90 / ideal p90 {_ratio(percentile(r.latencies, 90), ideal90)} (target <= 1.50x)")
        # A polite client cannot fetch a page sooner than min_delay after the feed poll on the same host.
        polite = ideal90 + args.min_delay
        print(
            f"{r.label}: healthy p90 / (ideal p90 + min_delay {args.min_delay:g}s = {_s(polite)}) "
            f"{_ratio(percentile(r.latencies, 90), polite)}"
        )
    for r in results:
        how = f"killed after {r.stop_s:.1f}s" if r.killed else f"{r.stop_s:.1f}s, exit code {r.exit_code}"
        print(f"SIGTERM to exit, {r.label}: {how} (target <= 10s)")
    for r in results:
        a = r.accounting
        print(
            f"accounting, {r.label}: listed {a.listed} = articles {a.articles} + dead letters {a.dead_letters} "
            f"+ pending {a.pending} (retry file {a.pending_pages}, not yet taken {a.not_taken}); "
            f"unaccounted {a.unaccounted}"
        )
        for name, part in sorted(r.by_behaviour.items()):
            print(
                f"    {name:9} listed {part.listed:4}: articles {part.articles}, dead letters {part.dead_letters}, "
                f"retry file {part.pending_pages}, not yet taken {part.not_taken}, unaccounted {part.unaccounted}"
            )


def _checkout(rev: str, target: Path) -> Path:
    """``git archive REV`` of this repository unpacked into ``target`` (the working tree is left alone)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--hosts", type=int, default=50, help="healthy hosts (default 50; the bad ones come on top)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which items appear (default 60)")
    parser.add_argument("--item-every", type=float, default=20.0, help="mean seconds between items of one host")
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval of every feed (default 10s)")
    parser.add_argument("--min-delay", type=float, default=5.0, help="http.min_delay in seconds (default 5)")
    parser.add_argument("--margin", type=float, default=20.0, help="seconds after the last item before SIGTERM")
    parser.add_argument("--stop-cap", type=float, default=15.0, help="kill the run this long after SIGTERM")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (items over 15s, 10s margin)")
    parser.add_argument("--no-bad", action="store_true", help="only the run without bad hosts")
    parser.add_argument("--keep", type=Path, default=None, help="keep each run's config, logs and sinks here")
    parser.add_argument("--rev", default=None, help="run storywire as committed at this git revision (git archive)")
    args = parser.parse_args(argv)
    if args.quick:
        args.window, args.item_every, args.margin, args.stop_cap = 15.0, 7.5, 10.0, 12.0
    base = args.keep or Path(tempfile.mkdtemp(prefix="storywire-live-latency-"))
    args.source = None
    results = []
    try:
        if args.rev is not None:
            args.source = _checkout(args.rev, base / "source")
        for bad in [False] if args.no_bad else [True, False]:
            results.append(run_once(args, bad=bad, workdir=base / ("bad" if bad else "clean")))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    report(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
