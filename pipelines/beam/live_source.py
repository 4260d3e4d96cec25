"""The live source: a splittable DoFn that runs one :class:`~storywire.pipelines.live.engine.LiveEngine` round
per bundle.

Why a splittable DoFn with one claimed position per round: each round's outputs leave in their own bundle, so
the sinks flush them (``finish_bundle``) before the next round starts, and only then is the poll state
checkpointed. The FnApiRunner ignores ``defer_remainder`` delays (it re-invokes at once), so the wait for the
next due feed happens inside ``process``, in short slices that watch the stop event (SIGTERM): on stop the
source checkpoints, claims the rest of its range and returns, and the pipeline drains and exits 0.

The wait is measured with the engine's own clock (:meth:`LiveEngine.seconds_to_next_round`), so a due time between
two of its whole seconds does not start empty rounds. A :class:`~storywire.pipelines.live.progress.ProgressReporter`
beside the engine is given each round's counts and asked after each round and while waiting whether a progress
line is due (``progress.interval``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from storywire.connectors.feeds.state_store import FeedStateTopicWriter, feed_state_topic
from storywire.connectors.http.fetcher import HttpFetcher
from storywire.connectors.kafka import KafkaMessageWriter
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.live.engine import LiveEngine
from storywire.pipelines.live.progress import ProgressReporter
from storywire.pipelines.live.stop import STOP

_ENDLESS = 2**62
_WAIT_SLICE_S = 0.2


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _utc_second() -> datetime:
    """Capture times at whole seconds: what a WARC-Date holds, so a replay of the archive sees the same times."""
    return datetime.now(timezone.utc).replace(microsecond=0)


class _EndlessRange(RestrictionProvider):
    def initial_restriction(self, element: Any) -> OffsetRange:
        return OffsetRange(0, _ENDLESS)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: Any, restriction: OffsetRange) -> int:
        return 1


_ENDLESS_RANGE = _EndlessRange()
_MANUAL_WATERMARK = ManualWatermarkEstimator.default_provider()


class _PollFeedsFn(beam.DoFn):
    """Element: a shard number. Output: PageTask per fetched page; dead letters tagged."""

    def __init__(
        self,
        config: LiveConfig,
        shards: int,
        max_rounds: int | None,
        fetcher_factory: Callable[[LiveConfig], Any] | None = None,
    ) -> None:
        self._config = config
        self._shards = shards
        self._max_rounds = max_rounds
        self._fetcher_factory = fetcher_factory
        self._engine: LiveEngine | None = None
        self._progress: ProgressReporter | None = None
        self._state_writer: KafkaMessageWriter | None = None
        self._rounds = 0

    def setup(self) -> None:
        self._engine = None
        self._progress = None
        self._state_writer = None
        self._rounds = 0

    def _engine_for(self, shard: int) -> LiveEngine:
        if self._engine is None:
            factory = self._fetcher_factory or (lambda config: HttpFetcher(config.http, wall_clock=_utc_second))
            self._engine = LiveEngine(
                self._config,
                factory(self._config),
                now=_utc_second,
                shard=shard,
                shards=self._shards,
                publish_states=self._state_publisher(),
            )
            self._progress = ProgressReporter(self._config.progress.interval)
        return self._engine

    def _state_publisher(self) -> Callable[[Any], object] | None:
        """Mirror checkpoints to the compacted feed-state topic of the first Kafka sink, if any."""
        kafka = next((s.kafka for s in self._config.sink_specs() if s.kafka is not None), None)
        if kafka is None:
            return None
        writer = KafkaMessageWriter(kafka)
        writer.open()
        self._state_writer = writer
        topic_writer = FeedStateTopicWriter(writer.send, feed_state_topic(self._config.topic_prefix))

        def publish(states: Any) -> object:
            count = topic_writer.publish(states)
            writer.flush()
            return count

        return publish

    def process(
        self,
        shard: int,
        tracker: Any = beam.DoFn.RestrictionParam(_ENDLESS_RANGE),
        watermark: Any = beam.DoFn.WatermarkEstimatorParam(_MANUAL_WATERMARK),
    ) -> Iterator[Any]:
        position = tracker.current_restriction().start
        if not tracker.try_claim(position):
            return
        engine = self._engine_for(shard)
        engine.checkpoint()  # everything emitted by earlier bundles has been flushed by now
        if self._finished() or not self._wait(engine):
            self.teardown()
            tracker.try_claim(tracker.current_restriction().stop - 1)
            return
        round_started = _utc_now()
        result = engine.step()
        self._rounds += 1
        # Event time is wall-clock time of the poll; the watermark follows it, so event-time timers downstream
        # (state expiry) fire when that much real time has passed, not when a bundle ends.
        stamp = Timestamp.of(round_started.timestamp())
        watermark.set_watermark(stamp)
        for name, value in result.counts.items():
            counter(f"live.{name}").inc(value)
        if self._progress is not None:
            self._progress.add_round(result.counts, dead_letters=len(result.failures))
            self._progress.report(engine.backlog())
        for failure in result.failures:
            yield dead_letter(failure, stamp)
        for task in result.tasks:
            yield TimestampedValue(task, stamp)
        tracker.defer_remainder()

    def _finished(self) -> bool:
        return STOP.is_set() or (self._max_rounds is not None and self._rounds >= self._max_rounds)

    def _wait(self, engine: LiveEngine) -> bool:
        """Sleep until the next feed is due; False when asked to stop meanwhile."""
        while not STOP.is_set():
            remaining = engine.seconds_to_next_round()
            if remaining <= 0:
                return True
            if self._progress is not None:
                self._progress.report(engine.backlog())
            time.sleep(min(remaining, _WAIT_SLICE_S))
        return False

    def teardown(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self._progress = None
        if self._state_writer is not None:
            self._state_writer.close()
            self._state_writer = None


class PollFeeds(beam.PTransform):
    """shard numbers -> PageTask (main) and ``dead_letters``; runs until SIGTERM or ``max_rounds`` rounds."""

    def __init__(
        self,
        config: LiveConfig,
        shards: int = 1,
        max_rounds: int | None = None,
        fetcher_factory: Callable[[LiveConfig], Any] | None = None,
    ) -> None:
        super().__init__()
        self._fn = _PollFeedsFn(config, shards, max_rounds, fetcher_factory)

    def expand(self, shards: Any) -> Any:
        return shards | "Poll" >> beam.ParDo(self._fn).with_outputs(DEAD_LETTERS, main="tasks")
