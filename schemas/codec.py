"""The one place storywire turns records into bytes and back (orjson with fixed options)."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson

from storywire.schemas.errors import StorywireError
from storywire.schemas.records import Article, DeadLetter, Story, StoryEvent, _Record

# UTC timestamps end in Z; dict keys sorted (dataclass fields keep their declared order) so equal records
# give equal bytes: stable hashes, diffable files.
_DUMPS_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_SORT_KEYS

Record = Article | Story | StoryEvent | DeadLetter
_R = TypeVar("_R", bound=_Record)


class DecodeError(StorywireError, ValueError):
    """Bytes that are not a valid JSON message of the expected kind (a ``ValueError`` too, as it always was)."""


def encode(record: _Record | dict[str, Any]) -> bytes:
    """Serialise a record (or a plain dict) to compact JSON bytes."""
    return orjson.dumps(record, option=_DUMPS_OPTIONS)


def to_dict(record: _Record) -> dict[str, Any]:
    """The JSON-shaped dict of a record, as consumers see it."""
    result: dict[str, Any] = orjson.loads(encode(record))
    return result


def decode(data: bytes | str, record_type: type[_R]) -> _R:
    """Parse JSON bytes into ``record_type``; raises :class:`DecodeError` with the reason."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise DecodeError(f"expected a JSON object for {record_type.kind}, got {type(obj).__name__}")
    try:
        return record_type.from_dict(obj)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"invalid {record_type.kind}: {exc}") from exc
