"""Exact-repeat removal and revision numbering per article id (pure; bounded by the caller's keying).

An article fetched again with the same ``content_hash`` is a repeat and is dropped; with a new hash it is a
revision: same ``article_id``, ``revision`` + 1. Consumers see each distinct text of an article once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from schemas.records import Article


def order_key(article: Article) -> tuple[str, str, int, str]:
    """Event-time order of the stream: first sighting for a first revision, capture time for later ones."""
    when = article.first_seen_at if article.revision == 1 else article.captured_at
    return (when.isoformat(), article.article_id, article.revision, article.content_hash)


def number_revisions(captures: Iterable[Article]) -> Iterator[Article | None]:
    """Given every capture of ONE article id, yield each distinct revision in capture order, or None for a repeat.

    Captures are sorted by (captured_at, content_hash) first, so the result does not depend on input order.
    The earliest sighting of the id is kept as ``first_seen_at`` on every revision.
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
        yield article.replace(revision=revision, first_seen_at=first_seen)
