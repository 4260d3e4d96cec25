"""The Kafka contract against the real local broker: the size rule with a small ``max_request_size`` (trimmed
articles, dead letters for what still does not fit), ``storywire topics create|describe|check``, replay's
``--no-create-topics`` start-up check, and ``storywire tail``."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import apache_beam as beam
import orjson
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.kafka import (
    KafkaConfig,
    KafkaMessageWriter,
    TopicNames,
    default_topic_specs,
    ensure_topics,
    missing_topics,
    read_topic,
    record_size,
)
from storywire.pipelines.cli.main import main
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.kafka_delivery import Fitted, dead_letter_message, fit_message
from storywire.pipelines.core.messages import message_for
from storywire.pipelines.core.summary import read_sink
from storywire.pipelines.graphs.replay import build_replay
from storywire.schemas.codec import decode
from storywire.schemas.records import Article, DeadLetter, Story, StoryEvent, _Record
from storywire.schemas.validation import validate
from tests.support.articles import kremlin_article
from tests.support.replay_archive import write_fixture_archives
from tests.support.warc import RSS, Capture, page, rss, write_warc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SMALL_LIMIT = 4_000
T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
SENTENCE = "Moscow said two drones targeted the Kremlin overnight and were disabled by air defence systems."
HUGE_TITLE = "Drones over the Kremlin " + "and more " * 500  # ~4.5 KB: too large even with no text


def size_rule_archive(directory: Path) -> Path:
    """Three articles under SMALL_LIMIT's rule: one that fits, one trimmed (long text), one that cannot fit."""
    pages = {
        "fits": ("Kremlin drone attack", [f"{SENTENCE} Report {n}." for n in range(4)]),
        "long": ("Drones over Moscow", [f"{SENTENCE} Paragraph {n}." for n in range(80)]),
        "huge": (HUGE_TITLE, [f"{SENTENCE} Witness {n}." for n in range(4)]),
    }
    items = [
        {"title": title, "link": f"https://a.example/{slug}", "date": T0.strftime("%a, %d %b %Y %H:%M:%S GMT")}
        for slug, (title, _) in pages.items()
    ]
    captures = [Capture("https://a.example/rss.xml", T0, rss("A", "https://a.example", items), RSS)]
    for n, (slug, (title, paragraphs)) in enumerate(pages.items()):
        captures.append(Capture(f"https://a.example/{slug}", T0 + timedelta(minutes=10 + n), page(title, paragraphs)))
    return write_warc(directory / "sizes.warc.gz", captures)


def test_small_max_request_size_trims_articles_and_dead_letters_the_rest(
    kafka_config: KafkaConfig, tmp_path: Path
) -> None:
    config = kafka_config.with_overrides(max_request_size=SMALL_LIMIT)
    topics = TopicNames(config.topic_prefix)
    ensure_topics(config, default_topic_specs(topics, partitions=2))
    out = tmp_path / "out"
    replay = ReplayConfig(
        archives=(str(size_rule_archive(tmp_path)),),
        sinks=(SinkSpec(kind="kafka", target=config.bootstrap_servers, kafka=config), SinkSpec.parse(f"file://{out}")),
        topic_prefix=config.topic_prefix,
    )
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, replay)
    pipeline.run().wait_until_finish()

    # What the pure size rule predicts for every record the file sink holds (in full).
    files = read_sink(str(out), topics)
    predicted = {a.article_id: fit_message(a, topics, SMALL_LIMIT) for a in files.articles}
    trimmed = {k: v.message.value for k, v in predicted.items() if isinstance(v, Fitted) and v.truncated}
    dead = {k for k, v in predicted.items() if not isinstance(v, Fitted)}
    fits = set(predicted) - set(trimmed) - dead
    assert (len(fits), len(trimmed), len(dead)) == (1, 1, 1)  # each branch of the rule once

    articles = read_topic(config, topics.articles, expected_count=len(files.articles) - len(dead), timeout_s=20)
    by_id = {m.key.decode(): m for m in articles if m.key is not None}
    assert set(by_id) == set(predicted) - dead
    for article_id, value in trimmed.items():
        assert by_id[article_id].value == value
        body = orjson.loads(value)
        full = next(a for a in files.articles if a.article_id == article_id)
        assert body["text_truncated"] and full.text.startswith(body["text"]) and len(body["text"]) < len(full.text)
    for message in articles:
        validate("article", orjson.loads(message.value or b""))
        assert record_size(message.key, message.value, message.headers) <= SMALL_LIMIT

    # Every record of every kind (the huge article's story snapshots are too large too): on its topic as the
    # rule shapes it, or replaced by exactly one sink dead letter; nothing else, nothing missing.
    outcomes = [fit_message(record, topics, SMALL_LIMIT) for record in _all_records(out, topics)]
    letters_expected = [o for o in outcomes if not isinstance(o, Fitted)]
    expected = Counter(o.message.topic for o in outcomes if isinstance(o, Fitted))
    expected[topics.dead_letters] += len(letters_expected)
    for topic in topics.all():
        consumed = read_topic(config, topic, expected_count=expected[topic], timeout_s=20)
        assert len(consumed) == expected[topic], topic
        fitted = [o.message.value for o in outcomes if isinstance(o, Fitted) and o.message.topic == topic]
        if topic == topics.dead_letters:
            fitted += [dead_letter_message(o, topics, SMALL_LIMIT).value for o in letters_expected]
        assert sorted(m.value or b"" for m in consumed) == sorted(fitted)
    for failure in letters_expected:
        assert (failure.stage, failure.error_type) == ("sink-kafka", "MessageTooLargeError")
    (article_letter,) = [f for f in letters_expected if f.identity in dead]
    assert article_letter.payload_ref is not None
    assert article_letter.payload_ref.startswith(f"{topics.articles}#ce_id={article_letter.identity}:")


