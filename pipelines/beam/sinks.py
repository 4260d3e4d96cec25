"""Sinks: JSONL files and Kafka topics, both fed the same records by the replay and the live graph.

A :class:`Sink` is a plug-in object built from a ``--sink`` URI's :class:`~storywire.pipelines.config.sinks.SinkSpec`
by :func:`sink_for`; :func:`write_sinks` applies every sink to every result stream::

    sinks = [sink_for(SinkSpec.parse("file://out")), sink_for(SinkSpec.parse("kafka://127.0.0.1:19092"))]
    write_sinks(streams, sinks, topic_prefix="news", streaming=False)

A new kind of sink is a :class:`Sink` subclass and one entry in :data:`SINK_KINDS`.

When the Kafka broker becomes unreachable the Kafka sink holds its bundle's records and blocks in
``finish_bundle`` until the broker acknowledges them (on the FnApiRunner that blocks the fused chain: the
backpressure), saying so in one line when it goes and one when it is back; it fails the run only after
``outage_limit`` (:data:`DEFAULT_OUTAGE_LIMIT`) without progress, or when a stop of the run
(:mod:`storywire.pipelines.live.stop`) is about to run out of grace, with a one-line ``DeliveryError``.
"""

from __future__ import annotations

import abc
import collections
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.failures import Failure
from storywire.connectors.kafka import DeliveryError, KafkaConfig
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.beam.coders import LineCoder, PackLinesFn
from storywire.pipelines.beam.common import counter
from storywire.pipelines.beam.streams import StoryStreams
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.messages import topic_for
from storywire.pipelines.live import metrics, stop
from storywire.schemas.codec import encode
from storywire.schemas.records import RECORD_TYPES, _Record

if TYPE_CHECKING:
    from storywire.connectors.kafka import KafkaMessageWriter
    from storywire.pipelines.core.kafka_delivery import Fitted

DEFAULT_OUTAGE_LIMIT: Final = timedelta(minutes=15)
"""How long the Kafka sink waits for an unreachable broker, without any record acknowledged, before the run fails."""

KafkaProducer: Callable[..., Any] | None = None
"""The producer class of the Kafka sinks that are given no ``producer_factory``; None: kafka-python's
``KafkaProducer``, imported when the first Kafka sink starts (kafka-python takes about 0.25 s to import, which a
run with only file sinks does not pay). Tests put a fault-injecting subclass here."""


def _jsonl_line(record: _Record) -> bytes:
    return encode(record)


class WriteJsonl(beam.PTransform):
    """Write records as one JSON object per line to ``DIRECTORY/TOPIC.jsonl`` (a single file per topic). The lines
    wait for the file deflated in chunks (:class:`~storywire.pipelines.beam.coders.PackLinesFn`)."""

    def __init__(self, directory: str, topic: str) -> None:
        super().__init__()
        self._path = os.path.join(directory, topic)

    def expand(self, records: PCollection) -> Any:
        return (
            records
            | "ToJsonLine" >> beam.Map(_jsonl_line)
            | "PackLines" >> beam.ParDo(PackLinesFn()).with_output_types(bytes)
            | "WriteFile"
            >> beam.io.WriteToText(
                self._path, file_name_suffix=".jsonl", num_shards=1, shard_name_template="", coder=LineCoder()
            )
        )


class _AppendJsonlFn(beam.DoFn):
    """Append each record to ``DIRECTORY/TOPIC.jsonl`` and flush at bundle end: the streaming file sink.

    WriteToText only writes when its window closes, which on a live source means never; a live run wants its
    files to grow as articles arrive. Several instances append to one file (one per stream), so each line is
    written with a single unbuffered ``write`` on an ``O_APPEND`` descriptor: lines never interleave. One
    writer machine per directory is assumed (the local runner).
    """

    def __init__(self, directory: str, topics: TopicNames) -> None:
        self._directory = directory
        self._topics = topics
        self._handles: dict[str, Any] = {}

    def setup(self) -> None:
        os.makedirs(self._directory, exist_ok=True)
        self._handles = {}

    def process(self, record: _Record) -> Iterator[None]:
        topic = topic_for(record, self._topics)
        handle = self._handles.get(topic)
        if handle is None:
            handle = open(os.path.join(self._directory, f"{topic}.jsonl"), "ab", buffering=0)  # noqa: SIM115
            self._handles[topic] = handle
        handle.write(encode(record) + b"\n")
        yield from ()

    def finish_bundle(self) -> None:
        for handle in self._handles.values():
            os.fsync(handle.fileno())

    def teardown(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}


class AppendJsonl(beam.PTransform):
    """Streaming JSONL sink: every record type to its topic's file, appended as it arrives."""

    def __init__(self, directory: str, topics: TopicNames) -> None:
        super().__init__()
        self._directory = directory
        self._topics = topics

    def expand(self, records: PCollection) -> Any:
        return records | "Append" >> beam.ParDo(_AppendJsonlFn(self._directory, self._topics))


