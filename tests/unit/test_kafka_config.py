"""Kafka connector without a broker: config parsing/validation, topic names, envelope, writer contract."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from kafka import KafkaProducer

from storywire.connectors.kafka import (
    DeliveryError,
    InvalidEnvelopeError,
    KafkaConfig,
    KafkaConfigError,
    KafkaConnectorError,
    KafkaMessageWriter,
    MessageTooLargeError,
    TopicNames,
    TopicSpec,
    cloudevent_headers,
    default_topic_specs,
    parse_cloudevent_headers,
    record_size,
)
from storywire.connectors.kafka.errors import BrokerUnreachableError

# --- KafkaConfig -------------------------------------------------------------------------------------


def test_defaults_are_production_safe() -> None:
    config = KafkaConfig("broker-1:9092")

    assert config.acks == "all"
    assert config.enable_idempotence
    assert not config.allow_auto_create_topics
    assert config.topic_prefix == "news"
    kwargs = config.producer_kwargs()
    assert kwargs["acks"] == "all"
    assert kwargs["bootstrap_servers"] == ["broker-1:9092"]
    assert kwargs["enable_idempotence"] is True


def test_from_url_parses_hosts_and_parameters() -> None:
    config = KafkaConfig.from_url(
        "kafka://b1:9093,b2?compression=zstd&client_id=sw-1&prefix=staging.news&linger_ms=20"
        "&allow_auto_create_topics=true"
    )

    assert config.bootstrap_servers == "b1:9093,b2:9092"
    assert config.compression_type == "zstd"
    assert config.client_id == "sw-1"
    assert config.topic_prefix == "staging.news"
    assert config.linger_ms == 20
    assert config.allow_auto_create_topics is True


def test_from_url_compression_none_and_overrides_win() -> None:
    config = KafkaConfig.from_url("kafka://127.0.0.1:19092?compression=none", client_id="override")

    assert config.compression_type is None
    assert config.client_id == "override"


def test_from_url_ssl_scheme_sets_security_protocol() -> None:
    config = KafkaConfig.from_url("kafka+ssl://broker:9094")

    assert config.security.security_protocol == "SSL"
    assert config.client_kwargs()["security_protocol"] == "SSL"
    assert config.client_kwargs()["ssl_check_hostname"] is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://broker:9092", "scheme"),
        ("kafka://", "no host"),
        ("kafka://user:secret@broker:9092", "credentials"),
        ("kafka://broker:9092?compresion=gzip", "unknown parameter 'compresion'"),
        ("kafka://broker:9092?compression=brotli", "compression_type"),
        ("kafka://broker:9092?linger_ms=soon", "linger_ms: expected an integer"),
        ("kafka://broker:9092?acks=1", "idempotent producer needs acks='all'"),
        ("kafka://broker:notaport", "invalid port"),
        ("kafka://broker:9092/topic", "unexpected path"),
        ("kafka://broker:9092?linger_ms=1&linger_ms=2", "given twice"),
    ],
)
def test_from_url_rejects_bad_urls_with_clear_errors(url: str, message: str) -> None:
    with pytest.raises(KafkaConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        KafkaConfig.from_url(url)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bootstrap_servers": ""}, "bootstrap_servers"),
        ({"bootstrap_servers": "::1:9092"}, "IPv6"),
        ({"bootstrap_servers": "host:0"}, "invalid port"),
        ({"client_id": "has space"}, "client_id"),
        ({"topic_prefix": "News"}, "topic_prefix"),
        ({"topic_prefix": "news."}, "topic_prefix"),
        ({"linger_ms": -1}, "linger_ms"),
        ({"max_request_size": True}, "max_request_size"),
        ({"delivery_timeout_ms": 5_000}, "delivery_timeout_ms"),
        ({"security": {"sasl_plain_password": "x", "bogus": 1}}, "unknown setting"),
        ({"security": {"security_protocol": "SASL_SSL"}}, "sasl_mechanism: security_protocol SASL_SSL needs"),
        ({"security": {"security_protocol": "TLS"}}, "security_protocol"),
        ({"security": "SSL"}, "security: expected KafkaSecurity"),
        ({"enable_idempotence": "yes"}, "enable_idempotence"),
    ],
)
def test_validation_errors_name_the_setting(changes: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"bootstrap_servers": "broker:9092", **changes}

    with pytest.raises(KafkaConfigError, match=message):
        KafkaConfig(**values)


def test_config_is_frozen_hashable_picklable_and_hides_secrets() -> None:
    security = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_username": "svc",
        "sasl_password": "hunter2",
    }
    config = KafkaConfig("[::1]:9092", compression_type="GZIP", security=security)
    security["sasl_password"] = "changed"  # the config keeps its own copy

    assert config.bootstrap_servers == "[::1]:9092"
    assert config.compression_type == "gzip"
    assert config.security.sasl_password is not None
    assert config.security.sasl_password.reveal() == "hunter2"
    assert "hunter2" not in repr(config)
    security["sasl_password"] = "hunter2"
    assert pickle.loads(pickle.dumps(config)) == config
    assert hash(config) == hash(KafkaConfig("[::1]:9092", compression_type="gzip", security=security))
    with pytest.raises(FrozenInstanceError):
        config.acks = "1"  # type: ignore[misc]
    with pytest.raises(KafkaConfigError):
        config.with_overrides(linger_ms=-5)


def test_producer_kwargs_are_accepted_by_kafka_python() -> None:
    config = KafkaConfig("broker:9092", security={"security_protocol": "SSL", "ssl_check_hostname": False})

    assert set(config.producer_kwargs()) <= set(KafkaProducer.DEFAULT_CONFIG)


# --- topics --------------------------------------------------------------------------------------------


def test_topic_names_follow_the_convention() -> None:
    names = TopicNames()

    assert names.all() == ("news.articles.v1", "news.stories.v1", "news.story-events.v1", "news.deadletter.v1")
    assert TopicNames.from_config(KafkaConfig("b:1", topic_prefix="staging.news")).stories == (
        "staging.news.stories.v1"
    )
    with pytest.raises(KafkaConfigError):
        TopicNames("Bad Prefix")


def test_default_specs_compact_stories_and_retain_the_rest() -> None:
    specs = {spec.name: spec for spec in default_topic_specs(TopicNames(), retention_ms=1_000)}

    assert specs["news.stories.v1"].configs == {"cleanup.policy": "compact"}
    assert specs["news.articles.v1"].configs["retention.ms"] == "1000"
    assert specs["news.story-events.v1"].configs["cleanup.policy"] == "delete"
    assert "retention.ms" in specs["news.deadletter.v1"].configs
    assert {spec.partitions for spec in specs.values()} == {6}
    assert {spec.replication_factor for spec in specs.values()} == {None}


@pytest.mark.parametrize(
    "kwargs",
    [{"name": "bad topic"}, {"name": "t", "partitions": 0}, {"name": "t", "replication_factor": 0}],
)
def test_topic_spec_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(KafkaConfigError):
        TopicSpec(**kwargs)


# --- CloudEvents envelope ------------------------------------------------------------------------------


def _headers(**overrides: Any) -> list[tuple[str, bytes]]:
    values: dict[str, Any] = {
        "event_type": "dev.storywire.article.v1",
        "source": "urn:storywire:pipeline",
        "event_id": "a1b2",
        "time_iso": "2024-05-01T12:00:00Z",
        "schema_version": "1",
        **overrides,
    }
    return cloudevent_headers(**values)


def test_cloudevent_headers_binary_mode() -> None:
    headers = _headers(subject="article-1")

    assert headers == [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"a1b2"),
        ("ce_source", b"urn:storywire:pipeline"),
        ("ce_type", b"dev.storywire.article.v1"),
        ("ce_time", b"2024-05-01T12:00:00Z"),
        ("content-type", b"application/json"),
        ("ce_schemaversion", b"1"),
        ("ce_subject", b"article-1"),
    ]


def test_parse_round_trip_ignores_foreign_headers() -> None:
    headers = [("traceparent", b"00-abc"), *_headers(time_iso="2024-05-01T14:00:00+02:00")]

    assert parse_cloudevent_headers(headers) == {
        "specversion": "1.0",
        "id": "a1b2",
        "source": "urn:storywire:pipeline",
        "type": "dev.storywire.article.v1",
        "time": "2024-05-01T14:00:00+02:00",
        "datacontenttype": "application/json",
        "schemaversion": "1",
    }


@pytest.mark.parametrize(
    "overrides",
    [{"event_id": ""}, {"time_iso": "2024-05-01 12:00:00"}, {"time_iso": "2024-05-01T12:00:00"}, {"source": " "}],
)
def test_cloudevent_headers_reject_bad_attributes(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidEnvelopeError):
        _headers(**overrides)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("ce_id", b"1")], "missing CloudEvents header"),
        ([*_headers(), ("ce_id", b"again")], "more than once"),
        ([(n, b"0.3" if n == "ce_specversion" else v) for n, v in _headers()], "specversion"),
        ([(n, b"\xff" if n == "ce_type" else v) for n, v in _headers()], "UTF-8"),
        ([(n, b"yesterday" if n == "ce_time" else v) for n, v in _headers()], "RFC 3339"),
    ],
)
def test_parse_rejects_malformed_envelopes(headers: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(InvalidEnvelopeError, match=message):
        parse_cloudevent_headers(headers)


# --- writer contract (fake producer, no sockets) -----------------------------------------------------------


class _FakeFuture:
    def __init__(self, error: BaseException | None, done: bool = True) -> None:
        self.is_done = done
        self.exception = error

    def failed(self) -> bool:
        return self.is_done and self.exception is not None


class _FakeProducer:
    """Fails the records whose value starts with b"fail"; leaves b"hang" records unacknowledged."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.closed = False

    def send(self, topic: str, *, value: bytes | None, key: bytes | None, headers: Any, timestamp_ms: Any) -> Any:
        self.sent.append((topic, key, value))
        if value is not None and value.startswith(b"fail"):
            return _FakeFuture(RuntimeError(f"broker said no to {value!r}"))
        return _FakeFuture(None, done=not (value or b"").startswith(b"hang"))

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def _writer(**changes: Any) -> tuple[KafkaMessageWriter, list[_FakeProducer]]:
    producers: list[_FakeProducer] = []

    def factory(**kwargs: Any) -> _FakeProducer:
        producers.append(_FakeProducer(**kwargs))
        return producers[-1]

    return KafkaMessageWriter(KafkaConfig("broker:9092", **changes), producer_factory=factory), producers


