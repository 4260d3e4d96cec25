"""Pair archived feed sightings with archived page captures (the replay-only part of the graph; pure).

Live runs fetch a page right after a feed lists it; an archive holds both separately, so replay joins them on
the canonical URL. Each page capture becomes one :class:`~storywire.pipelines.core.normalise.PageTask` carrying
the earliest sighting; a listed URL without any capture becomes a ``NotCapturedError`` failure.

Outlets: the live run credits a page to the ``outlet`` configured for the feed that listed it. Given the live
config's ``feed_outlets`` (canonical feed URL -> outlet, :attr:`~storywire.pipelines.config.replay.ReplayConfig.
feed_outlets`), the task carries the outlet of the earliest sighting's feed (its ``feed_url`` canonicalised the
same way; a feed the archive shows redirected, e.g. http -> https, matches at its final URL too:
:func:`outlets_through_redirects`); a page of any other feed, or unlisted, keeps ``outlet=None``: the canonical
URL's host.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import urljoin

from storywire.connectors.errors import NotCapturedError
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.urls import canonical_url
from storywire.pipelines.core.normalise import PageTask

MAX_REDIRECT_HOPS = 10


def redirect_edge(response: CapturedResponse) -> tuple[str, str]:
    """(canonical URL, canonical target) of an archived 3xx response."""
    target = urljoin(response.url, response.header("Location") or "")
    return canonical_url(response.url), canonical_url(target)


def resolve_redirects(url: str, redirects: Mapping[str, str]) -> str:
    """Follow archived redirect hops from a canonical URL to the URL whose page was captured (cycles stop)."""
    seen = {url}
    for _ in range(MAX_REDIRECT_HOPS):
        target = redirects.get(url)
        if target is None or target in seen:
            return url
        seen.add(target)
        url = target
    return url


def outlets_through_redirects(feed_outlets: Mapping[str, str], redirects: Mapping[str, str]) -> dict[str, str]:
    """``feed_outlets`` (canonical feed URL -> outlet) plus the final URL of each configured feed the archive
    shows redirected (archived items name the URL their feed was fetched from; the live run credits them to the
    configured feed). A configured URL keeps its own outlet; of two feeds redirected to one URL, the first in
    URL order gives it."""
    outlets = dict(feed_outlets)
    for url, outlet in sorted(feed_outlets.items()):
        outlets.setdefault(resolve_redirects(url, redirects), outlet)
    return outlets


def outlet_for(item: FeedItem | None, feed_outlets: Mapping[str, str]) -> str | None:
    """The outlet configured for the feed that listed ``item`` (matched on the canonical feed URL), else None."""
    if item is None or not feed_outlets:
        return None
    return feed_outlets.get(canonical_url(item.feed_url))


def pair_captures(
    url_key: str,
    sightings: Iterable[FeedItem],
    captures: Iterable[CapturedResponse],
    feed_outlets: Mapping[str, str] | None = None,
) -> Iterator[PageTask | Failure]:
    ordered_sightings = sorted(sightings, key=lambda s: (s.seen_at, s.feed_url, s.item_key))
    ordered_captures = sorted(captures, key=lambda c: (c.captured_at, c.source_ref))
    first = ordered_sightings[0] if ordered_sightings else None
    if not ordered_captures:
        if first is not None:
            error = NotCapturedError(f"listed in {first.feed_url} but no page capture in the archive")
            yield Failure.from_exception(
                Stage.JOIN_ARCHIVE, first.link, error, first.seen_at, payload_ref=first.feed_url
            )
        return
    outlet = outlet_for(first, feed_outlets or {})
    for capture in ordered_captures:
        first_seen = first.seen_at if first is not None else capture.captured_at
        yield PageTask(item=first, first_seen_at=min(first_seen, capture.captured_at), response=capture, outlet=outlet)
