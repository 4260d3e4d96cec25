"""A consumer that never upgraded: every message the pipeline produces today (the test archive replayed on the
FnApiRunner, plus what the Kafka sink itself makes: a trimmed article, a sink dead letter) validates against
the frozen released v1 schemas in tests/schema_snapshots/v1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apache_beam as beam
import jsonschema
import orjson
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.kafka import TopicNames
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.kafka_delivery import Fitted, dead_letter_message, fit_message
from storywire.pipelines.core.messages import OutboundMessage, message_for
from storywire.pipelines.core.summary import read_sink
from storywire.pipelines.graphs.replay import build_replay
from storywire.schemas.records import Article
from storywire.schemas.validation import SCHEMA_FILES
from tests.support.replay_archive import write_fixture_archives

SNAPSHOTS = Path(__file__).resolve().parents[1] / "schema_snapshots" / "v1"
KIND_OF_TYPE = {f"dev.storywire.{kind}.v1": kind for kind in SCHEMA_FILES}


def old_validator(kind: str) -> Any:
    schema = orjson.loads((SNAPSHOTS / SCHEMA_FILES[kind]).read_bytes())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_old_consumer_accepts(message: OutboundMessage) -> None:
    kind = KIND_OF_TYPE[dict(message.headers)["ce_type"].decode()]
    assert dict(message.headers)["ce_schemaversion"] == b"1"
    errors = [e.message for e in old_validator(kind).iter_errors(orjson.loads(message.value))]
    assert errors == [], f"{kind} {message.key!r}: {errors}"


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> list[OutboundMessage]:
    directory = tmp_path_factory.mktemp("old-consumers")
    archives = tuple(str(a) for a in write_fixture_archives(directory))
    config = ReplayConfig(archives=archives, sinks=(SinkSpec.parse(f"file://{directory / 'out'}"),))
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, config)
    pipeline.run().wait_until_finish()
    contents = read_sink(str(directory / "out"), TopicNames())
    records = [*contents.articles, *contents.stories, *contents.events, *contents.dead_letters]
    return [message_for(record, TopicNames()) for record in records]


def test_every_replayed_message_validates_with_the_released_schemas(produced: list[OutboundMessage]) -> None:
    kinds = {dict(m.headers)["ce_type"] for m in produced}
    assert kinds == {f"dev.storywire.{k}.v1".encode() for k in SCHEMA_FILES}  # every kind is covered
    for message in produced:
        assert_old_consumer_accepts(message)


def test_what_the_kafka_sink_adds_validates_with_the_released_schemas(produced: list[OutboundMessage]) -> None:
    article_message = next(m for m in produced if m.topic == TopicNames().articles)
    article = Article.from_dict(orjson.loads(article_message.value))
    big = article.replace(text=" ".join(["drone"] * 5_000))

    trimmed = fit_message(big, TopicNames(), 8_000)
    assert isinstance(trimmed, Fitted) and trimmed.truncated
    assert_old_consumer_accepts(trimmed.message)

    too_large = fit_message(big.replace(title="T" * 9_000), TopicNames(), 8_000)
    assert not isinstance(too_large, Fitted)
    assert_old_consumer_accepts(dead_letter_message(too_large, TopicNames(), 8_000))
