"""Exact-repeat removal and revision numbering per article id (pure; bounded by the caller's keying).

An article fetched again with the same ``content_hash`` is a repeat and is dropped; with a new hash it is a
revision: same ``article_id``, ``revision`` + 1. Consumers see each distinct text of an article once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storywire.pipelines.core.event_time import plausible_time
from storywire.schemas.records import Article


def stream_time(article: Article) -> datetime:
    """When an article revision enters the story stream: its first sighting for a first revision, its capture
    for a later one. The story core is advanced to this time before the article is assigned."""
    return article.first_seen_at if article.revision == 1 else article.captured_at


def stream_order(
    when: datetime, article_id: str, revision: int = 1, content_hash: str = ""
) -> tuple[str, str, int, str]:
    """The sort key of the stream order: stream time, then article id (then revision and content hash)."""
    return (when.isoformat(), article_id, revision, content_hash)


def order_key(article: Article) -> tuple[str, str, int, str]:
    """The order articles are fed to the story core (replay sorts by it; a live round sorts its pages the same
    way, by :func:`stream_order` of what it knows before extraction)."""
    return stream_order(stream_time(article), article.article_id, article.revision, article.content_hash)


def _first_seen(article: Article, revision: int, first_seen: datetime) -> Article:
    """``article`` as revision ``revision`` first seen at ``first_seen``, the earliest sighting of its id; its
    ``published_at`` is judged again against that sighting, so it stays one the story core would use."""
    if first_seen == article.first_seen_at:
        return article.replace(revision=revision)
    published = plausible_time(article.published_at, first_seen)
    return article.replace(revision=revision, first_seen_at=first_seen, published_at=published)


def number_revisions(captures: Iterable[Article]) -> Iterator[Article | None]:
    """Given every capture of ONE article id, yield each distinct revision in capture order, or None for a repeat.

    Captures are sorted by (captured_at, content_hash) first, so the result does not depend on input order.
    The earliest sighting of the id is kept as ``first_seen_at`` on every revision (:func:`_first_seen`).
    """
    ordered = sorted(captures, key=lambda a: (a.captured_at, a.content_hash))
    if not ordered:
        return
    first_seen = min(a.first_seen_at for a in ordered)
    seen_hashes: set[str] = set()
    revision = 0
    for article in ordered:
        if article.content_hash in seen_hashes:
            yield None
            continue
        seen_hashes.add(article.content_hash)
        revision += 1
        yield _first_seen(article, revision, first_seen)


class RevisionTracker:
    """The streaming form of :func:`number_revisions`: remembers recent articles, forgets them after ``retention``.

    Entries are kept in least-recently-touched order and dropped once untouched for ``retention`` of stream
    time (the newest capture time seen), so memory is bounded by the article rate times the retention. An
    article seen again after it was forgotten starts over at revision 1 (its id is unchanged).
    """

    def __init__(self, retention: timedelta, max_hashes: int = 64) -> None:
        self._retention = retention
        self._max_hashes = max_hashes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._clock: datetime | None = None

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def retention(self) -> timedelta:
        """How long an untouched article is remembered (stream time); a new value applies from the next
        article on."""
        return self._retention

    @retention.setter
    def retention(self, value: timedelta) -> None:
        self._retention = value

    def observe(self, article: Article) -> Article | None:
        """The article with its revision number, or None when its text was seen before (a repeat)."""
        now = article.captured_at if self._clock is None else max(self._clock, article.captured_at)
        self._clock = now
        self._forget_before(now - self._retention)
        entry = self._entries.get(article.article_id)
        if entry is None:
            entry = _Entry(first_seen=article.first_seen_at)
            self._entries[article.article_id] = entry
        self._entries.move_to_end(article.article_id)
        entry.touched = now
        if article.content_hash in entry.hashes:
            return None
        entry.hashes = [*entry.hashes, article.content_hash][-self._max_hashes :]
        entry.revision += 1
        entry.first_seen = min(entry.first_seen, article.first_seen_at)
        return _first_seen(article, entry.revision, entry.first_seen)

    def _forget_before(self, cutoff: datetime) -> None:
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.touched is None or oldest.touched >= cutoff:
                return
            self._entries.popitem(last=False)


@dataclass
class _Entry:
    first_seen: datetime
    touched: datetime | None = None
    revision: int = 0
    hashes: list[str] = field(default_factory=list)
