"""The writer's delivery contract with a scripted fake producer (no sockets, no sleeping): transient failures
are resent with backoff then fail loudly, permanent ones are handed back for dead-lettering, the pending
window stays bounded, and on a compacted topic the newest record per key is written last."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import kafka.errors as kafka_errors
import pytest

from storywire.connectors.kafka import (
    BrokerUnreachableError,
    DeliveryError,
    FailedRecord,
    KafkaConfig,
    KafkaConnectorError,
    KafkaMessageWriter,
    MessageTooLargeError,
)
from storywire.connectors.kafka.errors import is_permanent_failure
from storywire.connectors.kafka.producer import backoff_delays, fits, record_size

STORIES = "news.stories.v1"
ARTICLES = "news.articles.v1"

# decide(topic, key, value, attempt) -> None (acknowledged), an exception (the record fails), "hang" (never
# acknowledged) or "block" (send() itself times out, as when the broker is gone and metadata is unknown).
Decide = Callable[[str, bytes | None, bytes | None, int], Any]


class FakeFuture:
    def __init__(self, outcome: Any) -> None:
        self.is_done = outcome != "hang"
        self.exception = outcome if isinstance(outcome, BaseException) else None

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def get(self, timeout: float | None = None) -> None:
        if not self.is_done:
            raise kafka_errors.KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")
        if self.exception is not None:
            raise self.exception


class FakeProducer:
    def __init__(self, decide: Decide, **kwargs: Any) -> None:
        self.decide = decide
        self.kwargs = kwargs
        self.log: list[tuple[str, bytes | None, bytes | None]] = []  # every send() call, in order
        self.acked: list[tuple[str, bytes | None, bytes | None]] = []  # what the "broker" holds, in order
        self.attempts: dict[bytes | None, int] = {}
        self.flushes = 0
        self.clients = 0

    def send(self, topic: str, *, value: bytes | None, key: bytes | None, headers: Any, timestamp_ms: Any) -> Any:
        attempt = self.attempts.get(value, 0) + 1
        self.attempts[value] = attempt
        self.log.append((topic, key, value))
        outcome = self.decide(topic, key, value, attempt)
        if outcome == "block":
            raise kafka_errors.KafkaTimeoutError("Failed to update metadata after 60.0 secs.")
        if outcome is None:
            self.acked.append((topic, key, value))
        return FakeFuture(outcome)

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1

    def close(self, timeout: float | None = None) -> None:
        pass


def make_writer(
    decide: Decide, *, attempts: int = 3, max_pending: int = 10_000, unreachable_at: tuple[int, ...] = ()
) -> tuple[KafkaMessageWriter, FakeProducer, list[float]]:
    """A writer on one fake "broker" (``FakeProducer``); each client the writer makes is counted in
    ``producer.clients``, and making the n-th one fails as unreachable when n is in ``unreachable_at``."""
    holder: list[FakeProducer] = []
    sleeps: list[float] = []

    def factory(**kwargs: Any) -> FakeProducer:
        if not holder:
            holder.append(FakeProducer(decide, **kwargs))
        holder[0].clients += 1
        if holder[0].clients in unreachable_at:
            raise kafka_errors.KafkaTimeoutError("Unable to bootstrap from [('broker.example', 9092)]")
        return holder[0]

    config = KafkaConfig("broker.example:9092", delivery_attempts=attempts, delivery_backoff_ms=500)
    writer = KafkaMessageWriter(
        config, producer_factory=factory, compacted_topics=[STORIES], max_pending=max_pending, sleep=sleeps.append
    )
    writer.open()
    return writer, holder[0], sleeps


def timeout() -> BaseException:
    return kafka_errors.KafkaTimeoutError("Batch for news.articles.v1-0 expired")


def test_transient_failures_are_resent_after_a_pause_and_then_delivered() -> None:
    writer, producer, sleeps = make_writer(lambda t, k, v, n: timeout() if v == b"b" and n == 1 else None)
    for value in (b"a", b"b", b"c"):
        writer.send(ARTICLES, value, value)

    assert writer.flush() == 3
    assert sleeps == [0.5]
    assert producer.clients == 2  # the resend round used a fresh client
    assert [v for _, _, v in producer.log] == [b"a", b"b", b"c", b"b"]
    assert sorted(v for _, _, v in producer.acked) == [b"a", b"b", b"c"]
    assert (writer.sent, writer.delivered, writer.failed, writer.resent) == (3, 3, 0, 1)


def test_a_broker_that_stays_down_fails_after_the_last_attempt_naming_it() -> None:
    writer, producer, sleeps = make_writer(lambda t, k, v, n: timeout(), attempts=3)
    writer.send(ARTICLES, b"k1", b"v1", ref="first")
    writer.send(ARTICLES, b"k2", b"v2")

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    error = caught.value
    assert sleeps == [0.5, 1.0]  # doubling backoff between the three rounds
    assert len(producer.log) == 6
    assert (error.failed, error.total, error.attempts) == (2, 2, 3)
    assert not error.permanent_only and len(error.transient) == 2
    assert "2 of 2 records were not delivered to Kafka at broker.example:9092 after 3 attempts" in str(error)
    assert error.failures[0].ref == "first" and error.failures[0].value == b"v1"
    assert writer.pending == 0 and writer.failed == 2


def test_permanent_refusals_are_not_resent_but_handed_back_with_their_record() -> None:
    too_large = kafka_errors.MessageSizeTooLargeError("over max.message.bytes")
    writer, producer, sleeps = make_writer(lambda t, k, v, n: too_large if v == b"huge" else None)
    writer.send(ARTICLES, b"a", b"ok")
    writer.send(ARTICLES, b"b", b"huge", [("ce_id", b"a_b:1")], ref={"article": "b"})

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    assert caught.value.permanent_only
    (failed,) = caught.value.failures
    assert (failed.topic, failed.key, failed.value, failed.headers) == (ARTICLES, b"b", b"huge", (("ce_id", b"a_b:1"),))
    assert failed.ref == {"article": "b"} and failed.permanent
    assert sleeps == [] and len(producer.log) == 2
    # The writer stays usable: the caller sends a dead letter and flushes again.
    writer.send("news.deadletter.v1", b"b", b"dead letter")
    assert writer.flush() == 1


def test_mixed_failures_retry_the_transient_ones_and_report_only_the_permanent() -> None:
    def decide(topic: str, key: bytes | None, value: bytes | None, attempt: int) -> Any:
        if value == b"bad-topic":
            return kafka_errors.InvalidTopicError("illegal")
        return timeout() if value == b"flaky" and attempt < 3 else None

    writer, _, sleeps = make_writer(decide)
    for value in (b"flaky", b"bad-topic", b"fine"):
        writer.send(ARTICLES, value, value)

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    assert caught.value.permanent_only
    assert [f.value for f in caught.value.failures] == [b"bad-topic"]
    assert sleeps == [0.5, 1.0]
    assert writer.delivered == 2


def test_on_a_compacted_topic_the_newest_record_per_key_is_written_last_after_a_resend() -> None:
    # v1 of story s fails once, v2 is acknowledged at once: resending only v1 would leave v1 as the latest.
    writer, producer, _ = make_writer(lambda t, k, v, n: timeout() if v == b"s:v1" and n == 1 else None)
    for value in (b"s:v1", b"s:v2", b"t:v1"):
        writer.send(STORIES, value[:1], value)
    writer.send(ARTICLES, b"s", b"article")

    assert writer.flush() == 4
    last_per_key = {key: value for topic, key, value in producer.acked if topic == STORIES}
    assert last_per_key == {b"s": b"s:v2", b"t": b"t:v1"}
    assert [v for _, _, v in producer.log[4:]] == [b"s:v1", b"s:v2"]  # the resend round, in send order
    assert writer.delivered == 4  # the re-written v2 is a duplicate, counted once


def test_the_pending_window_is_bounded_and_drained_from_the_oldest() -> None:
    writer, producer, _ = make_writer(lambda t, k, v, n: None, max_pending=4)
    peak = 0
    for n in range(20):
        writer.send(ARTICLES, b"k", b"%d" % n)
        peak = max(peak, writer.pending)

    assert peak <= 4
    assert writer.delivered >= 16 - 4
    assert writer.flush() == 20
    assert producer.flushes == 1


def test_a_transient_failure_seen_while_draining_settles_everything_at_once() -> None:
    writer, producer, sleeps = make_writer(
        lambda t, k, v, n: timeout() if v == b"0" and n == 1 else None, max_pending=2
    )
    for n in range(4):
        writer.send(ARTICLES, b"k", b"%d" % n)

    assert sleeps == [0.5]
    assert writer.flush() == 4
    assert sorted(v for _, _, v in producer.acked) == [b"0", b"1", b"2", b"3"]


def test_send_that_cannot_queue_blocks_once_per_round_then_raises() -> None:
    calls = []

    def decide(topic: str, key: bytes | None, value: bytes | None, attempt: int) -> Any:
        calls.append(value)
        return "block" if value != b"early" else None

    writer, _, sleeps = make_writer(decide, attempts=2)
    writer.send(ARTICLES, b"k", b"early")
    with pytest.raises(DeliveryError) as caught:
        writer.send(ARTICLES, b"k", b"late")

    assert sleeps == [0.5]
    assert calls == [b"early", b"late", b"late"]
    assert [f.value for f in caught.value.failures] == [b"late"]
    assert isinstance(caught.value.first_error, kafka_errors.KafkaTimeoutError)


def test_records_unacknowledged_at_the_flush_timeout_count_as_transient_failures() -> None:
    writer, _, sleeps = make_writer(lambda t, k, v, n: "hang" if n == 1 else None)
    writer.send(ARTICLES, b"k", b"v")

    assert writer.flush(timeout_s=0.01) == 1
    assert sleeps == [0.5]


def test_foreign_send_errors_are_mapped() -> None:
    def decide(topic: str, key: bytes | None, value: bytes | None, attempt: int) -> Any:
        raise kafka_errors.KafkaConfigurationError("nope") if value == b"x" else ValueError("illegal topic")

    writer, _, _ = make_writer(decide)
    with pytest.raises(KafkaConnectorError, match=r"could not queue a record for news\.articles\.v1"):
        writer.send(ARTICLES, b"k", b"x")
    with pytest.raises(KafkaConnectorError, match="illegal topic"):
        writer.send(ARTICLES, b"k", b"y")


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (kafka_errors.MessageSizeTooLargeError(), True),
        (kafka_errors.RecordListTooLargeError(), True),
        (kafka_errors.InvalidTopicError(), True),
        (kafka_errors.InvalidTimestampError(), True),
        (kafka_errors.InvalidRecordError(), True),
        (MessageTooLargeError("t", b"k", 2_000, 1_024), True),
        (kafka_errors.KafkaTimeoutError(), False),
        (kafka_errors.NotLeaderForPartitionError(), False),
        (kafka_errors.UnknownTopicOrPartitionError(), False),
        (kafka_errors.KafkaConnectionError(), False),
        (kafka_errors.TopicAuthorizationFailedError(), False),  # not the record's fault: fail the run
        (RuntimeError("unknown"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_permanent_or_transient(error: BaseException, permanent: bool) -> None:
    assert is_permanent_failure(error) is permanent
    assert FailedRecord("t", b"k", error).permanent is permanent


def test_backoff_doubles_and_is_capped() -> None:
    assert backoff_delays(1, 1_000) == []
    assert backoff_delays(4, 1_000) == [1.0, 2.0, 4.0]
    assert backoff_delays(8, 10_000)[-1] == 30.0


def test_delivery_settings_are_validated_and_read_from_the_url() -> None:
    config = KafkaConfig.from_url("kafka://b:9092?delivery_attempts=5&delivery_backoff_ms=250")
    assert (config.delivery_attempts, config.delivery_backoff_ms) == (5, 250)
    assert "delivery_attempts" not in config.producer_kwargs()
    with pytest.raises(ValueError, match="delivery_attempts"):
        KafkaConfig("b:9092", delivery_attempts=0)


def test_the_quick_size_check_agrees_with_the_exact_estimate_at_the_limit() -> None:
    rng = random.Random(5)
    for _ in range(500):
        key = bytes(rng.randrange(0, 300))
        value = None if rng.random() < 0.05 else bytes(rng.randrange(0, 5_000))
        headers = [("ce_" + "x" * rng.randrange(0, 20), bytes(rng.randrange(0, 200))) for _ in range(rng.randrange(9))]
        size = record_size(key, value, headers)
        for limit in (size - 1, size, size + 1, size + 500):
            assert fits(key, value, headers, limit) is (size <= limit)


def test_a_round_where_the_broker_is_still_unreachable_counts_as_failed_and_the_next_one_delivers() -> None:
    writer, producer, sleeps = make_writer(
        lambda t, k, v, n: timeout() if n == 1 else None, attempts=3, unreachable_at=(2,)
    )
    writer.send(ARTICLES, b"k", b"v")

    assert writer.flush() == 1
    assert sleeps == [0.5, 1.0] and producer.clients == 3
    assert writer.is_open


def test_giving_up_while_the_broker_is_unreachable_names_it() -> None:
    writer, _, _ = make_writer(lambda t, k, v, n: timeout(), attempts=2, unreachable_at=(2,))
    writer.send(ARTICLES, b"k", b"v")

    with pytest.raises(DeliveryError) as caught:
        writer.flush()
    assert isinstance(caught.value.first_error, BrokerUnreachableError)
    writer.abort()
    assert not writer.is_open
