"""No loss under broker faults: the broker is killed (SIGKILL) in the middle of a replay.

The broker here keeps its data in S3 (a local moto server), so, like a real Kafka cluster, it comes back with
its topics and records. Two cases:

1. it is back within the broker outage limit: the sink waits for it and the replay finishes by itself;
2. it stays away past the limit (``--broker-outage-limit``): the replay stops with exit code 1 and one error
   line naming the broker; once it is back, running the same replay again completes the topics (the
   documented recovery).

Either way every article revision reaches Kafka at least once, and the last snapshot of each story in the
compacted topic's order is the file sink's latest snapshot.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import apache_beam as beam
import orjson
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from kafka import KafkaProducer

import storywire.pipelines.beam.sinks as sinks
from storywire.connectors.kafka import (
    ConsumedMessage,
    KafkaConfig,
    TopicNames,
    default_topic_specs,
    ensure_topics,
    iter_topic,
)
from storywire.pipelines.cli.main import main
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.pipelines.graphs.replay import build_replay
from tests.support.synthetic_archive import write_synthetic_archive

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BUCKET = "storywire-tests"
KILL_AT_SEND = 50  # of the ~160 messages the synthetic archive (5 outlets) produces


@dataclass
class PersistentBroker:
    """Tansu on a fixed port with S3 storage, which can be killed and started again with its data."""

    tools: ModuleType
    port: int
    state_dir: Path
    env: dict[str, str]
    starts: int = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.tools.start_broker(self.port, self.state_dir, 15.0, storage=f"s3://{BUCKET}/", env=self.env)
        self.starts += 1

    def kill(self) -> None:
        """SIGTERM and SIGKILL at once: a crash, not a clean shutdown."""
        self.tools.stop_broker(self.state_dir, timeout=0.0)


def _wait_http(port: int, process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"moto server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail("moto server did not listen within 20 s")


@pytest.fixture(scope="module")
def s3_broker(broker_tools: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PersistentBroker]:
    pytest.importorskip("moto", reason="moto[s3] (a local S3 server) is a dev dependency")
    s3_port = broker_tools.free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(s3_port, moto)
        request = urllib.request.Request(f"http://127.0.0.1:{s3_port}/{BUCKET}", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:  # create the bucket
            assert response.status == 200
        env = {
            "AWS_ENDPOINT": f"http://127.0.0.1:{s3_port}",
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "storywire",
            "AWS_SECRET_ACCESS_KEY": "storywire",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        broker = PersistentBroker(broker_tools, broker_tools.free_port(), tmp_path_factory.mktemp("s3-broker"), env)
        broker.start()
        try:
            yield broker
        finally:
            broker_tools.stop_broker(broker.state_dir)
    finally:
        moto.terminate()
        moto.wait(10)


@dataclass
class FaultPlan:
    """Kill the broker at the ``at_send``-th record; start it again ``restart_after_s`` later (None: never)."""

    at_send: int
    broker: PersistentBroker
    restart_after_s: float | None
    timers: list[threading.Timer] = field(default_factory=list)
    fired: bool = False


class KillingProducer(KafkaProducer):
    """The real kafka-python producer, except that it crashes the broker at a planned send.

    Injected by replacing ``storywire.pipelines.beam.sinks.KafkaProducer``: the FnApiRunner runs the DoFn in
    this process, so the class-level plan is shared with it.
    """

    plan: ClassVar[FaultPlan | None] = None
    sends: ClassVar[int] = 0

    def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        KillingProducer.sends += 1
        plan = KillingProducer.plan
        if plan is not None and not plan.fired and KillingProducer.sends >= plan.at_send:
            plan.fired = True
            self.flush(10)  # what was sent so far is acknowledged (durable), the rest is in the air
            plan.broker.kill()
            if plan.restart_after_s is not None:
                timer = threading.Timer(plan.restart_after_s, plan.broker.start)
                plan.timers.append(timer)
                timer.start()
        return super().send(topic, *args, **kwargs)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[FaultPlan], None]]:
    def arm(plan: FaultPlan) -> None:
        KillingProducer.plan = plan
        KillingProducer.sends = 0

    monkeypatch.setattr(sinks, "KafkaProducer", KillingProducer)
    yield arm
    plan = KillingProducer.plan
    KillingProducer.plan = None
    for timer in plan.timers if plan is not None else []:
        timer.join(30)


# Short client timeouts so a dead broker is noticed in seconds, not minutes.
FAST = {
    "request_timeout_ms": 1_000,
    "delivery_timeout_ms": 1_500,
    "max_block_ms": 2_000,
    "bootstrap_timeout_ms": 2_000,
    "linger_ms": 5,
}


END = b"__end_of_test__"


def _consume(config: KafkaConfig, topic: str) -> list[ConsumedMessage]:
    """Everything on the topic: a sentinel is written to each partition, then read until all came back
    (end offsets cannot be trusted on this broker)."""
    producer = KafkaProducer(bootstrap_servers=config.bootstrap_servers)
    try:
        partitions = sorted(producer.partitions_for(topic))
        for partition in partitions:
            producer.send(topic, key=END, value=None, partition=partition)
        producer.flush(10)
    finally:
        producer.close(5)
    messages, ended = [], set()
    for message in iter_topic(config, topic, timeout_s=30):
        if message.key == END:
            ended.add(message.partition)
            if len(ended) == len(partitions):
                break
        else:
            messages.append(message)
    assert len(ended) == len(partitions), f"{topic}: sentinels of {sorted(ended)} of {partitions} came back"
    return messages


def _assert_kafka_matches_files(config: KafkaConfig, files: SinkContents, out: Path) -> list[ConsumedMessage]:
    """Every article revision and story event arrived at least once; the last snapshot of every story (in
    topic order) is byte-identical to the file sink's latest one. Returns every message read."""
    topics = TopicNames(config.topic_prefix)
    articles = _consume(config, topics.articles)
    on_kafka = {(m.key, orjson.loads(m.value or b"")["revision"]) for m in articles}
    in_files = {(a.article_id.encode(), a.revision) for a in files.articles}
    assert on_kafka == in_files and len(in_files) > 40  # every revision at least once, nothing unknown

    stories = _consume(config, topics.stories)
    last_by_offset: dict[bytes | None, ConsumedMessage] = {}
    for message in sorted(stories, key=lambda m: (m.partition, m.offset)):
        last_by_offset[message.key] = message  # one key, one partition: offset order is the topic's order
    latest_in_files = {s.story_id.encode(): s for s in files.stories}
    assert set(last_by_offset) == set(latest_in_files)
    file_lines = {
        orjson.loads(line)["story_id"].encode() + b":" + str(orjson.loads(line)["version"]).encode(): line
        for line in (out / f"{topics.stories}.jsonl").read_bytes().splitlines()
    }
    for key, message in last_by_offset.items():
        version = orjson.loads(message.value or b"")["version"]
        assert version == latest_in_files[key].version, f"story {key!r}: last snapshot is v{version}"
        assert message.value == file_lines[key + b":" + str(version).encode()]  # byte-identical snapshot

    events = _consume(config, topics.story_events)
    assert {m.header("ce_id") for m in events} == {e.event_id.encode() for e in files.events}
    return [*articles, *stories, *events]


