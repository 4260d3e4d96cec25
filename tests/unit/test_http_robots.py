"""robots.txt policy: rules, crawl-delay, caching, and what 4xx/5xx/errors mean (no network: a fake fetch)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import httpx
import pytest

from storywire.connectors.errors import HttpStatusError
from storywire.connectors.http import (
    ConnectError,
    FetchTimeoutError,
    HostBackoffError,
    HttpConfig,
    RobotsPolicy,
    Target,
    TlsError,
    TooManyRedirectsError,
)
from storywire.connectors.http.robots import crawl_delay_of, parse_robots, robots_url
from storywire.connectors.http_types import CapturedResponse

UA = "storywire/0.1 (+https://example.org/bot)"
DAY = 24 * 3600.0

ROBOTS = b"""\xef\xbb\xbfUser-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: storywire
Disallow: /no-bots/
Allow: /no-bots/except-this
Disallow: /search
Crawl-delay: 12

User-agent: otherbot
Disallow: /
"""


def target(url: str) -> Target:
    parsed = httpx.URL(url)
    return Target(parsed, parsed.scheme, parsed.host, parsed.port or 443, ("93.184.216.34",))


class FakeRobotsServer:
    """The fetch callable RobotsPolicy uses: scripted outcomes per call, counting fetches."""

    def __init__(self, *outcomes: bytes | BaseException) -> None:
        self.outcomes = list(outcomes)
        self.fetched: list[str] = []

    def __call__(self, url: str) -> CapturedResponse:
        self.fetched.append(url)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return CapturedResponse(url, datetime(2023, 5, 3, tzinfo=timezone.utc), 200, (), outcome, "live")


def policy(server: Callable[[str], CapturedResponse], now: list[float], **overrides: float) -> RobotsPolicy:
    config = HttpConfig(user_agent=UA, **overrides)  # type: ignore[arg-type]
    return RobotsPolicy(config, server, clock=lambda: now[0])


def test_robots_url_is_per_origin() -> None:
    assert robots_url(target("https://News.example:8443/a/b?c=1#d")) == "https://news.example:8443/robots.txt"
    assert robots_url(target("http://news.example/x")) == "http://news.example/robots.txt"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/news/2023/kremlin", True),
        ("/no-bots/page", False),
        ("/no-bots/except-this", False),  # urllib.robotparser: first matching rule wins (RFC 9309: longest)
        ("/search?q=drone", False),
        ("/private/x", True),  # the * group does not apply: our own group exists
    ],
)
def test_rules_of_our_own_group_apply(path: str, allowed: bool) -> None:
    now = [0.0]
    decision = policy(FakeRobotsServer(ROBOTS), now).check(target(f"https://news.example{path}"))
    assert decision.allowed is allowed
    assert decision.crawl_delay == 12.0


def test_the_star_group_applies_when_we_have_no_group() -> None:
    rules = parse_robots(b"User-agent: *\nDisallow: /private/\nCrawl-delay: 3\n")
    assert not rules.can_fetch("storywire", "https://x.example/private/a")
    assert rules.can_fetch("storywire", "https://x.example/public")
    assert crawl_delay_of(rules, "storywire") == 3.0


def test_request_rate_counts_as_a_crawl_delay() -> None:
    rules = parse_robots(b"User-agent: *\nRequest-rate: 1/20\nCrawl-delay: 4\n")
    assert crawl_delay_of(rules, "storywire") == 20.0
    assert crawl_delay_of(parse_robots(b"User-agent: *\nDisallow:\n"), "storywire") is None


def test_robots_is_fetched_once_per_origin_per_ttl() -> None:
    now = [0.0]
    server = FakeRobotsServer(ROBOTS)
    p = policy(server, now, robots_ttl_s=DAY)
    for path in ("/a", "/b", "/no-bots/c"):
        p.check(target(f"https://news.example{path}"))
    p.check(target("http://news.example/a"))  # another origin (scheme)
    assert server.fetched == ["https://news.example/robots.txt", "http://news.example/robots.txt"]
    now[0] = DAY + 1
    p.check(target("https://news.example/a"))
    assert len(server.fetched) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451])
def test_4xx_means_no_robots_txt_allow_all(status: int) -> None:
    now = [0.0]
    server = FakeRobotsServer(HttpStatusError(status, "https://news.example/robots.txt"))
    decision = policy(server, now).check(target("https://news.example/anything"))
    assert decision.allowed
    assert decision.crawl_delay is None


def test_too_many_redirects_means_allow_all() -> None:
    now = [0.0]
    server = FakeRobotsServer(TooManyRedirectsError("more than 5 redirects", "https://n.example/robots.txt"))
    assert policy(server, now).check(target("https://n.example/a")).allowed


@pytest.mark.parametrize(
    "error",
    [
        HttpStatusError(500, "u"),
        HttpStatusError(503, "u"),
        HttpStatusError(429, "u"),
        FetchTimeoutError("timed out", "u"),
        ConnectError("refused", "u"),
        TlsError("bad certificate", "u"),
    ],
)
def test_unreachable_robots_disallows_for_a_while_then_asks_again(error: Exception) -> None:
    now = [0.0]
    server = FakeRobotsServer(error, b"User-agent: *\nDisallow: /private/\n")
    p = policy(server, now, robots_error_ttl_s=600.0)
    assert not p.check(target("https://news.example/a")).allowed
    now[0] = 599.0
    assert not p.check(target("https://news.example/a")).allowed
    assert len(server.fetched) == 1
    now[0] = 601.0
    assert p.check(target("https://news.example/a")).allowed
    assert len(server.fetched) == 2


def test_unreachable_robots_keeps_using_the_last_good_copy() -> None:
    now = [0.0]
    server = FakeRobotsServer(ROBOTS, HttpStatusError(503, "u"))
    p = policy(server, now, robots_ttl_s=DAY, robots_error_ttl_s=600.0)
    assert p.check(target("https://news.example/a")).allowed
    now[0] = DAY + 1
    refreshed = p.check(target("https://news.example/a"))
    assert refreshed.allowed  # the old rules still apply, not "disallow all"
    assert "last copy" in refreshed.reason
    assert not p.check(target("https://news.example/no-bots/x")).allowed
    now[0] = DAY + 700
    assert p.check(target("https://news.example/a")).allowed
    assert len(server.fetched) == 3


def test_after_thirty_days_unreachable_everything_is_allowed() -> None:
    now = [0.0]
    server = FakeRobotsServer(HttpStatusError(503, "u"))
    p = policy(server, now, robots_error_ttl_s=600.0, robots_unreachable_allow_after_s=30 * DAY)
    assert not p.check(target("https://down.example/a")).allowed
    for day in range(1, 30):
        now[0] = day * DAY
        assert not p.check(target("https://down.example/a")).allowed
    now[0] = 30 * DAY + 1
    assert p.check(target("https://down.example/a")).allowed


def test_host_backoff_is_not_cached() -> None:
    now = [0.0]
    server = FakeRobotsServer(HostBackoffError("busy", "u", retry_after=30.0), ROBOTS)
    p = policy(server, now)
    with pytest.raises(HostBackoffError):
        p.check(target("https://news.example/a"))
    assert p.check(target("https://news.example/a")).allowed
    assert len(server.fetched) == 2


def test_garbage_robots_txt_allows_all() -> None:
    now = [0.0]
    server = FakeRobotsServer(b"<html><body>Welcome!</body></html>\xff\xfe")
    assert policy(server, now).check(target("https://news.example/a")).allowed
