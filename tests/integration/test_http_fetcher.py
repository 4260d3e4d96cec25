"""HttpFetcher against a real HTTP server on loopback (tests/http_server.py): real sockets, real pinning, real TLS.

Loopback is refused by default, so every fetcher here opts in with ``allowed_networks=("127.0.0.0/8",)``.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storywire.connectors.errors import HttpStatusError
from storywire.connectors.http import (
    BlockedAddressError,
    BodyTooLargeError,
    ConnectError,
    FetchTimeoutError,
    HostBackoffError,
    HttpConfig,
    HttpFetcher,
    RobotsDisallowedError,
    TlsError,
)
from tests.support.http_server import SAMPLE_FEED, LoopbackHttpServer, Reply, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

UA = "storywire/0.1 (+https://example.org/bot)"
LOOPBACK_ONLY = ("127.0.0.0/8",)


def config(**overrides: Any) -> HttpConfig:
    settings: dict[str, Any] = {
        "user_agent": UA,
        "allowed_networks": LOOPBACK_ONLY,
        "min_delay_s": 0.0,
        "robots_enabled": False,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": 5.0,
    }
    settings.update(overrides)
    return HttpConfig(**settings)


class MappingResolver:
    """Resolves test names to loopback (like /etc/hosts), counting lookups; scripted answers per call."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        answers = self.table[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def server() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    with HttpFetcher(config()) as opened:
        yield opened


def test_loopback_is_refused_unless_opted_in(server: LoopbackHttpServer) -> None:
    server.serve("/feed.xml", SAMPLE_FEED)
    with (
        HttpFetcher(HttpConfig(user_agent=UA, robots_enabled=False)) as default,
        pytest.raises(BlockedAddressError, match="loopback"),
    ):
        default.fetch(server.url("/feed.xml"), kind="feed")
    assert server.requests == []


def test_conditional_get_round_trip_and_a_changing_feed(server: LoopbackHttpServer, fetcher: HttpFetcher) -> None:
    server.serve("/feed.xml", SAMPLE_FEED)
    first = fetcher.fetch(server.url("/feed.xml"), kind="feed")
    assert first.response.status == 200
    assert first.response.body == SAMPLE_FEED
    etag, last_modified = first.response.header("ETag"), first.response.header("Last-Modified")
    assert etag and last_modified

    by_etag = fetcher.fetch(server.url("/feed.xml"), kind="feed", etag=etag)
    assert by_etag.not_modified and by_etag.response.body == b""
    by_date = fetcher.fetch(server.url("/feed.xml"), kind="feed", last_modified=last_modified)
    assert by_date.not_modified

    changed = SAMPLE_FEED.replace(b"<title>One</title>", b"<title>One, updated</title>")
    server.serve("/feed.xml", changed)
    after = fetcher.fetch(server.url("/feed.xml"), kind="feed", etag=etag)
    assert not after.not_modified
    assert after.response.body == changed
    assert after.response.header("ETag") != etag
    sent = server.requests_for("/feed.xml")
    assert [r.header("If-None-Match") for r in sent] == [None, etag, None, etag]
    assert sent[0].header("User-Agent") == UA


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compressed_bodies_arrive_decoded(server: LoopbackHttpServer, fetcher: HttpFetcher, encoding: str) -> None:
    body = SAMPLE_FEED * 100
    server.serve("/feed.xml", body, encoding=encoding)
    result = fetcher.fetch(server.url("/feed.xml"), kind="feed")
    assert result.response.body == body
    assert result.response.header("Content-Encoding") is None
    assert server.requests_for("/feed.xml")[0].header("Accept-Encoding") == "gzip, deflate, br"


def test_redirects_permanent_and_temporary(server: LoopbackHttpServer, fetcher: HttpFetcher) -> None:
    server.serve("/new.xml", SAMPLE_FEED)
    server.redirect("/old.xml", "/moved.xml", 301)
    server.redirect("/moved.xml", server.url("/new.xml"), 308)
    server.redirect("/today.xml", "/new.xml", 302)
    moved = fetcher.fetch(server.url("/old.xml"), kind="feed")
    assert moved.permanent_redirect == server.url("/new.xml")
    assert moved.response.body == SAMPLE_FEED
    assert [status for status, _ in moved.redirects] == [301, 308]
    temporary = fetcher.fetch(server.url("/today.xml"), kind="feed")
    assert temporary.permanent_redirect is None
    assert temporary.response.url == server.url("/new.xml")


