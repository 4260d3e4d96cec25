"""Per-host politeness: spacing, a concurrency budget, and backing off when a server says so.

One ``PolitenessScheduler`` is shared by every fetch of a process (feed polls, article pages, robots.txt), so
a site whose feed was just polled does not get an article request a moment later. It never sleeps: the pure
``next_allowed_at(host, now)`` says when the host may be asked next, and ``try_acquire`` either grants a slot
or returns the time to come back; the fetcher sleeps with its injected ``sleep`` (or raises
``HostBackoffError`` when that is too far off), so tests drive it with a fake clock.

Rules, per host name (ports ignored: they are the same server):

- consecutive request *starts* are at least ``max(min_delay_s, crawl-delay)`` apart, whatever their kind;
- at most ``max_concurrency_per_host`` requests in flight (a slot is held until the body is read);
- a 429 or 503 pushes the next slot to now + its ``Retry-After`` (seconds or HTTP date), or
  ``default_backoff_s`` when absent, capped at ``max_retry_after_s``.
"""

from __future__ import annotations

import email.utils
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from storywire.connectors.http.config import HttpConfig

BACKOFF_STATUSES = frozenset({429, 503})
_PRUNE_ABOVE = 10_000


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date), None when absent or invalid.

    ``now`` should be the response's ``Date`` header when it has one: a date is then read on the server's own
    clock, immune to skew between its clock and ours.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322 convention
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class Slot:
    """Permission for one request to ``host``; give it back with ``release``."""

    host: str
    started_at: float


@dataclass(slots=True)
class _HostState:
    last_start: float = -math.inf
    blocked_until: float = -math.inf
    in_flight: int = 0
    crawl_delay: float = 0.0


class PolitenessScheduler:
    """Thread-safe per-host slot keeper; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        min_delay_s: float,
        max_concurrency_per_host: int = 1,
        default_backoff_s: float = 30.0,
        max_retry_after_s: float = 6 * 3600.0,
        max_crawl_delay_s: float = 60.0,
        busy_poll_s: float = 0.05,
    ) -> None:
        self._min_delay = min_delay_s
        self._max_concurrency = max_concurrency_per_host
        self._default_backoff = default_backoff_s
        self._max_retry_after = max_retry_after_s
        self._max_crawl_delay = max_crawl_delay_s
        self._busy_poll = busy_poll_s
        self._lock = threading.Lock()
        self._hosts: dict[str, _HostState] = {}
        self._prune_above = _PRUNE_ABOVE

    @classmethod
    def from_config(cls, config: HttpConfig) -> PolitenessScheduler:
        return cls(
            min_delay_s=config.min_delay_s,
            max_concurrency_per_host=config.max_concurrency_per_host,
            default_backoff_s=config.default_backoff_s,
            max_retry_after_s=config.max_retry_after_s,
            max_crawl_delay_s=config.max_crawl_delay_s,
        )

    def delay_for(self, host: str) -> float:
        """The minimum spacing between request starts to ``host`` now in force."""
        with self._lock:
            state = self._hosts.get(host)
            return self._delay(state)

    def next_allowed_at(self, host: str, now: float) -> float:
        """When the next request to ``host`` may start (``now`` or later); ignores the concurrency budget."""
        with self._lock:
            return self._next_allowed(self._hosts.get(host), now)

    def try_acquire(self, host: str, now: float) -> Slot | float:
        """A slot if ``host`` may be asked now, otherwise the time at which to try again."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                if len(self._hosts) >= self._prune_above:
                    self._prune(now)
                state = self._hosts[host] = _HostState()
            allowed_at = self._next_allowed(state, now)
            if allowed_at > now:
                return allowed_at
            if state.in_flight >= self._max_concurrency:
                return now + self._busy_poll  # woken by polling: a release has no waiter to notify
            state.in_flight += 1
            state.last_start = now
            return Slot(host, now)

    def release(self, slot: Slot, now: float, *, status: int | None = None, retry_after: float | None = None) -> float:
        """Give the slot back; after a 429/503 push the host's next slot. Returns the back-off applied (s)."""
        backoff = 0.0
        if status in BACKOFF_STATUSES:
            backoff = self._default_backoff if retry_after is None else retry_after
            backoff = min(max(backoff, 0.0), self._max_retry_after)
        with self._lock:
            state = self._hosts.setdefault(slot.host, _HostState())
            state.in_flight = max(0, state.in_flight - 1)
            if backoff > 0:
                state.blocked_until = max(state.blocked_until, now + backoff)
        return backoff

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        """Record robots.txt's crawl-delay for ``host`` (capped at ``max_crawl_delay_s``; None clears it)."""
        delay = 0.0 if seconds is None else min(max(float(seconds), 0.0), self._max_crawl_delay)
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                if delay == 0.0:
                    return
                state = self._hosts[host] = _HostState()
            state.crawl_delay = delay

    def __len__(self) -> int:
        with self._lock:
            return len(self._hosts)

    def _delay(self, state: _HostState | None) -> float:
        return self._min_delay if state is None else max(self._min_delay, state.crawl_delay)

    def _next_allowed(self, state: _HostState | None, now: float) -> float:
        if state is None:
            return now
        return max(now, state.last_start + self._delay(state), state.blocked_until)

    def _prune(self, now: float) -> None:
        """Forget hosts that constrain nothing any more, so memory follows the active hosts only."""
        idle = [
            host
            for host, state in self._hosts.items()
            if state.in_flight == 0 and state.crawl_delay == 0.0 and self._next_allowed(state, now) <= now
        ]
        for host in idle:
            del self._hosts[host]
        self._prune_above = max(_PRUNE_ABOVE, 2 * len(self._hosts))
