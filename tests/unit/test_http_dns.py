"""DNS lookups are bounded in time, and failed names are remembered briefly (per host, LRU-bounded)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from storywire.connectors.errors import ConfigError
from storywire.connectors.http import AddressGuard, DnsError, HttpConfig, HttpFetcher
from storywire.connectors.http.address_guard import DNS_NEGATIVE_CACHE_HOSTS, LookupPool
from tests.unit.test_http_address_guard import FakeResolver

UA = "storywire/0.1 (+https://example.org/bot)"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class BlockingResolver:
    """getaddrinfo that hangs until released (at most 30 s, so a broken test cannot hang the suite)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        self.release.wait(30)
        raise socket.gaierror(socket.EAI_NONAME, "released")


@pytest.fixture
def blocking() -> Iterator[BlockingResolver]:
    resolver = BlockingResolver()
    yield resolver
    resolver.release.set()


def _guard(resolver: Any, clock: Clock | None = None, **overrides: Any) -> AddressGuard:
    extra = {k: overrides.pop(k) for k in ("lookups", "negative_cache_hosts") if k in overrides}
    config = HttpConfig(user_agent=UA, **overrides)
    return AddressGuard(config, resolver=resolver, clock=clock or Clock(), **extra)


def test_defaults() -> None:
    config = HttpConfig(user_agent=UA)
    assert config.dns_timeout_s == 5.0
    assert config.dns_negative_ttl_s == 60.0
    assert DNS_NEGATIVE_CACHE_HOSTS == 1024


@pytest.mark.parametrize(("field", "value"), [("dns_timeout_s", 0), ("dns_timeout_s", -1), ("dns_negative_ttl_s", -1)])
def test_bad_dns_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"http.{field}"):
        HttpConfig(user_agent=UA, **{field: value})


def test_a_hanging_resolver_fails_the_fetch_within_the_timeout(blocking: BlockingResolver) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent without an address")

    config = HttpConfig(user_agent=UA, dns_timeout_s=0.3)
    fetcher = HttpFetcher(config, resolver=blocking, transport=httpx.MockTransport(unreachable))
    started = time.monotonic()
    with pytest.raises(DnsError, match=r"no answer within 0\.3s") as caught:
        fetcher.fetch("https://hangs.example/rss", kind="feed")
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0
    assert caught.value.retryable is True  # like the resolver's own "try again" (EAI_AGAIN)
    assert blocking.calls == ["hangs.example"]


def test_a_timed_out_name_is_not_asked_again_within_the_ttl(blocking: BlockingResolver) -> None:
    clock = Clock()
    guard = _guard(blocking, clock, dns_timeout_s=0.2)
    with pytest.raises(DnsError, match="no answer"):
        guard.resolve("hangs.example", 443)
    started = time.monotonic()
    with pytest.raises(DnsError, match="not asked again") as caught:
        guard.resolve("hangs.example", 443, url="https://hangs.example/other")
    assert time.monotonic() - started < 0.1  # answered from memory, no second wait
    assert caught.value.retryable is True
    assert caught.value.url == "https://hangs.example/other"
    assert blocking.calls == ["hangs.example"]


def test_a_failing_name_is_looked_up_once_within_the_ttl_and_again_after_it() -> None:
    clock = Clock()
    resolver = FakeResolver({"ok.example": ["93.184.216.34"]})
    guard = _guard(resolver, clock, dns_negative_ttl_s=60.0)
    for _ in range(3):
        with pytest.raises(DnsError, match=r"cannot resolve gone\.example") as caught:
            guard.resolve("gone.example", 443)
        assert caught.value.retryable is False  # NXDOMAIN stays permanent, remembered or not
    assert resolver.calls == ["gone.example"]
    clock.now += 59.9
    with pytest.raises(DnsError):
        guard.resolve("gone.example", 443)
    assert resolver.calls == ["gone.example"]
    clock.now += 0.2  # past the TTL: asked again, and the name has been fixed meanwhile
    resolver.table["gone.example"] = ["93.184.216.35"]
    assert guard.resolve("gone.example", 443) == ("93.184.216.35",)
    assert resolver.calls == ["gone.example", "gone.example"]


def test_no_address_and_try_again_are_remembered_with_their_retryability() -> None:
    clock = Clock()
    resolver = FakeResolver({"empty.example": [], "flaky.example": socket.gaierror(socket.EAI_AGAIN, "try again")})
    guard = _guard(resolver, clock)
    for _ in range(2):
        with pytest.raises(DnsError, match="has no addresses") as empty:
            guard.resolve("empty.example", 80)
        with pytest.raises(DnsError) as flaky:
            guard.resolve("flaky.example", 80)
        assert empty.value.retryable is False and flaky.value.retryable is True
    assert resolver.calls == ["empty.example", "flaky.example"]


def test_a_zero_negative_ttl_remembers_nothing() -> None:
    resolver = FakeResolver({})
    guard = _guard(resolver, dns_negative_ttl_s=0)
    for _ in range(2):
        with pytest.raises(DnsError):
            guard.resolve("gone.example", 443)
    assert resolver.calls == ["gone.example", "gone.example"]
    assert guard.remembered_failures == 0


def test_answers_are_not_remembered_as_failures() -> None:
    resolver = FakeResolver({"ok.example": ["93.184.216.34"]})
    guard = _guard(resolver, dns_cache_ttl_s=0)
    assert guard.resolve("ok.example", 443) == ("93.184.216.34",)
    assert guard.resolve("ok.example", 443) == ("93.184.216.34",)
    assert resolver.calls == ["ok.example", "ok.example"]
    assert guard.remembered_failures == 0


def test_the_failure_table_is_bounded_and_forgets_the_least_recently_used() -> None:
    clock = Clock()
    resolver = FakeResolver({})
    guard = _guard(resolver, clock, negative_cache_hosts=3)
    for host in ("a.example", "b.example", "c.example"):
        with pytest.raises(DnsError):
            guard.resolve(host, 443)
    with pytest.raises(DnsError):
        guard.resolve("a.example", 443)  # remembered, and now the most recently used
    for host in ("d.example", "e.example"):  # push out b, then c
        with pytest.raises(DnsError):
            guard.resolve(host, 443)
    assert guard.remembered_failures == 3
    resolver.calls.clear()
    for host in ("a.example", "d.example", "e.example", "b.example", "c.example"):
        with pytest.raises(DnsError):
            guard.resolve(host, 443)
    assert resolver.calls == ["b.example", "c.example"]
    assert guard.remembered_failures == 3


def test_the_lookup_pool_never_grows_past_its_size(blocking: BlockingResolver) -> None:
    pool = LookupPool(2)
    guard = _guard(blocking, dns_timeout_s=0.1, dns_negative_ttl_s=0, lookups=pool)
    started = time.monotonic()
    for n in range(5):
        with pytest.raises(DnsError, match="no answer"):
            guard.resolve(f"h{n}.example", 443)
    assert pool.threads == 2
    assert time.monotonic() - started < 5 * 0.1 + 1.5  # queued lookups time out like running ones
    assert len(blocking.calls) == 2  # the three that never started were cancelled, not run later
