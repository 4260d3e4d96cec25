"""Parse one RSS/Atom/RDF feed body into :class:`FeedItem` records with feedparser.

feedparser never raises on bad XML; it sets ``bozo``. Our rule: a bozo feed that still has entries is a
warning (the items are used, ``ParsedFeed.warning`` says why), a bozo feed without entries is a
:class:`~storywire.connectors.errors.FeedParseError`. Feeds that declare entities in a DTD are refused before feedparser
sees them (:class:`~storywire.connectors.errors.UnsafeXmlError`), because entity expansion is the classic XML bomb.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import feedparser
import lxml.html
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as DefusedParseError
from defusedxml.ElementTree import fromstring as defused_fromstring

from storywire.connectors.errors import FeedParseError, UnsafeXmlError
from storywire.connectors.urls import canonical_url

MAX_SUMMARY_CHARS = 2000
# feedparser sets bozo for these too, but the feed itself was read correctly.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed as seen at one capture time."""

    item_key: str
    link: str
    title: str
    summary: str
    authors: tuple[str, ...]
    published_at: datetime | None
    feed_url: str
    feed_title: str
    feed_language: str | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[FeedItem, ...]
    skipped_entries: int
    warning: str | None


def parse_feed(body: bytes, feed_url: str, seen_at: datetime, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed body; entries without a usable http(s) link are counted in ``skipped_entries``."""
    _refuse_entities(body, feed_url)
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    entries: list[Any] = list(parsed.get("entries") or [])
    bozo_reason = _bozo_reason(parsed)
    if not entries:
        if bozo_reason:
            raise FeedParseError(f"feed has no readable entries: {bozo_reason}")
        version = parsed.get("version") or ""
        if not version:
            raise FeedParseError("not an RSS, Atom or RDF feed (no feed element found)")
        return ParsedFeed(items=(), skipped_entries=0, warning=None)
    feed_meta = parsed.get("feed") or {}
    feed_title = _text(feed_meta.get("title"))
    language = _language(feed_meta.get("language"))
    items: list[FeedItem] = []
    skipped = 0
    for entry in entries:
        link = str(entry.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            skipped += 1
            continue
        title = _text(entry.get("title"))
        published = _time_of(entry.get("published_parsed") or entry.get("updated_parsed"))
        items.append(
            FeedItem(
                item_key=_item_key(entry, link, title, published),
                link=link,
                title=title,
                summary=_html_to_text(str(entry.get("summary") or ""))[:MAX_SUMMARY_CHARS],
                authors=_authors(entry),
                published_at=published,
                feed_url=feed_url,
                feed_title=feed_title,
                feed_language=language,
                seen_at=seen_at,
            )
        )
    return ParsedFeed(items=tuple(items), skipped_entries=skipped, warning=bozo_reason)


def _bozo_reason(parsed: Any) -> str | None:
    """Why feedparser flagged the feed, ignoring its notices about encodings and content types."""
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    if isinstance(exc, _BENIGN_BOZO):
        return None
    return str(exc or "malformed feed")


def _refuse_entities(body: bytes, feed_url: str) -> None:
    # Only documents with a DOCTYPE can declare entities; most feeds have none and skip this second parse.
    if not _DOCTYPE.search(body[:4096]):
        return
    try:
        defused_fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXmlError(f"feed {feed_url} declares entities or external references: {exc}") from exc
    except DefusedParseError:
        return  # malformed but entity-free: feedparser's lenient parser decides


def _item_key(entry: Any, link: str, title: str, published: datetime | None) -> str:
    """guid/id when the feed gives one, else the canonical link, else a hash of title and date."""
    guid = str(entry.get("id") or "").strip()
    if guid:
        return guid
    if link:
        return canonical_url(link)
    stamp = published.isoformat() if published else ""
    return "h_" + hashlib.sha256(f"{title}\x00{stamp}".encode()).hexdigest()[:24]


def _time_of(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def _authors(entry: Any) -> tuple[str, ...]:
    names = [str(a.get("name") or "").strip() for a in entry.get("authors") or [] if isinstance(a, dict)]
    names = [n for n in names if n]
    if not names and entry.get("author"):
        names = [str(entry.get("author")).strip()]
    return tuple(dict.fromkeys(names))


def _language(value: object) -> str | None:
    text = str(value or "").strip().lower()
    code = text.split("-", 1)[0].split("_", 1)[0]
    return code if len(code) == 2 and code.isalpha() else None


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _html_to_text(markup: str) -> str:
    if "<" not in markup:
        return _text(markup)
    try:
        return _text(lxml.html.fragment_fromstring(markup, create_parent="div").text_content())
    except (ValueError, lxml.etree.ParserError):
        return _text(re.sub(r"<[^>]+>", " ", markup))
