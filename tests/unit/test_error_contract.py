"""One home per concept: one exception tree, one list of dead-letter ``error_type`` names, one ``Stage``
enumeration, one CloudEvents header builder, one record time and one stream order (each checked against its
duplicates of old: the schema, the README, the kafka-python names, the old rules)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import kafka.errors as kafka_errors
import pytest

import storywire
from storywire.connectors.errors import (
    DEAD_LETTER_ERROR_TYPES,
    ConfigError,
    InputError,
    SourceUnavailableError,
    StorywireError,
)
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.poll import FeedBrokenError
from storywire.connectors.http import errors as http_errors
from storywire.connectors.kafka.envelope import (
    EventHeaders,
    cloudevent_attribute,
    cloudevent_headers,
    format_time,
)
from storywire.connectors.kafka.errors import (
    PERMANENT_ERROR_CODES,
    InvalidEnvelopeError,
    KafkaConfigError,
    KafkaConnectorError,
    MessageTooLargeError,
    is_permanent_failure,
)
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.core.messages import message_for
from storywire.pipelines.core.revisions import order_key, stream_order, stream_time
from storywire.schemas.codec import DecodeError
from storywire.schemas.records import DeadLetter, Story, StoryEvent, record_time
from storywire.schemas.validation import SchemaValidationError, load_schema
from tests.support.articles import KREMLIN_T, kremlin_article

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_FOLDERS = ("connectors", "pipelines", "schemas")
T = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)

# Exception classes of the package that are, on purpose or for now, outside the tree (by name, with the reason).
OUTSIDE_THE_TREE = {
    "DecodingFailed": "internal signal of connectors/http/decoding.py, mapped to ContentDecodingError",
    "LimitExceeded": "internal signal of connectors/http/decoding.py, mapped to BodyTooLargeError",
}


def _package_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class the package's modules define (imported here, at collection, as other tests do)."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(storywire.__path__, "storywire."):
        if module_info.name == "storywire.__main__":
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


PACKAGE_EXCEPTIONS = _package_exceptions()


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    """The package's subclasses of ``cls``, at any depth (test doubles left out)."""
    result: set[type[BaseException]] = set()
    for sub in cls.__subclasses__():
        result |= _subclasses(sub)
        if sub.__module__.startswith("storywire."):
            result.add(sub)
    return result


# -- one exception tree ---------------------------------------------------------------------------------


def test_every_storywire_exception_descends_from_the_one_root() -> None:
    exceptions = PACKAGE_EXCEPTIONS
    names = {cls.__name__ for cls in exceptions.values()}
    assert {"DecodeError", "FeedBrokenError", "MessageTooLargeError", "StoryStateError"} <= names  # every layer
    outside = {name for name, cls in exceptions.items() if not issubclass(cls, StorywireError)}
    unexplained = sorted(name for name in outside if name.rsplit(".", 1)[-1] not in OUTSIDE_THE_TREE)
    assert unexplained == []


def test_the_kafka_branch_hangs_under_the_root_and_former_value_errors_still_are_value_errors() -> None:
    assert issubclass(KafkaConnectorError, StorywireError)
    for cls in (KafkaConfigError, InvalidEnvelopeError, DecodeError, SchemaValidationError):
        assert issubclass(cls, StorywireError) and issubclass(cls, ValueError), cls
    # The branches stay apart: no Kafka error is mistaken for a start-up or input error.
    for cls in _subclasses(KafkaConnectorError):
        assert not issubclass(cls, (ConfigError, SourceUnavailableError, InputError)), cls


def test_retryable_is_declared_once_at_the_root() -> None:
    assert StorywireError.retryable is False
    assert "retryable" not in vars(KafkaConnectorError)
    retryable = {cls.__name__ for cls in _subclasses(StorywireError) if vars(cls).get("retryable") is True}
    assert retryable == {
        "BrokerUnreachableError",
        "DeliveryError",
        "ConnectError",
        "FetchTimeoutError",
        "HttpProtocolError",
        "HostBackoffError",
    }


