"""The Kafka sink's size rule (storywire.pipelines.core.kafka_delivery): oversized articles are trimmed and marked,
anything still too large or refused by the broker becomes a dead letter that itself fits."""

from __future__ import annotations

import base64

import kafka.errors as kafka_errors
import orjson
import pytest

from storywire.connectors.failures import Failure
from storywire.connectors.kafka import FailedRecord, TopicNames
from storywire.pipelines.core.kafka_delivery import (
    Fitted,
    dead_letter_for,
    dead_letter_message,
    fit_message,
    message_size,
    trim_article,
    truncation_target,
)
from storywire.pipelines.core.messages import message_for
from storywire.schemas.records import Story
from storywire.schemas.validation import validate
from tests.support.articles import KREMLIN_T, kremlin_article

T = KREMLIN_T
TOPICS = TopicNames()
LIMIT = 20_000


def fitted(result: Fitted | Failure) -> Fitted:
    assert isinstance(result, Fitted), result
    return result


def test_a_message_within_the_limit_goes_out_unchanged() -> None:
    record = kremlin_article("Moscow said two drones targeted the Kremlin.")
    result = fitted(fit_message(record, TOPICS, LIMIT))

    assert result == Fitted(message_for(record, TOPICS), truncated=False)
    assert orjson.loads(result.message.value)["text_truncated"] is False


def test_an_oversized_article_is_cut_at_a_word_to_fit_and_marked() -> None:
    words = " ".join(f"wörd{n}" for n in range(20_000))  # ~140 KB, non-ASCII on purpose
    record = kremlin_article(words)
    result = fitted(fit_message(record, TOPICS, LIMIT))

    body = orjson.loads(result.message.value)
    assert result.truncated and body["text_truncated"] is True
    assert message_size(result.message) <= truncation_target(LIMIT) < LIMIT
    assert message_size(result.message) > truncation_target(LIMIT) - 300  # close to the target: not over-cut
    assert words.startswith(body["text"]) and words[len(body["text"])] == " "  # cut between words
    # Everything else is unchanged, including the message id consumers dedupe on.
    assert (body["article_id"], body["revision"], body["content_hash"]) == (record.article_id, 2, "f" * 32)
    assert dict(result.message.headers)["ce_id"] == f"{record.article_id}:2".encode()
    validate("article", body)


def test_an_article_too_large_even_without_text_becomes_a_dead_letter() -> None:
    record = kremlin_article("some text", title="T" * 30_000)
    result = fit_message(record, TOPICS, LIMIT)

    assert isinstance(result, Failure)
    assert (result.stage, result.identity, result.error_type) == (
        "sink-kafka",
        record.article_id,
        "MessageTooLargeError",
    )
    assert result.payload_ref == f"news.articles.v1#ce_id={record.article_id}:2"
    assert result.occurred_at == T


def test_other_oversized_records_are_dead_lettered_not_trimmed() -> None:
    ids = tuple(f"a_{n:024x}" for n in range(2_000))
    story = Story("s_" + "2" * 24, "active", "H", (), "en", T, T, T, 2_000, 1, ("a.example",), ids, None, 7)
    result = fit_message(story, TOPICS, LIMIT)

    assert isinstance(result, Failure)
    assert result.payload_ref == f"news.stories.v1#ce_id=s_{'2' * 24}:7"


def test_trim_returns_none_when_nothing_fits() -> None:
    assert trim_article(kremlin_article("abc"), lambda a: False) is None
    kept = trim_article(kremlin_article("abc def"), lambda a: len(a.text) <= 5)
    assert kept is not None and kept.text == "abc" and kept.text_truncated


def test_truncation_headroom() -> None:
    assert truncation_target(1_048_576) == 1_048_576 - 1_024
    assert truncation_target(5_000) == 4_500


def test_a_record_the_broker_refused_becomes_a_dead_letter_carrying_it() -> None:
    message = message_for(kremlin_article("text"), TOPICS)
    failed = FailedRecord(
        message.topic,
        message.key,
        kafka_errors.MessageSizeTooLargeError("topic max.message.bytes is 1000"),
        message.value,
        message.headers,
    )
    failure = dead_letter_for(failed)
    dead = dead_letter_message(failure, TOPICS, LIMIT)
    body = orjson.loads(dead.value)

    assert dead.topic == "news.deadletter.v1" and dead.key == message.key
    assert (body["stage"], body["error_type"], body["occurred_at"]) == (
        "sink-kafka",
        "MessageSizeTooLargeError",
        "2023-05-03T08:00:00Z",
    )
    assert base64.b64decode(body["payload"]) == message.value
    assert body["payload_ref"] == f"news.articles.v1#ce_id={kremlin_article('').article_id}:2"
    validate("dead_letter", body)
    # Deterministic: the same refusal in a re-run gives the same dead-letter id.
    assert dead_letter_for(failed).to_dead_letter().dead_letter_id == body["dead_letter_id"]


@pytest.mark.parametrize("limit", [4_000, 60_000])
def test_a_dead_letter_leaves_the_payload_out_when_it_would_not_fit(limit: int) -> None:
    big = message_for(kremlin_article("x" * 50_000), TOPICS)
    failed = FailedRecord(big.topic, big.key, kafka_errors.InvalidRecordError("bad"), big.value, big.headers)
    dead = dead_letter_message(dead_letter_for(failed), TOPICS, limit)
    body = orjson.loads(dead.value)

    assert message_size(dead) <= limit
    assert body["payload"] is None and "payload left out" in body["message"]
    assert body["payload_ref"].startswith("news.articles.v1#ce_id=")
