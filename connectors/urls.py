"""URL canonicalisation and the ids derived from it."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

import courlan


def canonical_url(url: str) -> str:
    """Normalise a URL so every sighting of one article maps to one string.

    courlan lower-cases scheme and host, drops default ports and tracking parameters (utm_*, fbclid...) and
    sorts the query; we also drop the fragment and the trailing slash, which never name a different article.
    """
    normalised = courlan.normalize_url(url.strip(), strict=False, trailing_slash=False)
    parts = urlsplit(normalised)
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def outlet_of(url: str) -> str:
    """The outlet name: the host without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def same_outlet(url_a: str, url_b: str) -> bool:
    return outlet_of(url_a) == outlet_of(url_b)


def article_id_for(canonical: str) -> str:
    """Stable article id: ``a_`` + 24 hex digits of SHA-256 of the canonical URL."""
    return "a_" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]