def test_the_tree_docstring_draws_every_class_of_the_tree() -> None:
    import storywire.connectors.errors as errors_module

    drawn = set(re.findall(r"[├└]── (\w+)", errors_module.__doc__ or ""))
    assert drawn == {cls.__name__ for cls in PACKAGE_EXCEPTIONS.values() if issubclass(cls, StorywireError)} - {
        "StorywireError"
    }


# -- one list of dead-letter error types ------------------------------------------------------------------


def _reaching_dead_letters() -> set[str]:
    """Every exception class name a stage can put in a dead letter on purpose.

    InputErrors become dead letters wherever they are caught (the grouping classes, which have subclasses, are
    never raised themselves); the Kafka sink dead-letters MessageTooLargeError and, for records the broker
    refused for good, kafka-python's exception of each permanent error code.
    """
    assert http_errors.FetchError in _subclasses(InputError) and FeedBrokenError in _subclasses(InputError)
    names = {cls.__name__ for cls in _subclasses(InputError) if not _subclasses(cls)}
    names.add(MessageTooLargeError.__name__)
    names |= {kafka_errors.for_code(code).__name__ for code in PERMANENT_ERROR_CODES}
    return names


def test_every_error_class_that_can_reach_a_dead_letter_is_listed_and_nothing_else() -> None:
    assert _reaching_dead_letters() == DEAD_LETTER_ERROR_TYPES


def test_the_broker_refusals_that_are_dead_lettered_are_the_permanent_codes() -> None:
    for code in PERMANENT_ERROR_CODES:
        error = kafka_errors.for_code(code)()
        assert is_permanent_failure(error) and type(error).__name__ in DEAD_LETTER_ERROR_TYPES


def test_no_product_code_spells_an_error_type_or_a_stage_itself() -> None:
    """Dead letters are built from exceptions and ``Stage`` members, never from string literals."""
    stages = {stage.value for stage in Stage}
    offenders = []
    for folder in PRODUCT_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "connectors" / "failures.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in stages:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
                if isinstance(node, ast.keyword) and node.arg == "error_type" and isinstance(node.value, ast.Constant):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: error_type={node.value.value!r}")
    assert offenders == []


def test_the_schema_documents_the_error_type_list() -> None:
    error_type = load_schema("dead_letter")["properties"]["error_type"]
    assert set(error_type["examples"]) == DEAD_LETTER_ERROR_TYPES
    assert len(error_type["examples"]) == len(DEAD_LETTER_ERROR_TYPES)
    named = set(re.findall(r"\b[A-Z]\w+Error\b", error_type["description"]))
    assert named == DEAD_LETTER_ERROR_TYPES


# -- one stage enumeration ------------------------------------------------------------------------------


def test_the_schema_lists_exactly_the_stages() -> None:
    stage = load_schema("dead_letter")["properties"]["stage"]
    assert stage["type"] == "string" and "enum" not in stage  # a free string within v1 (see schemas/compat.py)
    assert stage["examples"] == [s.value for s in Stage]
    described = set(re.findall(r"\b[a-z]+-[a-z]+\b", stage["description"]))
    assert described == {s.value for s in Stage}


def test_the_readme_lists_exactly_the_stages() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bullet = readme[readme.index("- Dead letters: ") :].split("\n- ", 1)[0]
    stage_part = bullet[: bullet.index("`identity`")]
    assert set(re.findall(r"`([a-z]+-[a-z]+)`", stage_part)) == {s.value for s in Stage}


