"""Counts what the live graph emits into the run's Prometheus metrics (:mod:`storywire.pipelines.live.metrics`).

A tap is a ParDo that reads each record and outputs nothing, applied to each stream separately (a Flatten would
end fusion behind the live source on the FnApiRunner).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from storywire.pipelines.beam.streams import StoryStreams
from storywire.pipelines.live import metrics
from storywire.schemas.records import Article, DeadLetter, StoryEvent


class _CountFn(beam.DoFn):
    def process(self, record: Any) -> Iterator[None]:
        live = metrics.METRICS
        if isinstance(record, Article):
            live.articles.labels(record.extraction_method).inc()
        elif isinstance(record, DeadLetter):
            live.count_dead_letter(str(record.stage), record.error_type)
        elif isinstance(record, StoryEvent):
            live.story_events.labels(str(record.event_type)).inc()
        yield from ()


def tap_metrics(streams: StoryStreams) -> None:
    """Count the articles, dead letters (every stage) and story events of ``streams``."""
    streams.articles | "CountArticles" >> beam.ParDo(_CountFn())
    streams.events | "CountStoryEvents" >> beam.ParDo(_CountFn())
    for number, dead_letters in enumerate(streams.dead_letters):
        dead_letters | f"CountDeadLetters{number}" >> beam.ParDo(_CountFn())
