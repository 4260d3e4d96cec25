"""The live run's Prometheus metrics: one registry per process, fed by the source, the story step and the sinks.

:data:`METRICS` is process-wide (like the stop event, and for the same reason: on the FnApiRunner every DoFn of
the run lives in this process, and an importable module-level object is shared, not copied). The parts of the
run feed it what they see; :mod:`storywire.pipelines.live.health` serves it on ``/metrics`` next to
``/healthz`` and ``/readyz``.

Names follow Prometheus conventions (``storywire_`` prefix, ``_total`` for counters, base units). Labels are
bounded: outcomes, kinds, stages, error types and topics come from fixed sets, partitions are languages; no
label takes a feed URL or an article id.

=========================================  ======================================================================
``storywire_polls_total{outcome}``         feed polls by outcome (``new_items``, ``not_modified``, ``http_error``...)
``storywire_items_total{kind}``            feed items: ``new``, ``edited``, ``held_back``
``storywire_pages_total{outcome}``         page fetches: ``fetched``, ``retry_scheduled``, ``failed``, ``retried``
``storywire_fetch_seconds{kind}``          fetch latency (histogram), ``feed`` or ``page``
``storywire_articles_total{method}``       articles emitted, by extraction method
``storywire_dead_letters_total{stage,type}`` dead letters by stage and error type
``storywire_story_events_total{type}``     story events by type
``storywire_stories{partition}``           stories in memory per partition (gauge)
``storywire_pages_queued``                 pages in their host's lane or being fetched (gauge)
``storywire_pages_buffered``               fetched pages waiting for the pipeline (gauge)
``storywire_pages_pending_retry``          pages waiting for a retry (gauge)
``storywire_lag_seconds``                  how late the oldest due work is (gauge)
``storywire_feeds_broken``                 feeds marked broken (gauge)
``storywire_kafka_records_total{topic}``   records the Kafka sinks delivered
``storywire_kafka_resends_total``          records the Kafka sinks had to send again
``storywire_kafka_broker_up``              1 while the Kafka sinks reach their broker (gauge)
``storywire_state_bytes{file}``            size of the state files (``feeds``, ``stories``) (gauge)
=========================================  ======================================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from storywire.connectors.kafka.broker_health import brokers_down

_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_ITEM_KINDS = {"items.new": "new", "items.updated": "edited", "items.held_back": "held_back"}
_PAGE_OUTCOMES = {
    "pages.fetched": "fetched",
    "pages.retry_scheduled": "retry_scheduled",
    "pages.failed": "failed",
    "pages.retried": "retried",
}


class LiveMetrics:
    """The metrics of one live run (a fresh registry each; :data:`METRICS` is the process's)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("storywire_polls", "Feed polls by outcome.", ["outcome"], registry=r)
        self.items = Counter("storywire_items", "Feed items seen, by kind.", ["kind"], registry=r)
        self.pages = Counter("storywire_pages", "Article page fetches, by outcome.", ["outcome"], registry=r)
        self.fetch_seconds = Histogram(
            "storywire_fetch_seconds", "Fetch latency.", ["kind"], buckets=_FETCH_BUCKETS, registry=r
        )
        self.articles = Counter("storywire_articles", "Articles emitted, by extraction method.", ["method"], registry=r)
        self.dead_letters = Counter(
            "storywire_dead_letters", "Dead letters by stage and error type.", ["stage", "type"], registry=r
        )
        self.story_events = Counter("storywire_story_events", "Story events by type.", ["type"], registry=r)
        self.stories = Gauge("storywire_stories", "Stories in memory per partition.", ["partition"], registry=r)
        self.pages_queued = Gauge(
            "storywire_pages_queued", "Pages queued in their host's lane or in flight.", registry=r
        )
        self.pages_buffered = Gauge("storywire_pages_buffered", "Fetched pages waiting for the pipeline.", registry=r)
        self.pages_pending_retry = Gauge("storywire_pages_pending_retry", "Pages waiting for a retry.", registry=r)
        self.lag_seconds = Gauge("storywire_lag_seconds", "How late the oldest due work is.", registry=r)
        self.feeds_broken = Gauge("storywire_feeds_broken", "Feeds marked broken.", registry=r)
        self.kafka_records = Counter(
            "storywire_kafka_records", "Records delivered by the Kafka sinks.", ["topic"], registry=r
        )
        self.kafka_resends = Counter("storywire_kafka_resends", "Records the Kafka sinks sent again.", registry=r)
        self.kafka_broker_up = Gauge(
            "storywire_kafka_broker_up", "1 while the Kafka sinks reach their broker.", registry=r
        )
        self.state_bytes = Gauge("storywire_state_bytes", "Size of the state files.", ["file"], registry=r)
        self._lock = threading.Lock()
        self._heartbeat: float | None = None
        self._source_ready = False
        self._broker_up: bool | None = None

    # -- fed by the parts of the run --------------------------------------------------------------------------

    def count_engine(self, counts: Mapping[str, int], fetch_seconds: Iterable[tuple[str, float]] = ()) -> None:
        """The live engine's counts of a batch (``StepResult.counts``) and its fetch times."""
        for name, value in counts.items():
            if not value:
                continue
            if name.startswith("polls."):
                self.polls.labels(name[6:]).inc(value)
            elif name in _ITEM_KINDS:
                self.items.labels(_ITEM_KINDS[name]).inc(value)
            elif name in _PAGE_OUTCOMES:
                self.pages.labels(_PAGE_OUTCOMES[name]).inc(value)
        for kind, seconds in fetch_seconds:
            self.fetch_seconds.labels(kind).observe(seconds)

    def count_dead_letter(self, stage: str, error_type: str) -> None:
        """One dead letter of the run, from any stage (the graph's output tap calls this)."""
        self.dead_letters.labels(stage, error_type).inc()

    def set_backlog(self, *, queued: int, buffered: int, pending_retry: int, lag_s: float, feeds_broken: int) -> None:
        self.pages_queued.set(queued)
        self.pages_buffered.set(buffered)
        self.pages_pending_retry.set(pending_retry)
        self.lag_seconds.set(lag_s)
        self.feeds_broken.set(feeds_broken)

    def set_broker_up(self, up: bool) -> None:
        """A Kafka sink reached (or lost) its broker; readiness follows."""
        self.kafka_broker_up.set(1 if up else 0)
        with self._lock:
            self._broker_up = up

    def source_ready(self) -> None:
        """The live source restored its state and runs."""
        with self._lock:
            self._source_ready = True
            self._heartbeat = time.monotonic()

    def beat(self) -> None:
        """The fetch dispatcher is alive (it calls this at least once a second)."""
        with self._lock:
            self._heartbeat = time.monotonic()

    # -- read by the health endpoints -------------------------------------------------------------------------

    def alive(self, *, stale_after_s: float = 30.0) -> tuple[bool, str]:
        """Live: the dispatcher beat recently (or the source has not started yet)."""
        with self._lock:
            beat = self._heartbeat
        if beat is None:
            return True, "starting"
        age = time.monotonic() - beat
        if age > stale_after_s:
            return False, f"the fetch dispatcher has not run for {age:.0f}s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        """Ready: state restored and the source running, and no Kafka sink cut off from its broker."""
        with self._lock:
            source, broker = self._source_ready, self._broker_up
        if not source:
            return False, "state not restored yet"
        if down := brokers_down():
            return False, f"Kafka broker {', '.join(down)} unreachable"
        if broker is False:
            return False, "the Kafka broker is unreachable"
        return True, "ok"


METRICS = LiveMetrics()
"""The process's metrics (see the module docstring)."""


def reset() -> LiveMetrics:
    """A fresh :data:`METRICS` for a new run in this process (tests, the CLI); returns it."""
    global METRICS  # noqa: PLW0603  (the process-wide object, replaced between runs)
    METRICS = LiveMetrics()
    return METRICS
