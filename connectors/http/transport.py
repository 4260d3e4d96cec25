"""The default transport: httpx requests over an httpcore pool that connects only to guard-checked addresses.

How the pinning works: httpcore asks its *network backend* for a TCP connection to ``(host, port)`` whenever
it opens a new pooled connection. ``PinnedNetworkBackend`` answers by asking the ``AddressGuard`` for the
host's checked addresses (the same cached answer the fetcher's pre-check saw, or a fresh answer checked
again) and connecting to those IPs only. The URL is left untouched, so the ``Host`` header, TLS SNI and
certificate verification all use the real host name, and the pool keys connections by host name (a
connection verified for one name is never reused for another name on the same IP).

The hard deadline: httpcore's timeouts bound each socket operation on its own, so a server that sends one byte
of its headers (or of its chunked framing) just inside every read timeout would hold a fetch for ever. Every
stream this backend opens is therefore a ``_DeadlineStream``: while a fetch runs inside ``deadline(at)``, each
connect, TLS handshake, read and write waits at most ``min(its own timeout, time left until at)`` and raises
httpcore's timeout once no time is left, so the whole exchange ends by ``at`` whatever the server trickles.
``at`` is ``time.monotonic()`` based. It travels in a context variable rather than on the request because the
pool decides which pooled stream serves a request, the streams never see the request, and the body is read
after ``handle_request`` returned; a context variable is per thread, so concurrent fetches keep their own
deadlines, and a kept-alive stream takes the deadline of whichever fetch uses it at the moment.

Limits: a kept-alive connection is checked once, when opened; addresses are tried one after the other (no
Happy Eyeballs), each with the full connect timeout (cut to the time left); proxies are not supported (a proxy
would do its own DNS, defeating the pin), and ``trust_env``-style proxy variables are ignored on purpose.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import certifi
import httpcore
import httpx

from storywire.connectors.http.address_guard import AddressGuard
from storywire.connectors.http.config import HttpConfig

_DEADLINE: ContextVar[float | None] = ContextVar("storywire_http_deadline", default=None)


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Within the block, every socket operation of a pinned connection ends by ``at`` (``time.monotonic()``).

    Wrap the whole exchange in it (request and the reading of the response body), so nothing a server does can
    stretch the exchange past ``at``. Nested blocks keep the earlier deadline.
    """
    outer = _DEADLINE.get()
    token = _DEADLINE.set(at if outer is None else min(outer, at))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> float | None:
    """The ``time.monotonic()`` instant the current fetch must end by, or None outside ``deadline``."""
    return _DEADLINE.get()


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to the time left until the current deadline; raises ``error`` when none is left."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the fetch's total timeout was reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read, write and TLS handshake respects the current ``deadline``."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore sends in a loop with this timeout per send(); a request head fits the socket buffer.
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        try:
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
        except httpcore.ConnectTimeout:
            self._inner.close()
            raise
        # the handshake as a whole is bounded by the socket timeout (CPython's ssl keeps one deadline for it)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to the addresses the guard approved for the requested host.

    The streams it returns honour the current ``deadline`` (see the module docstring).
    """

    def __init__(self, guard: AddressGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._guard.resolve(host, port)  # raises BlockedAddressError / DnsError
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_bounded(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() never returns an empty tuple
        raise failure

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def ssl_context(config: HttpConfig) -> ssl.SSLContext:
    """Certificate and host-name verification on, TLS >= 1.2, CAs from ``ca_bundle`` or certifi."""
    context = ssl.create_default_context(cafile=config.ca_bundle or certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _PoolStream(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport over a pinned httpcore pool (HTTP/1.1, no proxies, no retries).

    httpcore's own exceptions come out unchanged; the fetcher maps them to storywire errors.
    """

    def __init__(self, config: HttpConfig, guard: AddressGuard) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context(config),
            max_connections=config.max_connections,
            keepalive_expiry=config.keepalive_expiry_s,
            http1=True,
            http2=False,
            retries=0,
            network_backend=PinnedNetworkBackend(guard),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        core_response = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_PoolStream(core_response),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
