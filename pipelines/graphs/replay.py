"""The replay graph: WARC archives -> feeds + pages -> articles -> stories -> sinks.

Everything after :func:`pair_archived_pages` is shared with the live graph (:mod:`.live`); only the source
differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.failures import Failure
from storywire.connectors.urls import canonical_url
from storywire.pipelines.beam.archive import FEEDS, PAGES, REDIRECTS, ReadArchives
from storywire.pipelines.beam.articles import ExtractArticles
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.beam.dedupe import DedupeRevisions
from storywire.pipelines.beam.feeds import ParseFeeds
from storywire.pipelines.beam.sinks import DEFAULT_OUTAGE_LIMIT, write_sinks
from storywire.pipelines.beam.stories import EVENTS, STORIES, AssignStoriesBatch
from storywire.pipelines.beam.streams import StoryStreams
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.core.pairing import (
    outlets_through_redirects,
    pair_captures,
    redirect_edge,
    resolve_redirects,
)


def _pair(keyed: tuple[str, dict[str, Any]], feed_outlets: Mapping[str, str]) -> Any:
    url_key, groups = keyed
    for outcome in pair_captures(url_key, groups["sightings"], groups["captures"], feed_outlets):
        if isinstance(outcome, Failure):
            yield dead_letter(outcome)
        else:
            counter("pages.tasks").inc()
            yield outcome


def pair_archived_pages(
    items: PCollection, pages: PCollection, redirects: PCollection, feed_outlets: Mapping[str, str] | None = None
) -> beam.pvalue.DoOutputsTuple:
    """Join feed items with archived page captures on the canonical URL, following archived redirects; each page
    gets the outlet ``feed_outlets`` (canonical feed URL -> outlet) gives the feed that listed it."""
    hops = redirects | "RedirectEdges" >> beam.Map(redirect_edge)
    sightings = items | "KeyItemsByUrl" >> beam.Map(
        lambda i, edges: (resolve_redirects(canonical_url(i.link), edges), i), edges=beam.pvalue.AsDict(hops)
    )
    captures = pages | "KeyPagesByUrl" >> beam.Map(lambda r: (canonical_url(r.url), r))
    outlets: Any = {}
    if feed_outlets:  # the feeds' final URLs need the archive's redirects: one dict, computed once
        outlets = beam.pvalue.AsSingleton(
            redirects.pipeline
            | "FeedOutlets" >> beam.Create([dict(feed_outlets)])
            | "FeedOutletsThroughRedirects" >> beam.Map(outlets_through_redirects, beam.pvalue.AsDict(hops))
        )
    return (
        {"sightings": sightings, "captures": captures}
        | "JoinOnUrl" >> beam.CoGroupByKey()
        | "PairCaptures" >> beam.FlatMap(_pair, outlets).with_outputs(DEAD_LETTERS, main="tasks")
    )


def build_replay(
    pipeline: beam.Pipeline, config: ReplayConfig, *, broker_outage_limit: timedelta = DEFAULT_OUTAGE_LIMIT
) -> StoryStreams:
    """The replay graph; a Kafka sink waits up to ``broker_outage_limit`` for an unreachable broker."""
    read = pipeline | "Archives" >> beam.Create(sorted(config.archives)) | ReadArchives(config.max_body_bytes)
    feeds = read[FEEDS] | "ParseFeeds" >> ParseFeeds()
    paired = pair_archived_pages(feeds.items, read[PAGES], read[REDIRECTS], dict(config.feed_outlets))
    extracted = paired.tasks | "ExtractArticles" >> ExtractArticles(config.min_text_chars)
    distinct = extracted.articles | "DedupeRevisions" >> DedupeRevisions()
    assigned = distinct | "AssignStories" >> AssignStoriesBatch(config.stories)
    dead_letters = (read[DEAD_LETTERS], feeds[DEAD_LETTERS], paired[DEAD_LETTERS], extracted[DEAD_LETTERS])
    streams = StoryStreams(assigned.articles, assigned[STORIES], assigned[EVENTS], dead_letters)
    write_sinks(streams, config.sinks, config.topic_prefix, outage_limit=broker_outage_limit)
    return streams
