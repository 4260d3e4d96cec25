"""``KafkaMessageWriter``: a kafka-python producer that never loses a failure silently. Contract:
- ``send()`` queues a record (raising ``MessageTooLargeError`` at once for an oversized one). At most
  ``max_pending`` records wait for their acknowledgement: past that, ``send()`` first waits for the oldest half, so
  memory stays bounded in long bundles.
- A record that fails *transiently* (timeout, lost connection, leader change...: everything but the permanent codes
  of ``errors.is_permanent_failure``) makes the writer settle: it waits for every queued record, then resends the
  failed ones in their original order, pausing ``delivery_backoff_ms`` (doubling, capped at 30 s) between rounds, up
  to ``delivery_attempts`` rounds in all. Each round uses a new client (kafka-python 3.0 can stay stuck on batches
  that were in flight when the broker died), and waits at most ``1.25 * delivery_timeout_ms + 1 s`` for
  acknowledgements. Still failing: ``DeliveryError`` (from ``send()`` or ``flush()``) naming the bootstrap address;
  nothing is dropped.
- Records refused *permanently* (too large for the broker, invalid topic...) are never resent: ``flush()`` raises a
  ``DeliveryError`` whose ``permanent_only`` is true and whose ``failures`` carry each record's value, headers and
  ``ref``, for the caller to dead-letter.
- With ``outage_limit_s`` (the Beam Kafka sink) a broker that stops answering is ridden out instead: the writer
  keeps every unacknowledged record and resends them in order (fresh client, backoff doubling from
  ``delivery_backoff_ms`` up to 30 s), blocking until all are acknowledged; ``delivery_attempts`` no longer bounds
  this. It says so in one WARNING line on the ``storywire.kafka`` logger when the broker becomes unreachable and one
  INFO line when it is back (one of each per outage, for all the writers of the process on that broker), and raises
  ``DeliveryError`` (with ``unreachable_s``) only after ``outage_limit_s`` without an acknowledgement, or earlier
  when ``stop_seconds_left()`` (the run's stop grace) gets within a second of its end. Every wait is bounded by what
  is left of both. The outage is said once a flush waited ``OUTAGE_NOTICE_S`` with no acknowledgement (not after
  kafka-python's ~1.25 * delivery_timeout_ms), or when the client fails the records; they are then resent with fresh
  clients (one in flight may arrive twice).
- On ``compacted_topics`` (the story-state topic) the last record per key must stay the newest: when a record of
  such a key is resent, the newest record of that key queued since the last ``flush()`` is resent after it, even if
  it was already delivered (a harmless duplicate).

A Beam DoFn opens the writer in ``setup()``, sends in ``process()``, flushes in ``finish_bundle()`` (a failure fails
the bundle and the runner retries it) and closes it in ``teardown()``. Not thread-safe: one writer per DoFn
instance.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, NoReturn

import kafka.errors as kafka_errors
from kafka import KafkaProducer
from kafka.record.default_records import DefaultRecordBatchBuilder

from .broker_health import LOCK as HEALTH_LOCK
from .broker_health import health_of
from .config import KafkaConfig
from .errors import (
    BrokerUnreachableError,
    DeliveryError,
    FailedRecord,
    KafkaConfigError,
    KafkaConnectorError,
    MessageTooLargeError,
    describe_error,
    format_seconds,
    is_permanent_failure,
)

__all__ = ["DEFAULT_MAX_PENDING", "MAX_BACKOFF_S", "KafkaMessageWriter", "backoff_delays", "fits", "record_size"]

log = logging.getLogger(__name__)
OUTAGE_LOGGER: Final = "storywire.kafka"
outage_log = logging.getLogger(OUTAGE_LOGGER)
STOP_MARGIN_S: Final = 1.0  # an outage during a stop is given up this long before the stop grace ends
_SLICE_S: Final = 0.5  # waits are cut into slices this long to notice a stop
OUTAGE_NOTICE_S: Final = 10.0  # with an outage limit: a flush this long without an acknowledgement says the outage
_STALE_NOTICE_S: Final = 2.0  # the same for a client made before the broker's last return, resent without a line
_DOWN: Final = "Kafka broker %s unreachable (%s): holding %d records, retrying; giving up after %s"
_BACK: Final = "Kafka broker %s back after %s: delivered %d held records"
_CODECS: Final = "snappy: pip install python-snappy, lz4: pip install lz4, zstd: pip install zstandard"
_RESENDING: Final = "%d Kafka record(s) not delivered to %s (%s); resending in %.1fs (attempt %d of %d)"

Headers = Sequence[tuple[str, bytes]]
DEFAULT_MAX_PENDING: Final = 10_000
# The record batch header and the largest per-record overhead (attributes, offset/timestamp deltas, length).
_BATCH_AND_RECORD_OVERHEAD: Final = (
    DefaultRecordBatchBuilder.HEADER_STRUCT.size + DefaultRecordBatchBuilder.MAX_RECORD_OVERHEAD
)
MAX_BACKOFF_S: Final = 30.0


def record_size(key: bytes | None, value: bytes | None, headers: Headers = ()) -> int:
    """Upper bound of a record's serialized size, as the producer checks it against ``max_request_size``."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers)))