@pytest.mark.parametrize("location", ["http://10.1.2.3/admin", "http://169.254.169.254/latest/", "http://[::1]/"])
def test_a_redirect_out_of_the_allowed_network_is_blocked(
    server: LoopbackHttpServer, fetcher: HttpFetcher, location: str
) -> None:
    server.redirect("/feed.xml", location, 302)
    with pytest.raises(BlockedAddressError):
        fetcher.fetch(server.url("/feed.xml"), kind="feed")


def test_429_with_retry_after_backs_the_host_off(server: LoopbackHttpServer) -> None:
    server.sequence("/feed.xml", [Reply(429, (("Retry-After", "30"),)), Reply(200, body=SAMPLE_FEED)])
    with HttpFetcher(config(max_wait_s=1.0)) as fetcher:
        with pytest.raises(HttpStatusError) as info:
            fetcher.fetch(server.url("/feed.xml"), kind="feed")
        assert info.value.status == 429 and info.value.retryable and info.value.retry_after == 30.0
        with pytest.raises(HostBackoffError) as backoff:
            fetcher.fetch(server.url("/feed.xml"), kind="feed")
        assert 25.0 < backoff.value.retry_after <= 30.0
    assert len(server.requests_for("/feed.xml")) == 1


def test_a_slow_server_times_out(server: LoopbackHttpServer) -> None:
    server.slow("/slow", delay_s=1.5)
    with HttpFetcher(config(read_timeout_s=0.2)) as fetcher, pytest.raises(FetchTimeoutError) as info:
        fetcher.fetch(server.url("/slow"), kind="page")
    assert info.value.retryable


# -- the total timeout is a hard deadline: a server dripping bytes cannot stretch a fetch past it --------------------

TRICKLE_S = 0.2  # one byte this often: far inside every read timeout, so only the deadline can end the exchange
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"


def _fetch_timed(fetcher: HttpFetcher, url: str) -> tuple[FetchTimeoutError, float]:
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match="total timeout") as info:
        fetcher.fetch(url, kind="feed")
    return info.value, time.monotonic() - started


