"""Exceptions raised by the Kafka connector: the ``KafkaConnectorError`` branch of storywire's one tree.

The tree, with what is retryable and what is permanent, is drawn in :mod:`storywire.connectors.errors`;
``KafkaConnectorError`` is a ``StorywireError``, so ``except StorywireError`` catches these too. Every
kafka-python exception that can escape this package is mapped to one of these, with the original kept as
``__cause__`` (``raise ... from exc``).

``DeliveryError`` is raised by ``KafkaMessageWriter.flush()`` (and by ``send()`` when the writer had to
settle earlier records) after the writer resent the transiently failed records ``delivery_attempts`` times
with backoff, or, for a writer given an outage limit (the Beam Kafka sink), after the broker stayed
unreachable that long without acknowledging anything (``unreachable_s`` is then set; ``stopping`` when a
stop of the run cut the wait short). When all its failures are permanent (``is_permanent_failure``: record
too large for the broker, invalid topic...) the caller dead-letters them; otherwise a Beam DoFn lets it fail
the bundle and the run stops with its one-line message (at-least-once; stable keys and ids make the
duplicates easy to drop, see README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from storywire.connectors.errors import StorywireError

__all__ = [
    "PERMANENT_ERROR_CODES",
    "BrokerUnreachableError",
    "DeliveryError",
    "FailedRecord",
    "InvalidEnvelopeError",
    "KafkaConfigError",
    "KafkaConnectorError",
    "MessageTooLargeError",
    "TopicSetupError",
    "describe_error",
    "format_seconds",
    "is_permanent_failure",
    "show_key",
]

_LOCAL_BROKER_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class KafkaConnectorError(StorywireError):
    """Base of every error raised by ``storywire.connectors.kafka``; ``retryable`` tells what a caller should do."""


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


# Broker error codes that no retry can fix: the record itself is refused (too large for the broker or topic,
# an illegal topic, a timestamp out of the topic's range, a record the broker rejects as invalid).
PERMANENT_ERROR_CODES: Final = {
    10: "MESSAGE_SIZE_TOO_LARGE",
    17: "INVALID_TOPIC",
    18: "RECORD_LIST_TOO_LARGE",
    32: "INVALID_TIMESTAMP",
    87: "INVALID_RECORD",
}


def is_permanent_failure(error: BaseException) -> bool:
    """Whether resending the same record can never succeed (so it must be dead-lettered, not retried).

    Permanent: ``MessageTooLargeError`` and the broker codes in ``PERMANENT_ERROR_CODES``. Everything else
    (timeouts, lost connections, leader changes, unknown topic while metadata settles, and errors this code
    does not know) counts as transient: the batch is retried and, if it keeps failing, the run fails loudly.
    """
    if isinstance(error, MessageTooLargeError):
        return True
    return getattr(error, "errno", None) in PERMANENT_ERROR_CODES


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """One record that the broker did not acknowledge.

    ``value``, ``headers`` and ``ref`` (whatever the caller passed to ``send(ref=...)``, e.g. the source
    record) let the caller dead-letter or resend it; they are left out of ``repr`` to keep logs short.
    """

    topic: str
    key: bytes | None
    error: BaseException
    value: bytes | None = field(default=None, repr=False)
    headers: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    ref: object = field(default=None, repr=False, compare=False)

    @property
    def permanent(self) -> bool:
        """Whether no retry can deliver this record (see ``is_permanent_failure``)."""
        return is_permanent_failure(self.error)


class DeliveryError(KafkaConnectorError):
    """Records were not acknowledged by the broker, after ``attempts`` tries of the transient ones.

    ``permanent_only`` is true when every failure is permanent: the caller should dead-letter those records
    (``failures`` carry value, headers and ``ref``) and go on. Otherwise the broker is failing: fail the work
    unit (a Beam bundle), so the runner retries it or the run stops with this message; nothing is dropped.
    """

    retryable = True

    def __init__(
        self,
        failures: tuple[FailedRecord, ...],
        total: int,
        *,
        bootstrap: str | None = None,
        attempts: int = 1,
        unreachable_s: float | None = None,
        stopping: bool = False,
    ) -> None:
        self.failures = failures
        self.total = total
        self.bootstrap = bootstrap
        self.attempts = attempts
        self.unreachable_s = unreachable_s
        self.stopping = stopping
        if unreachable_s is not None:
            super().__init__(_outage_message(len(failures), bootstrap or "?", unreachable_s, stopping=stopping))
            return
        first = failures[0] if failures else None
        where = f" at {bootstrap}" if bootstrap else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        detail = ""
        if first is not None:
            error = " ".join(describe_error(first.error).split())
            detail = f"; first error (topic {first.topic}, key {show_key(first.key)}): {error}"
        # ``total`` counts the batch being flushed (one bundle), not the run: say so.
        batch = f" (in a batch of {total}; earlier batches were acknowledged)" if total > len(failures) else ""
        super().__init__(f"{len(failures)} of {total} records were not delivered to Kafka{where}{tries}{batch}{detail}")

    @property
    def failed(self) -> int:
        """How many records failed."""
        return len(self.failures)

    @property
    def first_error(self) -> BaseException | None:
        """The first failure's exception."""
        return self.failures[0].error if self.failures else None

    @property
    def permanent(self) -> tuple[FailedRecord, ...]:
        """Failures no retry can fix (dead-letter them)."""
        return tuple(f for f in self.failures if f.permanent)

    @property
    def transient(self) -> tuple[FailedRecord, ...]:
        """Failures that retries did not fix in time (the broker is down or unhealthy)."""
        return tuple(f for f in self.failures if not f.permanent)

    @property
    def permanent_only(self) -> bool:
        """True when there are failures and all of them are permanent."""
        return bool(self.failures) and not self.transient


