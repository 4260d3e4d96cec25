"""Parse feed responses into feed items."""

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


def _parse(response: CapturedResponse) -> Iterator[Any]:
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
    counter("feeds.items").inc(len(parsed.items))
    yield from parsed.items


class ParseFeeds(beam.PTransform):
    """CapturedResponse (feed) -> FeedItem, plus ``dead_letters`` for unusable feeds."""

    def expand(self, responses: PCollection) -> beam.pvalue.DoOutputsTuple:
        return responses | "ParseFeed" >> beam.FlatMap(_parse).with_outputs(DEAD_LETTERS, main="items")
