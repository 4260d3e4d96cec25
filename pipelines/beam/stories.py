"""Beam transforms around :class:`~storywire.pipelines.stories.StoryAssigner`.

Story assignment is sequential by nature: each article is compared with the stories formed by the articles
before it. What limits parallelism is therefore the partition key: articles are keyed by language (stories do
not cross languages, as in Event Registry), and each partition is processed by one worker in event-time order.
On Flink or Dataflow the partitions spread across workers; a finer key (language + region, or a hash of top
entities) would raise parallelism at the cost of missing cross-partition stories.

:class:`AssignStoriesBatch` is the bounded (replay) form: GroupByKey per partition, sort by the stream order
(:func:`storywire.pipelines.core.revisions.order_key`), then run the core. That makes story ids independent of
how the runner bundles the input. The live form keeps the core in keyed state so no GroupByKey sits behind the live
source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.pvalue import PCollection
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from storywire.pipelines.beam.common import counter
from storywire.pipelines.core import pickled_state
from storywire.pipelines.core.revisions import RevisionTracker, order_key, stream_time
from storywire.pipelines.stories import StoryAssigner, StoryConfig, StoryStateError
from storywire.schemas.records import Article

STORIES = "stories"
EVENTS = "events"
UNKNOWN_LANGUAGE = "und"


def partition_key(article: Article) -> str:
    """The unit of sequential story assignment: the article's language."""
    return article.language or UNKNOWN_LANGUAGE


def assign_in_order(assigner: StoryAssigner, articles: Iterable[Article]) -> Iterator[Any]:
    """Feed articles to the core in stream order; yield articles, then tagged stories and events per step."""
    for article in sorted(articles, key=order_key):
        expired_stories, expired_events = assigner.advance(stream_time(article))
        yield from _tagged(expired_stories, expired_events)
        assignment = assigner.assign(article)
        counter("stories.assigned").inc()
        if assignment.article.duplicate_of:
            counter("stories.duplicates").inc()
        yield assignment.article
        yield from _tagged(assignment.stories, assignment.events)


def _tagged(stories: Iterable[Any], events: Iterable[Any]) -> Iterator[Any]:
    for story in stories:
        yield beam.pvalue.TaggedOutput(STORIES, story)
    for event in events:
        counter(f"story_events.{event.event_type}").inc()
        yield beam.pvalue.TaggedOutput(EVENTS, event)


class _AssignPartitionFn(beam.DoFn):
    def __init__(self, config: StoryConfig) -> None:
        self._config = config

    def process(self, keyed: tuple[str, Iterable[Article]]) -> Iterator[Any]:
        # A fresh core per partition and run: the result depends only on that partition's articles.
        yield from assign_in_order(StoryAssigner(self._config), keyed[1])


class AssignStoriesBatch(beam.PTransform):
    """Article -> Article with story_id; tagged outputs ``stories`` (snapshots) and ``events``."""

    def __init__(self, config: StoryConfig | None = None) -> None:
        super().__init__()
        self._config = config or StoryConfig()

    def expand(self, articles: PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            articles
            | "KeyByPartition" >> beam.Map(lambda a: (partition_key(a), a))
            | "GroupPartition" >> beam.GroupByKey()
            | "AssignInOrder"
            >> beam.ParDo(_AssignPartitionFn(self._config)).with_outputs(STORIES, EVENTS, main="articles")
        )


class StoryStateCoder(PickleCoder):
    """Pickles the partition state; reads state pickled by builds before the ``storywire`` namespace too."""

    def decode(self, encoded: bytes) -> Any:
        return pickled_state.loads(encoded)


class _AssignStreamingFn(beam.DoFn):
    """Keyed by partition; revision numbering and the story core live in Beam state, so any runner can move them.

    Revisions are numbered here (not in a separate per-article keyed step) because their memory must be bounded
    without timers: event-time timers fire at every bundle end behind a live source on the FnApiRunner, and
    a processing-time timer is not portable.
    :class:`~storywire.pipelines.core.revisions.RevisionTracker` forgets articles after the story horizon by itself.

    Reading and unpickling the state for every article would cost O(state); instead each worker keeps the state
    it last wrote in memory with a version number, and re-reads the pickled state only when the version in
    Beam state differs (another worker or a retried bundle wrote it). The state is written back after every
    article, but the SDK harness buffers writes and encodes the value once per bundle, at commit (a test checks
    this on the FnApiRunner): the whole partition state is pickled once per bundle. That is the price of
    portable state and grows with the live stories (the measured size and time per live article id are in
    ``docs/stories.md``), affordable at live article rates and the reason replay uses the sorted batch form
    instead.
    """

    CORE = ReadModifyWriteStateSpec("core", StoryStateCoder())
    VERSION = ReadModifyWriteStateSpec("version", VarIntCoder())

    def __init__(self, config: StoryConfig) -> None:
        self._config = config
        self._cache: dict[str, tuple[int, _PartitionState]] = {}

    def setup(self) -> None:
        self._cache = {}

    def process(
        self,
        keyed: tuple[str, Article],
        core: Any = beam.DoFn.StateParam(CORE),
        version: Any = beam.DoFn.StateParam(VERSION),
    ) -> Iterator[Any]:
        key, article = keyed
        stored_version = version.read() or 0
        cached = self._cache.get(key)
        state: _PartitionState
        if cached is not None and cached[0] == stored_version:
            state = cached[1]
        else:
            restored = core.read() if stored_version else None
            state = _PartitionState.restored(restored, self._config)
        numbered = state.revisions.observe(article)
        if numbered is None:
            counter("articles.exact_repeats").inc()
        else:
            if numbered.revision > 1:
                counter("articles.revisions").inc()
            yield from assign_in_order(state.stories, [numbered])
        core.write(state)
        version.write(stored_version + 1)
        self._cache[key] = (stored_version + 1, state)


class _PartitionState:
    """Everything one partition remembers between articles in a live run."""

    def __init__(self, config: StoryConfig) -> None:
        self.stories = StoryAssigner(config)
        self.revisions = RevisionTracker(config.horizon)

    @classmethod
    def restored(cls, stored: object, config: StoryConfig) -> _PartitionState:
        """The partition state read from Beam state (None: a new partition), running the deployment's
        ``config``: state saved under other settings (a restart with a changed config) takes the new ones."""
        if stored is None:
            return cls(config)
        if not isinstance(stored, _PartitionState):
            raise StoryStateError(
                f"the partition state holds a {type(stored).__name__}, not storywire story state: start the job "
                "without the saved state"
            )
        stored.stories.reconfigure(config)
        stored.revisions.retention = config.horizon
        return stored


class AssignStoriesStreaming(beam.PTransform):
    """The live form: revisions numbered, repeats dropped and stories assigned in arrival order per partition,
    statefully and without a GroupByKey."""

    def __init__(self, config: StoryConfig | None = None) -> None:
        super().__init__()
        self._config = config or StoryConfig()

    def expand(self, articles: Any) -> Any:
        return (
            articles
            | "KeyByPartition" >> beam.Map(lambda a: (partition_key(a), a))
            | "AssignInArrivalOrder"
            >> beam.ParDo(_AssignStreamingFn(self._config)).with_outputs(STORIES, EVENTS, main="articles")
        )
