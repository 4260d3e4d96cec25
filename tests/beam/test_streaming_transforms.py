"""The live (stateful, no GroupByKey) forms give what the batch forms give for the same ordered stream."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to

from bench.synthetic_stream import SyntheticStream
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.beam.stories import AssignStoriesBatch, AssignStoriesStreaming
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.revisions import order_key
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.pipelines.graphs.replay import build_replay
from storywire.pipelines.stories import StoryAssigner
from storywire.schemas.records import Article
from tests.support.articles import BRIDGING, split_then_bridge
from tests.support.replay_archive import write_fixture_archives


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> SinkContents:
    directory = tmp_path_factory.mktemp("batch")
    archives = tuple(str(a) for a in write_fixture_archives(directory))
    config = ReplayConfig(archives=archives, sinks=(SinkSpec.parse(f"file://{directory / 'out'}"),))
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, config)
    pipeline.run().wait_until_finish()
    return read_sink(str(directory / "out"), TopicNames())


def _streaming_options() -> PipelineOptions:
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    return options


def _stream(articles: list[Article], by_capture: bool = False) -> test_stream.TestStream:
    stream = test_stream.TestStream()
    key = (lambda a: (a.captured_at, a.article_id)) if by_capture else order_key
    for article in sorted(articles, key=key):
        stream = stream.add_elements([article], event_timestamp=article.captured_at.timestamp())
    return stream.advance_watermark_to_infinity()


def test_streaming_story_assignment_matches_batch(batch: SinkContents) -> None:
    # Feed the batch result's articles (story ids removed, revisions as extraction emits them) through the
    # streaming form, in stream order.
    unassigned = [a.replace(story_id=None, duplicate_of=None, revision=1) for a in batch.articles]
    expected = sorted((a.article_id, a.revision, a.story_id, a.duplicate_of) for a in batch.articles)
    with beam.Pipeline(options=_streaming_options()) as pipeline:
        assigned = pipeline | _stream(unassigned, by_capture=True) | AssignStoriesStreaming()
        pairs = assigned.articles | beam.Map(lambda a: (a.article_id, a.revision, a.story_id, a.duplicate_of))
        assert_that(pairs, equal_to(expected))


def test_streaming_revisions_drop_repeats_and_number_edits(batch: SinkContents) -> None:
    originals = [a for a in batch.articles if a.revision == 1]
    edited = [a for a in batch.articles if a.revision == 2]
    assert edited, "the fixture must contain an edited article"
    # Every revision arrives as revision 1 (as extraction emits it), plus a repeat of each original.
    arrivals = [a.replace(revision=1) for a in batch.articles] + [
        a.replace(captured_at=a.captured_at.replace(hour=23)) for a in originals
    ]
    expected = sorted((a.article_id, a.revision, a.content_hash) for a in batch.articles)
    with beam.Pipeline(options=_streaming_options()) as pipeline:
        numbered = pipeline | _stream(arrivals, by_capture=True) | AssignStoriesStreaming()
        assert_that(
            numbered.articles | beam.Map(lambda a: (a.article_id, a.revision, a.content_hash)), equal_to(expected)
        )


def test_fixture_archives_exist(tmp_path: Path) -> None:
    feeds, pages = write_fixture_archives(tmp_path)
    assert feeds.stat().st_size > 0 and pages.stat().st_size > 0


def test_a_merge_and_the_resurfacing_it_reveals_come_out_of_both_forms() -> None:
    """The bridging stream of tests/unit/test_story_merge.py: the batch and live transforms emit what the core
    emits (merged, then resurfaced for the absorbed story's first article)."""
    articles = split_then_bridge(timedelta(hours=60), timedelta(hours=61))
    core = StoryAssigner(BRIDGING)
    expected = [event for article in articles for event in core.assign(article).events]
    assert [e.event_type for e in expected][-3:] == ["merged", "resurfaced", "updated"]
    summary = sorted((e.event_type, e.story_id, e.article_id) for e in expected)
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as pipeline:
        batch = pipeline | "Batch" >> beam.Create(articles) | AssignStoriesBatch(BRIDGING)
        events = batch.events | "BatchSummary" >> beam.Map(lambda e: (e.event_type, e.story_id, e.article_id))
        assert_that(events, equal_to(summary), label="batch")
    with beam.Pipeline(options=_streaming_options()) as pipeline:
        live = pipeline | _stream(articles) | AssignStoriesStreaming(BRIDGING)
        events = live.events | "LiveSummary" >> beam.Map(lambda e: (e.event_type, e.story_id, e.article_id))
        assert_that(events, equal_to(summary), label="live")


def test_live_state_is_pickled_once_per_bundle_not_per_article(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live form writes its state after every article; what keeps that affordable is that the SDK harness
    encodes the value at bundle commit. If a change made every write encode, this fails."""
    pickled: list[int] = []
    getstate = StoryAssigner.__getstate__

    def counted(self: StoryAssigner) -> dict[str, object]:
        pickled.append(len(self))
        return getstate(self)

    monkeypatch.setattr(StoryAssigner, "__getstate__", counted)
    articles = list(SyntheticStream(60, 1, seed=3).articles())
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as pipeline:
        live = pipeline | beam.Create(articles, reshuffle=False) | AssignStoriesStreaming()
        assert_that(live.articles | beam.combiners.Count.Globally(), equal_to([len(articles)]))
    assert 1 <= len(pickled) <= 2, pickled  # one bundle here (two if the runner splits it): never per article
