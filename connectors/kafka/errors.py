"""Exceptions raised by the Kafka connector.

Every kafka-python exception that can escape this package is mapped to one of these, with the original
kept as ``__cause__`` (``raise ... from exc``)::

    KafkaConnectorError                 base class; ``retryable`` tells what a caller should do
     ├── KafkaConfigError (ValueError)  invalid settings: fix the configuration            (permanent)
     ├── InvalidEnvelopeError (ValueError)  CloudEvents headers missing or malformed       (permanent)
     ├── BrokerUnreachableError         no broker answered at the bootstrap address       (retryable)
     ├── TopicSetupError                creating or inspecting topics failed              (permanent)
     ├── DeliveryError                  some records were not acknowledged by the broker  (retryable)
     └── MessageTooLargeError           one record exceeds the size limit: dead-letter it (permanent)

``DeliveryError`` is raised by ``KafkaMessageWriter.flush()``: inside a Beam DoFn that flushes in
``finish_bundle`` it fails the bundle, and the runner retries the whole bundle (at-least-once; the
idempotent producer and stable keys keep the duplicates harmless for consumers that dedupe on key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "BrokerUnreachableError",
    "DeliveryError",
    "FailedRecord",
    "InvalidEnvelopeError",
    "KafkaConfigError",
    "KafkaConnectorError",
    "MessageTooLargeError",
    "TopicSetupError",
]

_LOCAL_BROKER_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class KafkaConnectorError(Exception):
    """Base class of every error raised by ``connectors.kafka``."""

    retryable: ClassVar[bool] = False


class KafkaConfigError(KafkaConnectorError, ValueError):
    """A setting is invalid or inconsistent; the message names the setting."""


class InvalidEnvelopeError(KafkaConnectorError, ValueError):
    """CloudEvents headers are missing, duplicated or malformed."""


class BrokerUnreachableError(KafkaConnectorError):
    """No broker answered at ``bootstrap`` within the timeout."""

    retryable = True

    def __init__(self, bootstrap: str, reason: str) -> None:
        self.bootstrap = bootstrap
        self.reason = reason
        super().__init__(f"Kafka broker unreachable at {bootstrap}: {reason}. {_fix_hint(bootstrap)}")


class TopicSetupError(KafkaConnectorError):
    """Topics could not be created, listed or confirmed."""


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """One record that the broker did not acknowledge."""

    topic: str
    key: bytes | None
    error: BaseException


class DeliveryError(KafkaConnectorError):
    """Some records of a flushed batch were not acknowledged: resend the whole batch."""

    retryable = True

    def __init__(self, failures: tuple[FailedRecord, ...], total: int) -> None:
        self.failures = failures
        self.total = total
        first = failures[0] if failures else None
        detail = (
            f"; first error (topic {first.topic}, key {first.key!r}): {type(first.error).__name__}: {first.error}"
            if first is not None
            else ""
        )
        super().__init__(f"{len(failures)} of {total} records were not delivered to Kafka{detail}")

    @property
    def failed(self) -> int:
        """How many records failed."""
        return len(self.failures)

    @property
    def first_error(self) -> BaseException | None:
        """The first failure's exception."""
        return self.failures[0].error if self.failures else None


class MessageTooLargeError(KafkaConnectorError):
    """One record is larger than the producer's ``max_request_size``: send it to the dead-letter topic."""

    def __init__(self, topic: str, key: bytes | None, size: int, limit: int) -> None:
        self.topic = topic
        self.key = key
        self.size = size
        self.limit = limit
        super().__init__(
            f"record for topic {topic} (key {key!r}) is {size} bytes serialized, over the "
            f"{limit}-byte limit (max_request_size); dead-letter it or raise the limit on the "
            "producer and the broker/topic (message.max.bytes / max.message.bytes)"
        )


def _fix_hint(bootstrap: str) -> str:
    first = bootstrap.split(",", maxsplit=1)[0].strip()
    host, _, port = first.rpartition(":")
    if host in _LOCAL_BROKER_HOSTS and port.isdigit():
        return (
            "Is a broker running there? For local runs start the bundled one with "
            f"`python deploy/local_broker.py start --port {port}`."
        )
    return (
        "Check the bootstrap servers setting (host:port, network, TLS/SASL settings); for local runs "
        "start the bundled broker with `python deploy/local_broker.py start` (127.0.0.1:19092)."
    )
