"""The Beam Kafka sink (WriteKafka's DoFn) on the FnApiRunner with an injected fake producer: records the
broker refuses for good are dead-lettered, oversized articles are trimmed, a broker that is down for a while
is waited for (one line when it goes, one when it is back), one that stays down past the outage limit fails
the run with the bootstrap address in a one-line error, and nothing is dropped on the way."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import apache_beam as beam
import kafka.errors as kafka_errors
import orjson
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.kafka import DeliveryError, KafkaConfig, TopicNames, broker_health
from storywire.connectors.kafka.producer import OUTAGE_LOGGER
from storywire.pipelines.beam.sinks import WriteKafka
from storywire.schemas.records import Article, Story, _Record
from storywire.schemas.validation import validate
from tests.support.articles import make_article

T = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
TOPICS = TopicNames("sinktest")


class _Future:
    def __init__(self, error: BaseException | None) -> None:
        self.is_done = True
        self.exception = error

    def failed(self) -> bool:
        return self.exception is not None

    def get(self, timeout: float | None = None) -> None:
        if self.exception is not None:
            raise self.exception


class ScriptedProducer:
    """Refuses values containing b"REFUSE" permanently; fails everything when ``down`` is set.

    The FnApiRunner runs in this process: what was acknowledged is kept in the class-level ``acked`` list
    (the DoFn, and the factory with it, are pickled copies).
    """

    acked: ClassVar[list[tuple[str, bytes | None, bytes | None]]] = []
    down: ClassVar[bool] = False
    down_for_s: ClassVar[float | None] = None  # set: the broker comes back that long after the first refused send
    _back: ClassVar[threading.Timer | None] = None

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def send(self, topic: str, *, value: bytes | None, key: bytes | None, headers: Any, timestamp_ms: Any) -> Any:
        if ScriptedProducer.down:
            if ScriptedProducer.down_for_s is not None and ScriptedProducer._back is None:
                # Timed from the first send, not from the test's start: a slow pipeline start-up on a loaded
                # machine must not let the broker come back before the sink ever met it down.
                ScriptedProducer._back = threading.Timer(
                    ScriptedProducer.down_for_s, lambda: setattr(ScriptedProducer, "down", False)
                )
                ScriptedProducer._back.start()
            return _Future(kafka_errors.KafkaTimeoutError("Batch expired"))
        if value is not None and b"REFUSE" in value and topic != TOPICS.dead_letters:
            return _Future(kafka_errors.MessageSizeTooLargeError("larger than the topic's max.message.bytes"))
        ScriptedProducer.acked.append((topic, key, value))
        return _Future(None)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture(autouse=True)
def _reset() -> None:
    ScriptedProducer.acked = []
    ScriptedProducer.down = False
    ScriptedProducer.down_for_s = None
    ScriptedProducer._back = None
    broker_health._HEALTH.clear()  # what writers of this process learnt of fake-broker in an earlier test


def article(n: int, text: str) -> Article:
    return make_article(
        f"a_{n:024x}",
        f"Title {n}",
        text,
        at=T,
        outlet="a.example",
        url=f"https://a.example/{n}",
        extraction_method="trafilatura",
        content_hash="f" * 32,
    )


def run(records: list[_Record], config: KafkaConfig, outage_limit: timedelta = timedelta(minutes=15)) -> None:
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    write = WriteKafka(config, TOPICS, producer_factory=ScriptedProducer, outage_limit=outage_limit)
    _ = pipeline | beam.Create(records) | write
    pipeline.run().wait_until_finish()


def test_refused_and_oversized_records_become_dead_letters_and_the_rest_is_delivered() -> None:
    words = " ".join(itertools.repeat("drone", 4_000))  # 24 KB of text
    story = Story("s_" + "3" * 24, "active", "REFUSE me", (), "en", T, T, T, 1, 1, ("a.example",), ("a_x",), None, 1)
    records: list[_Record] = [article(1, "short"), article(2, words), article(3, "REFUSE this one"), story]

    run(records, KafkaConfig("fake:9092", max_request_size=10_000))

    by_topic: dict[str, list[dict[str, Any]]] = {}
    for topic, _, value in ScriptedProducer.acked:
        assert value is not None
        by_topic.setdefault(topic, []).append(orjson.loads(value))
    articles = {a["article_id"]: a for a in by_topic[TOPICS.articles]}
    assert sorted(articles) == [f"a_{1:024x}", f"a_{2:024x}"]
    assert articles[f"a_{2:024x}"]["text_truncated"] and len(articles[f"a_{2:024x}"]["text"]) < len(words)
    assert not articles[f"a_{1:024x}"]["text_truncated"]
    assert TOPICS.stories not in by_topic
    dead = sorted(by_topic[TOPICS.dead_letters], key=lambda d: d["identity"])
    assert [(d["identity"], d["stage"], d["error_type"]) for d in dead] == [
        (f"a_{3:024x}", "sink-kafka", "MessageSizeTooLargeError"),
        ("s_" + "3" * 24, "sink-kafka", "MessageSizeTooLargeError"),
    ]
    assert dead[1]["payload_ref"] == f"{TOPICS.stories}#ce_id=s_{'3' * 24}:1"
    for letter in dead:
        validate("dead_letter", letter)


def test_a_broker_down_for_a_while_is_waited_for_and_everything_is_delivered_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    ScriptedProducer.down = True
    ScriptedProducer.down_for_s = 1.5
    config = KafkaConfig("fake-broker:9092", delivery_attempts=2, delivery_backoff_ms=50)
    started = time.monotonic()
    try:
        run([article(n, "short") for n in range(5)], config)  # more than delivery_attempts rounds: waited for
    finally:
        if ScriptedProducer._back is not None:
            ScriptedProducer._back.join()

    assert ScriptedProducer._back is not None and time.monotonic() - started >= 1.5
    keys = sorted(key for _, key, _ in ScriptedProducer.acked)
    assert keys == [f"a_{n:024x}".encode() for n in range(5)]  # each exactly once
    lines = [r.getMessage() for r in caplog.records if r.name == OUTAGE_LOGGER]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Kafka broker fake-broker:9092 unreachable (KafkaTimeoutError: Batch expired)")
    assert lines[1].startswith("Kafka broker fake-broker:9092 back after 1")
    assert lines[1].endswith("delivered 5 held records")


def test_a_broker_that_stays_down_past_the_outage_limit_fails_the_run_naming_it() -> None:
    ScriptedProducer.down = True
    config = KafkaConfig("fake-broker:9092", delivery_attempts=2, delivery_backoff_ms=1)

    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        run([article(1, "short")], config, outage_limit=timedelta(seconds=1))
    assert time.monotonic() - started < 10

    chain: list[BaseException] = []
    current: BaseException | None = caught.value
    while current is not None:
        chain.append(current)
        current = current.__cause__ or current.__context__
    delivery = next(e for e in chain if isinstance(e, DeliveryError))
    assert delivery.bootstrap == "fake-broker:9092" and delivery.unreachable_s is not None
    assert str(delivery) == (
        "Kafka broker fake-broker:9092 unreachable for 1s: 1 record was not delivered; it was not "
        "checkpointed: a restart produces it again"
    )
    assert ScriptedProducer.acked == []
