"""Extract article text and metadata from an HTML page with trafilatura, falling back through settings.

trafilatura returns ``None`` instead of raising when it finds no article; we turn that, and text shorter than
``min_chars``, into :class:`~storywire.connectors.errors.EmptyExtractionError` after every fallback has been tried, and
record in ``method`` which attempt succeeded.

Hostile pages are bounded (:mod:`storywire.connectors.articles.settings`): the markup is cut to ``max_html_bytes``
before extraction, the body is decoded with a charset that fits it (:mod:`storywire.connectors.articles.charset`),
trafilatura runs in a worker process with a time limit when one is given (``worker``), the text is cut to
``max_text_chars``, and garbled text is refused (``EncodingError``). A cut page or text is marked
``text_truncated``.

trafilatura is imported by the first extraction, not with this module (about 0.2 s, and more for what it loads
on its first call): a replay extracts in worker processes, whose fork server imports and warms it
(:mod:`storywire.connectors.articles.warm`), so the replay's own process never needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from storywire.connectors.articles.charset import check_text, decode_body
from storywire.connectors.articles.settings import DEFAULT_MIN_CHARS, ExtractionLimits
from storywire.connectors.articles.worker import IsolatedWorker
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
    text_truncated: bool = False
    """The markup or the text was cut at its limit: ``text`` is not the whole article."""
    charset: str | None = None
    """The charset the body was decoded with (None: sniffed by trafilatura)."""
    charset_corrected: bool = False
    """The declared charset did not fit the bytes and another one was used."""


@dataclass(frozen=True, slots=True)
class _RawDocument:
    """What the extractor found (the part that runs in the worker process): small and picklable."""

    title: str
    text: str
    author: str | None
    date: str | None
    url: str | None
    method: str


def check_response(response: CapturedResponse) -> None:
    """Raise for responses that cannot hold an article: error statuses and non-HTML bodies."""
    if not 200 <= response.status < 300:
        raise HttpStatusError(response.status, response.url)
    if response.media_type not in _HTML_TYPES:
        raise UnsupportedContentError(f"expected HTML, got {response.media_type!r} from {response.url}")


def extract_page(
    response: CapturedResponse,
    *,
    min_chars: int = DEFAULT_MIN_CHARS,
    limits: ExtractionLimits | None = None,
    worker: IsolatedWorker | None = None,
) -> ExtractedPage:
    """Extract the article of an HTML response; raises an InputError subclass when there is none.

    ``limits`` (default: the defaults, with ``min_chars``) bound the work; with a ``worker`` trafilatura runs in
    it, under its time limit, else in this process.
    """
    limits = limits or ExtractionLimits(min_chars=min_chars)
    check_response(response)
    body = response.body
    html_cut = len(body) > limits.max_html_bytes
    if html_cut:
        body = body[: limits.max_html_bytes]
    decoded = decode_body(body, response.charset)
    run = _run_trafilatura  # looked up at each call: tests replace it
    if worker is not None:
        raw = worker.call(run, decoded.markup, response.url, limits.min_chars, what=f"extracting {response.url}")
    else:
        raw = run(decoded.markup, response.url, limits.min_chars)
    if raw is None:
        raise EmptyExtractionError(
            f"no extractor found {limits.min_chars}+ characters of article text in {response.url} "
            "(video or gallery page, paywall, bot wall, or a layout trafilatura does not recognise)"
        )
    check_text(
        f"{raw.title}\n{raw.text}",
        max_replacement_ratio=limits.max_replacement_ratio,
        max_mess_ratio=limits.max_mess_ratio,
        charset=decoded.charset,
    )
    text, text_cut = _cap(raw.text, limits.max_text_chars)
    return ExtractedPage(
        title=raw.title,
        text=text,
        authors=_authors(raw.author),
        published_at=_date(raw.date),
        language=_html_language(response.body),
        canonical_url=raw.url,
        method=raw.method,
        text_truncated=html_cut or text_cut,
        charset=decoded.charset,
        charset_corrected=decoded.corrected,
    )


def _run_trafilatura(markup: str | bytes, url: str, min_chars: int) -> _RawDocument | None:
    """The attempts, in order, until one yields ``min_chars`` of text (runs in the worker process, if any)."""
    import trafilatura

    for method, options in _ATTEMPTS:
        document: Any = trafilatura.bare_extraction(
            markup, url=url, with_metadata=True, include_comments=False, **options
        )
        if document is None:
            continue
        title = " ".join(str(document.title or "").split())
        text = _strip_leading_title(str(document.text or ""), title)
        if len(text) < min_chars:
            continue
        return _RawDocument(
            title=title,
            text=text,
            author=str(document.author) if document.author else None,
            date=str(document.date) if document.date else None,
            url=str(document.url) if document.url else None,
            method=method,
        )
    return None


def _cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters, at the last whitespace when there is one near the end."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit * 0.9:
        cut = cut[:space]
    return cut.rstrip(), True


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