def test_stages_are_strings_that_serialise_as_their_value() -> None:
    assert [s.value for s in Stage] == [
        "read-archive",
        "read-input",
        "parse-feed",
        "join-archive",
        "poll-feed",
        "fetch-article",
        "extract-article",
        "sink-kafka",
    ]
    assert Stage.PARSE_FEED == "parse-feed" and f"{Stage.PARSE_FEED}" == str(Stage.PARSE_FEED) == "parse-feed"
    letter = Failure.from_exception(Stage.PARSE_FEED, "https://o.example/rss", ValueError("x"), T).to_dead_letter()
    assert type(letter.stage) is str and letter.stage == "parse-feed"
    # A plain string naming a stage is that stage (same dead letter, same id); anything else is refused.
    same = Failure.from_exception("parse-feed", "https://o.example/rss", ValueError("x"), T)  # type: ignore[arg-type]
    assert same.stage is Stage.PARSE_FEED and same.to_dead_letter() == letter
    with pytest.raises(ValueError, match="assign-story"):
        Failure(stage="assign-story", identity="x", error_type="X", message="m", occurred_at=T)  # type: ignore[arg-type]


# -- one CloudEvents header builder and parser -------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [T, T.replace(microsecond=123456), T.astimezone(timezone(timedelta(hours=2)))],
    ids=["utc", "microseconds", "offset"],
)
def test_event_headers_are_cloudevent_headers(when: datetime) -> None:
    build = EventHeaders("dev.storywire.article.v1", "/storywire", "1")
    expected = cloudevent_headers("dev.storywire.article.v1", "/storywire", "a_1:2", format_time(when), "1")
    assert build("a_1:2", when) == tuple(expected)


@pytest.mark.parametrize(
    ("event_id", "when", "message"),
    [("", T, "event_id"), ("  ", T, "event_id"), ("a_1:2", T.replace(tzinfo=None), "UTC offset")],
)
def test_event_headers_refuse_what_cloudevent_headers_refuses(event_id: str, when: datetime, message: str) -> None:
    with pytest.raises(InvalidEnvelopeError, match=message):
        EventHeaders("dev.storywire.article.v1", "/storywire", "1")(event_id, when)
    with pytest.raises(InvalidEnvelopeError, match="source"):
        EventHeaders("dev.storywire.article.v1", " ", "1")


def test_one_attribute_is_found_without_judging_the_rest() -> None:
    assert cloudevent_attribute([("ce_id", b"a_b:1")], "id") == b"a_b:1"
    assert cloudevent_attribute([("traceparent", b"x"), ("ce_id", b"1"), ("ce_id", b"2")], "id") == b"1"
    assert cloudevent_attribute([("ce_type", b"t")], "id") is None


# -- one record time, one stream order ----------------------------------------------------------------------


def test_a_record_message_carries_its_record_time() -> None:
    later = T + timedelta(hours=1)
    article = kremlin_article("Drones over the Kremlin.")
    story = Story("s_" + "1" * 24, "active", "H", (), "en", T, T, later, 1, 1, ("o.example",), ("a_x",), None, 1)
    event = StoryEvent("e_1", "created", "s_" + "1" * 24, "a_x", later, None, 1, 1, "new story")
    dead = DeadLetter("d_1", "parse-feed", "https://o.example/rss.xml", "FeedParseError", "bad", None, None, later)
    assert record_time(article) == article.captured_at
    assert (record_time(story), record_time(event), record_time(dead)) == (later, later, later)
    for record in (article, story, event, dead):
        headers = dict(message_for(record, TopicNames()).headers)
        assert headers["ce_time"] == format_time(record_time(record)).encode()


def test_the_stream_order_is_stream_time_then_article_id() -> None:
    first = kremlin_article("Drones over the Kremlin.").replace(revision=1, captured_at=KREMLIN_T + timedelta(hours=1))
    later = first.replace(revision=2)
    assert stream_time(first) == first.first_seen_at and stream_time(later) == later.captured_at
    assert order_key(later) == stream_order(later.captured_at, later.article_id, 2, later.content_hash)
    # A live round, knowing only the first sighting and the page's article id, sorts its pages the same way.
    assert stream_order(KREMLIN_T, "a_1") < stream_order(KREMLIN_T, "a_2") < stream_order(later.captured_at, "a_0")
