"""Per-feed poll state: what a restart must remember so it neither re-emits items nor polls everything at once.

:class:`FeedState` is owned and mutated by :class:`~storywire.connectors.feeds.poll.FeedPoller` (a 304 must cost next
to nothing, so no copy per poll); others read it, e.g. to checkpoint it with
:mod:`storywire.connectors.feeds.state_store`.

Seen items are kept as 64-bit hashes: ``key`` = hash of ``FeedItem.item_key`` (guid/id, else canonical link,
else title+date hash), ``fingerprint`` = hash of the item's title, summary and canonical link. A known key with a new
fingerprint is an *edited* item. The date is left out of the fingerprint on purpose: feeds that stamp every
item with the request time would otherwise look edited on every poll and trigger a re-fetch storm.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from storywire.connectors.errors import DamagedStateError
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.urls import canonical_url

_PAIR: Final = struct.Struct(">QQ")
NEW: Final = 0
UPDATED: Final = 1
SAME: Final = 2
Sighting = Literal[0, 1, 2]


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def item_key_hash(item: FeedItem) -> int:
    """64-bit hash of the item's identity."""
    return _hash64(item.item_key)


def item_fingerprint(item: FeedItem) -> int:
    """64-bit hash of what an edit changes: title, summary and canonical link (not the date, see the module doc).

    The canonical link, so that a new tracking parameter (``utm_source=app``) is not an edit.
    """
    return _hash64(f"{item.title}\x00{item.summary}\x00{canonical_url(item.link)}")


class SeenItems:
    """Item key hash -> content fingerprint, least recently listed first, at most ``capacity`` entries.

    Items listed by a poll are moved to the end; trimming drops the oldest. A poll that lists more items than
    ``capacity`` keeps all of them (``trim(keep_at_least=...)``), otherwise the feed's own items would be
    evicted and come back as new on the next poll.
    """

    __slots__ = ("_items", "capacity")

    def __init__(self, capacity: int, items: dict[int, int] | None = None) -> None:
        self.capacity = capacity
        self._items: dict[int, int] = items if items is not None else {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._items.items())

    def peek(self, key: int, fingerprint: int) -> Sighting:
        """What :meth:`sight` would say, without recording anything."""
        previous = self._items.get(key)
        if previous is None:
            return NEW
        return SAME if previous == fingerprint else UPDATED

    def recent(self, count: int) -> set[int]:
        """The keys of the ``count`` most recently listed items (a poll's whole list, when it recorded that many)."""
        keys: set[int] = set()
        if count <= 0:
            return keys
        for key in reversed(self._items):
            keys.add(key)
            if len(keys) >= count:
                break
        return keys

    def sight(self, key: int, fingerprint: int) -> Sighting:
        """Record one listing of an item; say whether it was new, edited or the same."""
        previous = self._items.pop(key, None)
        self._items[key] = fingerprint
        if previous is None:
            return NEW
        return SAME if previous == fingerprint else UPDATED

    def trim(self, keep_at_least: int = 0) -> None:
        """Drop the least recently listed items beyond ``max(capacity, keep_at_least)``."""
        excess = len(self._items) - max(self.capacity, keep_at_least)
        if excess <= 0:
            return
        for key in list(self._items)[:excess]:
            del self._items[key]

    def encode(self) -> str:
        """Base64 of 16 bytes per item (key, fingerprint), oldest first: compact in JSON and in Kafka."""
        return base64.b64encode(b"".join(_PAIR.pack(k, f) for k, f in self._items.items())).decode("ascii")

    @classmethod
    def decode(cls, text: str, capacity: int) -> SeenItems:
        """The inverse of :meth:`encode`; DamagedStateError on a damaged value."""
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        if len(raw) % _PAIR.size:
            raise DamagedStateError(f"seen items blob has {len(raw)} bytes, not a multiple of {_PAIR.size}")
        seen = cls(capacity, dict(_PAIR.iter_unpack(raw)))
        seen.trim()
        return seen


@dataclass(slots=True, eq=False)
class FeedState:
    """Everything the poller knows about one feed. ``feed_url`` is the configured URL (the identity);
    ``current_url`` follows permanent redirects.

    Times are timezone-aware UTC. ``interval_s`` is the adaptive regular interval; ``next_poll_at`` may be later
    because of a hint (ttl, max-age, Retry-After) or backoff. ``rate_items``/``rate_seconds`` are the decayed
    sums of the publishing-rate estimate (:func:`storywire.connectors.feeds.schedule.decay_rate`). ``body_at`` is when
    the last full body was received (validators are not sent once it is older than the feed's max interval:
    a periodic unconditional GET catches servers that answer 304 for a changed feed). ``hint_s`` is the last
    body's ttl/sy hint. ``last_error`` is the signature of the last failure of the current streak (dead letters
    are written when it changes). ``listed`` is how many items the last parsed poll recorded in ``seen`` (the
    most recently listed entries of ``seen``): loading keeps at least that many, whatever ``seen_items`` says,
    so a feed listing more than ``seen_items`` does not re-emit part of its list after a restart.
    ``turnovers`` counts parsed polls whose list shared no item with the previous parsed list (items may have
    scrolled off unseen between the two: see :mod:`storywire.connectors.feeds.poll`).
    """

    feed_url: str
    current_url: str
    next_poll_at: datetime
    interval_s: float
    seen: SeenItems
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    body_at: datetime | None = None
    last_success_at: datetime | None = None
    failures: int = 0
    broken: bool = False
    last_error: str | None = None
    rate_items: float = 0.0
    rate_seconds: float = 0.0
    hint_s: float | None = None
    listed: int = 0
    turnovers: int = 0
    generation: int = field(default=0, repr=False)
    """Bumped at every reschedule; the poller's heap entries of older generations are stale."""
