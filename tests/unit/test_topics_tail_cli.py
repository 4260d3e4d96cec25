"""The pure parts of ``storywire topics`` and ``storywire tail``: asked-vs-reported comparison, the check's
message, message formatting."""

from __future__ import annotations

import pytest

from storywire.connectors.kafka import ConsumedMessage, TopicNames, default_topic_specs
from storywire.connectors.kafka.admin import ReportedConfig, TopicDescription
from storywire.pipelines.cli.main import main
from storywire.pipelines.cli.tail import format_message, resolve_topic, shorten
from storywire.pipelines.cli.topics import compare, create_command, render_check, render_describe

SPECS = default_topic_specs(TopicNames("news"), partitions=6)
ARTICLES, STORIES = SPECS[0], SPECS[1]


def described(name: str, partitions: int, **configs: tuple[str, str]) -> TopicDescription:
    reported = {key.replace("_", "."): ReportedConfig(value, source) for key, (value, source) in configs.items()}
    return TopicDescription(name, partitions, 3, (1, 2, 3), reported)


def test_compare_pairs_each_asked_config_with_what_is_reported() -> None:
    report = compare(STORIES, described(STORIES.name, 6, cleanup_policy=("compact", "DYNAMIC_TOPIC_CONFIG")))
    assert report.exists and report.differences() == []
    (check,) = report.configs
    assert (check.key, check.asked, check.reported, check.override) == ("cleanup.policy", "compact", "compact", True)


def test_differences_name_partitions_and_configs() -> None:
    reported = described(ARTICLES.name, 3, cleanup_policy=("compact", "DYNAMIC_TOPIC_CONFIG"), retention_ms=("1", "X"))
    report = compare(ARTICLES, reported)
    assert report.differences() == [
        "3 partitions, asked 6",
        "cleanup.policy=compact, asked delete",
        f"retention.ms=1, asked {ARTICLES.configs['retention.ms']}",
    ]
    assert compare(ARTICLES, None).differences() == ["missing"]


def test_describe_flags_configs_the_broker_reports_as_defaults() -> None:
    reports = [
        compare(STORIES, described(STORIES.name, 6, cleanup_policy=("compact", "DEFAULT_CONFIG"))),
        compare(ARTICLES, None),
    ]
    text = render_describe(reports, "b:9092")
    assert "cleanup.policy: asked compact, reported compact [DEFAULT_CONFIG]  <- not a topic override" in text
    assert f"{ARTICLES.name}: MISSING (asked 6 partitions)" in text
    assert "the broker may not apply it" in text
    honest = render_describe(
        [compare(STORIES, described(STORIES.name, 6, cleanup_policy=("compact", "DYNAMIC_TOPIC_CONFIG")))], "b:9092"
    )
    assert "not a topic override" not in honest and "note:" not in honest


def test_check_refuses_a_topic_with_other_partitions_or_an_uncompacted_stories_topic() -> None:
    good = [
        compare(spec, described(spec.name, 6, cleanup_policy=(spec.configs["cleanup.policy"], "X"))) for spec in SPECS
    ]
    assert render_check(good, "b:9092", "news")[1] is None
    auto_created = [
        compare(STORIES, described(STORIES.name, 1)),  # auto-created: 1 partition, default (delete) policy
        compare(ARTICLES, described(ARTICLES.name, 6)),  # delete is the default: not reported is fine
    ]
    text, error = render_check(auto_created, "b:9092", "news")
    assert text.splitlines() == [
        f"DIFFERS {STORIES.name}: 1 partitions, expected 6; cleanup.policy not reported (the broker default), "
        "expected compact",
        f"ok      {ARTICLES.name} (6 partitions)",
    ]
    assert error is not None and error.startswith(
        f"1 of 2 topics differ from what storywire expects at b:9092: {STORIES.name}"
    )
    deleting = compare(STORIES, described(STORIES.name, 6, cleanup_policy=("delete", "DYNAMIC_TOPIC_CONFIG")))
    assert render_check([deleting], "b:9092", "news")[1] is not None


