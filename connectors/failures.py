"""Errors as data: a failed input becomes a :class:`Failure`, and every failure becomes a dead-letter record.

A dead letter says where it failed (a :class:`Stage`), on which input, and why: ``error_type`` is the class name
of the exception, one of :data:`storywire.connectors.errors.DEAD_LETTER_ERROR_TYPES`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Final

from storywire.schemas.records import DeadLetter

# Raw payloads ride along in dead letters up to this size; beyond it payload_ref must suffice.
MAX_DEAD_LETTER_PAYLOAD = 64 * 1024
# The time of a failure whose input carries no usable time (a WARC record without a date, a refused record
# without ce_time): deterministic, and obviously wrong in a report.
UNKNOWN_TIME: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Stage(str, Enum):
    """Every pipeline stage that can fail an input: a dead letter's ``stage``, a public contract.

    The values are what the ``stage`` field carries (``schemas/v1/dead_letter.schema.json`` lists the same, a
    test checks it); a member is a ``str`` equal to its value, and formats as the value.
    """

    READ_ARCHIVE = "read-archive"
    """Replay: a WARC record that cannot be read or is too large, or a response that is neither feed nor page."""
    READ_INPUT = "read-input"
    """Replay: an input file of an unknown kind (or a directory or pattern holding none), or a line of a JSONL
    article dump that is not an article."""
    PARSE_FEED = "parse-feed"
    """A feed response that cannot be parsed, or parsed only in part (replay and live)."""
    JOIN_ARCHIVE = "join-archive"
    """Replay: an item listed in a feed whose page is not in the archive."""
    POLL_FEED = "poll-feed"
    """Live: a feed fetch that failed, or a feed that is now broken."""
    FETCH_ARTICLE = "fetch-article"
    """Live: an article page fetch that failed (after its retries, for retryable errors)."""
    EXTRACT_ARTICLE = "extract-article"
    """A page with an error status, of another content type, or without enough article text."""
    SINK_KAFKA = "sink-kafka"
    """A record Kafka cannot take: too large even when cut, or refused for good by the broker."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)


@dataclass(frozen=True, slots=True)
class Failure:
    """One input that produced no result: which stage, which input, why, and where its raw bytes are."""

    stage: Stage
    identity: str
    error_type: str
    message: str
    occurred_at: datetime
    payload_ref: str | None = None
    payload: bytes | None = None

    def __post_init__(self) -> None:
        # Only the stages of the enumeration exist (a plain string naming one is taken as that member).
        object.__setattr__(self, "stage", Stage(self.stage))

    @classmethod
    def from_exception(
        cls,
        stage: Stage,
        identity: str,
        exc: BaseException,
        occurred_at: datetime,
        payload_ref: str | None = None,
        payload: bytes | None = None,
    ) -> Failure:
        return cls(
            stage=stage,
            identity=identity,
            error_type=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            occurred_at=occurred_at,
            payload_ref=payload_ref,
            payload=payload,
        )

    def to_dead_letter(self) -> DeadLetter:
        """The dead-letter message; its id is derived from the content, so a replay gives the same id."""
        digest = hashlib.blake2b(digest_size=12)
        for part in (
            self.stage.value,
            self.identity,
            self.error_type,
            self.occurred_at.isoformat(),
            self.payload_ref or "",
        ):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        payload = None
        if self.payload is not None and len(self.payload) <= MAX_DEAD_LETTER_PAYLOAD:
            payload = base64.b64encode(self.payload).decode("ascii")
        return DeadLetter(
            dead_letter_id="d_" + digest.hexdigest(),
            stage=self.stage.value,
            identity=self.identity,
            error_type=self.error_type,
            message=self.message,
            payload_ref=self.payload_ref,
            payload=payload,
            occurred_at=self.occurred_at,
        )
