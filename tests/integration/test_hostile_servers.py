"""Bad input (issue 13): one test per hostile server behaviour, each over real loopback sockets and bounded in time.

Every exchange here goes through the real ``HttpFetcher`` (pinned transport, guard, politeness) to a real
server: ``tests/support/hostile_servers.py`` (raw TCP, byte by byte) where the misbehaviour is below HTTP, and
``tests/support/http_server.py`` where a scripted status is enough. Each test asserts the outcome (error type,
``retryable``, ``retry_after``) and the wall time it took, against a bound derived from the configuration
(``total_timeout_s`` + 1 s, ``dns_timeout_s`` + 1 s...), so a guard that stops working fails the test instead of
hanging the suite. What each test needs from the code to pass is said in its docstring.

Loopback is refused by default; every fetcher here opts in with ``allow_private_addresses=True``.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest

from storywire.connectors.errors import HttpStatusError
from storywire.connectors.feeds.poll import FeedPoller, PollOutcome
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.http import (
    ConnectError,
    DnsError,
    FetchTimeoutError,
    HostBackoffError,
    HttpConfig,
    HttpFetcher,
    HttpProtocolError,
    TooManyRedirectsError,
)
from tests.support.hostile_servers import Connection, RawServer
from tests.support.http_server import SAMPLE_FEED, LoopbackHttpServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

UA = "storywire/0.1 (+https://example.org/bot)"
TOTAL_S = 2.0  # http.total_timeout_s of every fetcher here: small, so a cut exchange ends quickly
MARGIN_S = 1.0  # what an exchange may take beyond its configured bound (thread scheduling, a slow CI box)
E = TypeVar("E", bound=BaseException)


def config(**overrides: Any) -> HttpConfig:
    settings: dict[str, Any] = {
        "user_agent": UA,
        "allow_private_addresses": True,
        "min_delay_s": 0.0,
        "robots_enabled": False,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": TOTAL_S,
    }
    settings.update(overrides)
    return HttpConfig(**settings)


def fails_with(error: type[E], call: Callable[[], object]) -> tuple[E, float]:
    """The error ``call`` raised (it must raise ``error``) and how long it took, in seconds."""
    started = time.monotonic()
    with pytest.raises(error) as info:
        call()
    return info.value, time.monotonic() - started


def feed_fetch(fetcher: HttpFetcher, url: str) -> Callable[[], object]:
    return lambda: fetcher.fetch(url, kind="feed")


class CountingResolver:
    """getaddrinfo for test names: ``table`` maps a name to addresses, ``failures`` to a gaierror errno."""

    def __init__(self, table: dict[str, list[str]], failures: dict[str, int] | None = None) -> None:
        self.table = table
        self.failures = failures or {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        if host in self.failures:
            raise socket.gaierror(self.failures[host], f"scripted failure for {host}")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in self.table[host]]


# -- headers and chunk framing trickled: the total timeout is a hard deadline over the whole exchange --------------

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"


def test_headers_trickled_one_byte_a_second_are_cut_at_the_total_timeout() -> None:
    """Each byte comes inside the read timeout (1 s < 1.5 s), so only the hard deadline of the pinned transport
    (``transport.deadline``, applied to every socket read) can end the exchange; without it the fetch would last
    as long as the response (~90 s)."""
    response = HEAD + b"Content-Length: 2\r\n\r\nok"
    with RawServer(lambda conn: conn.drip(response, interval_s=1.0)) as server:
        with HttpFetcher(config(read_timeout_s=1.5)) as fetcher:
            error, elapsed = fails_with(FetchTimeoutError, feed_fetch(fetcher, server.url("/feed.xml")))
        assert "total timeout" in str(error) and error.retryable
        assert TOTAL_S - 0.1 < elapsed < TOTAL_S + MARGIN_S
        assert server.wait_abandoned(1)  # we hung up: the connection was not kept for reuse


def test_chunk_size_lines_trickled_are_cut_at_the_total_timeout() -> None:
    """A chunked body whose first chunk arrives at once, then a chunk-size line (zero-padded, which HTTP allows)
    dripped a byte every 0.1 s: framing, no data, so neither the read timeout nor the fetcher's check between
    body chunks sees anything before the next data (~4 s away). Only the hard deadline ends it at 2 s."""
    head = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
    stalled = b"0" * 40 + b"5\r\nworld\r\n0\r\n\r\n"

    def script(conn: Connection) -> None:
        conn.send(head + b"5\r\nhello\r\n")
        conn.drip(stalled, interval_s=0.1)

    with RawServer(script) as server:
        with HttpFetcher(config(read_timeout_s=1.5)) as fetcher:
            error, elapsed = fails_with(FetchTimeoutError, feed_fetch(fetcher, server.url("/feed.xml")))
        assert "total timeout" in str(error) and error.retryable
        assert TOTAL_S - 0.1 < elapsed < TOTAL_S + MARGIN_S
        assert server.wait_abandoned(1)


def _stalled_listener(stack: ExitStack, address: str, port: int = 0) -> int:
    """A listener on ``address:port`` that never accepts, its one-slot backlog already taken: further SYNs are
    dropped, so a connect to it hangs (the kernel keeps retransmitting the SYN). Returns its port."""
    listener = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    listener.bind((address, port))
    listener.listen(0)
    bound = int(listener.getsockname()[1])
    stack.enter_context(socket.create_connection((address, bound), timeout=1.0))
    return bound


def test_connects_that_never_complete_are_cut_at_the_total_timeout() -> None:
    """A name with three addresses whose servers never complete the TCP handshake. Each connect attempt alone
    fits the connect timeout (5 s) cut to the budget, but the addresses are tried one after the other: only the
    hard deadline (each attempt waits for what is *left*) keeps the three within the 2 s budget; without it the
    fetch takes three budgets (~6 s)."""
    addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    with ExitStack() as stack:
        port = _stalled_listener(stack, addresses[0])
        for address in addresses[1:]:
            _stalled_listener(stack, address, port)
        resolver = CountingResolver({"stalled.test": addresses})
        with HttpFetcher(config(connect_timeout_s=5.0), resolver=resolver) as fetcher:
            error, elapsed = fails_with(FetchTimeoutError, feed_fetch(fetcher, f"http://stalled.test:{port}/feed.xml"))
    assert error.retryable
    assert TOTAL_S - 0.1 < elapsed < TOTAL_S + MARGIN_S


# -- connection cut mid-body ----------------------------------------------------------------------------------------

BODY = b"<rss>" + b"x" * 20_000


def _cut_mid_body(how: str, framing: str) -> Callable[[Connection], None]:
    """A server sending half of ``BODY`` then ending the connection by ``how`` (``rst`` or ``fin``); ``/ok`` works."""

    def script(conn: Connection) -> None:
        if conn.path == "/ok":
            conn.send(HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
            return
        half = BODY[: len(BODY) // 2]
        if framing == "length":
            conn.send(HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + half)
        else:
            conn.send(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(BODY) + half)
        time.sleep(0.2)  # the half has arrived and the client waits for the rest
        if how == "rst":
            conn.reset()
        else:
            conn.sock.shutdown(socket.SHUT_RDWR)

    return script


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize(
    ("how", "expected"),
    [("rst", ConnectError), ("fin", HttpProtocolError)],
    ids=["reset", "closed"],
)
def test_a_connection_cut_mid_body_is_a_retryable_error_and_no_partial_body(
    how: str, expected: type[ConnectError | HttpProtocolError], framing: str
) -> None:
    """A reset (RST) mid-body is a broken connection (``ConnectError``), an orderly close before the declared end
    a protocol violation (``HttpProtocolError``); both retryable, raised at once (not at a timeout), and the half
    body never passes for the feed. The same fetcher then fetches normally: the dead connection was not pooled."""
    with RawServer(_cut_mid_body(how, framing)) as server, HttpFetcher(config()) as fetcher:
        error, elapsed = fails_with(expected, feed_fetch(fetcher, server.url("/feed.xml")))
        assert error.retryable
        assert elapsed < 0.2 + MARGIN_S
        assert fetcher.fetch(server.url("/ok"), kind="feed").response.body == BODY
        assert server.paths == ["/feed.xml", "/ok"]


# -- a 1,000-item feed: a cap per poll, the rest kept for the next polls ---------------------------------------------


def _rss(count: int) -> bytes:
    """RSS listing ``count`` dated items, newest first as feeds do; item N is N minutes after 2026-01-01."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    items = "".join(
        f"<item><title>Item {n}</title><link>http://127.0.0.1/n/it-{n:04d}</link><guid>it-{n:04d}</guid>"
        f"<pubDate>{email.utils.format_datetime(start + timedelta(minutes=n), usegmt=True)}</pubDate></item>"
        for n in reversed(range(count))
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
        f"<link>http://127.0.0.1/</link><description>1,000 items</description>{items}</channel></rss>"
    ).encode()