def fits(key: bytes | None, value: bytes | None, headers: Headers, limit: int) -> bool:
    """``record_size(...) <= limit``, without computing it for records clearly under the limit (the hot path).
    The quick bound counts 5 bytes (the longest varint) for every length field and 4 bytes per character of a
    header name, so it is never below ``record_size``."""
    quick = _BATCH_AND_RECORD_OVERHEAD + 15 + (len(key) if key else 0) + (len(value) if value else 0)
    for name, header_value in headers:
        quick += 10 + 4 * len(name) + (len(header_value) if header_value else 0)
    return quick <= limit or record_size(key, value, headers) <= limit


def backoff_delays(attempts: int, backoff_ms: int) -> list[float]:
    """Seconds to pause before each resend round: ``backoff_ms``, doubling, capped at ``MAX_BACKOFF_S``."""
    return [min(MAX_BACKOFF_S, backoff_ms / 1000 * 2**n) for n in range(max(0, attempts - 1))]


@dataclass(slots=True, eq=False)
class _Entry:
    """A queued record and what became of its last send."""

    seq: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int | None
    ref: object
    future: Any = None
    error: BaseException | None = None
    delivered: bool = False  # acknowledged at least once (a resent newest-per-key entry is counted once)

    def failed_record(self) -> FailedRecord:
        assert self.error is not None
        return FailedRecord(self.topic, self.key, self.error, self.value, tuple(self.headers), self.ref)


