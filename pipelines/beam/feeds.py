"""Parse feed responses into feed items, at most ``max_items_per_feed`` per feed document.

Counters for the run report's balances: ``feeds.parsed`` (usable feeds; a malformed one with recovered entries
is both parsed and a ``parse-feed`` dead letter, counted in ``feeds.malformed_with_entries``),
``feeds.items`` (items taken), ``feeds.items_over_cap`` (listed beyond the cap, skipped) and
``feeds.entries_without_link`` (entries no page can be fetched for).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.errors import HttpStatusError, MalformedFeedError
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.parse import parse_feed
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter

DEFAULT_MAX_ITEMS_PER_FEED = 5000
"""Items taken from one feed document in a replay; the rest are counted (``feeds.items_over_cap``), not joined.

A news feed lists tens to a few hundred items; a feed listing 100,000 (a whole site dumped into one document)
would otherwise give one ``join-archive`` dead letter per item whose page the archive lacks. The first items in
document order are kept: feeds list the newest first."""


def _parse(response: CapturedResponse, max_items: int) -> Iterator[Any]:
    try:
        if not 200 <= response.status < 300:
            raise HttpStatusError(response.status, response.url)
        parsed = parse_feed(response.body, response.url, response.captured_at, response.header("Content-Type"))
    except Exception as exc:  # InputErrors and feedparser surprises alike become dead letters
        yield dead_letter(
            Failure.from_exception(
                Stage.PARSE_FEED, response.url, exc, response.captured_at, response.source_ref, response.body
            )
        )
        return
    counter("feeds.parsed").inc()
    if parsed.warning:
        # The recovered items are used, and the feed is reported: entries after the break may be lost.
        counter("feeds.malformed_with_entries").inc()
        error = MalformedFeedError(
            f"malformed feed, {len(parsed.items)} entries recovered, later ones may be lost: {parsed.warning}"
        )
        yield dead_letter(
            Failure.from_exception(
                Stage.PARSE_FEED, response.url, error, response.captured_at, response.source_ref, response.body
            )
        )
    counter("feeds.entries_without_link").inc(parsed.skipped_entries)
    taken = parsed.items[:max_items]
    counter("feeds.items_over_cap").inc(len(parsed.items) - len(taken))
    counter("feeds.items").inc(len(taken))
    yield from taken


class ParseFeeds(beam.PTransform):
    """CapturedResponse (feed) -> FeedItem, plus ``dead_letters`` for unusable feeds."""

    def __init__(self, max_items_per_feed: int = DEFAULT_MAX_ITEMS_PER_FEED) -> None:
        super().__init__()
        if max_items_per_feed < 1:
            raise ValueError(f"max_items_per_feed must be >= 1, got {max_items_per_feed}")
        self._max_items = max_items_per_feed

    def expand(self, responses: PCollection) -> beam.pvalue.DoOutputsTuple:
        return responses | "ParseFeed" >> beam.FlatMap(_parse, self._max_items).with_outputs(DEAD_LETTERS, main="items")
