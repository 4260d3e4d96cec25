"""What the Kafka sink does with a message that cannot be delivered as it is (pure: no Beam, no sockets).

Size rule, applied before sending (``fit_message``):

1. A message whose serialized size is within the producer's ``max_request_size`` goes out unchanged.
2. An oversized **article** is cut to fit: its ``text`` is shortened (at a word boundary when one is near)
   until the message is at most ``max_request_size`` minus a headroom of ``min(1 KiB, limit / 10)``, and it is
   marked ``text_truncated: true``. Nothing else changes: same ``article_id``, ``revision``, ``content_hash``
   (of the full text) and ``ce_id``. The JSONL sink keeps the full text.
3. Anything still too large (an article too big without any text, or any other oversized record) becomes a
   dead letter (stage ``sink-kafka``, error ``MessageTooLargeError``) on the dead-letter topic.

Records the broker refuses permanently after sending (``DeliveryError.permanent``: larger than the topic's
``max.message.bytes``, invalid topic...) become dead letters too (``dead_letter_for``). A dead letter carries
the refused message (base64) when the dead letter still fits the size limit, and always names it in
``payload_ref`` as ``TOPIC#ce_id=ID``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from storywire.connectors.failures import UNKNOWN_TIME, Failure, Stage
from storywire.connectors.kafka.envelope import cloudevent_attribute, parse_cloudevent_headers
from storywire.connectors.kafka.errors import FailedRecord, InvalidEnvelopeError, MessageTooLargeError
from storywire.connectors.kafka.producer import fits, record_size
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.core.messages import OutboundMessage, message_for
from storywire.schemas.records import Article, _Record, parse_time, record_time

__all__ = [
    "Fitted",
    "dead_letter_for",
    "dead_letter_message",
    "fit_message",
    "message_size",
    "trim_article",
    "truncation_target",
]

_WORD_BOUNDARY_WINDOW = 200  # look this many characters back for a space to cut at


def message_size(message: OutboundMessage) -> int:
    """The size the producer checks against ``max_request_size``."""
    return record_size(message.key, message.value, message.headers)


def truncation_target(max_request_size: int) -> int:
    """Largest size a trimmed article may have: the limit minus ``min(1024, limit // 10)`` bytes of headroom."""
    return max_request_size - min(1024, max_request_size // 10)


def trim_article(article: Article, fits: Callable[[Article], bool]) -> Article | None:
    """The longest prefix of ``text`` (marked ``text_truncated``) for which ``fits`` holds, or ``None``.

    Binary search over the number of characters kept, then back to the last space within 200 characters so
    words are not cut in half (shorter text still fits).
    """
    low, high = 0, len(article.text)
    best: Article | None = None
    while low <= high:
        keep = (low + high) // 2
        candidate = article.replace(text=article.text[:keep], text_truncated=True)
        if fits(candidate):
            best, low = candidate, keep + 1
        else:
            high = keep - 1
    if best is None:
        return None
    text = best.text
    space = text.rfind(" ", max(0, len(text) - _WORD_BOUNDARY_WINDOW))
    if 0 < space < len(text):
        return best.replace(text=text[:space].rstrip())
    return best


class Fitted(NamedTuple):
    """The message to send, and whether the article's text was cut to fit."""

    message: OutboundMessage
    truncated: bool


def fit_message(record: _Record, topics: TopicNames, max_request_size: int) -> Fitted | Failure:
    """The message to send for ``record`` under the size rule of this module, or the ``Failure`` to dead-letter."""
    message = message_for(record, topics)
    if fits(message.key, message.value, message.headers, max_request_size):
        return Fitted(message, truncated=False)
    size = message_size(message)
    if isinstance(record, Article) and record.text:
        target = truncation_target(max_request_size)
        trimmed = trim_article(record, lambda a: message_size(message_for(a, topics)) <= target)
        if trimmed is not None:
            return Fitted(message_for(trimmed, topics), truncated=True)
    error = MessageTooLargeError(message.topic, message.key, size, max_request_size)
    return Failure.from_exception(
        Stage.SINK_KAFKA,
        message.key.decode("utf-8", "replace"),
        error,
        record_time(record),
        payload_ref=_payload_ref(message.topic, message.headers),
    )


def dead_letter_for(failed: FailedRecord) -> Failure:
    """The failure to dead-letter for a record the broker refused permanently (rebuilt from the record alone)."""
    headers = tuple(failed.headers)
    try:
        attributes = parse_cloudevent_headers(headers)
        occurred_at = parse_time(attributes["time"]) if "time" in attributes else UNKNOWN_TIME
    except (InvalidEnvelopeError, ValueError):
        occurred_at = UNKNOWN_TIME
    return Failure.from_exception(
        Stage.SINK_KAFKA,
        (failed.key or b"").decode("utf-8", "replace"),
        failed.error,
        occurred_at,
        payload_ref=_payload_ref(failed.topic, headers),
        payload=failed.value,
    )


def dead_letter_message(failure: Failure, topics: TopicNames, max_request_size: int) -> OutboundMessage:
    """The dead-letter message for ``failure``; its raw payload is left out if keeping it would not fit."""
    message = message_for(failure.to_dead_letter(), topics)
    if failure.payload is not None and message_size(message) > truncation_target(max_request_size):
        message = message_for(_without_payload(failure).to_dead_letter(), topics)
    return message


def _without_payload(failure: Failure) -> Failure:
    return Failure(
        stage=failure.stage,
        identity=failure.identity,
        error_type=failure.error_type,
        message=failure.message + " (payload left out: too large for a dead letter)",
        occurred_at=failure.occurred_at,
        payload_ref=failure.payload_ref,
        payload=None,
    )


def _payload_ref(topic: str, headers: tuple[tuple[str, bytes], ...]) -> str:
    ce_id = cloudevent_attribute(headers, "id")
    return f"{topic}#ce_id={ce_id.decode('utf-8', 'replace')}" if ce_id is not None else topic