class KafkaMessageWriter:
    """Keyed, idempotent, acks=all writer; see the module docstring for the failure contract."""

    def __init__(
        self,
        config: KafkaConfig,
        *,
        producer_factory: Callable[..., Any] = KafkaProducer,
        compacted_topics: Iterable[str] = (),
        max_pending: int = DEFAULT_MAX_PENDING,
        sleep: Callable[[float], None] = time.sleep,
        outage_limit_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop_seconds_left: Callable[[], float | None] = lambda: None,
    ) -> None:
        """``outage_limit_s``: ride out an unreachable broker for that long without progress (module docstring);
        ``clock`` (monotonic seconds) and ``sleep`` are injected by tests; ``stop_seconds_left`` returns None
        until the run is asked to stop, then the seconds of its stop grace left."""
        if max_pending < 1:
            raise KafkaConfigError(f"max_pending must be >= 1, got {max_pending}")
        self.config = config
        self._factory, self._compacted, self._max_pending = producer_factory, frozenset(compacted_topics), max_pending
        self._sleep, self._clock, self._stop_seconds_left = sleep, clock, stop_seconds_left
        self._outage_limit_s = outage_limit_s
        self._client_cap_s: float | None = None  # during an outage: bounds a new client's blocking calls
        self._quiet_since, self._outage_base = 0.0, 0  # the last acknowledgement seen; ``delivered`` in an outage
        self._outage_since: float | None = None  # when the outage this writer holds records in began
        self._health = health_of(config.bootstrap_servers)
        self._generation = 0  # the broker's generation when the current client was made
        self._producer: Any = None  # None while open means: lost, made again at the next send
        self._opened = False
        self._pending: deque[_Entry] = deque()
        self._permanent: list[_Entry] = []  # refused for good since the last flush()
        self._latest: dict[tuple[str, bytes | None], _Entry] = {}  # newest entry per key of compacted topics
        self._seq = 0
        self._cycle_sent = 0  # records sent since the last flush()
        self._cycle_delivered = 0
        self.sent = self.delivered = self.failed = self.resent = 0

    @property
    def is_open(self) -> bool:
        """Whether ``open()`` succeeded and ``close()``/``abort()`` have not been called."""
        return self._opened

    @property
    def pending(self) -> int:
        """Records sent but not yet known to be delivered."""
        return len(self._pending)

    def open(self) -> None:
        """Connect (bootstraps eagerly); raises ``BrokerUnreachableError`` or ``KafkaConfigError``."""
        if self._opened:
            return
        self._producer = self._new_producer()
        self._opened = True

    def _new_producer(self) -> Any:
        kwargs = self.config.producer_kwargs()
        if self._client_cap_s is not None:  # riding out an outage: do not block past the give-up time
            cap_ms = max(100, int(self._client_cap_s * 1000))
            kwargs["bootstrap_timeout_ms"] = min(kwargs["bootstrap_timeout_ms"], cap_ms)
            kwargs["max_block_ms"] = min(kwargs["max_block_ms"], cap_ms)
        try:
            producer = self._factory(**kwargs)
            self._generation = self._health.generation
            return producer
        except (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError) as exc:
            raise BrokerUnreachableError(self.config.bootstrap_servers, str(exc)) from exc
        except (kafka_errors.KafkaConfigurationError, ValueError) as exc:
            raise KafkaConfigError(f"kafka-python rejected the producer settings: {exc}") from exc
        except RuntimeError as exc:  # kafka-python: "Libraries for <codec> compression codec not found"
            if "compression" in str(exc):
                codec = f"compression_type={self.config.compression_type!r} needs its codec package ({_CODECS})"
                raise KafkaConfigError(f"{codec}: {exc}") from exc
            raise

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        *,
        timestamp_ms: int | None = None,
        ref: object = None,
    ) -> None:
        """Queue one record (``value=None`` is a tombstone for compacted topics); ``ref`` comes back in
        ``FailedRecord.ref`` if it fails. May block to settle earlier records (window full, or a transient
        failure) and raise ``DeliveryError`` if they cannot be delivered."""
        self._require_open()
        header_list = list(headers)
        if not fits(key, value, header_list, self.config.max_request_size):
            size = record_size(key, value, header_list)
            raise MessageTooLargeError(topic, key, size, self.config.max_request_size)
        entry = _Entry(self._seq, topic, key, value, header_list, timestamp_ms, ref)
        if not self._pending and self._stale_client():
            self._discard_producer()  # made before the broker's last return: start afresh while nothing waits
        self._submit(entry)
        self._seq, self._cycle_sent, self.sent = self._seq + 1, self._cycle_sent + 1, self.sent + 1
        if topic in self._compacted:
            self._latest[(topic, key)] = entry
        self._pending.append(entry)
        if entry.error is not None:
            self._settle(None)  # the client could not even queue it: the broker is not answering
        elif len(self._pending) > self._max_pending:
            self._drain()

    def flush(self, timeout_s: float | None = None) -> int:
        """Deliver every queued record; return how many were delivered since the last flush.

        Raises ``DeliveryError``: with ``permanent_only`` when only permanently refused records failed
        (dead-letter them), otherwise after the resend rounds are used up. ``timeout_s`` bounds each wait for
        acknowledgements (default: the delivery timeout plus a margin); past it records count as failed.
        """
        self._require_open()
        try:
            self._settle(timeout_s)
            if self._permanent:
                failures = tuple(e.failed_record() for e in self._permanent)
                self.failed += len(failures)
                raise DeliveryError(failures, self._cycle_sent, bootstrap=self.config.bootstrap_servers)
            return self._cycle_delivered
        finally:
            self._reset_cycle()

    def close(self, timeout_s: float | None = None) -> None:
        """Flush (raising ``DeliveryError`` on failures), then close the producer in every case."""
        if not self._opened:
            return
        try:
            self.flush(timeout_s)
        finally:
            self._opened = False
            self._close_producer(timeout_s)

    def abort(self) -> None:
        """Close without checking pending records (after an error; the runner will retry them)."""
        if not self._opened:
            return
        self._opened = False
        self._pending.clear()
        self._reset_cycle()
        self._end_outage(back=False)
        self._close_producer(1.0)

    # --- internals -----------------------------------------------------------------------------------------

    def _submit(self, entry: _Entry) -> None:
        """Hand the entry to the client; a client-side timeout (no metadata, buffer full) or a client that
        cannot be made again (broker unreachable) is recorded on it as a transient failure."""
        entry.future = entry.error = None
        if self._producer is None:
            try:
                self._producer = self._new_producer()
            except BrokerUnreachableError as exc:
                entry.error = exc
                return
        try:
            entry.future = self._producer.send(
                entry.topic,
                value=entry.value,
                key=entry.key,
                headers=entry.headers,
                timestamp_ms=entry.timestamp_ms,
            )
        except kafka_errors.MessageSizeTooLargeError as exc:
            size = record_size(entry.key, entry.value, entry.headers)
            raise MessageTooLargeError(entry.topic, entry.key, size, self.config.max_request_size) from exc
        except kafka_errors.KafkaTimeoutError as exc:
            # No metadata for the topic within max_block_ms (broker down or topic missing), or buffer full.
            entry.error = exc
        except (kafka_errors.KafkaError, ValueError, TypeError) as exc:
            raise KafkaConnectorError(f"could not queue a record for {entry.topic}: {exc}") from exc

    def _wait_s(self, timeout_s: float | None) -> float:
        # Records complete within delivery_timeout_ms, except batches in flight when the broker died: bound it.
        return timeout_s if timeout_s is not None else self.config.delivery_timeout_ms / 1000 * 1.25 + 1

    def _drain(self) -> None:
        """Window full: wait for the oldest records until half the window is free."""
        wait = self._wait_s(None)
        while len(self._pending) > self._max_pending // 2:
            entry = self._pending[0]
            if entry.future is not None and not entry.future.is_done:
                with contextlib.suppress(Exception):  # the outcome is read from the future just below
                    entry.future.get(timeout=wait)
            self._resolve(entry)
            if entry.error is not None and not is_permanent_failure(entry.error):
                self._settle(None)  # the broker is failing: settle and resend everything now
                return
            self._pending.popleft()
            self._account(entry)

    def _resolve(self, entry: _Entry, wait: float | None = None) -> None:
        """Set ``entry.error`` from its future (``None`` when delivered)."""
        future = entry.future
        if future is None:
            return  # never queued: entry.error says why
        if not future.is_done:
            within = f" within {wait:.1f}s" if wait is not None else ""
            entry.error = kafka_errors.KafkaTimeoutError(f"record not acknowledged{within} (is the broker down?)")
        else:
            entry.error = future.exception if future.failed() else None

    def _account(self, entry: _Entry) -> None:
        if entry.error is not None:
            self._permanent.append(entry)
        elif not entry.delivered:
            entry.delivered = True
            self.delivered += 1
            self._cycle_delivered += 1

    def _collect(self, timeout_s: float | None) -> list[_Entry]:
        """Wait for every queued record; count deliveries, keep permanent failures, return transient ones."""
        batch = list(self._pending)
        self._pending.clear()
        if not batch:
            return []
        wait = self._wait_s(timeout_s)
        self._quiet_since = self._clock()
        if self._producer is not None and any(entry.future is not None for entry in batch):
            self._flush_client(wait, batch)
        transient = []
        for entry in batch:
            self._resolve(entry, wait)
            if entry.error is not None and not is_permanent_failure(entry.error):
                transient.append(entry)
            else:
                self._account(entry)
        return transient

    def _flush_client(self, wait: float, batch: list[_Entry]) -> None:
        """Wait up to ``wait`` s for the client's requests, in slices (a stop cuts it short); what is not done
        counts as failed. With an outage limit it also ends at the limit, or after ``OUTAGE_NOTICE_S``, without an
        acknowledgement; the latter says the outage: kafka-python may retry a restarted broker that no longer
        knows its producer id until delivery_timeout_ms, so ``_ride_out`` resends with a fresh client."""
        deadline, acked = self._clock() + wait, 0
        while True:
            now = self._clock()
            left, slice_s = deadline - now, _SLICE_S
            if self._outage_limit_s is not None:
                if (acked_now := sum(1 for entry in batch if _acknowledged(entry))) > acked:
                    acked, self._quiet_since = acked_now, now
                quiet = now - self._quiet_since
                left = min(left, self._outage_limit_s - quiet)
                if self._outage_since is None:
                    stale = self._stale_client()
                    if (notice_in := (_STALE_NOTICE_S if stale else OUTAGE_NOTICE_S) - quiet) <= 0:
                        if not stale or self._health.since is not None:  # else resent without a line
                            news = sum(1 for entry in batch if _acknowledged(entry) and not entry.delivered)
                            cause = f"nothing acknowledged for {format_seconds(quiet)}"
                            self._report_outage(cause, len(batch) - acked, self._quiet_since, self.delivered + news)
                        return
                    slice_s = min(slice_s, notice_in)
            stop = self._stop_seconds_left()
            if stop is not None:
                left = min(left, stop - STOP_MARGIN_S)
            if left <= 0:
                return
            try:
                self._producer.flush(timeout=min(left, slice_s))
                return
            except kafka_errors.KafkaTimeoutError:
                continue  # not all done yet: wait on, unless the deadline or a stop has come

    def _stale_client(self) -> bool:  # the current client was made before the broker's last return
        return self._generation < self._health.generation

    def _report_outage(self, cause: str, held: int, since: float, base: int) -> None:
        """Join the outage (for this writer it began at ``since``); the first writer that meets it says so."""
        self._outage_since, self._outage_base, health = since, base, self._health
        with HEALTH_LOCK:
            health.holders.add(id(self))
            if first := health.since is None:
                health.since, health.delivered = since, 0
        if first:
            limit = format_seconds(self._outage_limit_s or 0)
            outage_log.warning(_DOWN, self.config.bootstrap_servers, cause, held, limit)

    def _end_outage(self, *, back: bool) -> None:
        """Leave the outage, its records delivered (``back``) or given up; the last writer to leave says "back"."""
        if self._outage_since is None:
            return
        self._outage_since, health = None, self._health
        with HEALTH_LOCK:
            health.holders.discard(id(self))
            health.delivered += self.delivered - self._outage_base if back else 0
            since, delivered = health.since, health.delivered
            if over := not health.holders:
                health.since, health.generation = None, health.generation + int(back)
            if back:
                self._generation = health.generation  # this client has just been acknowledged
        if over and back and since is not None:
            outage_log.info(_BACK, self.config.bootstrap_servers, format_seconds(self._clock() - since), delivered)

    def _settle(self, timeout_s: float | None) -> None:
        """Deliver everything queued, resending transient failures with backoff; raise when rounds run out."""
        if self._outage_limit_s is not None:
            self._ride_out(timeout_s, self._outage_limit_s)
            return
        attempts = self.config.delivery_attempts
        delays = backoff_delays(attempts, self.config.delivery_backoff_ms)
        transient = self._collect(timeout_s)
        attempt = 1
        while transient:
            if attempt >= attempts:
                self._give_up(transient, attempt)
            delay = delays[attempt - 1]
            first = transient[0].error
            assert first is not None
            bootstrap, error = self.config.bootstrap_servers, describe_error(first)
            log.warning(_RESENDING, len(transient), bootstrap, error, delay, attempt + 1, attempts)
            # A fresh client for each round: kafka-python can stay wedged on batches that were in flight when
            # the broker died (they never expire, and idempotent ordering keeps later ones behind them).
            self._discard_producer()
            self._sleep(delay)
            attempt += 1
            self._resubmit(transient)
            transient = self._collect(timeout_s)

    def _resubmit(self, transient: list[_Entry]) -> None:
        unsent_error: BaseException | None = None
        for entry in self._resend_order(transient):
            if unsent_error is None:
                self._submit(entry)
                unsent_error = entry.error  # the client cannot queue: do not block once per record
                self.resent += 1
            else:
                entry.future, entry.error = None, unsent_error
            self._pending.append(entry)

    def _ride_out(self, timeout_s: float | None, limit_s: float) -> None:
        """Deliver everything queued, resending what fails transiently until the broker acknowledges it all;
        give up after ``limit_s`` without an acknowledgement, or when a stop's grace is nearly used up."""
        transient = self._collect(timeout_s)
        if transient and self._outage_since is None and self._stale_client():
            # Made before the broker's last return (already said): resend once with a fresh client, no line.
            self._discard_producer()
            self._resubmit(transient)
            transient = self._collect(timeout_s)
        if self._outage_since is None and transient:
            first = transient[0].error
            assert first is not None
            cause = first.__cause__ if isinstance(first, BrokerUnreachableError) and first.__cause__ else first
            text = " ".join(describe_error(cause).split())
            self._report_outage(text, len(transient), self._quiet_since, self.delivered)
        # The limit counts from the last acknowledgement (or the start of the wait that saw none).
        started = last_progress = self._outage_since or 0.0
        delays = backoff_delays(64, self.config.delivery_backoff_ms)
        rounds = 0
        try:
            while transient:
                self._discard_producer()
                self._pause(max(_SLICE_S / 5, delays[min(rounds, len(delays) - 1)]), last_progress, limit_s)
                left, stopping = self._budget(last_progress, limit_s)
                if left <= 0:
                    self._give_up(transient, rounds + 1, unreachable_s=self._clock() - started, stopping=stopping)
                self._client_cap_s = left
                rounds += 1
                before = self.delivered
                self._resubmit(transient)
                transient = self._collect(min(self._wait_s(timeout_s), left))
                if self.delivered > before:
                    last_progress = self._clock()
        except BaseException:
            self._end_outage(back=False)
            raise
        finally:
            self._client_cap_s = None
        self._end_outage(back=True)

    def _budget(self, last_progress: float, limit_s: float) -> tuple[float, bool]:
        """Seconds before giving up an outage, and whether a stop of the run (not the limit) sets them."""
        left = limit_s - (self._clock() - last_progress)
        stop = self._stop_seconds_left()
        if stop is not None and stop - STOP_MARGIN_S <= left:
            return stop - STOP_MARGIN_S, True
        return left, False

    def _pause(self, seconds: float, last_progress: float, limit_s: float) -> None:
        """Sleep ``seconds`` between resend rounds, in slices; stop early when the outage's budget is spent."""
        end = self._clock() + seconds
        while (rest := min(end - self._clock(), self._budget(last_progress, limit_s)[0])) > 0:
            self._sleep(min(rest, _SLICE_S))

    def _give_up(
        self, transient: list[_Entry], attempts: int, *, unreachable_s: float | None = None, stopping: bool = False
    ) -> NoReturn:
        entries = sorted([*transient, *self._permanent], key=lambda e: e.seq)
        failures = tuple(e.failed_record() for e in entries)
        self.failed += len(failures)
        total, bootstrap = self._cycle_sent, self.config.bootstrap_servers
        self._pending.clear()
        self._reset_cycle()
        raise DeliveryError(
            failures, total, bootstrap=bootstrap, attempts=attempts, unreachable_s=unreachable_s, stopping=stopping
        )

    def _resend_order(self, transient: list[_Entry]) -> list[_Entry]:
        """The failed entries, plus the newest entry of each compacted key among them, in send order."""
        chosen = {id(entry): entry for entry in transient}
        for entry in transient:
            latest = self._latest.get((entry.topic, entry.key)) if entry.topic in self._compacted else None
            if latest is None or id(latest) in chosen or (latest.error and is_permanent_failure(latest.error)):
                continue
            chosen[id(latest)] = latest
        return sorted(chosen.values(), key=lambda e: e.seq)

    def _reset_cycle(self) -> None:
        self._permanent, self._latest, self._cycle_sent, self._cycle_delivered = [], {}, 0, 0

    def _discard_producer(self) -> None:
        """Close the client without waiting for what it still holds (those records are resent or failed)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            _force_close(producer)

    def _close_producer(self, timeout_s: float | None) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=timeout_s if timeout_s is not None else 10.0)
        except kafka_errors.KafkaTimeoutError:
            # Records stuck for a dead broker: kafka-python's close() raises from its flush before it force-closes
            # its sender thread (which would linger); their failure was already reported: close by force.
            _force_close(producer)
        except kafka_errors.KafkaError as exc:  # closing is best effort: delivery was already checked
            log.warning("error while closing the Kafka producer: %s", exc)

    def _require_open(self) -> None:
        if not self._opened:
            raise KafkaConnectorError("KafkaMessageWriter is not open: call open() (or use it as a context manager)")

    def __enter__(self) -> KafkaMessageWriter:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def _acknowledged(entry: _Entry) -> bool:
    future = entry.future
    return future is not None and future.is_done and not future.failed()


def _force_close(producer: Any) -> None:
    """Stop a kafka-python producer now, abandoning what it still holds (its futures fail)."""
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(5.0)
    with contextlib.suppress(kafka_errors.KafkaError):
        producer.close(timeout=0)
