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
from operator import itemgetter
from typing import Any

import apache_beam as beam

# The story core's IDF prior imports wordfreq at its first lookup; a pipeline with this step needs it, and imports
# it here, with the graph: imported from inside a running stage it costs more (wordfreq finds its data directory
# with inspect.stack(), which reads a line of source for every frame of the runner's deep stack).
import wordfreq  # noqa: F401  (imported for that cost only)
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.pvalue import PCollection
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from storywire.pipelines.beam.coders import pack, unpack
from storywire.pipelines.beam.common import counter
from storywire.pipelines.core import pickled_state
from storywire.pipelines.core.revisions import RevisionTracker, order_key, stream_time
from storywire.pipelines.stories import StoryAssigner, StoryConfig, StoryStateError
from storywire.pipelines.stories.store import StoryStateStore
from storywire.schemas.codec import decode, encode
from storywire.schemas.records import Article

STORIES = "stories"
EVENTS = "events"
UNKNOWN_LANGUAGE = "und"


def partition_key(article: Article) -> str:
    """The unit of sequential story assignment: the article's language."""
    return article.language or UNKNOWN_LANGUAGE


def assign_in_order(assigner: StoryAssigner, articles: Iterable[Article]) -> Iterator[Any]:
    """Feed articles to the core in stream order; yield articles, then tagged stories and events per step."""
    yield from _assign_ordered(assigner, sorted(articles, key=order_key))


def _assign_ordered(assigner: StoryAssigner, ordered: Iterable[Article]) -> Iterator[Any]:
    for article in ordered:
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

    def process(self, keyed: tuple[str, Iterable[bytes]]) -> Iterator[Any]:
        # A fresh core per partition and run: the result depends only on that partition's articles.
        yield from _assign_ordered(StoryAssigner(self._config), _unpacked_in_order(keyed[1]))


def _unpacked_in_order(packed: Iterable[bytes]) -> Iterator[Article]:
    """The packed articles of a partition, unpacked one at a time in stream order (as ``assign_in_order`` sorts
    them): only the packed bytes and the sort keys of the whole partition are held, not its articles."""
    ordered = sorted(((order_key(unpack(data)), data) for data in packed), key=itemgetter(0))  # stable, as before
    for _, data in ordered:
        yield unpack(data)


def _keyed(article: Article) -> tuple[str, bytes]:
    return partition_key(article), pack(article)


class AssignStoriesBatch(beam.PTransform):
    """Article -> Article with story_id; tagged outputs ``stories`` (snapshots) and ``events``.

    A partition's articles all wait in the GroupByKey and in the sort: packed (:mod:`.coders`), about 2 KB an
    article (``docs/operations.md``, "Replay memory")."""

    def __init__(self, config: StoryConfig | None = None) -> None:
        super().__init__()
        self._config = config or StoryConfig()

    def expand(self, articles: PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            articles
            | "KeyByPartition" >> beam.Map(_keyed).with_output_types(tuple[str, bytes])
            | "GroupPartition" >> beam.GroupByKey()
            | "AssignInOrder"
            >> beam.ParDo(_AssignPartitionFn(self._config)).with_outputs(STORIES, EVENTS, main="articles")
        )


class StoryStateCoder(PickleCoder):
    """Pickles the partition state; reads state pickled by builds before the ``storywire`` namespace too."""

    def decode(self, encoded: bytes) -> Any:
        return pickled_state.loads(encoded)