def _wait_until(condition: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_a_server_trickling_its_headers_is_cut_at_the_total_timeout(server: LoopbackHttpServer) -> None:
    server.trickle("/drip", HEAD + b"Content-Length: 2\r\n\r\nok", interval_s=TRICKLE_S)
    with HttpFetcher(config(total_timeout_s=1.0)) as fetcher:
        error, elapsed = _fetch_timed(fetcher, server.url("/drip"))
    assert error.retryable
    assert 0.9 < elapsed < 2.5
    assert _wait_until(lambda: server.abandoned("/drip") == 1)  # we hung up: the connection is not kept


def test_a_server_trickling_its_chunk_framing_is_cut_at_the_total_timeout(server: LoopbackHttpServer) -> None:
    head = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
    # A chunk extension is framing, not data: no body byte reaches the fetcher while it drips.
    framing = b"2;" + b"x" * 60 + b"\r\nok\r\n0\r\n\r\n"
    server.trickle("/chunks", head + framing, interval_s=TRICKLE_S, prompt=len(head))
    with HttpFetcher(config(total_timeout_s=1.0)) as fetcher:
        _, elapsed = _fetch_timed(fetcher, server.url("/chunks"))
    assert 0.9 < elapsed < 2.5
    assert _wait_until(lambda: server.abandoned("/chunks") == 1)


def test_the_total_timeout_covers_the_whole_redirect_chain(server: LoopbackHttpServer) -> None:
    # Each hop alone takes ~0.6 s, well within the 1 s budget; together they do not fit in it.
    hop = b"HTTP/1.1 302 Found\r\nLocation: /second\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    final = HEAD + b"Content-Length: 0\r\n\r\n"  # no body: no body-chunk check could catch the overrun either
    server.trickle("/first", hop, interval_s=0.06, step=-(-len(hop) // 10))
    server.trickle("/second", final, interval_s=0.06, step=-(-len(final) // 10))
    with HttpFetcher(config(total_timeout_s=1.0)) as fetcher:
        _, elapsed = _fetch_timed(fetcher, server.url("/first"))
    assert 0.9 < elapsed < 2.0
    assert len(server.requests_for("/second")) == 1  # the second hop was cut, with the first hop's time spent
    assert server.abandoned("/first") == 0
    assert _wait_until(lambda: server.abandoned("/second") == 1)


def test_a_slow_response_that_fits_in_the_total_timeout_is_read_whole(server: LoopbackHttpServer) -> None:
    body = b"ok, slowly"
    server.trickle("/slowish", HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body, interval_s=0.01, step=5)
    with HttpFetcher(config(total_timeout_s=3.0)) as fetcher:
        assert fetcher.fetch(server.url("/slowish"), kind="feed").response.body == body
        server.serve("/feed.xml", SAMPLE_FEED)
        assert fetcher.fetch(server.url("/feed.xml"), kind="feed").response.body == SAMPLE_FEED
    assert server.abandoned("/slowish") == 0


@pytest.mark.parametrize("declare_length", [False, True])
def test_a_huge_body_is_cut_off(server: LoopbackHttpServer, declare_length: bool) -> None:
    server.huge("/huge", 20 * 1024 * 1024, declare_length=declare_length)
    with HttpFetcher(config(max_body_bytes=256 * 1024)) as fetcher, pytest.raises(BodyTooLargeError):
        fetcher.fetch(server.url("/huge"), kind="page")


def test_connection_refused_is_a_retryable_connect_error() -> None:
    port = free_port()
    with HttpFetcher(config()) as fetcher, pytest.raises(ConnectError) as info:
        fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml", kind="feed")
    assert info.value.retryable


def test_connections_are_kept_alive_between_fetches(server: LoopbackHttpServer, fetcher: HttpFetcher) -> None:
    server.serve("/feed.xml", SAMPLE_FEED)
    for _ in range(3):
        fetcher.fetch(server.url("/feed.xml"), kind="feed")
    assert len({r.client for r in server.requests}) == 1


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(server: LoopbackHttpServer) -> None:
    server.serve("/feed.xml", SAMPLE_FEED)
    resolver = MappingResolver({"feeds.test": ["127.0.0.1"]})
    with HttpFetcher(config(), resolver=resolver) as fetcher:
        result = fetcher.fetch(server.url("/feed.xml", host="feeds.test"), kind="feed")
    assert result.response.body == SAMPLE_FEED
    assert server.requests[0].header("Host") == f"feeds.test:{server.port}"
    assert resolver.calls == ["feeds.test"]  # one lookup served the check and the connection


def test_dns_rebinding_between_check_and_connect_is_refused(server: LoopbackHttpServer) -> None:
    server.serve("/feed.xml", SAMPLE_FEED)
    # No cache: the pre-check sees 127.0.0.1, the connection-time lookup sees 10.0.0.1 and is checked again.
    resolver = MappingResolver({"rebind.test": ["127.0.0.1", "10.0.0.1"]})
    with HttpFetcher(config(dns_cache_ttl_s=0.0), resolver=resolver) as fetcher, pytest.raises(BlockedAddressError):
        fetcher.fetch(server.url("/feed.xml", host="rebind.test"), kind="feed")
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert server.requests == []


def test_robots_txt_is_honoured_for_pages(server: LoopbackHttpServer) -> None:
    server.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.serve("/news/1", b"<html>public</html>", content_type="text/html")
    server.serve("/private/1", b"<html>private</html>", content_type="text/html")
    with HttpFetcher(config(robots_enabled=True)) as fetcher:
        assert fetcher.fetch(server.url("/news/1"), kind="page").response.body == b"<html>public</html>"
        with pytest.raises(RobotsDisallowedError):
            fetcher.fetch(server.url("/private/1"), kind="page")
        fetcher.fetch(server.url("/news/1"), kind="page")
    assert [r.path for r in server.requests] == ["/robots.txt", "/news/1", "/news/1"]


# -- TLS: the pinned IP is dialled, the certificate is checked against the host name ------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LoopbackHttpServer, Path]]:
    trustme = pytest.importorskip("trustme", reason="trustme (dev dependency) makes the test CA")
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("feeds.test").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with LoopbackHttpServer(tls=context) as running:
        running.serve("/feed.xml", SAMPLE_FEED)
        yield running, ca_file


def test_tls_verifies_the_host_name_while_connecting_to_the_pinned_ip(
    tls_server: tuple[LoopbackHttpServer, Path],
) -> None:
    server, ca_file = tls_server
    resolver = MappingResolver({"feeds.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    with HttpFetcher(config(ca_bundle=str(ca_file)), resolver=resolver) as fetcher:
        result = fetcher.fetch(server.url("/feed.xml", host="feeds.test"), kind="feed")
        assert result.response.body == SAMPLE_FEED
        assert server.requests[0].header("Host") == f"feeds.test:{server.port}"
        # same IP, another name: the certificate does not match it
        with pytest.raises(TlsError):
            fetcher.fetch(server.url("/feed.xml", host="other.test"), kind="feed")


def test_tls_with_an_untrusted_ca_fails(tls_server: tuple[LoopbackHttpServer, Path]) -> None:
    server, _ = tls_server
    resolver = MappingResolver({"feeds.test": ["127.0.0.1"]})
    with HttpFetcher(config(), resolver=resolver) as fetcher, pytest.raises(TlsError) as info:
        fetcher.fetch(server.url("/feed.xml", host="feeds.test"), kind="feed")
    assert not info.value.retryable
