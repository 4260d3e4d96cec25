"""robots.txt: fetched once per site per TTL through the fetcher itself, and applied to article pages.

Policy (RFC 9309, and Google's documented handling where the RFC leaves a choice):

- **Scope**: only ``kind="page"`` fetches (article URLs discovered in feeds) are checked. Feeds are not: the
  operator listed each feed URL explicitly, which is the user-initiated case robots.txt does not govern, and
  many sites disallow ``/feed`` paths for crawlers while publishing them for readers. Crawl-delay, once known,
  spaces every request to the host (feeds included) through the politeness scheduler, capped at
  ``max_crawl_delay_s``.
- **Where**: ``scheme://host[:port]/robots.txt``, cached per origin for ``robots_ttl_s`` (24 h by default, the
  RFC's upper bound). Fetched with ``kind="robots"``: same SSRF guard and politeness, redirects followed,
  body truncated (not refused) at ``robots_max_bytes`` at a line boundary.
- **2xx**: parsed with ``urllib.robotparser`` for the user agent's product token.
- **4xx** (404, 401, 403, 410...) except 429, and too many redirects: no usable robots.txt, **allow all**.
- **429, 5xx, timeouts, connection/TLS/DNS errors**: the site is unreachable, **disallow all** for
  ``robots_error_ttl_s`` then try again (the refusal says so: ``RobotsDecision.retry_after``, and the page's
  ``RobotsDisallowedError`` is retryable, so the page is fetched later rather than dead-lettered; a 429 or 503
  with ``Retry-After`` shortens that wait to what the server asked); if an
  earlier copy was parsed, keep using it instead; after ``robots_unreachable_allow_after_s`` (30 days) of
  continuous failure, allow all (RFC 9309 2.3.1.4).
- ``HostBackoffError`` (the host is in back-off) propagates: nothing is learned, nothing is cached.

Known limits of ``urllib.robotparser``: the first matching rule wins (RFC 9309 says the longest), ``*`` and
``$`` wildcards in paths are not understood (such a rule never matches), and only integer crawl-delays are
read. A parser implementing RFC 9309 fully (e.g. ``protego``) can replace it behind ``RobotsPolicy``.
"""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass

from storywire.connectors.errors import HttpStatusError
from storywire.connectors.http.address_guard import Target
from storywire.connectors.http.config import HttpConfig
from storywire.connectors.http.errors import FetchError, HostBackoffError, TooManyRedirectsError
from storywire.connectors.http_types import CapturedResponse

RobotsFetch = Callable[[str], CapturedResponse]
_MAX_ORIGINS = 10_000


@dataclass(frozen=True, slots=True)
class RobotsDecision:
    """Whether a URL may be fetched, the site's crawl-delay (seconds) and why, for logs and errors."""

    allowed: bool
    crawl_delay: float | None
    reason: str
    retry_after: float | None = None
    """Refused only for now (robots.txt unreachable): seconds until it is asked for again."""


@dataclass(slots=True)
class _Entry:
    expires_at: float
    rules: urllib.robotparser.RobotFileParser | None  # None: ``allow_all`` decides
    allow_all: bool
    reason: str
    last_good: urllib.robotparser.RobotFileParser | None = None
    unreachable_since: float | None = None


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def robots_url(target: Target) -> str:
    """The robots.txt URL of the target's origin."""
    return str(target.url.copy_with(path="/robots.txt", query=None, fragment=None))


def parse_robots(body: bytes) -> urllib.robotparser.RobotFileParser:
    """A parser loaded with ``body`` (UTF-8, invalid bytes replaced, BOM ignored)."""
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(body.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines())
    return parser


def crawl_delay_of(parser: urllib.robotparser.RobotFileParser, agent: str) -> float | None:
    """Crawl-delay for ``agent``, also derived from Request-rate (``n/seconds``); None when neither is set."""
    delays: list[float] = []
    delay = parser.crawl_delay(agent)
    if delay is not None:
        delays.append(float(delay))
    rate = parser.request_rate(agent)
    if rate is not None and rate.requests > 0:
        delays.append(rate.seconds / rate.requests)
    return max(delays) if delays else None


