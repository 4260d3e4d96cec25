"""Read a topic without a consumer group: for tests and the ``tail`` command.

Completion is decided by counting messages (``expected_count``) or by a timeout, never from end offsets
or lag: the local Tansu broker reports wrong end offsets. kafka-python is imported when a consumer is opened, not
with this module: it takes about 0.25 s, which commands that only build their parser with these names should not
pay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .config import KafkaConfig
from .errors import BrokerUnreachableError, KafkaConfigError, KafkaConnectorError, TopicSetupError
from .security import unreachable_hint

__all__ = ["ConsumedMessage", "iter_topic", "read_topic"]

_TOPIC_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class ConsumedMessage:
    """One record read from Kafka."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    def header(self, name: str) -> bytes | None:
        """The first header called ``name``, or ``None``."""
        return next((value for key, value in self.headers if key == name), None)


def iter_topic(
    config: KafkaConfig,
    topic: str,
    *,
    expected_count: int | None = None,
    timeout_s: float | None = 10.0,
    idle_timeout_s: float | None = None,
    from_beginning: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ConsumedMessage]:
    """Yield records of every partition of ``topic`` as they arrive.

    Stops after ``expected_count`` records (if given), when ``timeout_s`` has elapsed (``None``: never), or
    when no record arrived for ``idle_timeout_s`` (if given), whichever is first. Raises ``TopicSetupError``
    if the topic does not appear within the timeout (or the idle timeout, or 10 s).
    ``from_beginning=False`` starts at the end offsets; on the local Tansu broker these point just after
    the start of each partition's last batch, so that batch's records show up again.
    """
    import kafka.errors as kafka_errors
    from kafka import TopicPartition

    if expected_count is not None and expected_count < 0:
        raise KafkaConfigError(f"expected_count must be >= 0, got {expected_count}")
    started = clock()
    deadline = started + timeout_s if timeout_s is not None else None
    consumer = _open_consumer(config, from_beginning)
    try:
        topic_deadline = deadline if deadline is not None else started + (idle_timeout_s or _TOPIC_WAIT_S)
        partitions = _wait_for_partitions(consumer, topic, topic_deadline, clock)
        assignment = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        consumer.assign(assignment)
        if from_beginning:
            consumer.seek_to_beginning(*assignment)
        else:
            consumer.seek_to_end(*assignment)
        count = 0
        last_record = clock()
        while expected_count is None or count < expected_count:
            now = clock()
            remaining_s = 0.5
            if deadline is not None:
                remaining_s = min(remaining_s, deadline - now)
            if idle_timeout_s is not None:
                remaining_s = min(remaining_s, last_record + idle_timeout_s - now)
            if remaining_s <= 0:
                return
            try:
                batches = consumer.poll(timeout_ms=max(1, int(remaining_s * 1000)))
            except kafka_errors.KafkaError as exc:
                raise KafkaConnectorError(f"reading {topic} failed: {exc}") from exc
            for records in batches.values():
                for record in records:
                    count += 1
                    last_record = clock()
                    yield _to_message(record)
    finally:
        consumer.close()


def read_topic(
    config: KafkaConfig,
    topic: str,
    *,
    expected_count: int | None = None,
    timeout_s: float = 10.0,
    from_beginning: bool = True,
) -> list[ConsumedMessage]:
    """All records read by ``iter_topic``; with ``expected_count`` it may return fewer (timeout) or more
    (records of the last poll are all kept, so duplicates show up)."""
    return list(
        iter_topic(config, topic, expected_count=expected_count, timeout_s=timeout_s, from_beginning=from_beginning)
    )


def _open_consumer(config: KafkaConfig, from_beginning: bool) -> Any:
    import kafka.errors as kafka_errors
    from kafka import KafkaConsumer

    try:
        return KafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            allow_auto_create_topics=False,
            **config.client_kwargs(),
        )
    except (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError) as exc:
        raise BrokerUnreachableError(config.bootstrap_servers, str(exc) + unreachable_hint(config.security)) from exc
    except kafka_errors.KafkaConfigurationError as exc:
        raise KafkaConfigError(f"kafka-python rejected the consumer settings: {exc}") from exc


def _wait_for_partitions(consumer: Any, topic: str, deadline: float, clock: Callable[[], float]) -> set[int]:
    import kafka.errors as kafka_errors

    while True:
        try:
            partitions: set[int] = set(consumer.partitions_for_topic(topic) or ())
        except kafka_errors.KafkaError as exc:
            raise TopicSetupError(f"could not read metadata of topic {topic}: {exc}") from exc
        if partitions:
            return partitions
        if clock() >= deadline:
            raise TopicSetupError(f"topic {topic} does not exist (no partitions in metadata)")
        time.sleep(0.1)


def _to_message(record: Any) -> ConsumedMessage:
    return ConsumedMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((name, value) for name, value in record.headers or ()),
        timestamp_ms=record.timestamp,
    )
