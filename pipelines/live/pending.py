"""Page fetches still to do, kept across restarts: retries waiting for their time, and work a stop interrupted.

The poll state marks an item seen as soon as its feed was read; until its page is emitted, the page is
"pending" and saved beside the poll state (``<state.path>.pages``), so a crash or a stop never loses it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from storywire.connectors.feeds.feed_hints import retry_after_seconds
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.feeds.schedule import backoff_delay
from storywire.connectors.feeds.settings import PollSettings
from storywire.connectors.feeds.state_store import StateFileError
from storywire.connectors.files import write_atomically
from storywire.schemas.records import parse_time

# The shortest wait before a page retry, whatever the server's Retry-After says (0 included): a retry in the
# same instant would meet the same busy server.
PAGE_RETRY_FLOOR_S = 1.0


@dataclass(frozen=True, slots=True)
class PendingPage:
    """A page fetch to do: the item, its outlet, how many attempts failed, and when to try."""

    item: FeedItem
    outlet: str | None
    failed_attempts: int
    due_at: datetime


class PendingPagesStore:
    """Pending pages saved beside the poll state (their items are already marked seen there)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def load(self) -> list[PendingPage]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            return [_pending_from_dict(entry) for entry in orjson.loads(raw)["pages"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise StateFileError(
                f"pending-pages file {self.path} is unreadable ({exc}); move it aside to start without its retries"
            ) from exc

    def save(self, pages: Sequence[PendingPage]) -> None:
        body = orjson.dumps({"version": 1, "pages": [dataclasses.asdict(p) for p in pages]}, option=orjson.OPT_UTC_Z)
        write_atomically(self.path, body)


def _pending_from_dict(entry: dict[str, Any]) -> PendingPage:
    item = dict(entry["item"])
    item["authors"] = tuple(item["authors"])
    for name in ("published_at", "seen_at"):
        if item[name] is not None:
            item[name] = parse_time(item[name])
    return PendingPage(
        item=FeedItem(**item),
        outlet=entry["outlet"],
        failed_attempts=int(entry["failed_attempts"]),
        due_at=parse_time(entry["due_at"]),
    )


def page_retry_delay(link: str, failed: int, retry_after_s: float | None, polling: PollSettings) -> float:
    """Seconds to wait before fetching ``link`` again after its ``failed``-th failed attempt (>= 1).

    The server's ``Retry-After`` (``retry_after_s``; None when it sent none) is obeyed when it gave one, else
    ``polling.page_retry_base * 2**(failed - 1)`` with the poll schedule's deterministic jitter (a factor in
    [0.5, 1) fixed by the link and the attempt: the same in every run and replay, while pages failing together
    do not retry in lockstep). Either is at least :data:`PAGE_RETRY_FLOOR_S` and at most
    ``polling.page_retry_max_delay``.
    """
    cap = polling.page_retry_max_delay.total_seconds()
    floor = min(PAGE_RETRY_FLOOR_S, cap)
    if retry_after_s is not None:
        return min(max(retry_after_s, floor), cap)
    return min(backoff_delay(link, failed, polling.page_retry_base.total_seconds(), cap, floor), cap)


def retry_after_s(error: BaseException, now: datetime) -> float | None:
    """The error's ``retry_after`` in seconds (a number, a timedelta, an HTTP date...); None without one."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):
            return None
        return max(float(value), 0.0)  # "Retry-After: 0" is an answer too: retry at the floor
    return retry_after_seconds(value, now)