class RobotsPolicy:
    """Caches robots.txt per origin and answers ``check(target)``. Thread-safe: one fetch per origin at a time."""

    def __init__(self, config: HttpConfig, fetch: RobotsFetch, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._agent = config.robots_agent
        self._ttl = config.robots_ttl_s
        self._error_ttl = config.robots_error_ttl_s
        self._give_up_after = config.robots_unreachable_allow_after_s
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, _Entry] = {}

    def check(self, target: Target) -> RobotsDecision:
        """Whether our agent may fetch ``target``; fetches robots.txt first when not cached or expired."""
        url = robots_url(target)
        entry = self._entry(url)
        if entry.rules is None:
            temporary = not entry.allow_all and entry.unreachable_since is not None
            retry_after = max(0.0, entry.expires_at - self._clock()) if temporary else None
            return RobotsDecision(entry.allow_all, None, entry.reason, retry_after)
        allowed = entry.rules.can_fetch(self._agent, str(target.url))
        return RobotsDecision(allowed, crawl_delay_of(entry.rules, self._agent), entry.reason)

    def _entry(self, url: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(url)
            if entry is not None and entry.expires_at > self._clock():
                return entry
            origin_lock = self._origin_locks.setdefault(url, threading.Lock())
        with origin_lock:
            with self._lock:
                entry = self._entries.get(url)
            now = self._clock()
            if entry is not None and entry.expires_at > now:
                return entry  # another thread refreshed it while we waited
            fresh = self._refresh(url, entry, now)
            with self._lock:
                if len(self._entries) >= _MAX_ORIGINS:
                    self._forget_expired(now)
                self._entries[url] = fresh
            return fresh

    def _refresh(self, url: str, previous: _Entry | None, now: float) -> _Entry:
        last_good = previous.rules if previous is not None and previous.unreachable_since is None else None
        if previous is not None and last_good is None:
            last_good = previous.last_good
        try:
            response = self._fetch(url)
        except HostBackoffError:
            raise
        except HttpStatusError as exc:
            if exc.status == 429 or exc.status >= 500:
                why = f"robots.txt answered {exc.status}"
                return self._unreachable(previous, last_good, now, why, retry_after=_seconds(exc.retry_after))
            return _Entry(now + self._ttl, None, True, f"no robots.txt (HTTP {exc.status}): all allowed")
        except TooManyRedirectsError:
            return _Entry(now + self._ttl, None, True, "robots.txt redirects too often: all allowed")
        except FetchError as exc:
            return self._unreachable(previous, last_good, now, f"robots.txt unreachable ({type(exc).__name__})")
        rules = parse_robots(response.body)
        return _Entry(now + self._ttl, rules, False, "robots.txt rules")

    def _unreachable(
        self,
        previous: _Entry | None,
        last_good: urllib.robotparser.RobotFileParser | None,
        now: float,
        why: str,
        *,
        retry_after: float | None = None,
    ) -> _Entry:
        since = now
        if previous is not None and previous.unreachable_since is not None:
            since = previous.unreachable_since
        # A server that said when to come back (429/503 Retry-After) is asked again then, not a full TTL later.
        ttl = self._error_ttl if retry_after is None else min(self._error_ttl, max(retry_after, 1.0))
        if now - since >= self._give_up_after:
            return _Entry(now + ttl, None, True, f"{why} for too long: all allowed", last_good, since)
        if last_good is not None:
            return _Entry(now + ttl, last_good, False, f"{why}: using the last copy", last_good, since)
        return _Entry(now + ttl, None, False, f"{why}: all disallowed for now", None, since)

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, entry in self._entries.items() if entry.expires_at <= now]:
            del self._entries[key]
            self._origin_locks.pop(key, None)
