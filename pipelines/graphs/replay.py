"""The replay pipeline: WARC archives -> feeds + pages -> articles -> stories -> sinks.

Everything after :func:`pair_archived_pages` is shared with the live pipeline; only the source differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.failures import Failure
from storywire.connectors.kafka.topics import TopicNames
from storywire.connectors.urls import canonical_url
from storywire.pipelines.beam.archive import FEEDS, PAGES, REDIRECTS, ReadArchives
from storywire.pipelines.beam.articles import ExtractArticles
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.beam.dedupe import DedupeRevisions
from storywire.pipelines.beam.feeds import ParseFeeds
from storywire.pipelines.beam.sinks import AppendJsonl, WriteJsonl, WriteKafka
from storywire.pipelines.beam.stories import EVENTS, STORIES, AssignStoriesBatch
from storywire.pipelines.config.replay import ReplayConfig, SinkSpec
from storywire.pipelines.core.pairing import pair_captures, redirect_edge, resolve_redirects


@dataclass(frozen=True)
class StoryStreams:
    """The four result streams every pipeline ends in."""

    articles: PCollection
    stories: PCollection
    events: PCollection
    dead_letters: tuple[PCollection, ...]
    """One PCollection per stage: a live graph must not Flatten them (see :func:`write_sinks`)."""


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
    dead_letters = (read[DEAD_LETTERS], feeds[DEAD_LETTERS], paired[DEAD_LETTERS], extracted[DEAD_LETTERS])
    streams = StoryStreams(assigned.articles, assigned[STORIES], assigned[EVENTS], dead_letters)
    write_sinks(streams, config.sinks, config.topic_prefix)
    return streams


def write_sinks(
    streams: StoryStreams, sinks: tuple[SinkSpec, ...], topic_prefix: str, *, streaming: bool = False
) -> None:
    """Every stream to every sink; files are appended as records arrive when ``streaming``.

    Streaming sinks are applied to each stream separately: on the FnApiRunner a Flatten of several inputs
    ends fusion, and nothing behind it leaves before the live source finishes.
    """
    topics = TopicNames(topic_prefix)
    named: list[tuple[str, str, PCollection]] = [
        ("articles", topics.articles, streams.articles),
        ("stories", topics.stories, streams.stories),
        ("events", topics.story_events, streams.events),
    ]
    if streaming:
        named += [(f"dead{n}", topics.dead_letters, records) for n, records in enumerate(streams.dead_letters)]
    else:
        dead = streams.dead_letters | "AllDeadLetters" >> beam.Flatten()
        named.append(("dead", topics.dead_letters, dead))
    for index, sink in enumerate(sinks):
        for label, topic, records in named:
            if sink.kind == "file" and streaming:
                _ = records | f"File{index}[{label}]" >> AppendJsonl(sink.target, topics)
            elif sink.kind == "file":
                _ = records | f"File{index}[{label}]" >> WriteJsonl(sink.target, topic)
            else:
                assert sink.kafka is not None
                _ = records | f"Kafka{index}[{label}]" >> WriteKafka(sink.kafka, topics)
