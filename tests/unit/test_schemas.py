from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest

from storywire.schemas import Article, DeadLetter, Story, StoryEvent, decode, encode, to_dict
from storywire.schemas.codec import DecodeError
from storywire.schemas.validation import SchemaValidationError, load_schema, validate

T = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
ARTICLE = Article(
    article_id="a_" + "0" * 24,
    url="https://o.example/a?utm_source=rss",
    canonical_url="https://o.example/a",
    outlet="o.example",
    feed_url="https://o.example/rss.xml",
    title="T",
    summary="S",
    text="Body",
    authors=("A",),
    language="en",
    published_at=None,
    first_seen_at=T,
    captured_at=T,
    revision=1,
    extraction_method="trafilatura",
    content_hash="f" * 32,
    story_id="s_" + "1" * 24,
)
STORY = Story("s_" + "1" * 24, "active", "H", ("kremlin",), "en", T, T, T, 1, 1, ("o.example",), ("a_x",), None, 1)
EVENT = StoryEvent("e_1", "created", "s_" + "1" * 24, "a_x", T, None, 1, 1, "new story")
DEAD = DeadLetter("d_1", "parse-feed", "https://o.example/rss.xml", "FeedParseError", "bad", None, None, T)


@pytest.mark.parametrize("record", [ARTICLE, STORY, EVENT, DEAD], ids=lambda r: r.kind)
def test_records_round_trip_and_validate(record: Any) -> None:
    data = encode(record)
    assert decode(data, type(record)) == record
    validate(record.kind, record)
    as_dict = to_dict(record)
    assert set(as_dict) == set(load_schema(record.kind)["properties"])
    assert as_dict["schema_version"] == 1


def test_timestamps_are_utc_with_z() -> None:
    assert to_dict(ARTICLE)["first_seen_at"] == "2023-05-03T08:00:00Z"


def test_validation_names_the_bad_field() -> None:
    data = to_dict(ARTICLE)
    data["article_id"] = "not-an-id"
    data["revision"] = 0
    with pytest.raises(SchemaValidationError, match=r"article_id.*revision|revision.*article_id"):
        validate("article", data)


def test_decode_errors_are_our_own() -> None:
    with pytest.raises(DecodeError, match="not JSON"):
        decode(b"{nope", Article)
    with pytest.raises(DecodeError, match="invalid article"):
        decode(orjson.dumps({"article_id": "a"}), Article)


def test_event_score_is_optional_and_must_be_a_number() -> None:
    scored = EVENT.replace(event_type="updated", score=0.4123)
    assert decode(encode(scored), StoryEvent) == scored
    old = to_dict(EVENT)
    del old["score"]  # a message written before the field existed
    validate("story_event", old)
    assert decode(orjson.dumps(old), StoryEvent).score is None
    bad = {**to_dict(EVENT), "score": "high"}
    with pytest.raises(SchemaValidationError, match="score"):
        validate("story_event", bad)


def test_date_time_formats_are_checked_not_skipped() -> None:
    from storywire.schemas.validation import SchemaValidationError, validate

    event = {
        "event_id": "e",
        "event_type": "created",
        "story_id": "s",
        "article_id": "a",
        "event_time": "yesterday",
    }
    with pytest.raises(SchemaValidationError, match=r"event_time: 'yesterday' is not a 'date-time'"):
        validate("story_event", event)