def _poll_once(poller: FeedPoller, fetcher: HttpFetcher, url: str, now: datetime) -> PollOutcome:
    (request,) = poller.due(now)
    assert request.feed_url == url
    try:
        result = fetcher.fetch(request.fetch_url, kind="feed", etag=request.etag, last_modified=request.last_modified)
    except Exception as exc:  # what a live source does: the poll core turns it into an outcome
        return poller.on_error(url, exc, now)
    return poller.on_result(url, result, now)


def test_a_thousand_item_feed_comes_out_whole_a_cap_per_poll_none_dropped() -> None:
    """Served for real, with an ETag and Last-Modified the server honours (304). Each poll hands out at most
    ``max_new_items_per_poll`` (100), the oldest first, and keeps the rest: the poll core must drop the
    validators while it holds items back, else the server's 304 would strand the other 900 for ever. Over
    successive polls all 1,000 come out exactly once; then the feed is conditional again (304)."""
    payload = _rss(1000)
    settings = PollSettings(startup_spread=timedelta(0))
    assert settings.max_new_items_per_poll == 100 and settings.seen_items < 1000  # defaults: fewer seen than listed
    with LoopbackHttpServer() as server, HttpFetcher(config()) as fetcher:
        server.serve("/big.xml", payload)
        url = server.url("/big.xml")
        now = datetime.now(timezone.utc)
        poller = FeedPoller([FeedSpec(url)], settings, now)
        emitted: list[str] = []
        for _ in range(20):  # 10 are needed; the bound only stops a poller that never drains
            outcome = _poll_once(poller, fetcher, url, now)
            assert outcome.status == "new_items", outcome
            batch = [item.link.rsplit("/", 1)[1] for item in outcome.new_items]
            assert len(batch) == min(100, 1000 - len(emitted))
            assert outcome.held_back == 1000 - len(emitted) - len(batch)
            emitted.extend(batch)
            now = outcome.next_poll_at
            if not outcome.held_back:
                break
        sent = server.requests_for("/big.xml")
        assert len(sent) == 10
        assert all(r.header("If-None-Match") is None for r in sent)  # a backlog is always fetched whole
        assert len(emitted) == len(set(emitted)) == 1000  # every item once: none dropped, none repeated
        assert emitted[:100] == [f"it-{n:04d}" for n in reversed(range(100))]  # the oldest hundred first
        assert _poll_once(poller, fetcher, url, now).status == "not_modified"  # drained: conditional again
        assert server.requests_for("/big.xml")[-1].header("If-None-Match") is not None