class _AssignStreamingFn(beam.DoFn):
    """Keyed by partition; revision numbering and the story core, kept in a durable store or in Beam state.

    Revisions are numbered here (not in a separate per-article keyed step) because their memory must be bounded
    without timers: event-time timers fire at every bundle end behind a live source on the FnApiRunner, and
    a processing-time timer is not portable.
    :class:`~storywire.pipelines.core.revisions.RevisionTracker` forgets articles after the story horizon by itself.

    **With a store** (``store_path``, the local runner's default): the partition state lives in this worker's
    memory and in a :class:`~storywire.pipelines.stories.store.StoryStateStore` file; each bundle's articles are
    appended to its log at the start of the next bundle (by then every operation of the bundle, the sinks
    included, has finished, so a crash never logs an article whose outputs were lost: the live source fetches
    it again), and every ``snapshot_every`` logged articles the whole partition state is written once. A
    restart loads the snapshot and replays the log, so stories continue with the same ids; the cost of a bundle
    follows its articles, not the size of the state. Articles of an unfinished bundle are not logged.

    **Without a store** (Flink, Dataflow: keyed state in their checkpoints and savepoints): the partition state
    is in Beam state. Reading and unpickling it for every article would cost O(state); instead each worker keeps
    the state it last wrote in memory with a version number and re-reads it only when the version differs
    (another worker or a retried bundle wrote it). The state is written back after every article, and the SDK
    harness encodes it once per bundle, at commit: the whole partition state is pickled once per bundle (sizes
    and times in ``docs/stories.md``).
    """

    CORE = ReadModifyWriteStateSpec("core", StoryStateCoder())
    VERSION = ReadModifyWriteStateSpec("version", VarIntCoder())

    def __init__(self, config: StoryConfig, store_path: str | None = None, snapshot_every: int = 2000) -> None:
        self._config = config
        self._store_path = store_path
        self._snapshot_every = snapshot_every
        self._cache: dict[str, tuple[int, _PartitionState]] = {}
        self._store: StoryStateStore | None = None
        self._unlogged: dict[str, list[Article]] = {}

    def setup(self) -> None:
        self._cache = {}
        self._unlogged = {}
        self._store = StoryStateStore(self._store_path) if self._store_path else None

    def start_bundle(self) -> None:
        self._log_finished_bundle()

    def process(
        self,
        keyed: tuple[str, Article],
        core: Any = beam.DoFn.StateParam(CORE),
        version: Any = beam.DoFn.StateParam(VERSION),
    ) -> Iterator[Any]:
        key, article = keyed
        if self._store is not None:
            state = self._stored_partition(key, self._store)
            yield from _observe_and_assign(state, article)
            self._unlogged.setdefault(key, []).append(article)
            return
        stored_version = version.read() or 0
        cached = self._cache.get(key)
        if cached is not None and cached[0] == stored_version:
            state = cached[1]
        else:
            restored = core.read() if stored_version else None
            state = _PartitionState.restored(restored, self._config)
        yield from _observe_and_assign(state, article)
        core.write(state)
        version.write(stored_version + 1)
        self._cache[key] = (stored_version + 1, state)

    def teardown(self) -> None:
        # Articles of a bundle that did not finish stay unlogged: their pages are fetched again after a restart.
        if self._store is not None:
            self._store.close()
            self._store = None

    def _stored_partition(self, key: str, store: StoryStateStore) -> _PartitionState:
        cached = self._cache.get(key)
        if cached is not None:
            return cached[1]
        snapshot, logged = store.load(key)
        state = _PartitionState.restored(None if snapshot is None else pickled_state.loads(snapshot), self._config)
        for encoded in logged:
            _replay(state, decode(encoded, Article))
        counter("stories.restored_articles").inc(len(logged))
        self._cache[key] = (0, state)
        return state

    def _log_finished_bundle(self) -> None:
        if self._store is None or not self._unlogged:
            return
        for key, articles in self._unlogged.items():
            self._store.append(key, [encode(a) for a in articles])
            if self._store.logged(key) >= self._snapshot_every:
                self._store.snapshot(key, StoryStateCoder().encode(self._cache[key][1]))
                counter("stories.state_snapshots").inc()
        self._unlogged = {}


def _observe_and_assign(state: _PartitionState, article: Article) -> Iterator[Any]:
    numbered = state.revisions.observe(article)
    if numbered is None:
        counter("articles.exact_repeats").inc()
        return
    if numbered.revision > 1:
        counter("articles.revisions").inc()
    yield from assign_in_order(state.stories, [numbered])


def _replay(state: _PartitionState, article: Article) -> None:
    """Apply a logged article to restored state exactly as it was applied the first time (outputs dropped)."""
    numbered = state.revisions.observe(article)
    if numbered is not None:
        state.stories.advance(stream_time(numbered))
        state.stories.assign(numbered)


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

    def __init__(
        self, config: StoryConfig | None = None, *, store_path: str | None = None, snapshot_every: int = 2000
    ) -> None:
        super().__init__()
        self._config = config or StoryConfig()
        self._store_path = store_path
        self._snapshot_every = snapshot_every

    def expand(self, articles: Any) -> Any:
        assign = _AssignStreamingFn(self._config, self._store_path, self._snapshot_every)
        return (
            articles
            # Typed, so the state key (the language) gets a deterministic string coder, not a pickling one.
            | "KeyByPartition" >> beam.Map(lambda a: (partition_key(a), a)).with_output_types(tuple[str, Any])
            | "AssignInArrivalOrder" >> beam.ParDo(assign).with_outputs(STORIES, EVENTS, main="articles")
        )
