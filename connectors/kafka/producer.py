"""``KafkaMessageWriter``: a kafka-python producer that never loses a failure silently.

Contract: ``send()`` only queues a record (raising ``MessageTooLargeError`` at once for an oversized one);
``flush()`` waits for every record queued since the last flush and raises ``DeliveryError`` if any was
not acknowledged. A Beam DoFn opens the writer in ``setup()``, sends in ``process()``, flushes in
``finish_bundle()`` (a failure fails the bundle and the runner retries it) and closes it in ``teardown()``.
Not thread-safe: one writer per DoFn instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import kafka.errors as kafka_errors
from kafka import KafkaProducer
from kafka.record.default_records import DefaultRecordBatchBuilder

from .config import KafkaConfig
from .errors import (
    BrokerUnreachableError,
    DeliveryError,
    FailedRecord,
    KafkaConfigError,
    KafkaConnectorError,
    MessageTooLargeError,
)

__all__ = ["KafkaMessageWriter", "record_size"]

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]


def record_size(key: bytes | None, value: bytes | None, headers: Headers = ()) -> int:
    """Upper bound of a record's serialized size, as the producer checks it against ``max_request_size``."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers)))


class KafkaMessageWriter:
    """Keyed, idempotent, acks=all writer; see the module docstring for the failure contract."""

    def __init__(self, config: KafkaConfig, *, producer_factory: Callable[..., Any] = KafkaProducer) -> None:
        self.config = config
        self._factory = producer_factory
        self._producer: Any = None
        self._pending: list[tuple[str, bytes | None, Any]] = []
        self.sent = 0
        self.delivered = 0
        self.failed = 0

    @property
    def is_open(self) -> bool:
        """Whether ``open()`` succeeded and ``close()`` has not been called."""
        return self._producer is not None

    @property
    def pending(self) -> int:
        """Records sent since the last ``flush()``."""
        return len(self._pending)

    def open(self) -> None:
        """Connect (bootstraps eagerly); raises ``BrokerUnreachableError`` or ``KafkaConfigError``."""
        if self._producer is not None:
            return
        try:
            self._producer = self._factory(**self.config.producer_kwargs())
        except kafka_errors.KafkaTimeoutError as exc:
            raise BrokerUnreachableError(self.config.bootstrap_servers, str(exc)) from exc
        except kafka_errors.KafkaConnectionError as exc:
            raise BrokerUnreachableError(self.config.bootstrap_servers, str(exc)) from exc
        except (kafka_errors.KafkaConfigurationError, ValueError) as exc:
            raise KafkaConfigError(f"kafka-python rejected the producer settings: {exc}") from exc
        except RuntimeError as exc:  # kafka-python: "Libraries for <codec> compression codec not found"
            if "compression" in str(exc):
                raise KafkaConfigError(
                    f"compression_type={self.config.compression_type!r} needs its codec package "
                    "(snappy: pip install python-snappy, lz4: pip install lz4, "
                    f"zstd: pip install zstandard): {exc}"
                ) from exc
            raise

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        *,
        timestamp_ms: int | None = None,
    ) -> None:
        """Queue one record (``value=None`` is a tombstone for compacted topics)."""
        producer = self._require_open()
        header_list = list(headers)
        size = record_size(key, value, header_list)
        if size > self.config.max_request_size:
            raise MessageTooLargeError(topic, key, size, self.config.max_request_size)
        try:
            future = producer.send(topic, value=value, key=key, headers=header_list, timestamp_ms=timestamp_ms)
        except kafka_errors.MessageSizeTooLargeError as exc:
            raise MessageTooLargeError(topic, key, size, self.config.max_request_size) from exc
        except kafka_errors.KafkaTimeoutError as exc:
            # No metadata for the topic within max_block_ms: broker down or topic missing.
            self.failed += 1
            raise DeliveryError((FailedRecord(topic, key, exc),), 1) from exc
        except kafka_errors.KafkaError as exc:
            raise KafkaConnectorError(f"could not queue a record for {topic}: {exc}") from exc
        self._pending.append((topic, key, future))
        self.sent += 1

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait for every pending record; return how many were delivered, or raise ``DeliveryError``.

        ``timeout_s`` defaults to the delivery timeout plus a margin: past it, the unacknowledged records
        count as failed.
        """
        producer = self._require_open()
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        wait = timeout_s if timeout_s is not None else self.config.delivery_timeout_ms / 1000 + 5
        flush_error: BaseException | None = None
        try:
            producer.flush(timeout=wait)
        except kafka_errors.KafkaTimeoutError as exc:
            flush_error = exc
        failures = []
        for topic, key, future in batch:
            if not future.is_done:
                error: BaseException = flush_error or kafka_errors.KafkaTimeoutError(
                    f"record not acknowledged within {wait:.1f}s"
                )
                failures.append(FailedRecord(topic, key, error))
            elif future.failed():
                failures.append(FailedRecord(topic, key, future.exception))
        delivered = len(batch) - len(failures)
        self.delivered += delivered
        self.failed += len(failures)
        if failures:
            log.warning("%d of %d Kafka records failed: %s", len(failures), len(batch), failures[0].error)
            raise DeliveryError(tuple(failures), len(batch))
        return delivered

    def close(self, timeout_s: float | None = None) -> None:
        """Flush (raising ``DeliveryError`` on failures), then close the producer in every case."""
        if self._producer is None:
            return
        try:
            self.flush(timeout_s)
        finally:
            self._close_producer(timeout_s)

    def abort(self) -> None:
        """Close without checking pending records (after an error; the runner will retry them)."""
        if self._producer is None:
            return
        self._pending = []
        self._close_producer(1.0)

    def _close_producer(self, timeout_s: float | None) -> None:
        producer, self._producer = self._producer, None
        try:
            producer.close(timeout=timeout_s if timeout_s is not None else 10.0)
        except kafka_errors.KafkaError as exc:  # closing is best effort: delivery was already checked
            log.warning("error while closing the Kafka producer: %s", exc)

    def _require_open(self) -> Any:
        if self._producer is None:
            raise KafkaConnectorError("KafkaMessageWriter is not open: call open() (or use it as a context manager)")
        return self._producer

    def __enter__(self) -> KafkaMessageWriter:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
