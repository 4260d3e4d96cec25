"""Extract article text and metadata from an HTML page with trafilatura, falling back through settings.

trafilatura returns ``None`` instead of raising when it finds no article; we turn that, and text shorter than
``min_chars``, into :class:`~storywire.connectors.errors.EmptyExtractionError` after every fallback has been tried, and
record in ``method`` which attempt succeeded.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import trafilatura

from storywire.connectors.articles.settings import DEFAULT_MIN_CHARS
from storywire.connectors.errors import EmptyExtractionError, HttpStatusError, UnsupportedContentError
from storywire.connectors.http_types import CapturedResponse

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
_HTML_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.IGNORECASE)

# (method name, trafilatura keyword arguments), tried in order until one yields enough text.
_ATTEMPTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("trafilatura", {}),
    ("trafilatura-recall", {"favor_recall": True}),
)


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    title: str
    text: str
    authors: tuple[str, ...]
    published_at: datetime | None
    language: str | None
    canonical_url: str | None
    method: str


def check_response(response: CapturedResponse) -> None:
    """Raise for responses that cannot hold an article: error statuses and non-HTML bodies."""
    if not 200 <= response.status < 300:
        raise HttpStatusError(response.status, response.url)
    if response.media_type not in _HTML_TYPES:
        raise UnsupportedContentError(f"expected HTML, got {response.media_type!r} from {response.url}")


def extract_page(response: CapturedResponse, *, min_chars: int = DEFAULT_MIN_CHARS) -> ExtractedPage:
    """Extract the article of an HTML response; raises an InputError subclass when there is none."""
    check_response(response)
    markup = _decode(response)
    for method, options in _ATTEMPTS:
        document: Any = trafilatura.bare_extraction(
            markup, url=response.url, with_metadata=True, include_comments=False, **options
        )
        if document is None:
            continue
        title = " ".join(str(document.title or "").split())
        text = _strip_leading_title(str(document.text or ""), title)
        if len(text) < min_chars:
            continue
        return ExtractedPage(
            title=title,
            text=text,
            authors=_authors(document.author),
            published_at=_date(document.date),
            language=_html_language(response.body),
            canonical_url=str(document.url) if document.url else None,
            method=method,
        )
    raise EmptyExtractionError(
        f"no extractor found {min_chars}+ characters of article text in {response.url} "
        "(video or gallery page, paywall, bot wall, or a layout trafilatura does not recognise)"
    )


def _decode(response: CapturedResponse) -> str | bytes:
    """Decode with the declared charset when it is a known codec; else let trafilatura sniff the bytes."""
    charset = response.charset
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            return response.body
        return response.body.decode(charset, errors="replace")
    return response.body


def _strip_leading_title(text: str, title: str) -> str:
    # trafilatura keeps an <h1> inside <article> as the first line; the title has its own field.
    first, _, rest = text.partition("\n")
    if title and first.strip() == title:
        return rest.strip()
    return text.strip()


def _authors(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    names = [" ".join(part.split()) for part in str(value).split(";")]
    return tuple(dict.fromkeys(n for n in names if n))


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _html_language(body: bytes) -> str | None:
    match = _HTML_LANG.search(body[:8192])
    if not match:
        return None
    code = match.group(1).decode("ascii").lower()
    return code if len(code) == 2 else None
