"""The default transport: httpx requests over an httpcore pool that connects only to guard-checked addresses.

How the pinning works: httpcore asks its *network backend* for a TCP connection to ``(host, port)`` whenever
it opens a new pooled connection. ``PinnedNetworkBackend`` answers by asking the ``AddressGuard`` for the
host's checked addresses (the same cached answer the fetcher's pre-check saw, or a fresh answer checked
again) and connecting to those IPs only. The URL is left untouched, so the ``Host`` header, TLS SNI and
certificate verification all use the real host name, and the pool keys connections by host name (a
connection verified for one name is never reused for another name on the same IP).

Limits: a kept-alive connection is checked once, when opened; addresses are tried one after the other (no
Happy Eyeballs), each with the full connect timeout; proxies are not supported (a proxy would do its own DNS,
defeating the pin), and ``trust_env``-style proxy variables are ignored on purpose.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator

import certifi
import httpcore
import httpx

from storywire.connectors.http.address_guard import AddressGuard
from storywire.connectors.http.config import HttpConfig


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to the addresses the guard approved for the requested host."""

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
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
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
