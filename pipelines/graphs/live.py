"""The live pipeline: feeds polled -> pages fetched -> the same extraction and story transforms as replay.

The chain is fused from the source to the sinks with no GroupByKey (revisions and stories: one stateful DoFn),
because on the FnApiRunner nothing after a GroupByKey is released while a live source runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import apache_beam as beam

from storywire.pipelines.beam.articles import ExtractArticles
from storywire.pipelines.beam.common import DEAD_LETTERS
from storywire.pipelines.beam.live_source import PollFeeds
from storywire.pipelines.beam.metrics_tap import tap_metrics
from storywire.pipelines.beam.sinks import write_sinks
from storywire.pipelines.beam.stories import EVENTS, STORIES, AssignStoriesStreaming
from storywire.pipelines.beam.streams import StoryStreams
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.live.engine import shard_ids


def build_live(
    pipeline: beam.Pipeline,
    config: LiveConfig,
    *,
    shards: int = 1,
    max_rounds: int | None = None,
    fetcher_factory: Callable[[LiveConfig], Any] | None = None,
    story_store: str | None = None,
) -> StoryStreams:
    """Add the live graph to ``pipeline`` and its sinks; ``max_rounds`` bounds a run (tests, demos).

    ``story_store``: the story state file (``state.stories_path``), so a restart continues the same stories; None
    keeps story state in Beam state only (the runner's checkpoints: Flink, Dataflow)."""
    polled = (
        pipeline
        | "Shards" >> beam.Create(shard_ids(shards))
        | "PollFeeds" >> PollFeeds(config, shards, max_rounds, fetcher_factory)
    )
    extracted = polled.tasks | "ExtractArticles" >> ExtractArticles(limits=config.extraction)
    assigned = extracted.articles | "AssignStories" >> AssignStoriesStreaming(
        config.stories, store_path=story_store, snapshot_every=config.state.stories_snapshot_every
    )
    dead_letters = (polled[DEAD_LETTERS], extracted[DEAD_LETTERS])
    streams = StoryStreams(assigned.articles, assigned[STORIES], assigned[EVENTS], dead_letters)
    write_sinks(
        streams, config.sink_specs(), config.topic_prefix, streaming=True, outage_limit=config.run.broker_outage_limit
    )
    tap_metrics(streams)
    return streams