class _KafkaWriteFn(beam.DoFn):
    """Produce each record to its topic; at bundle end deliver everything or fail the bundle.

    Size and refusal rules are in ``storywire.pipelines.core.kafka_delivery``: an oversized article is trimmed,
    any other oversized record and any record the broker refuses for good becomes a dead letter. Transient
    failures (the broker unreachable) are ridden out by the writer: it keeps the records, resends them in order
    with backoff and blocks until they are acknowledged, which holds the fused chain behind the sink. After
    ``outage_limit_s`` without progress, or when a stop of the run nears the end of its grace, ``DeliveryError``
    fails the bundle with one line naming the broker: at-least-once, never a silent drop.

    The ``sink.kafka.*`` counters are tallied in plain ints and added to Beam's counters once per bundle,
    after the bundle's records are delivered (a Beam counter update per record costs about as much as
    building the message's headers). A failed bundle reports nothing; its retry reports its records.
    """

    def __init__(
        self,
        config: KafkaConfig,
        topics: TopicNames,
        producer_factory: Callable[..., Any] | None = None,
        outage_limit_s: float = DEFAULT_OUTAGE_LIMIT.total_seconds(),
    ) -> None:
        self._config = config
        self._topics = topics
        self._producer_factory = producer_factory
        self._outage_limit_s = outage_limit_s
        self._writer: KafkaMessageWriter | None = None
        self._fit_message: Callable[[_Record, TopicNames, int], Fitted | Failure] | None = None
        self._resent_before = 0
        self._sent_by_topic: collections.Counter[str] = collections.Counter()
        # Built once: creating a Beam counter per element costs more than encoding the message.
        names = [f"sink.kafka.{kind}" for kind in RECORD_TYPES] + [
            "sink.kafka.truncated",
            "sink.kafka.too_large",
            "sink.kafka.refused",
            "sink.kafka.dead_letters",
            "sink.kafka.resent",
        ]
        self._counters = {name: counter(name) for name in names}
        self._tally: dict[str, int] = dict.fromkeys(names, 0)

    def setup(self) -> None:
        # The Kafka modules are imported here, by a run that has a Kafka sink, not with this module.
        from storywire.connectors.kafka.producer import KafkaMessageWriter
        from storywire.pipelines.core.kafka_delivery import fit_message

        self._fit_message = fit_message
        self._writer = KafkaMessageWriter(
            self._config,
            producer_factory=self._producer_factory or KafkaProducer or _kafka_python_producer(),
            compacted_topics=(self._topics.stories,),
            outage_limit_s=self._outage_limit_s,
            stop_seconds_left=stop.seconds_left,
        )
        self._writer.open()
        self._resent_before = 0

    def start_bundle(self) -> None:
        self._tally = dict.fromkeys(self._counters, 0)
        self._sent_by_topic = collections.Counter()

    def process(self, record: _Record) -> None:
        assert self._writer is not None and self._fit_message is not None
        fitted = self._fit_message(record, self._topics, self._config.max_request_size)
        if isinstance(fitted, Failure):
            # Never dropped silently: the oversized message is replaced by a dead letter naming it.
            self._send_dead_letter(fitted)
            self._tally["sink.kafka.too_large"] += 1
            return
        message, truncated = fitted
        if truncated:
            self._tally["sink.kafka.truncated"] += 1
        self._writer.send(message.topic, message.key, message.value, message.headers)
        self._sent_by_topic[message.topic] += 1
        self._tally[f"sink.kafka.{record.kind}"] += 1

    def finish_bundle(self) -> None:
        if self._writer is None:
            return
        while True:
            try:
                self._writer.flush()
                break
            except DeliveryError as exc:
                if not exc.permanent_only:
                    raise  # the broker stayed away past the outage limit (or the run is stopping): one line
                from storywire.pipelines.core.kafka_delivery import dead_letter_for

                for failed in exc.failures:
                    if failed.topic == self._topics.dead_letters:
                        raise  # a refused dead letter has nowhere left to go: stop loudly
                    self._send_dead_letter(dead_letter_for(failed))
                    self._sent_by_topic[failed.topic] -= 1
                    self._tally["sink.kafka.refused"] += 1
        live = metrics.METRICS
        resent = self._writer.resent - self._resent_before
        self._resent_before = self._writer.resent
        if resent:
            self._tally["sink.kafka.resent"] += resent  # the report says resends happened, and these succeeded
            live.kafka_resends.inc(resent)
        for topic, count in self._sent_by_topic.items():
            if count:
                live.kafka_records.labels(topic).inc(count)
        for name, count in self._tally.items():
            if count:
                self._counters[name].inc(count)
        self._tally = dict.fromkeys(self._counters, 0)

    def _send_dead_letter(self, failure: Failure) -> None:
        from storywire.pipelines.core.kafka_delivery import dead_letter_message

        assert self._writer is not None
        dead = dead_letter_message(failure, self._topics, self._config.max_request_size)
        self._writer.send(dead.topic, dead.key, dead.value, dead.headers)
        self._sent_by_topic[dead.topic] += 1
        self._tally["sink.kafka.dead_letters"] += 1

    def teardown(self) -> None:
        # Every successful bundle was flushed in finish_bundle; whatever is left belongs to a failed bundle
        # that the runner retries, so it is not waited for here.
        if self._writer is not None:
            self._writer.abort()
            self._writer = None


