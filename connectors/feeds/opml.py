"""Read feed subscriptions from an OPML file (the export format of every feed reader).

Parsed with defusedxml (no entity expansion, no external references: OPML files come from anywhere).
Outlines nest to any depth; an outline with ``xmlUrl`` is a feed (its children, if any, are read too), one
without is a folder whose ``text``/``title`` becomes part of each feed's ``folders`` path. The title is
``title``, else ``text``; ``language`` (``en``, ``en-GB``, ``EN``) becomes an ISO 639-1 code or is dropped
with a note. ``feed://`` and ``feed:https://`` URLs are rewritten to http(s). A feed's :attr:`OpmlFeed.outlet` is
the host of its ``htmlUrl`` (the site the feed belongs to), else of the feed URL, named the way articles' outlets
are (:func:`~storywire.connectors.urls.outlet_of`): a feed hosted elsewhere (FeedBurner, a CDN) keeps its
site's name. Nothing is dropped silently:
every outline that is not imported is listed in :attr:`OpmlDocument.skipped` with the reason.

``storywire feeds import`` adds the parsed feeds to a YAML feed list: :mod:`storywire.pipelines.config.feed_import`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring

from storywire.connectors.errors import ConfigError
from storywire.connectors.feeds.settings import check_feed_url
from storywire.connectors.urls import canonical_url, outlet_of

_LANGUAGE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline: its URL as written (after ``feed:`` rewriting), title, language, folder path and the
    ``htmlUrl`` of the site it belongs to (None when missing or not an http(s) URL with a host)."""

    url: str
    title: str | None
    language: str | None
    folders: tuple[str, ...]
    html_url: str | None = None

    @property
    def outlet(self) -> str:
        """The outlet: the ``htmlUrl``'s host, else the feed URL's, without ``www.`` (as articles name theirs)."""
        return outlet_of(self.html_url or "") or outlet_of(self.url)


@dataclass(frozen=True, slots=True)
class SkippedOutline:
    """An outline that was not imported, and why."""

    label: str
    reason: str


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    """The feeds of an OPML file in document order (first of each canonical URL), and what was left out."""

    feeds: tuple[OpmlFeed, ...]
    skipped: tuple[SkippedOutline, ...]
    notes: tuple[str, ...]


def parse_opml(data: bytes, source: str) -> OpmlDocument:
    """Parse OPML bytes; ConfigError naming ``source`` when it is not well-formed OPML."""
    try:
        root = defused_fromstring(data)
    except DefusedXmlException as exc:
        raise ConfigError(f"{source}: refused: the OPML declares entities or external references ({exc})") from exc
    except ParseError as exc:
        raise ConfigError(f"{source}: not well-formed XML ({exc}); export the OPML again") from exc
    if _local(root.tag) != "opml":
        raise ConfigError(f"{source}: the root element is <{_local(root.tag)}>, not <opml>; is this an OPML file?")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise ConfigError(f"{source}: the OPML has no <body> element, so no outlines")
    feeds: list[OpmlFeed] = []
    skipped: list[SkippedOutline] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    _walk(body, (), feeds, skipped, notes, seen)
    return OpmlDocument(tuple(feeds), tuple(skipped), tuple(notes))


def _walk(
    element: Any,
    folders: tuple[str, ...],
    feeds: list[OpmlFeed],
    skipped: list[SkippedOutline],
    notes: list[str],
    seen: dict[str, str],
) -> None:
    for outline in element:
        if _local(outline.tag) != "outline":
            continue
        title = _clean(outline.get("title")) or _clean(outline.get("text"))
        raw_url = _clean(outline.get("xmlUrl") or outline.get("xmlurl"))
        children = [c for c in outline if _local(c.tag) == "outline"]
        label = " / ".join((*folders, title or raw_url or "(untitled outline)"))
        if raw_url is None:
            if children:
                _walk(outline, (*folders, title or "(untitled folder)"), feeds, skipped, notes, seen)
            else:
                html = _clean(outline.get("htmlUrl"))
                reason = f"no xmlUrl (a web page link {html}, not a feed)" if html else "no xmlUrl: not a feed"
                skipped.append(SkippedOutline(label, reason))
            continue
        url = _rewrite_feed_scheme(raw_url)
        try:
            check_feed_url(url)
            key = canonical_url(url)
        except (ConfigError, ValueError) as exc:
            skipped.append(SkippedOutline(label, f"bad xmlUrl {raw_url!r}: {exc}"))
        else:
            if key in seen:
                skipped.append(SkippedOutline(label, f"duplicate of {seen[key]}"))
            else:
                seen[key] = url
                language = _language(outline.get("language"), label, notes)
                feeds.append(OpmlFeed(url, title, language, folders, _site_url(outline.get("htmlUrl"))))
        if children:
            _walk(outline, (*folders, title or url), feeds, skipped, notes, seen)


def _rewrite_feed_scheme(url: str) -> str:
    lowered = url.lower()
    if lowered.startswith(("feed:http://", "feed:https://")):
        return url[len("feed:") :]
    if lowered.startswith("feed://"):
        return "http://" + url[len("feed://") :]
    return url


def _site_url(value: str | None) -> str | None:
    """An ``htmlUrl`` usable for the outlet: an http(s) URL with a host, else None."""
    text = _clean(value)
    if text is None or not text.lower().startswith(("http://", "https://")):
        return None
    try:
        return text if outlet_of(text) else None
    except ValueError:  # a malformed host or port
        return None


def _language(value: str | None, label: str, notes: list[str]) -> str | None:
    text = _clean(value)
    if text is None:
        return None
    match = _LANGUAGE.match(text)
    if not match:
        notes.append(f"{label}: language {text!r} is not an ISO 639-1 code; left out")
        return None
    return match.group(1).lower()


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]
