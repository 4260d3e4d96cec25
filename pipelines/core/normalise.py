"""Turn a fetched page (and the feed item that listed it) into an :class:`~storywire.schemas.records.Article`.

Pure functions, shared by replay and live runs. The rules:

- outlet: the one configured for the feed (live runs), else the canonical URL's host without ``www.``;
- canonical URL: the page's ``<link rel=canonical>`` when it stays on the same outlet (a canonical pointing at
  another site could hijack the id), else the fetched URL; both normalised by
  :func:`storywire.connectors.urls.canonical_url`;
- ``article_id`` = hash of the canonical URL, so polls, replays and revisions of one article share it;
- title: the page's, else the feed item's; summary: the feed's, else the start of the text;
- ``published_at``: the feed item's date, else the page's, when plausible (not before 1990, not more than an hour
  after the item was first seen: :func:`storywire.pipelines.core.event_time.plausible_time`, the rule story
  clustering applies too); else null;
- language: the page's ``<html lang>``, else the feed's ``<language>``, else null;
- ``content_hash`` over the whitespace- and case-normalised title and text: equal hashes are exact repeats.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from storywire.connectors.articles.extract import ExtractedPage
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.urls import article_id_for, canonical_url, outlet_of, same_outlet
from storywire.pipelines.core.event_time import plausible_time
from storywire.schemas.records import Article

SUMMARY_FROM_TEXT_CHARS = 300


@dataclass(frozen=True, slots=True)
class PageTask:
    """A page response to turn into an article, with the feed sighting that led to it (None if unlisted)."""

    item: FeedItem | None
    first_seen_at: datetime
    response: CapturedResponse
    outlet: str | None = None
    """The outlet configured for the feed (live runs); None: the canonical URL's host."""


def build_article(task: PageTask, page: ExtractedPage) -> Article:
    response = task.response
    fetched = canonical_url(response.url)
    canonical = fetched
    if page.canonical_url and page.canonical_url.startswith(("http://", "https://")):
        candidate = canonical_url(page.canonical_url)
        if same_outlet(candidate, fetched):
            canonical = candidate
    item = task.item
    title = page.title or (item.title if item else "")
    summary = item.summary if item and item.summary else lead(page.text)
    published = plausible_time(item.published_at if item else None, task.first_seen_at)
    if published is None:
        published = plausible_time(page.published_at, task.first_seen_at)
    language = page.language or (item.feed_language if item else None)
    authors = page.authors or (item.authors if item else ())
    return Article(
        article_id=article_id_for(canonical),
        url=item.link if item else response.url,
        canonical_url=canonical,
        outlet=task.outlet or outlet_of(canonical),
        feed_url=item.feed_url if item else None,
        title=title,
        summary=summary,
        text=page.text,
        authors=authors,
        language=language,
        published_at=published,
        first_seen_at=task.first_seen_at,
        captured_at=response.captured_at,
        revision=1,
        extraction_method=page.method,
        content_hash=content_hash(title, page.text),
    )


def content_hash(title: str, text: str) -> str:
    normalised = " ".join(f"{title}\n{text}".lower().split())
    return hashlib.blake2b(normalised.encode("utf-8"), digest_size=16).hexdigest()


def lead(text: str) -> str:
    """An article's summary when its source gives none: the text up to about 300 characters, cut at a word."""
    if len(text) <= SUMMARY_FROM_TEXT_CHARS:
        return text
    cut = text.rfind(" ", 0, SUMMARY_FROM_TEXT_CHARS)
    return text[: cut if cut > 0 else SUMMARY_FROM_TEXT_CHARS] + "…"
