"""Kafka outages ridden out by the sink (issue 13, point 6), against a real local broker (Tansu).

Each test has its own broker, stopped (SIGKILL, a crash) at the sink's first send:

1. it comes back on the same port 3 s later: the Beam sink holds its records, says "unreachable" once and
   "back" once, and every record reaches the topic (counted: exactly the records sent, none lost);
2. it never comes back: a replay with ``--broker-outage-limit 3s`` ends with exit 1 and one error line naming
   the broker, how long it was unreachable and how many records were not delivered.

The broker keeps topics in memory: nothing is acknowledged before the crash, so every record must come from
the sink's resends. Tansu creates a missing topic on a producer's request; the test re-creates the topics
after the restart anyway, as an operator would on a real cluster (already existing counts as success).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from kafka import KafkaProducer

import storywire.pipelines.beam.sinks as sinks
from storywire.connectors.kafka import KafkaConfig, TopicNames, default_topic_specs, ensure_topics, iter_topic
from storywire.connectors.kafka.producer import OUTAGE_LOGGER
from storywire.pipelines.beam.sinks import WriteKafka
from storywire.pipelines.cli.main import main
from tests.support.articles import make_article
from tests.support.synthetic_archive import write_synthetic_archive

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

T = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
# Short client timeouts so the outage is noticed in seconds, not minutes.
FAST = {
    "request_timeout_ms": 1_000,
    "delivery_timeout_ms": 1_500,
    "max_block_ms": 2_000,
    "bootstrap_timeout_ms": 2_000,
    "delivery_backoff_ms": 250,
}
END = b"__end_of_test__"


@dataclass
class Broker:
    tools: ModuleType
    port: int
    state_dir: Path
    timers: list[threading.Timer] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.tools.start_broker(self.port, self.state_dir, 15.0)

    def crash(self) -> None:
        self.tools.stop_broker(self.state_dir, timeout=0.0)


@pytest.fixture
def broker(broker_tools: ModuleType, kafka_broker: Any, tmp_path: Path) -> Iterator[Broker]:
    """A broker of the test's own (``kafka_broker`` only makes the test skip when Tansu is not installed)."""
    own = Broker(broker_tools, broker_tools.free_port(), tmp_path / "broker")
    own.start()
    try:
        yield own
    finally:
        for timer in own.timers:
            timer.cancel()
            timer.join(20)
        broker_tools.stop_broker(own.state_dir, timeout=2.0)


class CrashingProducer(KafkaProducer):
    """The real kafka-python producer, except that it crashes the broker at its first send (and, with
    ``then``, calls that a few seconds later). The FnApiRunner runs the DoFn in this process: the class-level
    plan is shared with it."""

    broker: ClassVar[Broker | None] = None
    then: ClassVar[Any] = None
    fired: ClassVar[bool] = False

    def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        plan = CrashingProducer
        if not plan.fired and plan.broker is not None:
            plan.fired = True
            plan.broker.crash()
            if plan.then is not None:
                timer = threading.Timer(3.0, plan.then)
                plan.broker.timers.append(timer)
                timer.start()
        return super().send(topic, *args, **kwargs)


@pytest.fixture
def crash_at_first_send(broker: Broker) -> Iterator[type[CrashingProducer]]:
    CrashingProducer.broker, CrashingProducer.then, CrashingProducer.fired = broker, None, False
    yield CrashingProducer
    CrashingProducer.broker, CrashingProducer.then = None, None


def _count(config: KafkaConfig, topic: str) -> list[bytes | None]:
    """Keys of every record on a one-partition topic: a sentinel is written last and read back (end offsets
    cannot be trusted on this broker)."""
    producer = KafkaProducer(bootstrap_servers=config.bootstrap_servers)
    try:
        producer.send(topic, key=END, value=None, partition=0)
        producer.flush(10)
    finally:
        producer.close(5)
    keys: list[bytes | None] = []
    for message in iter_topic(config, topic, timeout_s=20):
        if message.key == END:
            return keys
        keys.append(message.key)
    pytest.fail(f"{topic}: the sentinel did not come back within 20 s ({len(keys)} records read)")


def test_the_sink_rides_out_a_broker_restart_and_delivers_every_record(
    broker: Broker, crash_at_first_send: type[CrashingProducer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    topics = TopicNames("outage.news")
    config = KafkaConfig(broker.bootstrap, topic_prefix=topics.prefix, **FAST)  # type: ignore[arg-type]
    specs = default_topic_specs(topics, partitions=1)
    ensure_topics(config, specs)

    def back() -> None:
        broker.start()
        ensure_topics(config, specs)

    crash_at_first_send.then = back
    articles = [
        make_article(f"a_{n:024x}", f"Title {n}", "text", at=T, outlet="o.example", url=f"https://o.example/{n}")
        for n in range(12)
    ]
    started = time.monotonic()
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    write = WriteKafka(config, topics, producer_factory=CrashingProducer, outage_limit=timedelta(seconds=30))
    _ = pipeline | beam.Create(articles) | write
    pipeline.run().wait_until_finish()
    elapsed = time.monotonic() - started

    assert crash_at_first_send.fired and 3.0 <= elapsed < 30.0
    keys = _count(config, topics.articles)
    assert sorted(k or b"" for k in keys) == sorted(a.article_id.encode() for a in articles)  # each exactly once
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("storywire")]
    unreachable = [line for line in lines if " unreachable (" in line]
    back_lines = [line for line in lines if " back after " in line]
    assert len(unreachable) == 1 and len(back_lines) == 1, lines
    assert unreachable[0].startswith(f"Kafka broker {broker.bootstrap} unreachable (")
    assert "retrying; giving up after 30s" in unreachable[0]
    assert back_lines[0].startswith(f"Kafka broker {broker.bootstrap} back after ")
    warnings = [r for r in caplog.records if r.name.startswith("storywire") and r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == [OUTAGE_LOGGER]  # no per-retry lines of our own


def test_a_broker_that_never_returns_ends_the_replay_after_the_outage_limit_in_one_line(
    broker: Broker,
    crash_at_first_send: type[CrashingProducer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(sinks, "KafkaProducer", CrashingProducer)
    archive = write_synthetic_archive(tmp_path, outlets=1)
    options = "&".join(f"{k}={v}" for k, v in FAST.items())
    argv = [
        "replay",
        str(archive),
        "--sink",
        f"kafka://{broker.bootstrap}?{options}",
        "--topic-prefix",
        "outage.replay",
        "--broker-timeout",
        "5",
        "--broker-outage-limit",
        "3s",
    ]

    started = time.monotonic()
    assert main(argv) == 1
    elapsed = time.monotonic() - started

    assert crash_at_first_send.fired and elapsed < 30
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("storywire: error:")]
    assert len(errors) == 1, err
    assert errors[0].startswith(f"storywire: error: the run stopped: Kafka broker {broker.bootstrap} unreachable for ")
    assert "were not delivered; they were not checkpointed: a restart produces them again." in errors[0]
    assert "run the same replay again" in errors[0]
    unreachable = [r for r in caplog.records if r.name == OUTAGE_LOGGER]
    assert len(unreachable) == 1 and "giving up after 3s" in unreachable[0].getMessage()
