"""The live source: a splittable DoFn that emits fetched pages as they arrive, in one bundle per batch.

A :class:`~storywire.pipelines.live.runner.LaneRunner` fetches on its own threads (one lane per host, no rounds);
each ``process`` call waits until it has results, emits a batch of them and defers the rest of its endless
range, so the batch leaves in its own bundle: the sinks flush it (``finish_bundle``) before the next call, and
only then is the state checkpointed (its pending pages included). The FnApiRunner ignores ``defer_remainder``
delays (it re-invokes at once), so the waiting happens inside ``process``, in short slices that watch the stop
event.

Stopping (SIGTERM, Ctrl-C, see :mod:`storywire.pipelines.live.stop`): no new fetch starts; results already in
hand and fetches finishing within the grace (``run.stop_grace``, less a reserve for the sinks and the exit)
are still emitted in small batches; whatever is left is saved as pending pages for the restart; then the source
checkpoints, claims the rest of its range and returns, and the pipeline drains and exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
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
from storywire.connectors.kafka import KafkaConnectorError, KafkaMessageWriter
from storywire.connectors.kafka.broker_health import brokers_down
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.live import metrics
from storywire.pipelines.live.engine import LiveEngine, StepResult
from storywire.pipelines.live.progress import ProgressReporter
from storywire.pipelines.live.runner import LaneRunner
from storywire.pipelines.live.stop import STOP, seconds_left

_ENDLESS = 2**62
_WAIT_SLICE_S = 0.2
# Pages per bundle: small, so the first of a burst is not held while the rest are extracted.
_BATCH = 16
_STOP_BATCH = 4
# Of the stop grace, what is kept for the sinks' last flush, the final checkpoint and Beam's shutdown (at most
# half the grace): about 2 s on a loaded 2-core machine.
_STOP_RESERVE_S = 4.0

# How long a checkpoint waits for the feed-state topic (a best-effort mirror of the state file).
_MIRROR_FLUSH_S = 2.0
# The metrics' gauges (backlog, state sizes) are refreshed at most this often.
_GAUGE_INTERVAL_S = 1.0

log = logging.getLogger("storywire.live")


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

    def truncate(self, element: Any, restriction: OffsetRange) -> None:
        """A drain (Dataflow) or a stop-with-drain ends the endless source: nothing of the range is left to do.
        Pages not emitted by then are in the pending-pages file of the last checkpoint (teardown writes it)."""
        return None


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
        self._runner: LaneRunner | None = None
        self._progress: ProgressReporter | None = None
        self._state_writer: KafkaMessageWriter | None = None
        self._stopped = False
        self._gauges_at = 0.0
        stories = config.state.story_store_path()
        self._state_files = {"feeds": config.state.path, **({"stories": stories} if stories else {})}
        self._kafka_sinks = any(spec.kafka is not None for spec in config.sink_specs())

    def setup(self) -> None:
        self._runner = None
        self._progress = None
        self._state_writer = None
        self._stopped = False

    def _runner_for(self, shard: int) -> LaneRunner:
        if self._runner is None:
            factory = self._fetcher_factory or (lambda config: HttpFetcher(config.http, wall_clock=_utc_second))
            engine = LiveEngine(
                self._config,
                factory(self._config),
                now=_utc_second,
                shard=shard,
                shards=self._shards,
                publish_states=self._state_publisher(),
                max_polls=self._max_rounds,
            )
            self._progress = ProgressReporter(self._config.progress.interval)
            self._runner = LaneRunner(engine)
            self._runner.start()
            metrics.METRICS.source_ready()
        return self._runner

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
            # A mirror for restarts elsewhere, not the checkpoint itself (the file is): it must not hold the
            # source during a broker outage. Each checkpoint publishes every feed's state, so a missed one is
            # made good by the next.
            count = topic_writer.publish(states)
            try:
                writer.flush(timeout_s=_MIRROR_FLUSH_S)
            except KafkaConnectorError as exc:
                log.warning("live: feed-state topic not updated this checkpoint (%s)", " ".join(str(exc).split()))
                return 0
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
        runner = self._runner_for(shard)
        runner.call(lambda engine: engine.checkpoint())  # everything emitted by earlier bundles is flushed by now
        result = StepResult() if self._stopped else self._next_batch(runner)
        if self._stopped and result.empty:
            self.teardown()  # the final checkpoint, with what the stop left pending
            tracker.try_claim(tracker.current_restriction().stop - 1)
            return
        # Event time is the wall-clock time the batch left; the watermark follows it.
        stamp = Timestamp.of(_utc_now().timestamp())
        watermark.set_watermark(stamp)
        for failure in result.failures:
            yield dead_letter(failure, stamp)
        for task in result.tasks:
            yield TimestampedValue(task, stamp)
        tracker.defer_remainder()

    def _next_batch(self, runner: LaneRunner) -> StepResult:
        """Wait for fetched pages and take a batch; at a stop (or after ``max_rounds`` polls per feed), the last
        batches that fit in the grace, then the rest saved as pending."""
        while True:
            if STOP.is_set() or runner.call(lambda engine: engine.finished()):
                return self._stopping_batch(runner)
            result = runner.take_output(_WAIT_SLICE_S, _BATCH, until=STOP)
            self._account(runner, result)
            if not result.empty:
                return result

    def _stopping_batch(self, runner: LaneRunner) -> StepResult:
        runner.call(lambda engine: engine.stop_intake())
        grace = self._config.run.stop_grace.total_seconds()
        reserve = min(_STOP_RESERVE_S, 0.5 * grace)
        while True:
            left = seconds_left()
            if left is not None and left <= reserve:
                break
            wait = _WAIT_SLICE_S if left is None else min(_WAIT_SLICE_S, left - reserve)
            result = runner.take_output(wait, _STOP_BATCH)
            self._account(runner, result)
            if not result.empty:
                return result
            if runner.call(lambda engine: engine.running == 0 and not engine.has_output()):
                break
        pending = runner.call(lambda engine: engine.abandon())
        counter("live.pages.pending_at_end").inc(runner.call(lambda engine: len(engine.pending_pages)))
        if STOP.is_set():
            log.warning(
                "live: stopping: %d page(s) not done yet are saved as pending and fetched after a restart", pending
            )
        self._stopped = True
        result = runner.take_output(0)
        self._account(runner, result)
        return result

    def _account(self, runner: LaneRunner, result: StepResult) -> None:
        for name, value in result.counts.items():
            counter(f"live.{name}").inc(value)
        live_metrics = metrics.METRICS
        live_metrics.count_engine(result.counts, result.fetch_seconds)
        now = time.monotonic()
        gauges_due = now - self._gauges_at >= _GAUGE_INTERVAL_S
        progress_due = self._progress is not None and self._progress.due()
        if self._progress is not None:
            self._progress.add(result.counts, dead_letters=len(result.failures))
        if not gauges_due and not progress_due:
            return
        backlog = runner.call(lambda engine: engine.backlog())
        if gauges_due:
            self._gauges_at = now
            live_metrics.set_backlog(
                queued=backlog.queued_pages,
                buffered=backlog.buffered_pages,
                pending_retry=backlog.pending_pages,
                lag_s=backlog.lag.total_seconds() if backlog.lag is not None else 0.0,
                feeds_broken=backlog.feeds_broken,
            )
            if self._kafka_sinks:
                live_metrics.kafka_broker_up.set(0 if brokers_down() else 1)
            for name, path in self._state_files.items():
                with contextlib.suppress(OSError):
                    live_metrics.state_bytes.labels(name).set(os.path.getsize(path))
        if progress_due and self._progress is not None:
            self._progress.report(backlog)

    def teardown(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self._progress = None
        if self._state_writer is not None:
            with contextlib.suppress(KafkaConnectorError):  # the mirror's last states are in the file too
                self._state_writer.close(timeout_s=_MIRROR_FLUSH_S)
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