# -- names that do not resolve: bounded lookups, a short negative cache ----------------------------------------------


def test_an_unresolvable_name_fails_fast_with_the_system_resolver() -> None:
    """``.invalid`` never resolves (RFC 6761). Whatever this machine's resolver does with it (an immediate "no
    such name", or no answer), the fetch ends as a ``DnsError`` within ``dns_timeout_s``."""
    with HttpFetcher(config(dns_timeout_s=1.0)) as fetcher:
        error, elapsed = fails_with(DnsError, feed_fetch(fetcher, "http://feeds.storywire.invalid/rss"))
    assert "cannot resolve feeds.storywire.invalid" in str(error)
    assert elapsed < 1.0 + MARGIN_S


def test_a_failed_name_is_remembered_briefly_and_other_names_still_work() -> None:
    """A name that does not exist is looked up once per ``dns_negative_ttl_s``: the second fetch fails at once
    with the same (permanent) error and no lookup; after the window it is asked again. A "try again" answer is
    remembered too, retryable. Other names on the same resolver are unaffected."""
    resolver = CountingResolver(
        {"feeds.test": ["127.0.0.1"]},
        failures={"gone.test": socket.EAI_NONAME, "flaky.test": socket.EAI_AGAIN},
    )
    with LoopbackHttpServer() as server, HttpFetcher(config(dns_negative_ttl_s=0.5), resolver=resolver) as fetcher:
        server.serve("/feed.xml", SAMPLE_FEED)
        gone = server.url("/feed.xml", host="gone.test")
        first, _ = fails_with(DnsError, feed_fetch(fetcher, gone))
        again, elapsed = fails_with(DnsError, feed_fetch(fetcher, gone))
        assert not first.retryable and not again.retryable
        assert "not asked again" in str(again) and elapsed < 0.1
        assert resolver.calls == ["gone.test"]

        flaky = server.url("/feed.xml", host="flaky.test")
        for _ in range(2):
            error, _ = fails_with(DnsError, feed_fetch(fetcher, flaky))
            assert error.retryable
        assert resolver.calls == ["gone.test", "flaky.test"]

        assert fetcher.fetch(server.url("/feed.xml", host="feeds.test"), kind="feed").response.body == SAMPLE_FEED
        time.sleep(0.6)  # the negative TTL passes
        fails_with(DnsError, feed_fetch(fetcher, gone))
        assert resolver.calls == ["gone.test", "flaky.test", "feeds.test", "gone.test"]
        assert [r.header("Host") for r in server.requests] == [f"feeds.test:{server.port}"]


