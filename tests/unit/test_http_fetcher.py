"""HttpFetcher without sockets: an httpx.MockTransport site, a fake resolver and a fake clock (no real sleeps)."""

from __future__ import annotations

import gzip
import socket
import ssl
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpcore
import httpx
import pytest

from storywire.connectors.errors import HttpStatusError, StorywireError
from storywire.connectors.http import (
    BlockedAddressError,
    BodyTooLargeError,
    ConnectError,
    ContentDecodingError,
    FetchTimeoutError,
    HostBackoffError,
    HttpConfig,
    HttpFetcher,
    HttpProtocolError,
    InvalidUrlError,
    RobotsDisallowedError,
    TlsError,
    TooManyRedirectsError,
)

# a fake clock turns a politeness bug into an endless loop: fail it instead of hanging
pytestmark = pytest.mark.timeout(30)

UA = "storywire/0.1 (+https://example.org/bot)"
WALL = datetime(2023, 5, 3, 12, 0, 0, tzinfo=timezone.utc)
FEED = b"<rss><channel><item><title>Drone over the Kremlin</title></item></channel></rss>"


class FakeClock:
    """Monotonic clock whose sleep only advances time, and remembers each sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Chunks(httpx.SyncByteStream):
    """A response body delivered in chunks, as from a socket (not pre-read); ``on_chunk`` runs before each."""

    def __init__(self, chunks: list[bytes], on_chunk: Callable[[], None] | None = None) -> None:
        self.chunks = chunks
        self.on_chunk = on_chunk
        self.iterated = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.on_chunk is not None:
                self.on_chunk()
            self.iterated += 1
            yield chunk

    def close(self) -> None:
        self.closed = True


def reply(
    status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None, chunk: int = 1000
) -> httpx.Response:
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    return httpx.Response(status, headers=headers, stream=Chunks(parts))


Route = httpx.Response | Callable[[httpx.Request], httpx.Response] | BaseException


class Site:
    """Routes by full URL (without query); records every request that reached the 'network'."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Route]] = {}
        self.requests: list[httpx.Request] = []
        self.served: set[int] = set()

    def on(self, url: str, *responses: Route) -> None:
        self.routes[url] = list(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = str(request.url.copy_with(query=None))
        queue = self.routes.get(key)
        if not queue:
            return reply(404, b"nope")
        route = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(route, BaseException):
            raise route
        if isinstance(route, httpx.Response):
            assert id(route) not in self.served, f"{key}: a response object is single-use, route a callable"
            self.served.add(id(route))
            return route
        return route(request)

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


PUBLIC = {"news.example": "93.184.216.34", "cdn.example": "93.184.216.35", "other.example": "93.184.216.36"}
PRIVATE = {"internal.example": "10.0.0.5", "metadata.example": "169.254.169.254", "loop.example": "127.0.0.1"}


def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    address = {**PUBLIC, **PRIVATE}.get(host)
    if address is None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


def make(site: Site, clock: FakeClock | None = None, **overrides: Any) -> HttpFetcher:
    settings: dict[str, Any] = {"user_agent": UA, "robots_enabled": False}
    settings.update(overrides)
    clock = clock or FakeClock()
    return HttpFetcher(
        HttpConfig(**settings),
        clock=clock,
        sleep=clock.sleep,
        resolver=resolver,
        transport=httpx.MockTransport(site),
        wall_clock=lambda: WALL,
    )


# -- requests and results ---------------------------------------------------------------------------------------


def test_a_feed_fetch_sends_our_identity_and_returns_a_captured_response() -> None:
    site = Site()
    site.on(
        "https://news.example/feed.xml",
        reply(200, FEED, {"Content-Type": "application/rss+xml", "ETag": '"v1"', "X-Served-By": "a"}),
    )
    result = make(site).fetch("https://news.example/feed.xml", kind="feed")
    sent = site.requests[0]
    assert sent.headers["User-Agent"] == UA
    assert sent.headers["Accept-Encoding"] == "gzip, deflate, br"
    assert "application/rss+xml" in sent.headers["Accept"]
    assert sent.headers["Host"] == "news.example"
    assert "If-None-Match" not in sent.headers and "Cookie" not in sent.headers
    response = result.response
    assert (response.url, response.status, response.body) == ("https://news.example/feed.xml", 200, FEED)
    assert response.header("etag") == '"v1"'
    assert response.media_type == "application/rss+xml"
    assert response.captured_at == WALL
    assert response.source_ref == "live"
    assert result.requested_url == "https://news.example/feed.xml"
    assert (result.redirects, result.permanent_redirect, result.not_modified) == ((), None, False)


def test_conditional_get_sends_validators_and_304_is_not_modified() -> None:
    site = Site()
    site.on("https://news.example/feed.xml", reply(304, headers={"ETag": '"v1"'}))
    result = make(site).fetch(
        "https://news.example/feed.xml", kind="feed", etag='"v1"', last_modified="Wed, 03 May 2023 11:50:00 GMT"
    )
    sent = site.requests[0]
    assert sent.headers["If-None-Match"] == '"v1"'
    assert sent.headers["If-Modified-Since"] == "Wed, 03 May 2023 11:50:00 GMT"
    assert result.not_modified
    assert result.response.status == 304
    assert result.response.body == b""


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
    ],
)
def test_bodies_are_decoded_and_the_encoding_headers_dropped(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    site = Site()
    encoded = encode(FEED * 50)
    site.on(
        "https://news.example/feed.xml",
        reply(200, encoded, {"Content-Encoding": encoding, "Content-Length": str(len(encoded))}, chunk=64),
    )
    result = make(site).fetch("https://news.example/feed.xml", kind="feed")
    assert result.response.body == FEED * 50
    assert result.response.header("Content-Encoding") is None
    assert result.response.header("Content-Length") is None


def test_a_corrupt_gzip_body_is_a_decoding_error() -> None:
    site = Site()
    site.on("https://news.example/feed.xml", reply(200, b"this is not gzip", {"Content-Encoding": "gzip"}))
    with pytest.raises(ContentDecodingError) as info:
        make(site).fetch("https://news.example/feed.xml", kind="feed")
    assert info.value.url == "https://news.example/feed.xml"


def test_the_body_cap_stops_a_streamed_body() -> None:
    site = Site()
    stream = Chunks([b"x" * 1000] * 50)
    site.on("https://news.example/big", httpx.Response(200, stream=stream))
    with pytest.raises(BodyTooLargeError, match="10000-byte cap"):
        make(site, max_body_bytes=10_000).fetch("https://news.example/big", kind="page")
    assert stream.iterated == 11  # stopped as soon as the cap was passed
    assert stream.closed


def test_a_declared_content_length_over_the_cap_is_refused_before_reading() -> None:
    site = Site()
    stream = Chunks([b"x" * 100])
    site.on("https://news.example/big", httpx.Response(200, headers={"Content-Length": "10001"}, stream=stream))
    with pytest.raises(BodyTooLargeError, match="Content-Length 10001"):
        make(site, max_body_bytes=10_000).fetch("https://news.example/big", kind="page")
    assert stream.iterated == 0


def test_a_gzip_bomb_is_cut_at_the_decoded_cap() -> None:
    site = Site()
    bomb = gzip.compress(b"\0" * 5_000_000, mtime=0)
    site.on("https://news.example/bomb", reply(200, bomb, {"Content-Encoding": "gzip"}, chunk=4096))
    with pytest.raises(BodyTooLargeError):
        make(site, max_body_bytes=100_000).fetch("https://news.example/bomb", kind="page")


def test_a_pre_read_response_from_an_injected_transport_still_works() -> None:
    site = Site()
    site.on("https://news.example/feed.xml", httpx.Response(200, content=FEED))
    assert make(site).fetch("https://news.example/feed.xml", kind="feed").response.body == FEED


def test_kind_must_be_known() -> None:
    with pytest.raises(ValueError, match="kind"):
        make(Site()).fetch("https://news.example/", kind="image")  # type: ignore[arg-type]


# -- redirects --------------------------------------------------------------------------------------------------


def test_permanent_redirects_all_the_way_report_the_new_url() -> None:
    site = Site()
    site.on("http://news.example/rss", reply(301, headers={"Location": "https://news.example/rss"}))
    site.on("https://news.example/rss", reply(308, headers={"Location": "/feeds/main.xml#top"}))
    site.on("https://news.example/feeds/main.xml", reply(200, FEED))
    result = make(site, min_delay_s=0).fetch("http://news.example/rss", kind="feed")
    assert result.redirects == ((301, "https://news.example/rss"), (308, "https://news.example/feeds/main.xml"))
    assert result.permanent_redirect == "https://news.example/feeds/main.xml"
    assert result.response.url == "https://news.example/feeds/main.xml"
    assert result.requested_url == "http://news.example/rss"


@pytest.mark.parametrize("temporary", [302, 303, 307])
def test_one_temporary_hop_means_no_permanent_redirect(temporary: int) -> None:
    site = Site()
    site.on("https://news.example/a", reply(301, headers={"Location": "https://cdn.example/b"}))
    site.on("https://cdn.example/b", reply(temporary, headers={"Location": "https://cdn.example/c"}))
    site.on("https://cdn.example/c", reply(200, FEED))
    result = make(site, min_delay_s=0).fetch("https://news.example/a", kind="feed")
    assert result.permanent_redirect is None
    assert [status for status, _ in result.redirects] == [301, temporary]
    assert all(r.method == "GET" for r in site.requests)


def test_validators_are_sent_on_every_hop() -> None:
    site = Site()
    site.on("https://news.example/a", reply(302, headers={"Location": "https://cdn.example/a"}))
    site.on("https://cdn.example/a", reply(304))
    result = make(site).fetch("https://news.example/a", kind="feed", etag='"e"')
    assert result.not_modified
    assert [r.headers.get("If-None-Match") for r in site.requests] == ['"e"', '"e"']


@pytest.mark.parametrize(
    "location",
    [
        "http://internal.example/admin",
        "http://metadata.example/latest/meta-data/",
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://loop.example/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_a_redirect_to_a_private_address_is_blocked_before_any_request(location: str) -> None:
    site = Site()
    site.on("https://news.example/feed", reply(302, headers={"Location": location}))
    with pytest.raises(BlockedAddressError):
        make(site).fetch("https://news.example/feed", kind="feed")
    assert site.urls() == ["https://news.example/feed"]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://news.example/x", "gopher://news.example/"])
def test_a_redirect_to_another_scheme_is_blocked(location: str) -> None:
    site = Site()
    site.on("https://news.example/feed", reply(301, headers={"Location": location}))
    with pytest.raises(BlockedAddressError, match="scheme"):
        make(site).fetch("https://news.example/feed", kind="feed")


def test_a_redirect_loop_ends_at_the_limit() -> None:
    site = Site()
    site.on("https://news.example/a", lambda _r: reply(302, headers={"Location": "/b"}))
    site.on("https://news.example/b", lambda _r: reply(302, headers={"Location": "/a"}))
    with pytest.raises(TooManyRedirectsError, match="more than 3"):
        make(site, max_redirects=3, min_delay_s=0).fetch("https://news.example/a", kind="feed")
    assert len(site.requests) == 4


def test_no_redirects_allowed_means_the_first_redirect_fails() -> None:
    site = Site()
    site.on("https://news.example/a", reply(301, headers={"Location": "/b"}))
    with pytest.raises(TooManyRedirectsError):
        make(site, max_redirects=0).fetch("https://news.example/a", kind="feed")


def test_a_redirect_without_location_is_an_error() -> None:
    site = Site()
    site.on("https://news.example/a", reply(302))
    with pytest.raises(TooManyRedirectsError, match="without a Location"):
        make(site).fetch("https://news.example/a", kind="feed")


# -- statuses, Retry-After and politeness --------------------------------------------------------------------------


def test_4xx_is_a_permanent_status_error() -> None:
    site = Site()
    site.on("https://news.example/gone", reply(410, b"gone"))
    with pytest.raises(HttpStatusError) as info:
        make(site).fetch("https://news.example/gone", kind="page")
    assert info.value.status == 410
    assert not info.value.retryable
    assert info.value.retry_after is None


def test_503_with_retry_after_is_retryable_and_holds_the_host_back() -> None:
    clock = FakeClock()
    site = Site()
    site.on("https://news.example/feed", reply(503, headers={"Retry-After": "120"}), reply(200, FEED))
    fetcher = make(site, clock, max_wait_s=60.0)
    with pytest.raises(HttpStatusError) as info:
        fetcher.fetch("https://news.example/feed", kind="feed")
    assert info.value.retryable
    assert info.value.retry_after == 120.0
    with pytest.raises(HostBackoffError) as backoff:
        fetcher.fetch("https://news.example/other", kind="feed")
    assert backoff.value.retryable
    assert backoff.value.retry_after == pytest.approx(120.0)
    assert clock.sleeps == []  # it raised instead of blocking for two minutes
    assert len(site.requests) == 1


def test_429_retry_after_date_is_read_against_the_server_date() -> None:
    clock = FakeClock()
    site = Site()
    headers = {"Retry-After": "Wed, 03 May 2023 10:01:30 GMT", "Date": "Wed, 03 May 2023 10:00:00 GMT"}
    site.on("https://news.example/feed", reply(429, headers=headers), reply(200, FEED))
    fetcher = make(site, clock, max_wait_s=600.0)
    with pytest.raises(HttpStatusError) as info:
        fetcher.fetch("https://news.example/feed", kind="feed")
    assert info.value.retry_after == 90.0  # not -7110 s from our (later) wall clock
    fetcher.fetch("https://news.example/feed", kind="feed")
    assert clock.sleeps == [pytest.approx(90.0)]


def test_consecutive_requests_to_one_host_are_spaced_with_the_injected_sleep() -> None:
    clock = FakeClock()
    site = Site()
    site.on("https://news.example/feed", reply(200, FEED))
    site.on("https://news.example/a/1", reply(200, b"<html/>"))
    site.on("https://cdn.example/x", reply(200, b"x"))
    fetcher = make(site, clock, min_delay_s=5.0)
    assert fetcher.fetch("https://news.example/feed", kind="feed").waited_s == 0.0
    clock.now += 1.5
    page = fetcher.fetch("https://news.example/a/1", kind="page")
    assert clock.sleeps == [pytest.approx(3.5)]
    assert page.waited_s == pytest.approx(3.5)
    assert page.elapsed_s == pytest.approx(3.5)
    fetcher.fetch("https://cdn.example/x", kind="page")  # another host: no wait
    assert len(clock.sleeps) == 1


def test_a_same_host_redirect_hop_waits_its_turn_too() -> None:
    clock = FakeClock()
    site = Site()
    site.on("http://news.example/feed", reply(301, headers={"Location": "https://news.example/feed"}))
    site.on("https://news.example/feed", reply(200, FEED))
    result = make(site, clock, min_delay_s=5.0).fetch("http://news.example/feed", kind="feed")
    assert clock.sleeps == [pytest.approx(5.0)]
    assert result.waited_s == pytest.approx(5.0)


def test_the_slot_is_given_back_when_the_request_fails() -> None:
    clock = FakeClock()
    site = Site()
    site.on("https://news.example/feed", httpx.ConnectError("refused"), reply(200, FEED))
    fetcher = make(site, clock, min_delay_s=5.0, max_concurrency_per_host=1, max_wait_s=10.0)
    with pytest.raises(ConnectError):
        fetcher.fetch("https://news.example/feed", kind="feed")
    assert fetcher.fetch("https://news.example/feed", kind="feed").response.body == FEED
    assert clock.sleeps == [pytest.approx(5.0)]


def test_the_total_timeout_cuts_a_trickling_body() -> None:
    clock = FakeClock()

    def tick() -> None:
        clock.now += 4.0

    site = Site()
    site.on("https://news.example/slow", httpx.Response(200, stream=Chunks([b"x"] * 100, on_chunk=tick)))
    with pytest.raises(FetchTimeoutError, match="total timeout"):
        make(site, clock, total_timeout_s=30.0).fetch("https://news.example/slow", kind="page")


def test_timeouts_sent_to_the_transport_never_exceed_the_total_budget() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return reply(200, b"ok")

    site = Site()
    site.on("https://news.example/a", handler)
    make(site, connect_timeout_s=10, read_timeout_s=20, total_timeout_s=15).fetch("https://news.example/a", kind="page")
    assert seen == [{"connect": 10, "read": 15, "write": 15, "pool": 10}]


# -- error mapping ------------------------------------------------------------------------------------------------


def _tls_failure() -> httpx.ConnectError:
    try:
        raise ssl.SSLCertVerificationError(1, "certificate verify failed: hostname mismatch")
    except ssl.SSLError as cause:
        try:
            raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from cause
        except httpx.ConnectError as wrapped:
            return wrapped


@pytest.mark.parametrize(
    ("raised", "expected", "retryable"),
    [
        (httpx.ConnectTimeout("connect timed out"), FetchTimeoutError, True),
        (httpx.ReadTimeout("read timed out"), FetchTimeoutError, True),
        (httpx.PoolTimeout("pool"), FetchTimeoutError, True),
        (httpcore.ReadTimeout("read timed out"), FetchTimeoutError, True),
        (httpx.ConnectError("Connection refused"), ConnectError, True),
        (httpcore.ConnectError("Connection refused"), ConnectError, True),
        (httpx.ReadError("Connection reset by peer"), ConnectError, True),
        (ConnectionResetError(104, "reset"), ConnectError, True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), HttpProtocolError, True),
        (httpcore.LocalProtocolError("Illegal header value"), HttpProtocolError, True),
        (httpx.UnsupportedProtocol("Request URL has an unsupported protocol"), InvalidUrlError, False),
        (_tls_failure(), TlsError, False),
    ],
)
def test_library_errors_become_storywire_errors(raised: Exception, expected: type[Exception], retryable: bool) -> None:
    site = Site()
    site.on("https://news.example/a", raised)
    with pytest.raises(StorywireError) as info:
        make(site).fetch("https://news.example/a", kind="page")
    assert type(info.value) is expected
    assert info.value.retryable is retryable
    assert info.value.__cause__ is raised


def test_an_error_while_reading_the_body_is_mapped_too() -> None:
    def boom() -> None:
        raise httpx.ReadError("Connection reset by peer")

    site = Site()
    site.on("https://news.example/a", httpx.Response(200, stream=Chunks([b"x", b"y"], on_chunk=boom)))
    with pytest.raises(ConnectError, match="connection broken"):
        make(site).fetch("https://news.example/a", kind="page")


def test_an_unresolvable_host_is_a_dns_error_and_nothing_is_sent() -> None:
    site = Site()
    with pytest.raises(StorywireError) as info:
        make(site).fetch("https://nowhere.example/feed", kind="feed")
    assert type(info.value).__name__ == "DnsError"
    assert site.requests == []


# -- robots.txt -----------------------------------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nDisallow: /private/\n\nUser-agent: storywire\nDisallow: /members/\nCrawl-delay: 12\n"


def test_pages_are_checked_against_robots_txt_fetched_once() -> None:
    clock = FakeClock()
    site = Site()
    site.on("https://news.example/robots.txt", reply(200, ROBOTS, {"Content-Type": "text/plain"}))
    site.on("https://news.example/a/1", reply(200, b"<html>1</html>"))
    site.on("https://news.example/a/2", reply(200, b"<html>2</html>"))
    fetcher = make(site, clock, robots_enabled=True, min_delay_s=5.0, max_wait_s=60.0)
    fetcher.fetch("https://news.example/a/1", kind="page")
    with pytest.raises(RobotsDisallowedError, match=r"robots\.txt"):
        fetcher.fetch("https://news.example/members/exclusive", kind="page")
    fetcher.fetch("https://news.example/a/2", kind="page")
    assert site.urls() == [
        "https://news.example/robots.txt",
        "https://news.example/a/1",
        "https://news.example/a/2",
    ]
    assert site.requests[0].headers["Accept"].startswith("text/plain")
    # robots -> page 1: crawl-delay 12 s (above the 5 s minimum); page 1 -> page 2: 12 s again
    assert clock.sleeps == [pytest.approx(12.0), pytest.approx(12.0)]


def test_feeds_are_not_subject_to_robots_txt() -> None:
    site = Site()
    site.on("https://news.example/robots.txt", reply(200, b"User-agent: *\nDisallow: /\n"))
    site.on("https://news.example/feed.xml", reply(200, FEED))
    result = make(site, robots_enabled=True).fetch("https://news.example/feed.xml", kind="feed")
    assert result.response.body == FEED
    assert site.urls() == ["https://news.example/feed.xml"]


def test_a_page_redirected_into_a_disallowed_path_is_refused() -> None:
    site = Site()
    site.on("https://news.example/robots.txt", reply(200, ROBOTS))
    site.on("https://news.example/a/1", reply(301, headers={"Location": "/members/1"}))
    with pytest.raises(RobotsDisallowedError):
        make(site, robots_enabled=True, min_delay_s=0).fetch("https://news.example/a/1", kind="page")
    assert "https://news.example/members/1" not in site.urls()


def test_missing_robots_txt_allows_and_unreachable_robots_txt_disallows() -> None:
    site = Site()
    site.on("https://news.example/robots.txt", reply(404))
    site.on("https://news.example/a", reply(200, b"a"))
    site.on("https://cdn.example/robots.txt", reply(500))
    site.on("https://cdn.example/a", reply(200, b"a"))
    fetcher = make(site, robots_enabled=True, min_delay_s=0)
    assert fetcher.fetch("https://news.example/a", kind="page").response.body == b"a"
    with pytest.raises(RobotsDisallowedError, match="answered 500") as refused:
        fetcher.fetch("https://cdn.example/a", kind="page")
    # Refused for now only: the page is retried once robots.txt may be asked again, not dead-lettered.
    assert refused.value.retryable and refused.value.retry_after == pytest.approx(600.0)


def test_a_throttled_robots_txt_is_asked_again_when_the_server_said() -> None:
    site = Site()
    site.on("https://news.example/robots.txt", reply(429, headers={"Retry-After": "5"}), reply(200, ROBOTS))
    site.on("https://news.example/a", reply(200, b"a"))
    clock = FakeClock()
    fetcher = make(site, clock, robots_enabled=True, min_delay_s=0)
    with pytest.raises(RobotsDisallowedError, match="answered 429") as refused:
        fetcher.fetch("https://news.example/a", kind="page")
    assert refused.value.retryable and refused.value.retry_after == pytest.approx(5.0)
    clock.now += 5.0
    assert fetcher.fetch("https://news.example/a", kind="page").response.body == b"a"


def test_warming_robots_txt_fetches_it_once_ahead_of_the_pages() -> None:
    site = Site()
    site.on("https://news.example/robots.txt", reply(200, ROBOTS))
    site.on("https://news.example/a", reply(200, b"a"))
    fetcher = make(site, robots_enabled=True, min_delay_s=0)
    fetcher.warm_robots("https://news.example/feed.xml")
    fetcher.warm_robots("https://news.example/other.xml")
    assert site.urls() == ["https://news.example/robots.txt"]
    fetcher.fetch("https://news.example/a", kind="page")
    assert site.urls() == ["https://news.example/robots.txt", "https://news.example/a"]
    make(Site(), robots_enabled=False).warm_robots("https://news.example/feed.xml")  # off: nothing to do


def test_a_page_robots_txt_disallows_is_refused_for_good() -> None:
    site = Site()
    site.on("https://news.example/robots.txt", reply(200, ROBOTS))
    with pytest.raises(RobotsDisallowedError) as refused:
        make(site, robots_enabled=True, min_delay_s=0).fetch("https://news.example/members/1", kind="page")
    assert not refused.value.retryable and refused.value.retry_after is None


@pytest.mark.parametrize("error", [httpx.RemoteProtocolError("Server disconnected"), httpx.ReadError("reset")])
def test_a_connection_dropped_before_any_response_is_tried_once_more(error: Exception) -> None:
    """A kept-alive connection the server closed meanwhile fails on reuse; the GET is asked again."""
    site = Site()
    site.on("https://news.example/feed.xml", error, reply(200, FEED))
    result = make(site).fetch("https://news.example/feed.xml", kind="feed")
    assert result.response.body == FEED and len(site.requests) == 2


def test_a_server_that_drops_every_connection_fails_after_the_second_try() -> None:
    site = Site()
    site.on("https://news.example/feed.xml", httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(HttpProtocolError):
        make(site).fetch("https://news.example/feed.xml", kind="feed")
    assert len(site.requests) == 2


def test_an_oversized_robots_txt_is_truncated_at_a_line_not_refused() -> None:
    body = b"User-agent: *\nDisallow: /private/\n" + b"# filler line\n" * 10_000 + b"Disallow: /late/\n"
    site = Site()
    site.on("https://news.example/robots.txt", reply(200, body, chunk=4096))
    site.on("https://news.example/late/x", reply(200, b"ok"))
    fetcher = make(site, robots_enabled=True, robots_max_bytes=16 * 1024, min_delay_s=0)
    assert fetcher.fetch("https://news.example/late/x", kind="page").response.body == b"ok"  # rule cut off
    with pytest.raises(RobotsDisallowedError):
        fetcher.fetch("https://news.example/private/x", kind="page")
