"""Sinks: JSONL files and Kafka topics, both fed the same records."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from connectors.failures import Failure
from connectors.kafka import KafkaConfig, KafkaMessageWriter, MessageTooLargeError
from connectors.kafka.topics import TopicNames
from pipelines.messages import message_for
from pipelines.transforms.common import counter
from schemas.codec import encode
from schemas.records import _Record


def _jsonl_line(record: _Record) -> str:
    return encode(record).decode("utf-8")


class WriteJsonl(beam.PTransform):
    """Write records as one JSON object per line to ``DIRECTORY/TOPIC.jsonl`` (a single file per topic)."""

    def __init__(self, directory: str, topic: str) -> None:
        super().__init__()
        self._path = os.path.join(directory, topic)

    def expand(self, records: PCollection) -> Any:
        return (
            records
            | "ToJsonLine" >> beam.Map(_jsonl_line)
            | "WriteFile"
            >> beam.io.WriteToText(self._path, file_name_suffix=".jsonl", num_shards=1, shard_name_template="")
        )


class _AppendJsonlFn(beam.DoFn):
    """Append each record to ``DIRECTORY/TOPIC.jsonl`` and flush at bundle end: the streaming file sink.

    WriteToText only writes when its window closes, which on a live source means never; a live run wants its
    files to grow as articles arrive. One writer process per directory is assumed (the local runner).
    """

    def __init__(self, directory: str, topics: TopicNames) -> None:
        self._directory = directory
        self._topics = topics
        self._handles: dict[str, Any] = {}

    def setup(self) -> None:
        os.makedirs(self._directory, exist_ok=True)
        self._handles = {}

    def process(self, record: _Record) -> Iterator[None]:
        topic = message_for(record, self._topics).topic
        handle = self._handles.get(topic)
        if handle is None:
            handle = open(os.path.join(self._directory, f"{topic}.jsonl"), "ab")  # noqa: SIM115 - closed in teardown
            self._handles[topic] = handle
        handle.write(encode(record) + b"\n")
        yield from ()

    def finish_bundle(self) -> None:
        for handle in self._handles.values():
            handle.flush()

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
    """Produce each record to its topic; flush at bundle end so a failed delivery fails (and retries) the bundle."""

    def __init__(self, config: KafkaConfig, topics: TopicNames) -> None:
        self._config = config
        self._topics = topics
        self._writer: KafkaMessageWriter | None = None

    def setup(self) -> None:
        self._writer = KafkaMessageWriter(self._config)
        self._writer.open()

    def process(self, record: _Record) -> Iterator[None]:
        assert self._writer is not None
        message = message_for(record, self._topics)
        try:
            self._writer.send(message.topic, message.key, message.value, list(message.headers))
        except MessageTooLargeError as exc:
            # Never dropped silently: the oversized message is replaced by a dead letter naming it.
            failure = Failure.from_exception("sink-kafka", message.key.decode(), exc, _time_of(record))
            dead = message_for(failure.to_dead_letter(), self._topics)
            self._writer.send(dead.topic, dead.key, dead.value, list(dead.headers))
            counter("sink.kafka.too_large").inc()
            return
        counter(f"sink.kafka.{record.kind}").inc()
        yield from ()

    def finish_bundle(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def teardown(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _time_of(record: _Record) -> Any:
    for name in ("captured_at", "updated_at", "event_time", "occurred_at"):
        value = getattr(record, name, None)
        if value is not None:
            return value
    raise TypeError(f"record {type(record).__name__} has no time field")


class WriteKafka(beam.PTransform):
    """Produce records (any storywire record type) to their topics, keyed and with CloudEvents headers."""

    def __init__(self, config: KafkaConfig, topics: TopicNames) -> None:
        super().__init__()
        self._config = config
        self._topics = topics

    def expand(self, records: PCollection) -> Any:
        return records | "Produce" >> beam.ParDo(_KafkaWriteFn(self._config, self._topics))
