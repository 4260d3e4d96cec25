"""The replay pipeline: WARC archives -> feeds + pages -> articles -> stories -> sinks.

Everything after :func:`pair_archived_pages` is shared with the live pipeline; only the source differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from connectors.failures import Failure
from connectors.urls import canonical_url
from pipelines.config import ReplayConfig, SinkSpec
from pipelines.replay_join import pair_captures, redirect_edge, resolve_redirects
from pipelines.stories.transform import EVENTS, STORIES, AssignStoriesBatch
from pipelines.transforms.archive import FEEDS, PAGES, REDIRECTS, ReadArchives
from pipelines.transforms.articles import ExtractArticles
from pipelines.transforms.common import DEAD_LETTERS, counter, dead_letter
from pipelines.transforms.dedupe import DedupeRevisions
from pipelines.transforms.feeds import ParseFeeds
from pipelines.transforms.sinks import WriteJsonl, WriteKafka


@dataclass(frozen=True)
class StoryStreams:
    """The four result streams every pipeline ends in."""

    articles: PCollection
    stories: PCollection
    events: PCollection
    dead_letters: PCollection


def _pair(keyed: tuple[str, dict[str, Any]]) -> Any:
    url_key, groups = keyed
    for outcome in pair_captures(url_key, groups["sightings"], groups["captures"]):
        if isinstance(outcome, Failure):
            yield dead_letter(outcome)
        else:
            counter("pages.tasks").inc()
            yield outcome


def pair_archived_pages(items: PCollection, pages: PCollection, redirects: PCollection) -> beam.pvalue.DoOutputsTuple:
    """Join feed items with archived page captures on the canonical URL, following archived redirects."""
    hops = redirects | "RedirectEdges" >> beam.Map(redirect_edge)
    sightings = items | "KeyItemsByUrl" >> beam.Map(
        lambda i, edges: (resolve_redirects(canonical_url(i.link), edges), i), edges=beam.pvalue.AsDict(hops)
    )
    captures = pages | "KeyPagesByUrl" >> beam.Map(lambda r: (canonical_url(r.url), r))
    return (
        {"sightings": sightings, "captures": captures}
        | "JoinOnUrl" >> beam.CoGroupByKey()
        | "PairCaptures" >> beam.FlatMap(_pair).with_outputs(DEAD_LETTERS, main="tasks")
    )


def build_replay(pipeline: beam.Pipeline, config: ReplayConfig) -> StoryStreams:
    read = pipeline | "Archives" >> beam.Create(sorted(config.archives)) | ReadArchives(config.max_body_bytes)
    feeds = read[FEEDS] | "ParseFeeds" >> ParseFeeds()
    paired = pair_archived_pages(feeds.items, read[PAGES], read[REDIRECTS])
    extracted = paired.tasks | "ExtractArticles" >> ExtractArticles(config.min_text_chars)
    distinct = extracted.articles | "DedupeRevisions" >> DedupeRevisions()
    assigned = distinct | "AssignStories" >> AssignStoriesBatch(config.stories)
    dead_letters = (
        read[DEAD_LETTERS],
        feeds[DEAD_LETTERS],
        paired[DEAD_LETTERS],
        extracted[DEAD_LETTERS],
    ) | "AllDeadLetters" >> beam.Flatten()
    streams = StoryStreams(assigned.articles, assigned[STORIES], assigned[EVENTS], dead_letters)
    write_sinks(streams, config.sinks, config)
    return streams


def write_sinks(streams: StoryStreams, sinks: tuple[SinkSpec, ...], config: ReplayConfig) -> None:
    topics = config.topics
    named = (
        (topics.articles, streams.articles),
        (topics.stories, streams.stories),
        (topics.story_events, streams.events),
        (topics.dead_letters, streams.dead_letters),
    )
    for index, sink in enumerate(sinks):
        if sink.kind == "file":
            for topic, records in named:
                _ = records | f"File{index}[{topic}]" >> WriteJsonl(sink.target, topic)
        else:
            assert sink.kafka is not None
            every = [records for _, records in named] | f"Merge{index}" >> beam.Flatten()
            _ = every | f"Kafka{index}" >> WriteKafka(sink.kafka, topics)
