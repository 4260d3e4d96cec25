"""Errors as data: a failed input becomes a :class:`Failure`, and every failure becomes a dead-letter record."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from storywire.schemas.records import DeadLetter

# Raw payloads ride along in dead letters up to this size; beyond it payload_ref must suffice.
MAX_DEAD_LETTER_PAYLOAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Failure:
    """One input that produced no result: which stage, which input, why, and where its raw bytes are."""

    stage: str
    identity: str
    error_type: str
    message: str
    occurred_at: datetime
    payload_ref: str | None = None
    payload: bytes | None = None

    @classmethod
    def from_exception(
        cls,
        stage: str,
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
            self.stage,
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
            stage=self.stage,
            identity=self.identity,
            error_type=self.error_type,
            message=self.message,
            payload_ref=self.payload_ref,
            payload=payload,
            occurred_at=self.occurred_at,
        )