def _kafka_python_producer() -> Callable[..., Any]:
    from kafka import KafkaProducer as producer

    return producer


class WriteKafka(beam.PTransform):
    """Produce records (any storywire record type) to their topics, keyed and with CloudEvents headers."""

    def __init__(
        self,
        config: KafkaConfig,
        topics: TopicNames,
        *,
        producer_factory: Callable[..., Any] | None = None,
        outage_limit: timedelta = DEFAULT_OUTAGE_LIMIT,
    ) -> None:
        """``producer_factory`` replaces ``kafka.KafkaProducer`` (tests inject fakes or faults); it is pickled.
        ``outage_limit``: how long an unreachable broker is waited for, without progress, before the run fails."""
        super().__init__()
        self._config = config
        self._topics = topics
        self._producer_factory = producer_factory
        self._outage_limit_s = outage_limit.total_seconds()

    def expand(self, records: PCollection) -> Any:
        write = _KafkaWriteFn(self._config, self._topics, self._producer_factory, self._outage_limit_s)
        return records | "Produce" >> beam.ParDo(write)


class Sink(abc.ABC):
    """Where result records go. ``write`` attaches the sink to one stream of records of one topic."""

    label: str
    """Prefix of the Beam step names (stable: runners key restored state and updates by step name)."""

    @abc.abstractmethod
    def write(self, records: PCollection, step: str, topic: str, topics: TopicNames, *, streaming: bool) -> None:
        """Attach this sink to ``records`` (all of ``topic``) as the step named ``step``."""


class FileSink(Sink):
    """One ``TOPIC.jsonl`` file per topic in ``directory``: written once at the end of a replay, appended as
    records arrive in a live run."""

    label = "File"

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def write(self, records: PCollection, step: str, topic: str, topics: TopicNames, *, streaming: bool) -> None:
        if streaming:
            _ = records | step >> AppendJsonl(self.directory, topics)
        else:
            _ = records | step >> WriteJsonl(self.directory, topic)


class KafkaSink(Sink):
    """Every record to its topic (keyed, CloudEvents headers), delivered at least once; an unreachable broker
    is waited for up to ``outage_limit`` without progress."""

    label = "Kafka"

    def __init__(self, config: KafkaConfig, outage_limit: timedelta = DEFAULT_OUTAGE_LIMIT) -> None:
        self.config = config
        self.outage_limit = outage_limit

    def write(self, records: PCollection, step: str, topic: str, topics: TopicNames, *, streaming: bool) -> None:
        _ = records | step >> WriteKafka(self.config, topics, outage_limit=self.outage_limit)


def _file_sink(spec: SinkSpec, outage_limit: timedelta) -> Sink:
    return FileSink(spec.target)


def _kafka_sink(spec: SinkSpec, outage_limit: timedelta) -> Sink:
    assert spec.kafka is not None  # SinkSpec.parse sets it for every kafka:// URI
    return KafkaSink(spec.kafka, outage_limit)


SINK_KINDS: dict[str, Callable[[SinkSpec, timedelta], Sink]] = {"file": _file_sink, "kafka": _kafka_sink}
"""``SinkSpec.kind`` -> the sink it builds (given the broker outage limit)."""


def sink_for(spec: SinkSpec, *, outage_limit: timedelta = DEFAULT_OUTAGE_LIMIT) -> Sink:
    """The sink a parsed ``--sink`` URI describes."""
    return SINK_KINDS[spec.kind](spec, outage_limit)


def write_sinks(
    streams: StoryStreams,
    sinks: Sequence[SinkSpec | Sink],
    topic_prefix: str,
    *,
    streaming: bool = False,
    outage_limit: timedelta = DEFAULT_OUTAGE_LIMIT,
) -> None:
    """Every stream to every sink; files are appended as records arrive when ``streaming``.

    Streaming sinks are applied to each stream separately: on the FnApiRunner a Flatten of several inputs
    ends fusion, and nothing behind it leaves before the live source finishes. ``outage_limit`` is how long a
    Kafka sink built from a ``SinkSpec`` waits for an unreachable broker without progress before the run fails
    (a ``Sink`` object passed in keeps its own).
    """
    topics = TopicNames(topic_prefix)
    named: list[tuple[str, str, PCollection]] = [
        ("articles", topics.articles, streams.articles),
        ("stories", topics.stories, streams.stories),
        ("events", topics.story_events, streams.events),
    ]
    if streaming:
        named += [(f"dead{n}", topics.dead_letters, records) for n, records in enumerate(streams.dead_letters)]
    else:
        dead = streams.dead_letters | "AllDeadLetters" >> beam.Flatten()
        named.append(("dead", topics.dead_letters, dead))
    for index, given in enumerate(sinks):
        sink = given if isinstance(given, Sink) else sink_for(given, outage_limit=outage_limit)
        for label, topic, records in named:
            sink.write(records, f"{sink.label}{index}[{label}]", topic, topics, streaming=streaming)
