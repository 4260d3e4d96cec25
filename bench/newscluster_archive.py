"""Build a WARC archive of NewsCluster: every article as a page capture, every item in a feed capture.

A larger archive than the bundled sample for end-to-end checks: replay it before and after a change and compare
the file sinks byte for byte::

    python bench/newscluster_archive.py --out /tmp/newscluster.warc.gz
    storywire replay /tmp/newscluster.warc.gz --sink file:///tmp/before --no-summary

Each article becomes an HTML page (title and paragraphs) captured ten minutes after its publication time, and
a one-item RSS feed of its outlet captured five minutes after it (rows without a date are spread an hour apart
from 2013-01-01). Damaged rows without text stay in: they are what extraction dead-letters.
"""

from __future__ import annotations

import argparse
import html
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stories import DEFAULT_DATA
from tests.support.warc import RSS, Capture, page, rss, write_warc

UNDATED_START = datetime(2013, 1, 1, tzinfo=timezone.utc)


def _published(row: dict[str, str | None], index: int) -> datetime:
    raw = row.get("date")
    if not raw:
        return UNDATED_START + timedelta(hours=index)
    when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def captures(rows: list[dict[str, str | None]]) -> list[Capture]:
    """Page and feed captures of ``rows`` (NewsCluster's JSON lines), in capture order."""
    built: list[Capture] = []
    feed_items: dict[str, list[tuple[datetime, dict[str, str]]]] = {}
    for index, row in enumerate(rows):
        when = _published(row, index)
        url = row["url"] or f"https://unknown.example/{index}"
        title = html.escape(row.get("title") or "")
        paragraphs = [html.escape(p) for p in (row.get("text") or "").split("\n") if p.strip()]
        built.append(Capture(url, when + timedelta(minutes=10), page(title, paragraphs)))
        item = {
            "title": title,
            "link": html.escape(url),
            "date": format_datetime(when),
            "summary": html.escape(row.get("description") or ""),
        }
        feed_items.setdefault(row.get("source") or "unknown.example", []).append((when, item))
    for outlet, items in feed_items.items():
        for number, (when, item) in enumerate(items):
            feed = rss(outlet, f"https://{outlet}/", [item])
            built.append(Capture(f"https://{outlet}/feed-{number}.xml", when + timedelta(minutes=5), feed, RSS))
    return sorted(built, key=lambda capture: capture.at)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NewsCluster articles.jsonl")
    parser.add_argument("--out", type=Path, required=True, help="the .warc.gz to write")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found: give NewsCluster's articles.jsonl with --data")
    rows = [orjson.loads(line) for line in args.data.read_bytes().splitlines() if line.strip()]
    built = captures(rows)
    write_warc(args.out, built)
    print(f"wrote {args.out}: {len(built)} captures of {len(rows)} articles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