def test_flush_raises_delivery_error_listing_failures() -> None:
    writer, producers = _writer(delivery_attempts=1)
    writer.open()
    for value in (b"ok-1", b"fail-1", b"ok-2", b"fail-2", b"hang"):
        writer.send("news.articles.v1", b"key", value)

    with pytest.raises(DeliveryError) as caught:
        writer.flush(timeout_s=0.1)

    assert caught.value.failed == 3
    assert caught.value.total == 5
    assert "broker said no to b'fail-1'" in str(caught.value)
    assert caught.value.retryable
    assert writer.pending == 0
    assert (writer.sent, writer.delivered, writer.failed) == (5, 2, 3)
    assert producers[0].kwargs["acks"] == "all"


def test_flush_returns_delivered_count_and_close_closes() -> None:
    writer, producers = _writer()
    with writer:
        writer.send("t", b"k", b"v", [("h", b"1")])
        writer.send("t", b"k", None)  # tombstone
        assert writer.flush() == 2
        assert writer.flush() == 0

    assert producers[0].closed
    assert not writer.is_open
    with pytest.raises(KafkaConnectorError, match="not open"):
        writer.send("t", b"k", b"v")


def test_close_raises_on_undelivered_records_but_still_closes() -> None:
    writer, producers = _writer(delivery_attempts=1)
    writer.open()
    writer.send("t", b"k", b"fail")

    with pytest.raises(DeliveryError):
        writer.close()
    assert producers[0].closed


def test_exception_in_with_block_aborts_without_masking_it() -> None:
    writer, producers = _writer()

    with pytest.raises(ZeroDivisionError), writer:
        writer.send("t", b"k", b"fail")
        _ = 1 / 0

    assert producers[0].closed


def test_oversized_record_is_rejected_before_the_producer() -> None:
    writer, producers = _writer(max_request_size=2_000)
    writer.open()
    headers = [("ce_id", b"x" * 100)]

    with pytest.raises(MessageTooLargeError) as caught:
        writer.send("news.articles.v1", b"k", b"v" * 2_000, headers)

    assert caught.value.size == record_size(b"k", b"v" * 2_000, headers)
    assert caught.value.limit == 2_000
    assert not caught.value.retryable
    assert producers[0].sent == []


def test_unreachable_error_message_suggests_the_local_broker() -> None:
    error = BrokerUnreachableError("localhost:29092", "Unable to bootstrap")

    assert "localhost:29092" in str(error)
    assert "python deploy/local_broker.py start --port 29092" in str(error)
    assert "bootstrap servers setting" in str(BrokerUnreachableError("kafka.prod:9092", "timeout"))