class HangingResolver:
    """A resolver that never answers (until released at teardown), counting its calls."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls += 1
        self.release.wait(30)
        raise socket.gaierror(socket.EAI_NONAME, "released")


@pytest.fixture
def hanging() -> Iterator[HangingResolver]:
    resolver = HangingResolver()
    yield resolver
    resolver.release.set()  # frees the lookup thread


def test_a_resolver_that_never_answers_costs_one_dns_timeout_per_window(hanging: HangingResolver) -> None:
    """The lookup is abandoned after ``dns_timeout_s`` (retryable: the resolver may answer later), and the name
    is not asked again within ``dns_negative_ttl_s``: the next fetch fails at once."""
    with HttpFetcher(config(dns_timeout_s=0.5, dns_negative_ttl_s=30.0), resolver=hanging) as fetcher:
        url = "http://slow-dns.test/rss"
        error, elapsed = fails_with(DnsError, feed_fetch(fetcher, url))
        assert error.retryable and "no answer within 0.5s" in str(error)
        assert 0.4 < elapsed < 0.5 + MARGIN_S
        again, elapsed = fails_with(DnsError, feed_fetch(fetcher, url))
        assert again.retryable and elapsed < 0.1
    assert hanging.calls == 1


# -- Retry-After as an HTTP date far in the future ------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_date_a_year_ahead_is_capped(status: int) -> None:
    """``Retry-After: <a date a year from now>``: the error is retryable and its ``retry_after`` is
    ``http.max_retry_after_s`` (2 h here), not a year; the host is held back that long (the next fetch is a
    ``HostBackoffError`` without a request), and the poll core reschedules the feed 2 h later, as asked."""
    next_year = datetime.now(timezone.utc) + timedelta(days=365)
    retry_after = email.utils.format_datetime(next_year, usegmt=True)
    with LoopbackHttpServer() as server, HttpFetcher(config(max_retry_after_s=7200.0)) as fetcher:
        server.status("/feed.xml", status, headers=[("Retry-After", retry_after)])
        url = server.url("/feed.xml")
        error, elapsed = fails_with(HttpStatusError, feed_fetch(fetcher, url))
        assert error.status == status and error.retryable
        assert error.retry_after == 7200.0
        assert elapsed < MARGIN_S

        backoff, elapsed = fails_with(HostBackoffError, feed_fetch(fetcher, url))
        assert backoff.retryable and 7200.0 - 60 < backoff.retry_after <= 7200.0
        assert elapsed < MARGIN_S  # refused at once (max_wait_s is 60 s): no sleeping for two hours
        assert len(server.requests_for("/feed.xml")) == 1

        now = datetime.now(timezone.utc)
        poller = FeedPoller([FeedSpec(url)], PollSettings(startup_spread=timedelta(0)), now)
        assert [r.feed_url for r in poller.due(now)] == [url]
        outcome = poller.on_error(url, error, now)
        assert outcome.next_poll_at - now == timedelta(hours=2)
        assert outcome.failure is None  # throttled: come back later, nothing is wrong with the feed


# -- a redirect loop -------------------------------------------------------------------------------------------------


def test_a_redirect_loop_ends_at_max_redirects() -> None:
    """``/a`` -> ``/b`` -> ``/a``...: ``TooManyRedirectsError`` (permanent) after ``max_redirects`` hops, each
    hop asked once, at once; the poll core turns it into a dead letter naming the error."""
    with LoopbackHttpServer() as server, HttpFetcher(config(max_redirects=5)) as fetcher:
        server.redirect("/a", "/b", 302)
        server.redirect("/b", server.url("/a"), 301)
        url = server.url("/a")
        error, elapsed = fails_with(TooManyRedirectsError, feed_fetch(fetcher, url))
        assert not error.retryable and "more than 5 redirects" in str(error)
        assert elapsed < MARGIN_S
        assert [r.path for r in server.requests] == ["/a", "/b"] * 3  # the first request and 5 redirects

        now = datetime.now(timezone.utc)
        poller = FeedPoller([FeedSpec(url)], PollSettings(startup_spread=timedelta(0)), now)
        outcome = _poll_once(poller, fetcher, url, now)
        assert not outcome.ok and outcome.failure is not None
        assert outcome.failure.error_type == "TooManyRedirectsError"
        assert outcome.next_poll_at > now
