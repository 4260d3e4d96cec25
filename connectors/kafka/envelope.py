"""CloudEvents 1.0 envelope, Kafka protocol binding, binary content mode.

The record value is the event data (JSON); the event attributes travel as Kafka headers:

=========================  =================================================================
header                     meaning
=========================  =================================================================
``ce_specversion``         always ``1.0``
``ce_id``                  event id; unique per ``ce_source``
``ce_source``              URI-reference of the producer, e.g. ``urn:storywire:pipeline``
``ce_type``                e.g. ``dev.storywire.article.v1``
``ce_time``                RFC 3339 UTC timestamp of the occurrence
``content-type``           the CloudEvents ``datacontenttype`` (``application/json``)
``ce_schemaversion``       storywire extension: version of the payload's JSON Schema
``ce_subject``             optional: the entity the event is about (article or story id)
``ce_dataschema``          optional: URI of the payload's JSON Schema
=========================  =================================================================

``schemaversion`` is a CloudEvents *extension attribute* (lowercase alphanumerics, as the spec requires
for attribute names), so CloudEvents-aware routers carry it along with the standard attributes.

This module is the one place that writes and reads these headers: :func:`cloudevent_headers` builds them
(:class:`EventHeaders` is the same for many events of one type, faster), :func:`parse_cloudevent_headers`
reads them back, :func:`cloudevent_attribute` looks one up without judging the rest, and :func:`format_time`
is the ``ce_time`` text of a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from .errors import InvalidEnvelopeError

__all__ = [
    "CE_PREFIX",
    "CONTENT_TYPE_HEADER",
    "SCHEMA_VERSION_ATTRIBUTE",
    "SPEC_VERSION",
    "EventHeaders",
    "cloudevent_attribute",
    "cloudevent_headers",
    "format_time",
    "parse_cloudevent_headers",
]

SPEC_VERSION: Final = "1.0"
CE_PREFIX: Final = "ce_"
CONTENT_TYPE_HEADER: Final = "content-type"
SCHEMA_VERSION_ATTRIBUTE: Final = "schemaversion"
_REQUIRED: Final = ("specversion", "id", "source", "type")
_SCHEMA_VERSION_HEADER: Final = CE_PREFIX + SCHEMA_VERSION_ATTRIBUTE

Header = tuple[str, bytes]


def format_time(when: datetime) -> str:
    """The ``ce_time`` text of a timezone-aware time: RFC 3339, UTC written ``Z`` (``2024-05-01T12:00:00Z``)."""
    return when.isoformat().replace("+00:00", "Z")


def cloudevent_headers(
    event_type: str,
    source: str,
    event_id: str,
    time_iso: str,
    schema_version: str,
    *,
    content_type: str = "application/json",
    subject: str | None = None,
    dataschema: str | None = None,
) -> list[tuple[str, bytes]]:
    """Kafka headers for one event; ``time_iso`` must be RFC 3339 with a UTC offset or ``Z``."""
    for name, value in (
        ("event_type", event_type),
        ("source", source),
        ("event_id", event_id),
        ("schema_version", schema_version),
        ("content_type", content_type),
    ):
        _require_text(name, value)
    _require_timestamp(time_iso)
    if subject is not None:
        _require_text("subject", subject)
    if dataschema is not None:
        _require_text("dataschema", dataschema)
    headers = list(
        _layout(
            SPEC_VERSION.encode("utf-8"),
            event_id.encode("utf-8"),
            source.encode("utf-8"),
            event_type.encode("utf-8"),
            time_iso.encode("utf-8"),
            content_type.encode("utf-8"),
            schema_version.encode("utf-8"),
        )
    )
    if subject is not None:
        headers.append(("ce_subject", subject.encode("utf-8")))
    if dataschema is not None:
        headers.append(("ce_dataschema", dataschema.encode("utf-8")))
    return headers


class EventHeaders:
    """:func:`cloudevent_headers` for the many events of one type from one source: same names, order and bytes.

    The attributes every event shares are validated (raising ``InvalidEnvelopeError`` here) and encoded once;
    per event only the id and the time are. What the quick checks of those two do not vouch for goes through
    :func:`cloudevent_headers`, which raises its usual ``InvalidEnvelopeError``.
    """

    __slots__ = ("_content_type", "_event_type", "_schema_version", "_shared", "_source")

    def __init__(
        self, event_type: str, source: str, schema_version: str, *, content_type: str = "application/json"
    ) -> None:
        for name, value in (
            ("event_type", event_type),
            ("source", source),
            ("schema_version", schema_version),
            ("content_type", content_type),
        ):
            _require_text(name, value)
        self._event_type = event_type
        self._source = source
        self._schema_version = schema_version
        self._content_type = content_type
        self._shared = (
            SPEC_VERSION.encode("utf-8"),
            source.encode("utf-8"),
            event_type.encode("utf-8"),
            content_type.encode("utf-8"),
            schema_version.encode("utf-8"),
        )

    def __call__(self, event_id: str, when: datetime) -> tuple[Header, ...]:
        """The headers of the event ``event_id`` that happened at ``when`` (timezone-aware)."""
        if type(event_id) is not str or not event_id or event_id.isspace() or when.utcoffset() is None:
            return tuple(
                cloudevent_headers(
                    self._event_type,
                    self._source,
                    event_id,
                    format_time(when),
                    self._schema_version,
                    content_type=self._content_type,
                )
            )
        specversion, source, event_type, content_type, schema_version = self._shared
        time = format_time(when).encode("utf-8")
        return _layout(specversion, event_id.encode("utf-8"), source, event_type, time, content_type, schema_version)


def _layout(
    specversion: bytes,
    event_id: bytes,
    source: bytes,
    event_type: bytes,
    time: bytes,
    content_type: bytes,
    schema_version: bytes,
) -> tuple[Header, ...]:
    """The required headers in the order storywire sends them (the one place that knows names and order)."""
    return (
        ("ce_specversion", specversion),
        ("ce_id", event_id),
        ("ce_source", source),
        ("ce_type", event_type),
        ("ce_time", time),
        (CONTENT_TYPE_HEADER, content_type),
        (_SCHEMA_VERSION_HEADER, schema_version),
    )


def parse_cloudevent_headers(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """CloudEvents attributes from Kafka headers, e.g. ``{"specversion": "1.0", "id": ..., "type": ...}``.

    Non-CloudEvents headers are ignored. Raises ``InvalidEnvelopeError`` when a required attribute is
    missing, an attribute is repeated, a value is not UTF-8, or the spec version is not 1.0.
    """
    attributes: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if name.startswith(CE_PREFIX):
            attribute = name[len(CE_PREFIX) :]
        elif name == CONTENT_TYPE_HEADER:
            attribute = "datacontenttype"
        else:
            continue
        if not attribute:
            raise InvalidEnvelopeError(f"header {raw_name!r} has no attribute name")
        if attribute in attributes:
            raise InvalidEnvelopeError(f"CloudEvents attribute {attribute!r} appears more than once")
        if raw_value is None:
            raise InvalidEnvelopeError(f"header {raw_name!r} has no value")
        try:
            attributes[attribute] = raw_value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEnvelopeError(f"header {raw_name!r} is not UTF-8") from exc
    missing = [name for name in _REQUIRED if not attributes.get(name)]
    if missing:
        raise InvalidEnvelopeError(f"missing CloudEvents header(s): {', '.join(CE_PREFIX + m for m in missing)}")
    if attributes["specversion"] != SPEC_VERSION:
        raise InvalidEnvelopeError(f"unsupported CloudEvents specversion {attributes['specversion']!r}")
    if "time" in attributes:
        _require_timestamp(attributes["time"])
    return attributes


def cloudevent_attribute(headers: Iterable[tuple[str, bytes | None]], attribute: str) -> bytes | None:
    """The raw value of one CloudEvents attribute (``"id"``: the ``ce_id`` header), first occurrence, or None.

    Unlike :func:`parse_cloudevent_headers` it judges nothing else, so it still names a record whose other
    headers are missing or malformed (e.g. a refused record in a dead letter's ``payload_ref``).
    """
    name = CE_PREFIX + attribute
    return next((value for header, value in headers if header == name), None)


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEnvelopeError(f"{name} must be a non-empty string, got {value!r}")


def _require_timestamp(value: object) -> None:
    if not isinstance(value, str) or "T" not in value.upper():
        raise InvalidEnvelopeError(f"time must be an RFC 3339 timestamp like 2024-05-01T12:00:00Z, got {value!r}")
    text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value  # 3.10 has no 'Z'
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidEnvelopeError(f"time {value!r} is not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        raise InvalidEnvelopeError(f"time {value!r} has no UTC offset; use e.g. 2024-05-01T12:00:00Z")
