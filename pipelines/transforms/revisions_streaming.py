"""Revision numbering and repeat removal for an unbounded stream, in keyed state (live form of dedupe).

Keyed by article id; the state per id is the set of content hashes seen (bounded), the last revision number
and the earliest sighting. Parallel by article id. Every article id's state is cleared by an event-time timer
``retention`` after it was last touched, so state stays bounded on an endless stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from pipelines.transforms.common import counter
from schemas.records import Article

MAX_HASHES_PER_ARTICLE = 64


class _RevisionFn(beam.DoFn):
    SEEN = ReadModifyWriteStateSpec("seen", PickleCoder())
    EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, retention: timedelta) -> None:
        self._retention_s = retention.total_seconds()

    def process(
        self,
        keyed: tuple[str, Article],
        seen: Any = beam.DoFn.StateParam(SEEN),
        expiry: Any = beam.DoFn.TimerParam(EXPIRY),
    ) -> Iterator[Article]:
        article = keyed[1]
        state = seen.read() or {"hashes": [], "revision": 0, "first_seen": article.first_seen_at}
        if article.content_hash in state["hashes"]:
            counter("articles.exact_repeats").inc()
            return
        state["hashes"] = [*state["hashes"], article.content_hash][-MAX_HASHES_PER_ARTICLE:]
        state["revision"] += 1
        state["first_seen"] = min(state["first_seen"], article.first_seen_at)
        seen.write(state)
        expiry.set(Timestamp.of(article.captured_at.timestamp() + self._retention_s))
        if state["revision"] > 1:
            counter("articles.revisions").inc()
        yield article.replace(revision=state["revision"], first_seen_at=state["first_seen"])

    @on_timer(EXPIRY)
    def expire(self, seen: Any = beam.DoFn.StateParam(SEEN)) -> Iterator[Article]:
        seen.clear()
        yield from ()


class NumberRevisionsStreaming(beam.PTransform):
    """Article captures -> distinct revisions, statefully (no GroupByKey, so it streams)."""

    def __init__(self, retention: timedelta = timedelta(days=30)) -> None:
        super().__init__()
        self._retention = retention

    def expand(self, articles: Any) -> Any:
        return (
            articles
            | "KeyByArticleId" >> beam.Map(lambda a: (a.article_id, a))
            | "NumberRevisions" >> beam.ParDo(_RevisionFn(self._retention))
        )