def test_broker_killed_mid_replay_and_back_within_the_outage_limit_loses_nothing(
    s3_broker: PersistentBroker, faults: Callable[[FaultPlan], None], tmp_path: Path, topic_prefix: str
) -> None:
    archive = write_synthetic_archive(tmp_path, outlets=5)
    config = KafkaConfig(
        s3_broker.bootstrap, topic_prefix=topic_prefix, delivery_attempts=5, delivery_backoff_ms=500, **FAST
    )
    ensure_topics(config, default_topic_specs(TopicNames(topic_prefix), partitions=3))
    out = tmp_path / "out"
    replay = ReplayConfig(
        archives=(str(archive),),
        sinks=(SinkSpec(kind="kafka", target=config.bootstrap_servers, kafka=config), SinkSpec.parse(f"file://{out}")),
        topic_prefix=topic_prefix,
    )
    starts = s3_broker.starts
    faults(FaultPlan(at_send=KILL_AT_SEND, broker=s3_broker, restart_after_s=1.5))

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, replay)
    pipeline.run().wait_until_finish()

    assert KillingProducer.plan is not None and KillingProducer.plan.fired
    assert s3_broker.starts == starts + 1  # it really went down and came back during the run
    _assert_kafka_matches_files(config, read_sink(str(out), TopicNames(topic_prefix)), out)


def test_broker_down_past_the_outage_limit_fails_the_replay_loudly_and_a_rerun_completes_it(
    s3_broker: PersistentBroker,
    faults: Callable[[FaultPlan], None],
    tmp_path: Path,
    topic_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive = write_synthetic_archive(tmp_path, outlets=5)
    options = "&".join(f"{k}={v}" for k, v in {**FAST, "delivery_attempts": 2, "delivery_backoff_ms": 200}.items())
    out = tmp_path / "out"
    argv = [
        "replay",
        str(archive),
        "--sink",
        f"kafka://{s3_broker.bootstrap}?{options}",
        "--sink",
        f"file://{out}",
        "--topic-prefix",
        topic_prefix,
        "--broker-timeout",
        "5",
        "--broker-outage-limit",
        "3s",
    ]
    faults(FaultPlan(at_send=KILL_AT_SEND, broker=s3_broker, restart_after_s=None))

    started = time.monotonic()
    assert main(argv) == 1
    elapsed = time.monotonic() - started
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("storywire: error:")]
    assert len(errors) == 1, errors
    assert f"the run stopped: Kafka broker {s3_broker.bootstrap} unreachable for " in errors[0]
    assert "were not delivered; they were not checkpointed" in errors[0]
    assert "run the same replay again" in errors[0]
    assert elapsed < 60

    s3_broker.start()  # back, with what it had acknowledged before the crash
    KillingProducer.plan = None
    assert main(argv) == 0

    config = KafkaConfig(s3_broker.bootstrap, topic_prefix=topic_prefix)
    messages = _assert_kafka_matches_files(config, read_sink(str(out), TopicNames(topic_prefix)), out)
    # At-least-once: what the first run delivered came again in the second run, with the same message ids.
    ce_ids = [(m.topic, m.header("ce_id")) for m in messages]
    assert len(ce_ids) > len(set(ce_ids))
