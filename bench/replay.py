"""Replay throughput: a synthetic crawl archive replayed to the file sink, against a single-process floor.

    python bench/replay.py                       # 100,000 articles (the issue's size: about an hour on 2 cores)
    python bench/replay.py --articles 5000       # a quicker look
    python bench/replay.py --archive crawl.warc.gz --serial

Builds the archive with :mod:`bench.replay_archive` (feeds and ~32 KB news pages; not timed), then times, each in
a fresh Python process and end to end (interpreter start, imports, the work, writing):

- **floor**: the same per-article work in a plain single-process loop: read the archive, parse every feed, pair
  items with pages, extract every page with trafilatura in-process, build the articles, assign stories in stream
  order. No Beam, no worker processes, no dedupe or sinks: the least a one-core program has to do;
- **replay**: ``storywire replay ARCHIVE --sink file://... --workers N`` (the FnApiRunner), with ``--workers``
  extraction (and feed parsing) processes (default: one per core);
- with ``--serial``, the replay with one extraction process as well (the behaviour before the pool).

It prints articles/s and peak memory (the process's own peak plus its largest worker's: an upper bound) of each,
and the replay's ratio to the floor measured in the same run (>= 1.0: the replay beats a single-core loop);
first, the start-up: ``storywire --help`` and the whole replay of the bundled sample, wall. ``--check`` also
compares the serial and parallel replays' files byte for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = ("news.articles.v1.jsonl", "news.stories.v1.jsonl", "news.story-events.v1.jsonl", "news.deadletter.v1.jsonl")


def floor(archive: str) -> int:
    """The single-process loop; returns the number of articles built."""
    from collections import defaultdict

    from storywire.connectors.archives.warc_reader import classify, read_archive
    from storywire.connectors.articles.extract import extract_page
    from storywire.connectors.failures import Failure
    from storywire.connectors.feeds.parse import FeedItem, parse_feed
    from storywire.connectors.http_types import CapturedResponse
    from storywire.connectors.urls import canonical_url
    from storywire.pipelines.core.normalise import PageTask, build_article
    from storywire.pipelines.core.pairing import pair_captures
    from storywire.pipelines.core.revisions import order_key, stream_time
    from storywire.pipelines.stories import StoryAssigner, StoryConfig
    from storywire.schemas.records import Article

    sightings: dict[str, list[FeedItem]] = defaultdict(list)
    pages: dict[str, list[CapturedResponse]] = defaultdict(list)
    for record in read_archive(archive):
        if isinstance(record, Failure):
            continue
        kind = classify(record)
        if kind == "feed":
            try:
                parsed = parse_feed(record.body, record.url, record.captured_at, record.header("Content-Type"))
            except Exception:
                continue
            for item in parsed.items:
                sightings[canonical_url(item.link)].append(item)
        elif kind == "page":
            pages[canonical_url(record.url)].append(record)
    articles: list[Article] = []
    for key, captures in pages.items():
        for task in pair_captures(key, sightings.get(key, []), captures):
            if not isinstance(task, PageTask):
                continue
            try:
                articles.append(build_article(task, extract_page(task.response)))
            except Exception:
                continue
    assigner = StoryAssigner(StoryConfig())
    for article in sorted(articles, key=order_key):
        assigner.advance(stream_time(article))
        assigner.assign(article)
    return len(articles)


def replay(archive: str, out: str, workers: int) -> None:
    """``storywire replay ARCHIVE --sink file://OUT --workers N`` as an analyst runs it (progress off: the bench
    reads its own clock)."""
    from storywire.pipelines.cli.main import main as storywire

    code = storywire(["replay", archive, "--sink", f"file://{out}", "--workers", str(workers), "--no-progress"])
    if code != 0:
        raise SystemExit(f"storywire replay exited {code}")


def _peak_mb() -> float:
    """Peak resident memory of this process and, separately counted, of its largest finished child (the
    extraction workers), in MB: the two added are an upper bound of the whole at any moment."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def _timed(*args: str) -> tuple[float, str, float]:
    """Wall seconds of ``python bench/replay.py ARGS`` in a fresh process, its result line and its peak memory
    (MB, the child's own figure: its last line of stdout is ``RESULT PEAK_MB``)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    result, _, peak = (lines[-1] if lines else "").rpartition(" ")
    return elapsed, result, float(peak or 0)


def _wall(*argv: str) -> float:
    started = time.perf_counter()
    subprocess.run([*argv], capture_output=True, cwd=ROOT, check=True)
    return time.perf_counter() - started


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=100_000, help="articles in the generated archive")
    parser.add_argument("--archive", help="replay this archive instead of generating one")
    parser.add_argument("--workers", type=int, default=None, help="extraction processes (default: one per core)")
    parser.add_argument(
        "--floor-articles",
        type=int,
        default=None,
        metavar="N",
        help="time the floor on its own N-article archive from the same generator (its rate is per article: a "
        "loop's work grows linearly) instead of the whole archive; for a quicker 100,000-article run",
    )
    parser.add_argument("--serial", action="store_true", help="also time the replay with one extraction process")
    parser.add_argument("--check", action="store_true", help="with --serial: compare both replays' files")
    parser.add_argument("--floor-only", dest="floor_archive", help=argparse.SUPPRESS)
    parser.add_argument("--replay-only", dest="replay_args", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_archive:  # the child processes
        print(floor(args.floor_archive), f"{_peak_mb():.0f}")
        return 0
    if args.replay_args:
        archive, out, workers = args.replay_args
        replay(archive, out, int(workers))
        print("done", f"{_peak_mb():.0f}")
        return 0

    from storywire.connectors.articles.pool import default_workers

    workers = args.workers if args.workers is not None else default_workers()
    with tempfile.TemporaryDirectory(prefix="storywire-bench-replay-") as scratch:
        work = Path(scratch)
        archive = args.archive
        if archive is None:
            from bench.replay_archive import write_archive

            archive = str(work / "synthetic.warc.gz")
            started = time.perf_counter()
            records, body_bytes = write_archive(Path(archive), args.articles)
            print(
                f"archive: {args.articles} articles, {records} records, {body_bytes / 1e6:.0f} MB of bodies "
                f"(built in {time.perf_counter() - started:.0f} s, not timed)"
            )
        print(f"cores: {os.cpu_count()}, extraction workers: {workers}, load average {_load()}")
        storywire = str(Path(sys.executable).with_name("storywire"))
        sample = str(ROOT / "pipelines" / "bundled" / "storywire-sample.warc.gz")
        help_s = _wall(storywire, "--help")
        sample_s = _wall(storywire, "replay", sample, "--sink", f"file://{work / 'sample'}", "--no-progress")
        print(f"start-up: storywire --help {help_s:.1f} s; the bundled sample's whole replay {sample_s:.1f} s wall")
        floor_archive = archive
        if args.floor_articles:
            from bench.replay_archive import write_archive

            floor_archive = str(work / "floor.warc.gz")
            write_archive(Path(floor_archive), args.floor_articles)
            print(f"floor on its own archive of {args.floor_articles} articles (same generator)")
        floor_s, floor_out, floor_mb = _timed("--floor-only", floor_archive)
        floor_articles = int(floor_out)
        floor_rate = floor_articles / floor_s
        print(
            f"floor  (single-process loop):      {floor_s:7.1f} s  {floor_articles:6d} articles  {floor_rate:6.1f}/s"
            f"  peak {floor_mb:5.0f} MB"
        )
        runs = [("replay", workers)] + ([("serial", 1)] if args.serial else [])
        outputs = {}
        for name, count in runs:
            out = work / name
            seconds, _, peak_mb = _timed("--replay-only", archive, str(out), str(count))
            built = _count_lines(out / FILES[0])
            rate = built / seconds
            label = f"replay ({count} worker{'s' if count != 1 else ''}):"
            ratio = rate / floor_rate
            print(
                f"{label:35s} {seconds:7.1f} s  {built:6d} articles  {rate:6.1f}/s  peak {peak_mb:5.0f} MB"
                f"  ratio to floor {ratio:.2f}"
            )
            outputs[name] = out
        print(f"load average at the end: {_load()} (other programs' load slows the parallel replay most)")
        if args.check and args.serial:
            same = all(filecmp.cmp(outputs["replay"] / f, outputs["serial"] / f, shallow=False) for f in FILES)
            print(f"parallel and serial files identical: {same}")
            if not same:
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
