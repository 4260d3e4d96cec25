"""Turn one line of a JSONL article dump into an :class:`~storywire.schemas.records.Article` (pure).

A line is a JSON object; its fields, by name:

- ``url`` (required): the article's http(s) URL; its canonical form gives the ``article_id``, as for a crawled page,
  so an article in a dump and the same article in a crawl are one article;
- ``title`` (required, may be empty) and ``text`` (required: the article's text, at least ``min_text_chars``);
- a time (required, one of): ``published_at`` (or ``published``, or ``date``), ``first_seen_at``; ISO 8601
  (``2023-05-03T14:05:00Z``; a time without a zone is UTC) or RFC 2822 (``Wed, 03 May 2023 14:05:00 GMT``).
  ``first_seen_at`` defaults to the published time; a published time implausible for it (before 1990, or more
  than an hour after it) is dropped, as for a crawled article;
- optional: ``outlet`` (default: the URL's host without ``www.``), ``language`` (or ``lang``), ``summary``
  (default: the start of the text), ``authors`` (a list of strings, or one), ``feed_url``, ``captured_at``.

Other fields are ignored, so storywire's own ``PREFIX.articles.v1.jsonl`` reads back as a dump. Anything else
raises :class:`~storywire.connectors.errors.DumpRecordError` saying what is wrong with the line.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from storywire.connectors.errors import DumpRecordError
from storywire.connectors.urls import article_id_for, canonical_url, outlet_of
from storywire.pipelines.core.event_time import plausible_time
from storywire.pipelines.core.normalise import content_hash, lead
from storywire.schemas.records import Article, parse_time

EXTRACTION_METHOD = "dump"
"""``extraction_method`` of an article read from a dump."""
_PUBLISHED = ("published_at", "published", "date")


def article_from_line(line: bytes, *, min_text_chars: int, window: tuple[datetime, datetime]) -> Article:
    """The article one dump line describes; DumpRecordError saying what is wrong otherwise."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise DumpRecordError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DumpRecordError(f"not a JSON object but a {type(data).__name__}")
    missing = [key for key in ("url", "title", "text") if key not in data]
    published_raw = next((data[key] for key in _PUBLISHED if data.get(key) is not None), None)
    if published_raw is None and data.get("first_seen_at") is None:
        missing.append("published_at (or first_seen_at)")
    if missing:
        raise DumpRecordError(f"missing field(s): {', '.join(missing)}")
    url = _string(data, "url")
    if not url.startswith(("http://", "https://")):
        raise DumpRecordError(f"url {url[:200]!r} is not an http(s) URL")
    try:
        canonical = canonical_url(url)
    except ValueError as exc:
        raise DumpRecordError(f"url {url[:200]!r} is not a URL ({exc})") from None
    title = _string(data, "title")
    text = _string(data, "text")
    if len(text.strip()) < min_text_chars:
        raise DumpRecordError(
            f"text has {len(text.strip())} characters, fewer than the {min_text_chars} an article needs"
        )
    published = _time(published_raw, "published_at") if published_raw is not None else None
    seen = _time(data["first_seen_at"], "first_seen_at") if data.get("first_seen_at") is not None else published
    assert seen is not None  # one of the two is there (checked above)
    earliest, latest = window
    if not earliest <= seen <= latest:
        raise DumpRecordError(
            f"time {seen.isoformat()} is outside the plausible range {earliest:%Y}..{latest:%Y-%m-%d}"
        )
    published = plausible_time(published, seen)
    captured = _time(data["captured_at"], "captured_at") if data.get("captured_at") is not None else seen
    summary = _optional_string(data, "summary") or lead(text)
    return Article(
        article_id=article_id_for(canonical),
        url=url,
        canonical_url=canonical,
        outlet=_optional_string(data, "outlet") or outlet_of(canonical),
        feed_url=_optional_string(data, "feed_url"),
        title=title,
        summary=summary,
        text=text,
        authors=_authors(data.get("authors")),
        language=_optional_string(data, "language") or _optional_string(data, "lang"),
        published_at=published,
        first_seen_at=seen,
        captured_at=captured,
        revision=1,
        extraction_method=EXTRACTION_METHOD,
        content_hash=content_hash(title, text),
    )


def _string(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise DumpRecordError(f"field {key} is a {type(value).__name__}, not a string")
    return value


def _optional_string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DumpRecordError(f"field {key} is a {type(value).__name__}, not a string")
    return value.strip() or None


def _authors(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item for item in value if item.strip())
    raise DumpRecordError("field authors is neither a string nor a list of strings")


def _time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise DumpRecordError(f"field {key} is a {type(value).__name__}, not a time string (ISO 8601 or RFC 2822)")
    text = value.strip()
    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise DumpRecordError(f"field {key} {text[:60]!r} is not a time (ISO 8601 or RFC 2822)") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
