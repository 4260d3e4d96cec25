"""Parse feed responses into feed items."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from connectors.errors import HttpStatusError, InputError
from connectors.failures import Failure
from connectors.feeds.parse import STAGE, parse_feed
from connectors.http_types import CapturedResponse
from pipelines.transforms.common import DEAD_LETTERS, counter, dead_letter, guarded


@guarded(STAGE, lambda r: r.url, lambda r: r.captured_at, lambda r: r.source_ref)
def _parse(response: CapturedResponse) -> Iterator[Any]:
    try:
        if not 200 <= response.status < 300:
            raise HttpStatusError(response.status, response.url)
        parsed = parse_feed(response.body, response.url, response.captured_at, response.header("Content-Type"))
    except InputError as exc:
        yield dead_letter(
            Failure.from_exception(
                STAGE, response.url, exc, response.captured_at, response.source_ref, response.body
            )
        )
        return
    counter("feeds.parsed").inc()
    if parsed.warning:
        counter("feeds.malformed_with_entries").inc()
    counter("feeds.entries_without_link").inc(parsed.skipped_entries)
    counter("feeds.items").inc(len(parsed.items))
    yield from parsed.items


class ParseFeeds(beam.PTransform):  # type: ignore[misc]
    """CapturedResponse (feed) -> FeedItem, plus ``dead_letters`` for unusable feeds."""

    def expand(self, responses: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return responses | "ParseFeed" >> beam.FlatMap(_parse).with_outputs(DEAD_LETTERS, main="items")
