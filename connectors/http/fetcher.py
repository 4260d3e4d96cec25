"""``HttpFetcher``: the one way storywire fetches a live URL (feeds, article pages, robots.txt).

Each hop of a fetch goes: SSRF guard (scheme, resolution, every address checked) -> robots.txt (article pages
only) -> per-host politeness slot (sleeping with the injected ``sleep``, or ``HostBackoffError`` when the wait
is too long) -> one GET over the pinned transport -> body streamed through a bounded decoder. Redirects are
followed here, hop by hop, so every hop passes the guard, robots and politeness again.

Time: ``HttpConfig.total_timeout_s`` is one budget for the network time of a whole fetch, all hops together.
Each hop gets what is left of it, as a hard deadline the pinned transport applies to every socket operation
(``transport.deadline``), so the fetch ends within the budget even when a server trickles its response
headers or chunked framing a byte at a time; it then raises ``FetchTimeoutError`` (retryable) and the
connection is closed. The budget is counted with the injected ``clock``; the socket deadline uses
``time.monotonic`` because sockets wait in real time.

Client library: **httpx** (over httpcore). It is maintained and typed, has explicit connect/read/write/pool
timeouts and streaming bodies, an injectable transport (``httpx.MockTransport`` runs the unit tests without
sockets), and underneath it httpcore's pluggable *network backend*, which is what lets us connect to the
checked IP while leaving the URL alone, so the Host header, TLS SNI and certificate checks stay right (see
``transport.py``). urllib3 can pin too (a pool per IP with ``server_hostname``/``assert_hostname``), but its
pools are then keyed by IP and it offers no socket-free test transport. What httpx would do for us and we do
not use: its redirect following (not guarded per hop), its cookie jar (no cookies are kept: a fetch is
stateless), environment proxies (they would bypass the pin) and its content decoding (no output cap: see
``decoding.py``).

Nothing library-specific escapes: httpx, httpcore, ssl and socket errors are mapped to the
``storywire.connectors.http.errors`` tree (or ``HttpStatusError`` for 4xx/5xx) with ``raise ... from exc``. There are
no retries here: errors say ``retryable``, and the caller (the poller) decides when to try again.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Literal

import httpcore
import httpx

from storywire.connectors.errors import HttpStatusError, StorywireError
from storywire.connectors.http.address_guard import AddressGuard, Resolver, Target
from storywire.connectors.http.config import HttpConfig
from storywire.connectors.http.decoding import ACCEPT_ENCODING, BoundedDecoder, DecodingFailed, LimitExceeded
from storywire.connectors.http.errors import (
    BodyTooLargeError,
    ConnectError,
    ContentDecodingError,
    FetchError,
    FetchTimeoutError,
    HostBackoffError,
    HttpProtocolError,
    InvalidUrlError,
    RobotsDisallowedError,
    TlsError,
    TooManyRedirectsError,
)
from storywire.connectors.http.politeness import BACKOFF_STATUSES, PolitenessScheduler, Slot, parse_retry_after
from storywire.connectors.http.robots import RobotsPolicy
from storywire.connectors.http.transport import PinnedTransport
from storywire.connectors.http.transport import deadline as transport_deadline
from storywire.connectors.http_types import CapturedResponse

Kind = Literal["feed", "page", "robots"]

_ACCEPT: dict[str, str] = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
# An error or redirect body is read up to this much so the connection can be reused, then dropped.
_DRAIN_BYTES = 64 * 1024
# The body is stored decoded, so these no longer describe it.
_STALE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_LIBRARY_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.StreamError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    OSError,  # includes ssl.SSLError, TimeoutError
)


# What a reused connection the server closed meanwhile raises before any response byte arrives.
_STALE_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    httpcore.RemoteProtocolError,
    httpcore.ReadError,
    httpcore.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one successful fetch (2xx, or 304 for a conditional GET).

    ``response.body`` is decoded (Content-Encoding undone) and empty for a 304; ``response.url`` is the final
    URL. ``redirects`` lists each hop as ``(status, target URL)``; ``permanent_redirect`` is the final URL when
    every hop was a 301/308 (the poller may then store it), else None. ``elapsed_s`` is the whole call,
    ``waited_s`` the part spent waiting for politeness slots.
    """

    response: CapturedResponse
    requested_url: str
    redirects: tuple[tuple[int, str], ...]
    permanent_redirect: str | None
    not_modified: bool
    elapsed_s: float
    waited_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Hop:
    status: int
    headers: httpx.Headers
    body: bytes
    captured_at: datetime


