"""The replay graph: WARC archives -> feeds + pages -> articles (+ the articles of JSONL dumps) -> the filter ->
stories -> sinks.

Everything after :func:`pair_archived_pages` is shared with the live graph (:mod:`.live`); only the source
differs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.archives.inputs import RefusedInput
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http.errors import InvalidUrlError
from storywire.connectors.urls import canonical_url
from storywire.pipelines.beam.archive import FEEDS, PAGES, REDIRECTS, LoadBodies, ReadArchives
from storywire.pipelines.beam.articles import ExtractArticles
from storywire.pipelines.beam.coders import pack, unpack
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.beam.dedupe import DedupeRevisions
from storywire.pipelines.beam.dumps import ARTICLES, ReadArticleDumps
from storywire.pipelines.beam.feeds import DEFAULT_MAX_ITEMS_PER_FEED, ParseFeeds
from storywire.pipelines.beam.filters import FilterArticles, FilterTasksByTime
from storywire.pipelines.beam.progress_tap import ProgressTap
from storywire.pipelines.beam.sinks import DEFAULT_OUTAGE_LIMIT, write_sinks
from storywire.pipelines.beam.stories import EVENTS, STORIES, AssignStoriesBatch
from storywire.pipelines.beam.streams import StoryStreams
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.core import progress
from storywire.pipelines.core.event_time import capture_window
from storywire.pipelines.core.pairing import (
    outlets_through_redirects,
    pair_captures,
    redirect_edge,
    resolve_redirects,
)


def _pair(keyed: tuple[str, dict[str, Any]], feed_outlets: Mapping[str, str]) -> Any:
    """Pair one URL's sightings and captures. Counted for the balances: of a URL's feed items, the first is
    ``join.items.paired`` (when the archive holds its page) or a ``join-archive`` dead letter, the others are
    ``join.items.repeats`` (the same URL listed again, by another capture of its feed or by another feed)."""
    url_key, groups = keyed
    sightings = [unpack(item) for item in groups["sightings"]]
    captures = [unpack(page) for page in groups["captures"]]
    counter("join.items.repeats").inc(max(len(sightings) - 1, 0))
    if sightings and captures:
        counter("join.items.paired").inc()
    for outcome in pair_captures(url_key, sightings, captures, feed_outlets):
        if isinstance(outcome, Failure):
            yield dead_letter(outcome)
        else:
            counter("pages.tasks").inc()
            yield outcome


def _key_item(item: FeedItem, edges: Mapping[str, str]) -> Iterator[Any]:
    """(canonical URL after the archived redirects, item), or a ``join-archive`` dead letter for a link that is
    not a URL (``http://[::1/x``)."""
    try:
        key = resolve_redirects(canonical_url(item.link), edges)
    except ValueError as exc:
        error = InvalidUrlError(f"feed item link is not a URL ({exc}), listed in {item.feed_url}", item.link)
        yield dead_letter(
            Failure.from_exception(Stage.JOIN_ARCHIVE, item.link, error, item.seen_at, payload_ref=item.feed_url)
        )
        return
    yield key, pack(item)  # packed while the join holds it (pipelines/beam/coders.py)


def pair_archived_pages(
    items: PCollection, pages: PCollection, redirects: PCollection, feed_outlets: Mapping[str, str] | None = None
) -> _Paired:
    """Join feed items with archived page captures on the canonical URL, following archived redirects; each page
    gets the outlet ``feed_outlets`` (canonical feed URL -> outlet) gives the feed that listed it."""
    hops = redirects | "RedirectEdges" >> beam.Map(redirect_edge)
    keyed_items = items | "KeyItemsByUrl" >> beam.FlatMap(_key_item, edges=beam.pvalue.AsDict(hops)).with_outputs(
        DEAD_LETTERS, main="keyed"
    )
    sightings = keyed_items.keyed
    captures = pages | "KeyPagesByUrl" >> beam.Map(lambda r: (canonical_url(r.url), pack(r)))
    outlets: Any = {}
    if feed_outlets:  # the feeds' final URLs need the archive's redirects: one dict, computed once
        outlets = beam.pvalue.AsSingleton(
            redirects.pipeline
            | "FeedOutlets" >> beam.Create([dict(feed_outlets)])
            | "FeedOutletsThroughRedirects" >> beam.Map(outlets_through_redirects, beam.pvalue.AsDict(hops))
        )
    paired = (
        {"sightings": sightings, "captures": captures}
        | "JoinOnUrl" >> beam.CoGroupByKey()
        | "PairCaptures" >> beam.FlatMap(_pair, outlets).with_outputs(DEAD_LETTERS, main="tasks")
    )
    dead_letters = (keyed_items[DEAD_LETTERS], paired[DEAD_LETTERS]) | "JoinDeadLetters" >> beam.Flatten()
    return _Paired(paired.tasks, dead_letters)


class _Paired:
    """The join's outputs: ``tasks`` and ``dead_letters`` (also by ``[DEAD_LETTERS]``)."""

    def __init__(self, tasks: PCollection, dead_letters: PCollection) -> None:
        self.tasks = tasks
        self.dead_letters = dead_letters

    def __getitem__(self, tag: str) -> PCollection:
        if tag == DEAD_LETTERS:
            return self.dead_letters
        if tag == "tasks":
            return self.tasks
        raise KeyError(tag)


def _refusal_dead_letter(refusal: list[str]) -> Iterator[Any]:
    counter("inputs.refused").inc()
    yield dead_letter(RefusedInput(refusal[0], refusal[1]).failure())


def build_replay(
    pipeline: beam.Pipeline,
    config: ReplayConfig,
    *,
    broker_outage_limit: timedelta = DEFAULT_OUTAGE_LIMIT,
    max_items_per_feed: int = DEFAULT_MAX_ITEMS_PER_FEED,
    now: datetime | None = None,
) -> StoryStreams:
    """The replay graph; a Kafka sink waits up to ``broker_outage_limit`` for an unreachable broker. At most
    ``max_items_per_feed`` items of each feed document are joined (the rest counted); a capture time after
    ``now`` (default: the wall clock) plus a day is refused (:func:`~storywire.pipelines.core.event_time.
    capture_window`)."""
    window = capture_window(now or datetime.now(timezone.utc))
    read = pipeline | "Archives" >> beam.Create(sorted(config.archives)) | ReadArchives(config.max_body_bytes, now=now)
    feeds = read[FEEDS] | "ParseFeeds" >> ParseFeeds(max_items_per_feed, workers=config.workers)
    paired = pair_archived_pages(feeds.items, read[PAGES], read[REDIRECTS], dict(config.feed_outlets))
    tasks = paired.tasks | "CountPages" >> ProgressTap(progress.PAGES)
    if config.keep.active:
        tasks = tasks | "FilterTasksByTime" >> FilterTasksByTime(config.keep)
    loaded = tasks | "LoadBodies" >> LoadBodies(config.max_body_bytes, now=now)
    extracted = loaded.tasks | "ExtractArticles" >> ExtractArticles(
        config.min_text_chars, limits=config.extraction, workers=config.workers
    )
    # The branches for dumps and refused inputs exist only when there are some: every transform costs start-up.
    more_dead_letters = []
    articles = extracted.articles | "CountArticles" >> ProgressTap(progress.ARTICLES)
    if config.dumps:  # a Flatten of two stages' outputs is a materialisation point on the FnApiRunner: only if needed
        dumped = (
            pipeline | "Dumps" >> beam.Create(sorted(config.dumps)) | ReadArticleDumps(config.min_text_chars, window)
        )
        articles = (articles, dumped[ARTICLES]) | "AllArticles" >> beam.Flatten()
        more_dead_letters.append(dumped[DEAD_LETTERS])
    if config.refused_inputs:
        refused = (
            pipeline
            | "RefusedInputs" >> beam.Create([list(pair) for pair in config.refused_inputs])
            | "RefusalDeadLetters" >> beam.FlatMap(_refusal_dead_letter).with_outputs(DEAD_LETTERS, main="none")
        )
        more_dead_letters.append(refused[DEAD_LETTERS])
    if config.keep.active:
        articles = articles | "FilterArticles" >> FilterArticles(config.keep)
    distinct = articles | "DedupeRevisions" >> DedupeRevisions() | "CountDistinct" >> ProgressTap(progress.DISTINCT)
    assigned = distinct | "AssignStories" >> AssignStoriesBatch(config.stories)
    _ = assigned.articles | "CountAssigned" >> ProgressTap(progress.STORIES_ASSIGNED)
    _ = (
        assigned[EVENTS]
        | "NewStories" >> beam.Filter(lambda event: event.event_type == "created")
        | "CountStories" >> ProgressTap(progress.STORIES, flush_every=1)
    )
    dead_letters = (
        read[DEAD_LETTERS],
        *more_dead_letters,
        feeds[DEAD_LETTERS],
        paired[DEAD_LETTERS],
        loaded[DEAD_LETTERS],
        extracted[DEAD_LETTERS],
    )
    streams = StoryStreams(assigned.articles, assigned[STORIES], assigned[EVENTS], dead_letters)
    write_sinks(streams, config.sinks, config.topic_prefix, outage_limit=broker_outage_limit)
    return streams