def _all_records(out: Path, topics: TopicNames) -> list[_Record]:
    kinds: dict[str, type[_Record]] = {
        topics.articles: Article,
        topics.stories: Story,
        topics.story_events: StoryEvent,
        topics.dead_letters: DeadLetter,
    }
    records = []
    for topic, record_type in kinds.items():
        path = out / f"{topic}.jsonl"
        lines = path.read_bytes().splitlines() if path.exists() else []
        records += [decode(line, record_type) for line in lines if line.strip()]
    return records


def test_topics_check_create_describe(
    kafka_config: KafkaConfig, topic_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap = kafka_config.bootstrap_servers
    names = TopicNames(topic_prefix).all()
    base = ["--broker", f"kafka://{bootstrap}", "--topic-prefix", topic_prefix, "--broker-timeout", "5"]

    assert main(["topics", "check", *base]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"MISSING {name}" for name in names]
    assert captured.err.strip() == (
        f"storywire: error: 4 of 4 topics missing at {bootstrap}: {', '.join(names)}; "
        f"create them with: storywire topics create --broker kafka://{bootstrap} --topic-prefix {topic_prefix}"
    )

    ensure_topics(kafka_config, default_topic_specs(TopicNames(topic_prefix), partitions=2)[:1])  # articles only
    assert main(["topics", "check", *base]) == 2
    assert f"3 of 4 topics missing at {bootstrap}: {', '.join(names[1:])};" in capsys.readouterr().err
    assert main(["topics", "create", *base, "--partitions", "3"]) == 0
    created = capsys.readouterr().out.splitlines()
    assert created == [
        f"exists  {names[0]} (left as it is: 2 partitions, asked 3)",
        *(f"created {name}" for name in names[1:]),
    ]
    assert missing_topics(kafka_config, names) == []
    assert main(["topics", "create", *base, "--partitions", "3"]) == 0  # idempotent
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["exists"] * 4

    # The articles topic was made with 2 partitions, the others with 3: check expects what --partitions says.
    assert main(["topics", "check", *base, "--partitions", "3"]) == 2
    checked = capsys.readouterr()
    assert checked.out.splitlines()[:2] == [
        f"DIFFERS {names[0]}: 2 partitions, expected 3",
        f"ok      {names[1]} (3 partitions)",
    ]
    assert f"1 of 4 topics differ from what storywire expects at {bootstrap}: {names[0]} (2 partitions" in checked.err

    assert main(["topics", "describe", *base, "--partitions", "3"]) == 0
    described = capsys.readouterr().out
    assert f"{names[1]}: 3 partitions (asked 3)" in described
    assert "cleanup.policy: asked compact, reported compact" in described
    assert "retention.ms: asked 1209600000" in described


def test_replay_without_topic_creation_names_the_missing_topics(
    kafka_config: KafkaConfig, topic_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = write_fixture_archives(tmp_path)[0]
    argv = ["replay", str(archive), "--sink", f"kafka://{kafka_config.bootstrap_servers}"]
    argv += ["--topic-prefix", topic_prefix, "--no-create-topics", "--broker-timeout", "5"]

    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    names = ", ".join(TopicNames(topic_prefix).all())
    assert error.startswith(f"storywire: error: 4 Kafka topic(s) missing at {kafka_config.bootstrap_servers}: {names}")
    assert error.endswith(
        f"storywire topics create --broker kafka://{kafka_config.bootstrap_servers} --topic-prefix {topic_prefix}"
    )
    assert missing_topics(kafka_config, TopicNames(topic_prefix).all()) == list(TopicNames(topic_prefix).all())


def test_tail_prints_key_position_type_time_and_a_compact_body(
    kafka_config: KafkaConfig, topic_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = TopicNames(topic_prefix)
    ensure_topics(kafka_config, default_topic_specs(topics, partitions=1))
    with KafkaMessageWriter(kafka_config) as writer:
        for revision, text in ((1, "short text"), (2, "x" * 500)):
            message = message_for(kremlin_article(text).replace(revision=revision), topics)
            writer.send(message.topic, message.key, message.value, message.headers)
        other = message_for(kremlin_article("other").replace(article_id="a_" + "9" * 24), topics)
        writer.send(other.topic, other.key, other.value, other.headers)

    base = ["tail", "articles", "--broker", f"kafka://{kafka_config.bootstrap_servers}", "--topic-prefix", topic_prefix]
    assert main([*base, "--from-beginning", "--idle-timeout", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    key = "a_" + "1" * 24
    assert lines[0].startswith(f"0@0 key={key} dev.storywire.article.v1 2023-05-03T08:00:00Z {{")
    assert '"text":"short text"' in lines[0]
    assert '"text":"' + "x" * 80 + '...(+420 chars)"' in lines[1]

    assert main([*base, "--from-beginning", "--key", key, "--max", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == lines[:1]