class HttpFetcher:
    """Polite, SSRF-guarded GETs with conditional requests, bounded bodies and mapped errors. Thread-safe.

    Create it where the HTTP session should live (a DoFn's ``setup()``), share one per process so politeness
    holds across feed polls and article fetches (or pass one ``scheduler`` to several fetchers), and
    ``close()`` it in ``teardown()``. ``transport`` replaces the pinned transport (tests): the guard still
    checks every hop, but pinning the connection is then the transport's business.
    """

    def __init__(
        self,
        config: HttpConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        resolver: Resolver = socket.getaddrinfo,
        transport: httpx.BaseTransport | None = None,
        scheduler: PolitenessScheduler | None = None,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self.guard = AddressGuard(config, resolver=resolver, clock=clock)
        self._owns_transport = transport is None
        self._transport = transport if transport is not None else PinnedTransport(config, self.guard)
        self.scheduler = scheduler if scheduler is not None else PolitenessScheduler.from_config(config)
        self.robots = RobotsPolicy(config, self._fetch_robots, clock=clock)
        self._base_headers = {"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING}

    def fetch(
        self,
        url: str,
        *,
        kind: Kind,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url``; conditional when ``etag``/``last_modified`` (validators of the last 200) are given.

        Returns on 2xx and 304; raises ``HttpStatusError`` for any other final status and a ``FetchError``
        subclass for everything else (see ``storywire.connectors.http.errors``).
        """
        if kind not in _ACCEPT:
            raise ValueError(f"kind must be one of {sorted(_ACCEPT)}, got {kind!r}")
        started = self._clock()
        waited = 0.0
        network = 0.0
        current: str | httpx.URL = url
        redirects: list[tuple[int, str]] = []
        for _ in range(self.config.max_redirects + 1):
            target = self.guard.check_url(current)
            if kind == "page" and self.config.robots_enabled:
                self._check_robots(target)
            slot, wait = self._acquire(target)
            waited += wait
            hop_started = self._clock()
            hop: _Hop | None = None
            retry_after: float | None = None
            try:
                hop = self._exchange(target, kind, etag, last_modified, network)
                if hop.status in BACKOFF_STATUSES:
                    retry_after = self._retry_after(hop)
            finally:
                self.scheduler.release(
                    slot, self._clock(), status=None if hop is None else hop.status, retry_after=retry_after
                )
                network += self._clock() - hop_started
            if hop.status in REDIRECT_STATUSES:
                current = self._redirect_target(target, hop)
                redirects.append((hop.status, str(current)))
                continue
            if hop.status == 304 or 200 <= hop.status < 300:
                return self._result(url, target, hop, redirects, started, waited)
            raise HttpStatusError(hop.status, str(target.url), retry_after=retry_after)
        raise TooManyRedirectsError(f"more than {self.config.max_redirects} redirects", url)

    def warm_robots(self, url: str) -> None:
        """Fetch the robots.txt of ``url``'s site now, if page fetches will need it and it is not cached.

        The live engine calls this after a site's first feed poll, so the robots.txt fetch (and the politeness
        gap after it) is not paid by the site's first new article. Errors are the policy's business (cached as
        such); a refused URL or a host in back-off is simply left for later.
        """
        if not self.config.robots_enabled:
            return
        try:
            self.robots.check(self.guard.check_url(url))
        except FetchError:
            return

    def close(self) -> None:
        """Close pooled connections (only those of a transport this fetcher created)."""
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- one hop ---------------------------------------------------------------------------------------------

    def _check_robots(self, target: Target) -> None:
        decision = self.robots.check(target)
        self.scheduler.set_crawl_delay(target.host, decision.crawl_delay)
        if not decision.allowed:
            raise RobotsDisallowedError(
                f"robots.txt does not allow it ({decision.reason})", str(target.url), retry_after=decision.retry_after
            )

    def _fetch_robots(self, url: str) -> CapturedResponse:
        return self.fetch(url, kind="robots").response

    def _acquire(self, target: Target) -> tuple[Slot, float]:
        """A politeness slot for the target's host, sleeping for it; returns the slot and the time waited."""
        waited = 0.0
        while True:
            now = self._clock()
            granted = self.scheduler.try_acquire(target.host, now)
            if isinstance(granted, Slot):
                return granted, waited
            wait = granted - now
            if waited + wait > self.config.max_wait_s:
                raise HostBackoffError(
                    f"{target.host} may not be asked for another {wait:.1f}s", str(target.url), retry_after=wait
                )
            self._sleep(wait)
            waited += max(self._clock() - now, 0.0)

    def _exchange(self, target: Target, kind: Kind, etag: str | None, last_modified: str | None, spent: float) -> _Hop:
        url = str(target.url)
        remaining = self.config.total_timeout_s - spent
        if remaining <= 0:
            raise FetchTimeoutError(f"total timeout of {self.config.total_timeout_s}s reached", url)
        headers = dict(self._base_headers)
        headers["Accept"] = _ACCEPT[kind]
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        connect = min(self.config.connect_timeout_s, remaining)
        read = min(self.config.read_timeout_s, remaining)
        timeouts = {"connect": connect, "read": read, "write": read, "pool": connect}
        deadline = self._clock() + remaining
        # The same budget as a hard deadline on the real sockets: each read, write, connect and TLS handshake of
        # the pinned transport ends by it, so a server trickling its headers or chunk framing cannot outlast it.
        hard_deadline = time.monotonic() + remaining
        try:
            with transport_deadline(hard_deadline):
                request = httpx.Request("GET", target.url, headers=headers, extensions={"timeout": timeouts})
                response = self._send(request)
                try:
                    captured_at = self._wall_clock()
                    if response.status_code == 304 or 200 <= response.status_code < 300:
                        body = self._read_body(response, kind, url, deadline)
                    else:
                        self._drain(response, deadline)
                        body = b""
                finally:
                    response.close()
        except StorywireError:
            raise
        except _LIBRARY_ERRORS as exc:
            mapped = map_library_error(exc, url)
            if isinstance(mapped, FetchTimeoutError) and time.monotonic() >= hard_deadline:
                mapped = FetchTimeoutError(f"total timeout of {self.config.total_timeout_s}s reached", url)
            raise mapped from exc
        return _Hop(response.status_code, response.headers, body, captured_at)

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; once more when the connection dropped before any response came back.

        A kept-alive connection the server has just closed fails this way on reuse (a race every HTTP client
        meets); a GET is idempotent, so asking again on a fresh connection is safe. A server that drops every
        connection fails the second time too, with the same error.
        """
        try:
            return self._transport.handle_request(request)
        except _STALE_CONNECTION_ERRORS:
            return self._transport.handle_request(request)

    def _read_body(self, response: httpx.Response, kind: Kind, url: str, deadline: float) -> bytes:
        """The decoded body, capped while streaming; robots.txt is cut at the cap instead of refused."""
        truncate = kind == "robots"
        limit = self.config.robots_max_bytes if truncate else self.config.max_body_bytes
        declared = response.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            raise BodyTooLargeError(f"Content-Length {declared} exceeds the {limit}-byte cap", url)
        if response.is_stream_consumed:
            # An injected transport returned a pre-read response (httpx.MockTransport with content=...):
            # httpx has decoded it already, so only the cap applies.
            body = response.content
            if len(body) > limit and not truncate:
                raise BodyTooLargeError(f"body exceeds the {limit}-byte cap", url)
            return body[:limit]
        parts: list[bytes] = []
        raw = 0
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding"), limit)
            for chunk in response.iter_raw():
                raw += len(chunk)
                if raw > limit:
                    raise LimitExceeded
                parts.append(decoder.feed(chunk))
                if self._clock() > deadline:
                    raise FetchTimeoutError(f"total timeout of {self.config.total_timeout_s}s reached", url)
            parts.append(decoder.flush())
        except LimitExceeded as exc:
            if not truncate:
                raise BodyTooLargeError(f"body exceeds the {limit}-byte cap", url) from exc
            kept = b"".join(parts)
            return kept[: kept.rfind(b"\n") + 1]  # whole lines only
        except DecodingFailed as exc:
            raise ContentDecodingError(f"cannot decode the body ({exc})", url) from exc
        return b"".join(parts)

    def _drain(self, response: httpx.Response, deadline: float) -> None:
        """Read a small error/redirect body so the connection may be reused; its failures change nothing."""
        read = 0
        try:
            for chunk in response.iter_raw():
                read += len(chunk)
                if read > _DRAIN_BYTES or self._clock() > deadline:
                    return
        except _LIBRARY_ERRORS:
            return  # the status is the outcome; the broken connection is dropped by close()

    def _retry_after(self, hop: _Hop) -> float | None:
        """Retry-After in seconds, a date read against the server's Date header when present; capped."""
        now = hop.captured_at
        date = hop.headers.get("date")
        if date:
            try:
                server_now = email.utils.parsedate_to_datetime(date)
            except (TypeError, ValueError, IndexError, OverflowError):
                server_now = None
            if server_now is not None and server_now.tzinfo is not None:
                now = server_now
        seconds = parse_retry_after(hop.headers.get("retry-after"), now=now)
        return None if seconds is None else min(seconds, self.config.max_retry_after_s)

    def _redirect_target(self, target: Target, hop: _Hop) -> httpx.URL:
        location = (hop.headers.get("location") or "").strip()
        url = str(target.url)
        if not location:
            raise TooManyRedirectsError(f"HTTP {hop.status} redirect without a Location header", url)
        try:
            return target.url.join(location).copy_with(fragment=None)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidUrlError(f"bad redirect Location {location!r}", url) from exc

    def _result(
        self,
        requested: str,
        target: Target,
        hop: _Hop,
        redirects: list[tuple[int, str]],
        started: float,
        waited: float,
    ) -> FetchResult:
        headers = tuple(
            (key.decode("latin-1"), value.decode("latin-1"))
            for key, value in hop.headers.raw
            if key.decode("latin-1").lower() not in _STALE_HEADERS
        )
        response = CapturedResponse(
            url=str(target.url),
            captured_at=hop.captured_at,
            status=hop.status,
            headers=headers,
            body=hop.body,
            source_ref="live",
        )
        permanent = bool(redirects) and all(status in PERMANENT_REDIRECT_STATUSES for status, _ in redirects)
        return FetchResult(
            response=response,
            requested_url=requested,
            redirects=tuple(redirects),
            permanent_redirect=str(target.url) if permanent else None,
            not_modified=hop.status == 304,
            elapsed_s=self._clock() - started,
            waited_s=waited,
        )


def _tls_in_chain(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def map_library_error(exc: BaseException, url: str) -> FetchError:
    """The storywire error for an httpx/httpcore/ssl/socket exception (the caller raises it ``from exc``)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, (httpx.TimeoutException, httpcore.TimeoutException, TimeoutError)):
        return FetchTimeoutError(f"timed out ({type(exc).__name__})", url)
    if _tls_in_chain(exc):
        return TlsError(f"TLS failed ({detail})", url)
    if isinstance(exc, (httpx.ConnectError, httpcore.ConnectError, httpx.ProxyError, httpcore.ProxyError)):
        return ConnectError(f"cannot connect ({detail})", url)
    if isinstance(exc, (httpx.NetworkError, httpcore.NetworkError, OSError)):
        return ConnectError(f"connection broken ({detail})", url)
    if isinstance(exc, httpx.DecodingError):
        return ContentDecodingError(f"cannot decode the body ({detail})", url)
    if isinstance(exc, httpx.TooManyRedirects):
        return TooManyRedirectsError(detail, url)
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol, httpcore.UnsupportedProtocol)):
        return InvalidUrlError(f"cannot request it ({detail})", url)
    return HttpProtocolError(f"HTTP failure ({type(exc).__name__}: {detail})", url)
