"""The poll state machine, driven with an injected clock and real feed bodies (tests/fixtures/feeds)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

import storywire.connectors.feeds.poll as poll_module
from storywire.connectors.feeds.poll import FeedPoller
from storywire.connectors.feeds.settings import FeedSpec
from storywire.connectors.http import errors as http_errors
from tests.support.poll_doubles import (
    T0,
    URL,
    BlockedAddressError,
    BodyTooLargeError,
    ConnectError,
    DnsError,
    FetchResult,
    FetchTimeoutError,
    StatusError,
    TlsError,
    TooManyRedirectsError,
    body,
    not_modified,
    ok,
    poll,
    poller,
    response,
    settings,
)

MIN = timedelta(minutes=10)
DAY = timedelta(days=1)


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse_feed must not be called")

    monkeypatch.setattr(poll_module, "parse_feed", fail)


def _rss(items: list[tuple[str, str]], build: str = "Wed, 03 May 2023 09:00:00 GMT", extra: str = "") -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>https://harbour-times.example/n/{guid}</link><guid>{guid}</guid></item>"
        for guid, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>HT</title><link>https://harbour-times.example/</link>'
        f"<lastBuildDate>{build}</lastBuildDate>{extra}{entries}</channel></rss>"
    ).encode()


# -- items ---------------------------------------------------------------------------------------------


def test_first_poll_emits_every_item_and_an_identical_body_emits_nothing() -> None:
    p = poller()
    first = poll(p, T0, ok(body("rss_basic.xml"), T0))
    assert first.status == "new_items" and first.ok
    assert [i.item_key for i in first.new_items] == ["ht-1001", "ht-1000", "ht-0999"]
    assert first.updated_items == () and first.failure is None
    later = first.next_poll_at
    assert p.due(later - timedelta(seconds=1)) == []
    again = poll(p, later, ok(body("rss_basic.xml"), later))
    assert again.status == "unchanged_body" and again.new_items == () and again.updated_items == ()


def test_an_edited_item_is_an_update_and_a_new_one_is_new() -> None:
    p = poller()
    first = poll(p, T0, ok(body("rss_basic.xml"), T0))
    t1 = first.next_poll_at
    second = poll(p, t1, ok(body("rss_basic_next.xml"), t1))
    assert second.status == "new_items"
    assert [i.item_key for i in second.new_items] == ["ht-1002"]
    (edited,) = second.updated_items
    assert edited.item_key == "ht-1001" and edited.title == "Ferry strike called off after overnight talks end in deal"
    # The item that dropped out of the feed (ht-0999) is not reported; nothing else changed.
    t2 = second.next_poll_at
    third = poll(p, t2, ok(body("rss_basic.xml").replace(b"09:00:00 GMT</lastBuild", b"11:00:00 GMT</lastBuild"), t2))
    assert third.status == "updated_items" and third.new_items == ()
    assert [i.item_key for i in third.updated_items] == ["ht-1001"]  # edited back: another revision


def test_items_without_guid_are_identified_by_canonical_link() -> None:
    p = poller()
    first = poll(p, T0, ok(body("rss_no_guid.xml"), T0))
    (item,) = first.new_items
    assert item.item_key == "https://daily-meridian.example/economy/rate-rise" and first.skipped_entries == 1
    retagged = body("rss_no_guid.xml").replace(b"utm_source=rss", b"utm_source=app")
    second = poll(p, first.next_poll_at, ok(retagged, first.next_poll_at))
    assert second.status == "no_new_items"


def test_duplicate_items_in_one_feed_count_once() -> None:
    p = poller()
    outcome = poll(p, T0, ok(_rss([("a", "A"), ("a", "A again"), ("b", "B")]), T0))
    # feedparser resolves a bare guid against the channel link
    keys = [i.item_key.rsplit("/", 1)[-1] for i in outcome.new_items]
    assert keys == ["a", "b"] and outcome.updated_items == () and outcome.new_items[0].title == "A"


def test_seen_items_are_bounded_but_never_below_what_the_feed_lists() -> None:
    p = poller(seen_items=10)
    now = T0
    for n in range(30):
        outcome = poll(p, now, ok(_rss([(f"g{n}-{k}", "T") for k in range(3)]), now))
        assert len(outcome.new_items) == 3
        now = outcome.next_poll_at
    assert len(p.state(URL).seen) == 10
    wide = [(f"w{k}", "T") for k in range(25)]
    outcome = poll(p, now, ok(_rss(wide), now))
    assert len(outcome.new_items) == 25 and len(p.state(URL).seen) == 25
    now = outcome.next_poll_at
    outcome = poll(p, now, ok(_rss(wide, build="Thu, 04 May 2023 09:00:00 GMT", extra="<ttl>1</ttl>"), now))
    assert outcome.status == "no_new_items"  # all 25 still remembered although the bound is 10


def test_feed_language_from_the_config_wins() -> None:
    p = poller(FeedSpec(URL, language="fr"))
    outcome = poll(p, T0, ok(body("rss_basic.xml"), T0))
    assert {i.feed_language for i in outcome.new_items} == {"fr"}


# -- cheap paths ---------------------------------------------------------------------------------------


def test_not_modified_and_unchanged_bodies_are_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    p = poller()
    first = poll(p, T0, ok(body("rss_basic.xml"), T0, headers=(("ETag", '"v1"'),)))
    _no_parse(monkeypatch)
    t1 = first.next_poll_at
    assert poll(p, t1, not_modified(t1)).status == "not_modified"
    t2 = p.state(URL).next_poll_at
    new_etag = ok(body("rss_basic.xml"), t2, headers=(("ETag", '"v2"'),))
    assert poll(p, t2, new_etag).status == "unchanged_body"
    assert p.state(URL).etag == '"v2"'
    t3 = p.state(URL).next_poll_at
    rebuilt = body("rss_basic.xml").replace(
        b"Wed, 03 May 2023 09:00:00 GMT</lastBuild", b"Wed, 03 May 2023 12:34:56 GMT</lastBuild"
    )
    assert poll(p, t3, ok(rebuilt, t3)).status == "unchanged_body"


def test_validators_are_sent_unless_distrusted_or_stale() -> None:
    trusted, distrusted = URL, "https://continental-post.example/feeds/world.atom"
    p = poller(FeedSpec(trusted), FeedSpec(distrusted, trust_validators=False))
    headers = (("ETag", '"abc"'), ("Last-Modified", "Wed, 03 May 2023 08:00:00 GMT"))
    first = {r.feed_url: r for r in p.due(T0)}
    assert first[trusted].etag is None and first[trusted].last_modified is None
    p.on_result(trusted, ok(body("rss_basic.xml"), T0, headers=headers), T0)
    p.on_result(distrusted, ok(body("atom_basic.xml"), T0, url=distrusted, headers=headers), T0)
    now = T0 + DAY  # both are due by now (max interval 24h)
    requests = {r.feed_url: r for r in p.due(now - timedelta(seconds=1))}
    assert requests[trusted].etag == '"abc"' and requests[trusted].last_modified == headers[1][1]
    assert requests[distrusted].etag is None and requests[distrusted].last_modified is None
    # 304s do not refresh the body's age: once the last full body is older than max_interval, no validators.
    p.on_result(trusted, not_modified(now), now)
    later = p.state(trusted).next_poll_at
    assert later - T0 >= DAY
    (request,) = [r for r in p.due(later) if r.feed_url == trusted]
    assert request.etag is None and request.last_modified is None


# -- failures ------------------------------------------------------------------------------------------


def test_malformed_feed_with_entries_uses_them_and_reports_once_per_body() -> None:
    p = poller()
    outcome = poll(p, T0, ok(body("rss_malformed_with_entries.xml"), T0))
    assert outcome.status == "malformed_with_entries" and outcome.ok
    assert len(outcome.new_items) == 2
    assert outcome.failure is not None and outcome.failure.error_type == "MalformedFeedError"
    assert outcome.failure.stage == "parse-feed" and outcome.failure.payload == body("rss_malformed_with_entries.xml")
    again = poll(p, outcome.next_poll_at, ok(body("rss_malformed_with_entries.xml"), outcome.next_poll_at))
    assert again.status == "unchanged_body" and again.failure is None


def test_a_body_that_is_not_a_feed_is_a_failure_and_clears_validators() -> None:
    p = poller()
    first = poll(p, T0, ok(body("rss_basic.xml"), T0, headers=(("ETag", '"v1"'),)))
    t1 = first.next_poll_at
    bad = poll(p, t1, ok(body("not_a_feed.html"), t1, headers=(("ETag", '"wall"'),)))
    assert bad.status == "malformed_no_entries" and not bad.ok and bad.new_items == ()
    assert bad.failure is not None and bad.failure.error_type == "FeedParseError"
    assert bad.failure.stage == "parse-feed" and bad.failure.identity == URL
    (request,) = p.due(bad.next_poll_at)
    assert request.etag is None  # a 304 now would hide the broken body behind a success
    p.on_result(URL, ok(body("rss_basic.xml"), bad.next_poll_at), bad.next_poll_at)
    assert p.state(URL).failures == 0


def test_unsafe_xml_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]>'
        b'<rss version="2.0"><channel><title>&a;</title></channel></rss>'
    )
    p = poller()
    outcome = poll(p, T0, ok(bomb, T0))
    assert outcome.status == "unsafe_xml" and outcome.failure is not None
    assert outcome.failure.error_type == "UnsafeXmlError"


@pytest.mark.parametrize(
    ("error", "status", "http_status"),
    [
        (FetchTimeoutError("read timed out"), "timeout", None),
        (TimeoutError(), "timeout", None),
        (DnsError("no such host"), "dns_error", None),
        (ConnectError("refused"), "connect_error", None),
        (TlsError("certificate expired"), "tls_error", None),
        (BodyTooLargeError("over 10MB"), "body_too_large", None),
        (TooManyRedirectsError("6 redirects"), "too_many_redirects", None),
        (BlockedAddressError("10.0.0.1 is private"), "blocked_address", None),
        (StatusError(500, URL), "http_error", 500),
        (StatusError(404, URL), "http_error", 404),
        (StatusError(429, URL), "rate_limited", 429),
        (StatusError(410, URL), "broken", 410),
        (http_errors.HttpProtocolError("closed mid-response", URL), "protocol_error", None),
        (http_errors.ContentDecodingError("bad gzip", URL), "decoding_error", None),
        (http_errors.InvalidUrlError("bad port", URL), "invalid_url", None),
        (RuntimeError("surprise"), "fetch_error", None),
    ],
)
def test_errors_are_classified(error: BaseException, status: str, http_status: int | None) -> None:
    outcome = poll(poller(), T0, error)
    assert outcome.status == status and outcome.http_status == http_status and not outcome.ok
    if status == "rate_limited":  # a throttle is not a bad input: no dead letter (see the next test)
        assert outcome.failure is None
        return
    assert outcome.failure is not None and outcome.failure.stage == "poll-feed" and outcome.failure.identity == URL


def test_throttling_gives_no_dead_letter_until_the_feed_is_broken() -> None:
    p = poller(max_failures=3)
    now, failures = T0, []
    for error in (
        StatusError(429, URL, retry_after=5.0),
        StatusError(503, URL, retry_after=5.0),
        StatusError(429, URL),
    ):
        outcome = poll(p, now, error)
        failures.append(outcome.failure)
        now = outcome.next_poll_at
    assert failures[:2] == [None, None]
    broken = failures[2]
    assert broken is not None and broken.error_type == "FeedBrokenError"
    # a 503 without Retry-After is a server error, reported as before
    assert poll(poller(), T0, StatusError(503, URL)).failure is not None


def test_backoff_is_exponential_capped_and_deterministically_jittered() -> None:
    def delays(url: str) -> list[float]:
        p = poller(FeedSpec(url), max_failures=50)
        now, result = T0, []
        for _ in range(10):
            outcome = poll(p, now, FetchTimeoutError("slow"), url)
            result.append((outcome.next_poll_at - now).total_seconds())
            now = outcome.next_poll_at
        return result

    a = delays(URL)
    assert a == delays(URL)  # the same in every run
    assert a != delays("https://other.example/rss")  # but not in lockstep with other feeds
    base, cap, low = 300.0, 6 * 3600.0, 600.0
    for n, delay in enumerate(a, start=1):
        raw = min(cap, base * 2 ** (n - 1))
        assert max(low, 0.5 * raw) <= delay < max(low, raw) + 1e-6, (n, delay)
    assert a[-1] < cap and a[5] > a[2]


def test_retry_after_is_a_lower_bound_capped_at_max_interval() -> None:
    p = poller()
    outcome = poll(p, T0, StatusError(429, URL, retry_after=7200))
    assert outcome.status == "rate_limited" and outcome.next_poll_at - T0 == timedelta(hours=2)
    now = outcome.next_poll_at
    result = FetchResult(response(status=503, headers=(("Retry-After", "Thu, 04 May 2023 09:30:00 GMT"),), at=now))
    outcome = poll(p, now, result)
    assert outcome.status == "http_error" and outcome.http_status == 503
    assert outcome.next_poll_at == T0.replace(day=4, minute=30)
    now = outcome.next_poll_at
    outcome = poll(p, now, StatusError(503, URL, retry_after=timedelta(days=30)))
    assert outcome.next_poll_at - now == DAY


def test_a_feed_is_broken_after_max_failures_reported_once_then_polled_daily_and_recovers() -> None:
    p = poller(max_failures=4)
    now, outcomes = T0, []
    for _ in range(6):
        outcome = poll(p, now, FetchTimeoutError("slow"))
        outcomes.append(outcome)
        now = outcome.next_poll_at
    assert [o.status for o in outcomes] == ["timeout"] * 3 + ["broken"] + ["timeout"] * 2
    assert [o.became_broken for o in outcomes] == [False] * 3 + [True] + [False] * 2
    assert [o.broken for o in outcomes] == [False] * 3 + [True] * 3
    assert outcomes[3].error_kind == "timeout" and p.broken_count() == 1
    failures = [o.failure for o in outcomes]
    assert failures[0] is not None and failures[0].error_type == "FetchTimeoutError"
    assert failures[1] is None and failures[2] is None and failures[4] is None and failures[5] is None
    assert failures[3] is not None and failures[3].error_type == "FeedBrokenError"
    assert "4 consecutive" in failures[3].message
    assert all(o.next_poll_at - o_time == DAY for o, o_time in zip(outcomes[3:], _times(outcomes)[3:], strict=True))
    recovered = poll(p, now, ok(body("rss_basic.xml"), now))
    assert recovered.recovered and not recovered.broken and recovered.status == "new_items"
    assert p.state(URL).failures == 0 and p.broken_count() == 0


def _times(outcomes: list[poll_module.PollOutcome]) -> list[object]:
    times, now = [], T0
    for outcome in outcomes:
        times.append(now)
        now = outcome.next_poll_at
    return times


def test_gone_breaks_at_once_and_other_4xx_after_half_the_failures() -> None:
    gone = poll(poller(), T0, StatusError(410, URL))
    assert gone.became_broken and gone.status == "broken" and gone.error_kind == "gone"
    p = poller(max_failures=5)  # ceil(5/2) = 3 for permanent errors
    now, statuses = T0, []
    for _ in range(3):
        outcome = poll(p, now, StatusError(404, URL))
        statuses.append(outcome.status)
        now = outcome.next_poll_at
    assert statuses == ["http_error", "http_error", "broken"]


def test_a_new_error_in_a_streak_writes_a_dead_letter() -> None:
    p = poller(max_failures=20)
    now, written = T0, []
    for error in [FetchTimeoutError("a"), FetchTimeoutError("b"), DnsError("c"), DnsError("d"), StatusError(502, URL)]:
        outcome = poll(p, now, error)
        written.append(outcome.failure.error_type if outcome.failure else None)
        now = outcome.next_poll_at
    assert written == ["FetchTimeoutError", None, "DnsError", None, "StatusError"]
    outcome = poll(p, now, ok(body("rss_basic.xml"), now))
    assert outcome.ok
    outcome = poll(p, outcome.next_poll_at, FetchTimeoutError("e"))
    assert outcome.failure is not None  # a new streak starts


def test_host_backoff_defers_without_counting_a_failure() -> None:
    p = poller(max_failures=2)
    outcome = poll(p, T0, FetchTimeoutError("slow"))
    now = outcome.next_poll_at
    deferred = poll(p, now, http_errors.HostBackoffError("host busy", URL, retry_after=90.0))
    assert deferred.status == "deferred" and deferred.failure is None and not deferred.broken
    assert deferred.next_poll_at - now == timedelta(seconds=90) and p.state(URL).failures == 1
    assert poll(p, deferred.next_poll_at, FetchTimeoutError("slow")).status == "broken"  # 2nd real failure


def test_a_host_that_does_not_exist_breaks_sooner_than_a_resolver_hiccup() -> None:
    def statuses(retryable: bool) -> list[str]:
        p = poller(max_failures=4)
        now, result = T0, []
        for _ in range(4):
            outcome = poll(p, now, DnsError(retryable=retryable))
            result.append(outcome.status)
            now = outcome.next_poll_at
        return result

    assert statuses(retryable=False) == ["dns_error", "broken", "dns_error", "dns_error"]
    assert statuses(retryable=True) == ["dns_error"] * 3 + ["broken"]


def test_http_error_status_returned_as_a_result_is_a_failure() -> None:
    outcome = poll(poller(), T0, FetchResult(response(status=500, payload=b"oops")))
    assert outcome.status == "http_error" and outcome.http_status == 500


# -- redirects, scheduling -----------------------------------------------------------------------------


def test_permanent_redirect_changes_the_fetch_url_not_the_identity() -> None:
    moved = "https://www.harbour-times.example/feeds/all.xml"
    p = poller()
    result = FetchResult(response(moved, body("rss_basic.xml")), permanent_redirect=moved)
    outcome = poll(p, T0, result)
    assert outcome.feed_url == URL and outcome.fetch_url == moved
    (request,) = p.due(outcome.next_poll_at)
    assert request.feed_url == URL and request.fetch_url == moved
    assert {i.feed_url for i in outcome.new_items} == {moved}
    p.on_result(URL, FetchResult(response(moved, b""), permanent_redirect="javascript:alert(1)"), outcome.next_poll_at)
    assert p.state(URL).current_url == moved  # only http(s) redirects are followed


def test_in_flight_feeds_are_not_due_twice_and_next_wakeup_never_busy_waits() -> None:
    other = "https://northern-ledger.example/rss"
    p = poller(URL, other)
    assert p.next_wakeup() == T0
    requests = p.due(T0)
    assert [r.feed_url for r in requests] == [URL, other]
    assert p.due(T0 + DAY) == [] and p.next_wakeup() is None and p.in_flight == {URL, other}
    p.on_result(URL, ok(body("rss_basic.xml"), T0), T0)
    assert p.next_wakeup() == p.state(URL).next_poll_at > T0
    with pytest.raises(KeyError, match="not an enabled configured feed"):
        p.on_result("https://unknown.example/rss", ok(b"", T0), T0)


def test_first_polls_are_spread_deterministically() -> None:
    feeds = [FeedSpec(f"https://outlet{n}.example/rss") for n in range(200)]
    spread = timedelta(minutes=5)

    def firsts() -> list[float]:
        p = FeedPoller(feeds, settings(startup_spread=spread), T0)
        return [(p.state(f.url).next_poll_at - T0).total_seconds() for f in feeds]

    a = firsts()
    assert a == firsts()
    assert all(0 <= s < spread.total_seconds() for s in a)
    assert max(a) - min(a) > 200 and len(set(a)) > 190
    p = FeedPoller(feeds, settings(startup_spread=spread), T0)
    assert len(p.due(T0 + timedelta(minutes=1))) < 80


def test_disabled_feeds_are_not_polled() -> None:
    p = poller(FeedSpec(URL, enabled=False), "https://northern-ledger.example/rss")
    assert [r.feed_url for r in p.due(T0 + DAY)] == ["https://northern-ledger.example/rss"]
    with pytest.raises(KeyError):
        p.on_error(URL, TimeoutError(), T0)


# -- interval ------------------------------------------------------------------------------------------


def test_a_quiet_feed_slows_down_step_by_step_to_max_interval() -> None:
    p = poller()
    outcome = poll(p, T0, ok(body("rss_basic.xml"), T0))
    assert outcome.interval == timedelta(minutes=30)  # initial interval until a rate is known
    intervals = []
    for _ in range(8):
        now = outcome.next_poll_at
        outcome = poll(p, now, not_modified(now))
        intervals.append(outcome.interval)
    assert intervals[:5] == [
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=16),
    ]
    assert intervals[5:] == [DAY] * 3


def test_a_busy_feed_speeds_up_to_its_minimum_interval() -> None:
    p = poller()
    now = T0
    outcome = poll(p, now, ok(_rss([(f"old{k}", "T") for k in range(20)]), now))
    serial = 0
    for _ in range(12):
        now = outcome.next_poll_at
        published = max(1, round((now - T0).total_seconds() / 600)) - serial  # one item every 10 minutes
        fresh = [(f"new{serial + k}", "T") for k in range(published)]
        serial += published
        outcome = poll(p, now, ok(_rss(fresh + [(f"old{k}", "T") for k in range(20)]), now))
    assert outcome.interval == MIN


def test_an_hourly_feed_settles_near_one_hour() -> None:
    p = poller()
    outcome = poll(p, T0, ok(_rss([("seed", "T")]), T0))
    items: list[tuple[str, str]] = [("seed", "T")]
    for _ in range(40):
        now = outcome.next_poll_at
        hours = int((now - T0).total_seconds() // 3600)
        items = [(f"h{h}", "T") for h in range(max(0, hours - 20), hours + 1)][::-1]
        outcome = poll(p, now, ok(_rss(items), now))
    assert timedelta(minutes=30) <= outcome.interval <= timedelta(hours=2)


def test_overflow_halves_the_interval_at_once() -> None:
    p = poller()
    outcome = poll(p, T0, ok(_rss([("a", "T")]), T0))
    now = outcome.next_poll_at
    outcome = poll(p, now, not_modified(now))
    assert outcome.interval == timedelta(hours=1)
    now = outcome.next_poll_at
    outcome = poll(p, now, ok(_rss([(f"n{k}", "T") for k in range(9)] + [("a", "T")]), now))
    assert outcome.interval <= timedelta(minutes=30)


@pytest.mark.parametrize(
    ("fixture", "headers", "expected"),
    [
        ("rss_ttl.xml", (), timedelta(hours=3)),
        ("rss_sy_update.xml", (), timedelta(minutes=30)),  # hourly/2 = 30m beats ttl 15m
        ("rss_basic.xml", (("Cache-Control", "public, max-age=5400"),), timedelta(minutes=90)),
        (
            "rss_basic.xml",
            (("Date", "Wed, 03 May 2023 09:00:00 GMT"), ("Expires", "Wed, 03 May 2023 13:00:00 GMT")),
            timedelta(hours=4),
        ),
        ("rss_basic.xml", (("Cache-Control", "no-cache, max-age=9000"),), timedelta(minutes=30)),
        ("rss_basic.xml", (("Cache-Control", "max-age=31536000"),), DAY),  # capped at max_interval
        ("rss_basic.xml", (("Cache-Control", "max-age=60"),), timedelta(minutes=30)),  # below the interval
    ],
)
def test_publisher_hints_are_lower_bounds(
    fixture: str, headers: tuple[tuple[str, str], ...], expected: timedelta
) -> None:
    p = poller()
    outcome = poll(p, T0, ok(body(fixture), T0, headers=headers))
    assert outcome.next_poll_at - T0 == expected


def test_body_hint_survives_not_modified_answers() -> None:
    p = poller()
    outcome = poll(p, T0, ok(body("rss_ttl.xml"), T0))
    now = outcome.next_poll_at
    outcome = poll(p, now, not_modified(now))
    assert outcome.next_poll_at - now == timedelta(hours=3) and outcome.interval == timedelta(hours=1)


def test_a_feed_minimum_interval_is_respected_by_backoff() -> None:
    p = poller(FeedSpec(URL, min_interval=timedelta(hours=2)))
    outcome = poll(p, T0, FetchTimeoutError("slow"))
    assert outcome.next_poll_at - T0 == timedelta(hours=2)
    assert math.isclose(outcome.interval.total_seconds(), 7200)


def test_a_poll_started_a_little_late_keeps_the_cadence_and_a_very_late_one_starts_afresh() -> None:
    ten = timedelta(minutes=10)
    p = poller(initial_interval=ten, min_interval=ten, max_interval=ten)
    first = poll(p, T0, ok(body("rss_basic.xml"), T0))
    due = first.next_poll_at
    assert due == T0 + timedelta(minutes=10)
    # Its host was busy (politeness): the poll ran 2 minutes late; the next one is still due on the cadence.
    late = due + timedelta(minutes=2)
    second = poll(p, late, not_modified(late))
    assert second.next_poll_at == due + second.interval
    # Far behind (more than half an interval: a pause, a long queue): counted from now, no catch-up burst.
    very_late = second.next_poll_at + second.interval
    third = poll(p, very_late, not_modified(very_late))
    assert third.next_poll_at == very_late + third.interval