def test_check_lists_exactly_the_missing_topics_and_the_command() -> None:
    reports = [compare(spec, described(spec.name, 6) if spec is ARTICLES else None) for spec in SPECS]
    text, error = render_check(reports, "b:9092", "staging.news")
    assert text.splitlines()[0] == f"ok      {ARTICLES.name} (6 partitions)"
    assert error == (
        f"3 of 4 topics missing at b:9092: {', '.join(s.name for s in SPECS[1:])}; "
        "create them with: storywire topics create --broker kafka://b:9092 --topic-prefix staging.news"
    )
    assert render_check(reports[:1], "b:9092", "news")[1] is None
    assert create_command("b:9092", "news", 12, 3) == (
        "storywire topics create --broker kafka://b:9092 --partitions 12 --replication-factor 3"
    )


def test_bad_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topics", "check", "--bootstrap", "b:9092", "--topic-prefix", "Bad Prefix"]) == 2
    assert "topic_prefix" in capsys.readouterr().err
    assert main(["tail", "articles", "--max", "0"]) == 2
    assert capsys.readouterr().err.strip() == "storywire: error: --max must be >= 1, got 0"


def message(value: bytes | None, **headers: bytes) -> ConsumedMessage:
    return ConsumedMessage("news.stories.v1", 2, 17, b"s_1", value, tuple(headers.items()), 0)


def test_format_message_is_one_line_with_position_key_type_time_and_sorted_body() -> None:
    line = format_message(
        message(b'{"z":1,"a":"x"}', ce_type=b"dev.storywire.story.v1", ce_time=b"2023-05-03T12:05:00Z")
    )
    assert line == '2@17 key=s_1 dev.storywire.story.v1 2023-05-03T12:05:00Z {"a":"x","z":1}'
    assert format_message(message(None)) == "2@17 key=s_1 - - <tombstone>"
    assert format_message(message(b"\xff\xfe")).startswith("2@17 key=s_1 - - <2 bytes, not JSON>")


def test_long_strings_and_lists_are_shortened_unless_full() -> None:
    body = b'{"text":"' + b"y" * 200 + b'","ids":[' + b",".join(b"%d" % n for n in range(15)) + b"]}"
    short = format_message(message(body))
    assert '"text":"' + "y" * 80 + '...(+120 chars)"' in short
    assert '"ids":[0,1,2,3,4,5,6,7,8,9,"...(+5 items)"]' in short
    assert "y" * 200 in format_message(message(body), full=True)
    assert shorten({"a": ["xyz"]}, 2) == {"a": ["xy...(+1 chars)"]}


def test_short_topic_names() -> None:
    assert resolve_topic("stories", "staging.news") == "staging.news.stories.v1"
    assert resolve_topic("deadletter", "news") == "news.deadletter.v1"
    assert resolve_topic("custom.topic", "news") == "custom.topic"


def test_a_kafka_failure_inside_the_runner_becomes_one_line() -> None:
    from storywire.connectors.kafka import DeliveryError, FailedRecord
    from storywire.pipelines.cli.failures import kafka_failure as _kafka_failure

    delivery = DeliveryError((FailedRecord("t", b"k", TimeoutError("expired\nafter 2s")),), 3, bootstrap="b:9092")
    try:
        try:
            raise delivery
        except DeliveryError as exc:
            raise RuntimeError("bundle failed") from exc
    except RuntimeError as wrapped:
        reason = _kafka_failure(wrapped)
    assert reason is not None and "\n" not in reason
    assert reason.startswith("1 of 3 records were not delivered to Kafka at b:9092")
    # A remote runner ships only the text of the worker's error.
    remote = RuntimeError(
        "Traceback ...\nconnectors.kafka.errors.DeliveryError: 5 of 5 records were not delivered\n..."
    )
    assert _kafka_failure(remote) == "5 of 5 records were not delivered"
    assert _kafka_failure(ValueError("something else")) is None