class MessageTooLargeError(KafkaConnectorError):
    """One record is larger than the producer's ``max_request_size``: send it to the dead-letter topic."""

    def __init__(self, topic: str, key: bytes | None, size: int, limit: int) -> None:
        self.topic = topic
        self.key = key
        self.size = size
        self.limit = limit
        super().__init__(
            f"record for topic {topic} (key {show_key(key)}) is {size} bytes serialized, over the "
            f"{limit}-byte limit (max_request_size); dead-letter it or raise the limit on the "
            "producer and the broker/topic (message.max.bytes / max.message.bytes)"
        )


def describe_error(error: BaseException) -> str:
    """``Name: message`` (kafka-python's errors already start their text with their class name)."""
    name, text = type(error).__name__, str(error)
    return text if text.startswith(name) else f"{name}: {text}"


def show_key(key: bytes | None) -> str:
    """A record key for a message: UTF-8 text (undecodable bytes replaced), ``(none)`` for no key."""
    if key is None:
        return "(none)"
    return key.decode("utf-8", errors="replace")


def format_seconds(seconds: float) -> str:
    """``4m12s``, ``15m``, ``2h5m``, ``3s``, ``0.4s``: a duration for one-line messages."""
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m{secs}s" if minutes and secs else f"{minutes}m" if minutes else f"{secs}s"


def _outage_message(undelivered: int, bootstrap: str, unreachable_s: float, *, stopping: bool) -> str:
    one = undelivered == 1
    records, were, they, them = (
        (f"{undelivered} record", "was", "it", "it") if one else (f"{undelivered} records", "were", "they", "them")
    )
    if stopping:
        return (
            f"stopping while Kafka broker {bootstrap} is unreachable (for {format_seconds(unreachable_s)}): "
            f"{records} {were} not delivered to it; {they} {were} not checkpointed and will be produced again "
            "after a restart"
        )
    return (
        f"Kafka broker {bootstrap} unreachable for {format_seconds(unreachable_s)}: {records} {were} not "
        f"delivered; {they} {were} not checkpointed: a restart produces {them} again"
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
