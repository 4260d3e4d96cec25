"""The Kafka connector against a real local broker (Tansu), plus a foreign client (confluent-kafka)."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from types import ModuleType
from typing import Any

import orjson
import pytest

from storywire.connectors.kafka import (
    BrokerUnreachableError,
    ConsumedMessage,
    DeliveryError,
    KafkaConfig,
    KafkaMessageWriter,
    MessageTooLargeError,
    TopicNames,
    TopicSpec,
    check_reachable,
    cloudevent_headers,
    default_topic_specs,
    ensure_topics,
    missing_topics,
    parse_cloudevent_headers,
    read_topic,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

KEYS = [f"article-{n}".encode() for n in range(5)]


def _produce(config: KafkaConfig, topic: str, count: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """Send ``count`` records round-robin over KEYS, each with CloudEvents headers; return what was sent."""
    sent = []
    with KafkaMessageWriter(config) as writer:
        for seq in range(count):
            key = KEYS[seq % len(KEYS)]
            value = orjson.dumps({"key": key.decode(), "seq": seq, "title": "Ünïcode headline"})
            headers = cloudevent_headers(
                "dev.storywire.article.v1",
                "urn:storywire:tests",
                f"evt-{seq}",
                "2024-05-01T12:00:00Z",
                "1",
                subject=key.decode(),
            )
            writer.send(topic, key, value, headers)
            sent.append((key, value, headers))
        assert writer.flush() == count
    return sent


def _assert_per_key_order(messages: list[ConsumedMessage]) -> None:
    seqs: dict[bytes | None, list[int]] = defaultdict(list)
    partitions: dict[bytes | None, set[int]] = defaultdict(set)
    for message in messages:
        assert message.value is not None
        seqs[message.key].append(orjson.loads(message.value)["seq"])
        partitions[message.key].add(message.partition)
    for key, key_seqs in seqs.items():
        assert key_seqs == sorted(key_seqs), f"records of key {key!r} out of order: {key_seqs}"
        assert len(partitions[key]) == 1, f"key {key!r} spread over partitions {partitions[key]}"


def test_ensure_topics_twice_is_idempotent(kafka_config: KafkaConfig) -> None:
    names = TopicNames.from_config(kafka_config)
    specs = default_topic_specs(names, partitions=3)

    assert missing_topics(kafka_config, names.all()) == list(names.all())
    assert ensure_topics(kafka_config, specs) == dict.fromkeys(names.all(), "created")
    assert ensure_topics(kafka_config, specs) == dict.fromkeys(names.all(), "exists")
    extra = f"{names.prefix}.never-created.v1"
    assert missing_topics(kafka_config, [*names.all(), extra]) == [extra]


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_keyed_records_round_trip_with_headers_and_order(kafka_config: KafkaConfig, compression: str | None) -> None:
    config = kafka_config.with_overrides(compression_type=compression)
    topic = TopicNames.from_config(config).articles
    ensure_topics(config, [TopicSpec(topic, partitions=3)])

    sent = _produce(config, topic, 60)
    received = read_topic(config, topic, expected_count=60, timeout_s=30)

    assert len(received) == 60
    by_event = {parse_cloudevent_headers(m.headers)["id"]: m for m in received}
    for key, value, headers in sent:
        event_id = parse_cloudevent_headers(headers)["id"]
        message = by_event[event_id]
        assert (message.key, message.value) == (key, value)
        assert list(message.headers) == headers
        assert message.topic == topic
        assert message.timestamp_ms > 0
    _assert_per_key_order(received)


def test_read_topic_without_expected_count_reads_until_the_timeout(kafka_config: KafkaConfig) -> None:
    topic = TopicNames.from_config(kafka_config).stories
    ensure_topics(kafka_config, [TopicSpec(topic, partitions=2)])
    _produce(kafka_config, topic, 7)

    received = read_topic(kafka_config, topic, timeout_s=1.5)

    assert len(received) == 7
    assert {m.header("ce_subject") for m in received} == set(KEYS)
    assert received[0].header("no-such-header") is None


def test_confluent_kafka_reads_what_the_writer_wrote(kafka_config: KafkaConfig) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    topic = TopicNames.from_config(kafka_config).story_events
    ensure_topics(kafka_config, [TopicSpec(topic, partitions=3)])
    sent = _produce(kafka_config, topic, 25)

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka_config.bootstrap_servers,
            "group.id": "storywire-tests-unused",  # required by librdkafka; assign() joins no group
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign(
            [confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions]
        )
        received: list[ConsumedMessage] = []
        deadline = time.monotonic() + 30
        while len(received) < len(sent) and time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is None:
                continue
            assert record.error() is None, record.error()
            received.append(
                ConsumedMessage(
                    topic=record.topic(),
                    partition=record.partition(),
                    offset=record.offset(),
                    key=record.key(),
                    value=record.value(),
                    headers=tuple(record.headers() or ()),
                    timestamp_ms=record.timestamp()[1],
                )
            )
    finally:
        consumer.close()

    assert sorted((m.key, m.value, list(m.headers)) for m in received) == sorted(sent)
    _assert_per_key_order(received)


def test_unreachable_bootstrap_names_the_address_within_the_timeout(broker_tools: ModuleType) -> None:
    port = broker_tools.free_port()  # nothing listens there
    config = KafkaConfig(bootstrap_servers=f"127.0.0.1:{port}", bootstrap_timeout_ms=2_000)

    started = time.monotonic()
    with pytest.raises(BrokerUnreachableError) as caught:
        check_reachable(config, timeout_s=2.0)
    elapsed = time.monotonic() - started

    assert f"127.0.0.1:{port}" in str(caught.value)
    assert f"local_broker.py start --port {port}" in str(caught.value)
    assert caught.value.bootstrap == f"127.0.0.1:{port}"
    assert elapsed < 6.0
    with pytest.raises(BrokerUnreachableError):
        KafkaMessageWriter(config).open()


def test_oversized_record_raises_message_too_large_and_writer_stays_usable(kafka_config: KafkaConfig) -> None:
    config = kafka_config.with_overrides(max_request_size=10_000)
    topic = TopicNames.from_config(config).dead_letters
    ensure_topics(config, [TopicSpec(topic, partitions=1)])

    with KafkaMessageWriter(config) as writer:
        with pytest.raises(MessageTooLargeError) as caught:
            writer.send(topic, b"big", os.urandom(20_000))
        assert caught.value.limit == 10_000
        assert caught.value.size > 20_000
        assert "10000-byte limit" in str(caught.value)
        assert writer.pending == 0
        writer.send(topic, b"small", b"{}")
        assert writer.flush() == 1

    assert [(m.key, m.value) for m in read_topic(config, topic, expected_count=1, timeout_s=15)] == [(b"small", b"{}")]


def test_delivery_failure_surfaces_at_flush_when_the_broker_dies(broker_tools: ModuleType) -> None:
    with broker_tools.running_broker(timeout=15.0) as broker:
        config = KafkaConfig(
            bootstrap_servers=broker.bootstrap,
            topic_prefix="dying",
            linger_ms=0,
            request_timeout_ms=1_000,
            delivery_timeout_ms=3_000,
            max_block_ms=2_000,
            bootstrap_timeout_ms=2_000,
            delivery_attempts=1,  # no resend rounds: the failure itself is under test here
        )
        topic = TopicNames.from_config(config).articles
        ensure_topics(config, [TopicSpec(topic, partitions=1)])
        writer = KafkaMessageWriter(config)
        writer.open()
        writer.send(topic, b"k", b"before")
        assert writer.flush() == 1

        assert broker_tools.stop_broker(broker.state_dir, timeout=0.5)  # SIGKILL: a crash
        with pytest.raises(ProcessLookupError):
            os.kill(broker.pid, 0)
        for n in range(3):
            writer.send(topic, b"k", b"after-%d" % n)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            writer.flush()
        writer.abort()

    assert caught.value.failed == 3
    assert caught.value.total == 3
    assert caught.value.first_error is not None
    assert "3 of 3 records were not delivered" in str(caught.value)
    assert time.monotonic() - started < 15
    assert (writer.delivered, writer.failed) == (1, 3)


def test_local_broker_start_again_reuses_the_running_broker(kafka_broker: Any, broker_tools: ModuleType) -> None:
    again = broker_tools.start_broker(kafka_broker.port, kafka_broker.state_dir, timeout=5.0)

    assert (again.started, again.pid, again.bootstrap) == (False, kafka_broker.pid, kafka_broker.bootstrap)
    status = broker_tools.broker_status(kafka_broker.state_dir)
    assert status.healthy and status.pid == kafka_broker.pid
    assert broker_tools.main(["status", "--state-dir", str(kafka_broker.state_dir)]) == 0
    assert 18 in broker_tools.api_versions("127.0.0.1", kafka_broker.port)  # ApiVersions itself
