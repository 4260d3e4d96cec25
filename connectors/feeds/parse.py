"""Parse one RSS/Atom/RDF feed body into :class:`FeedItem` records with feedparser.

feedparser never raises on bad XML; it sets ``bozo``. Our rule: a bozo feed that still has entries is a
warning (the items are used, ``ParsedFeed.warning`` says why), a bozo feed without entries is a
:class:`~storywire.connectors.errors.FeedParseError`. Feeds that declare entities in a DTD are refused before feedparser
sees them (:class:`~storywire.connectors.errors.UnsafeXmlError`), because entity expansion is the classic XML bomb.

The check is a parse, not a byte search. The body is first decoded exactly as feedparser will decode it (its own
``convert_to_utf8``: BOM, HTTP charset, XML declaration; UTF-16 and UTF-32 feeds included), then expat reads the
prolog and refuses any DOCTYPE with an internal subset (``[...]``, the only place entities can be declared, since
the external DTD is never read), wherever it sits; expat stops at the DOCTYPE or the root element, so the check
costs the prolog only. A plain ``<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "...">``
without an internal subset is accepted: it declares nothing and nothing is fetched (neither expat here nor
feedparser loads external DTDs). A prolog expat cannot read (feedparser then falls back to its lenient parser) is
checked a second time with feedparser's own DOCTYPE handling: any entity feedparser would define is refused.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from xml.parsers import expat

import feedparser
import lxml.html
from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype

from storywire.connectors.errors import FeedParseError, InputError, UnsafeXmlError
from storywire.connectors.urls import canonical_url

MAX_SUMMARY_CHARS = 2000
_PROLOG_CHUNK = 16 * 1024
# feedparser sets bozo for these too, but the feed itself was read correctly.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


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
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    try:
        _refuse_entities(body, feed_url, headers)
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    except (ValueError, LookupError) as exc:  # a damaged encoding name in the XML declaration (fuzzing found it)
        if isinstance(exc, InputError):
            raise
        raise FeedParseError(f"cannot decode the feed: {type(exc).__name__}: {exc}") from exc
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


def _refuse_entities(body: bytes, feed_url: str, headers: dict[str, str]) -> None:
    """Raise UnsafeXmlError when the feed declares entities, references external ones or has a DTD subset."""
    scratch: dict[str, Any] = {}
    # What feedparser will parse: the body converted to UTF-8 with its own rules (raw bytes if none fits).
    data = convert_to_utf8(dict(headers), body, scratch) if body else body
    reason = _prolog_declarations(data)
    if reason is None:
        _, _, entities = replace_doctype(data)
        if entities:
            reason = f"entity declarations {', '.join(sorted(entities))}"
    if reason is not None:
        raise UnsafeXmlError(f"feed {feed_url} declares entities or external references: {reason}")


def _prolog_declarations(data: bytes) -> str | None:
    """What expat finds in the prolog that storywire refuses, or None (also when the prolog is not XML).

    Entities can only be declared in a DTD; the external DTD is never read (no parameter-entity parsing, no
    external-entity handler), so the internal subset is the only place left, and any internal subset is refused.
    """
    found: list[str] = []
    done = False

    def doctype(name: str, system_id: str | None, public_id: str | None, has_internal_subset: int) -> None:
        nonlocal done
        if has_internal_subset:
            found.append(f"a DOCTYPE {name} with an internal subset")
        done = True

    def root(name: str, attributes: object) -> None:
        nonlocal done
        done = True

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    parser.DefaultHandler = lambda _data: None  # expat's side effect: internal entities are not expanded
    try:
        # In chunks, so that a long feed stops at its DOCTYPE or root element, a chunk later at most.
        for start in range(0, len(data), _PROLOG_CHUNK):
            parser.Parse(data[start : start + _PROLOG_CHUNK], False)
            if done:
                break
        else:
            parser.Parse(b"", True)
    except expat.ExpatError:
        pass  # not well-formed: what was found before counts; if nothing, the caller's second check decides
    return found[0] if found else None


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
