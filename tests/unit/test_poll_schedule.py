"""Pure scheduling rules and publisher hints (connectors/feeds/schedule.py, feed_hints.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import feedparser
import pytest

from storywire.connectors.errors import FeedParseError, HttpStatusError, UnsafeXmlError
from storywire.connectors.feeds.feed_hints import (
    body_digest,
    body_min_delay,
    header_min_delay,
    lower_headers,
    retry_after_seconds,
)
from storywire.connectors.feeds.schedule import (
    adapt_interval,
    backoff_delay,
    classify_error,
    decay_rate,
    failure_threshold,
    unit_hash,
)
from tests.support.poll_doubles import T0, DnsError, body, response

HOUR = 3600.0


@pytest.mark.parametrize(
    ("fixture", "ttl", "period", "frequency", "hint"),
    [
        ("rss_ttl.xml", "180", None, None, 3 * HOUR),
        ("rss_sy_update.xml", "15", "hourly", "2", HOUR / 2),
        ("rss_basic.xml", None, None, None, None),
        ("atom_basic.xml", None, None, None, None),
    ],
)
def test_body_hints_agree_with_feedparser(
    fixture: str, ttl: str | None, period: str | None, frequency: str | None, hint: float | None
) -> None:
    data = body(fixture)
    meta = feedparser.parse(data).feed
    assert (meta.get("ttl"), meta.get("sy_updateperiod"), meta.get("sy_updatefrequency")) == (ttl, period, frequency)
    assert body_min_delay(data) == hint


def test_body_hints_edge_cases() -> None:
    channel = '<rss xmlns:syn="http://purl.org/rss/1.0/modules/syndication/"><channel>{}<item><ttl>1</ttl></item>'
    assert body_min_delay(channel.format("<syn:updatePeriod>daily</syn:updatePeriod>").encode()) == 86400
    assert body_min_delay(channel.format("<sy:updateFrequency>4</sy:updateFrequency>").encode()) == 21600
    assert body_min_delay(channel.format("<ttl>0</ttl>").encode()) is None
    assert body_min_delay(channel.format("<sy:updatePeriod>sometimes</sy:updatePeriod>").encode()) is None
    assert body_min_delay(channel.format("").encode()) is None  # an item's <ttl> is not the channel's


def test_body_digest_ignores_feed_build_dates_but_not_item_dates() -> None:
    data = body("rss_basic.xml")
    rebuilt = data.replace(b"<lastBuildDate>Wed, 03 May 2023 09:00:00", b"<lastBuildDate>Thu, 04 May 2023 01:02:03")
    assert rebuilt != data and body_digest(rebuilt) == body_digest(data)
    item_date = data.replace(b"<pubDate>Wed, 03 May 2023 08:40:00", b"<pubDate>Wed, 03 May 2023 08:41:00")
    assert body_digest(item_date) != body_digest(data)
    atom = body("atom_basic.xml")
    assert body_digest(
        atom.replace(b"<updated>2023-05-05T09:00:00Z", b"<updated>2023-05-06T00:00:00Z", 1)
    ) == body_digest(atom)
    assert body_digest(atom.replace(b"2023-05-05T08:30:00Z", b"2023-05-05T08:31:00Z")) != body_digest(atom)


def test_header_hints() -> None:
    def hint(*headers: tuple[str, str]) -> float | None:
        return header_min_delay(lower_headers(response(headers=headers)), T0)

    assert hint(("Cache-Control", "max-age=600")) == 600
    assert hint(("cache-control", 'public, max-age="120", must-revalidate')) == 120
    assert hint(("Cache-Control", "s-maxage=900")) is None
    assert hint(("Cache-Control", "no-store")) is None
    assert hint(("Cache-Control", "max-age=0")) is None
    assert hint(("Expires", "Wed, 03 May 2023 10:00:00 GMT")) == HOUR  # relative to now without Date
    assert hint(("Date", "Wed, 03 May 2023 08:00:00 GMT"), ("Expires", "Wed, 03 May 2023 08:30:00 GMT")) == HOUR / 2
    assert hint(("Expires", "0")) is None and hint(("Expires", "Tue, 02 May 2023 10:00:00 GMT")) is None
    assert hint(("Cache-Control", "max-age=60"), ("Expires", "Thu, 04 May 2023 10:00:00 GMT")) == 60
    assert hint() is None


def test_retry_after_forms() -> None:
    assert retry_after_seconds("120", T0) == 120
    assert retry_after_seconds(" 30 ", T0) == 30
    assert retry_after_seconds(45, T0) == 45 and retry_after_seconds(2.5, T0) == 2.5
    assert retry_after_seconds(timedelta(minutes=2), T0) == 120
    assert retry_after_seconds(T0 + timedelta(hours=1), T0) == HOUR
    assert retry_after_seconds(datetime(2023, 5, 3, 10, 0), T0) == HOUR  # naive: UTC
    assert retry_after_seconds("Wed, 03 May 2023 09:10:00 GMT", T0) == 600
    assert retry_after_seconds("Wed, 03 May 2023 08:00:00 GMT", T0) is None  # in the past
    for junk in (None, True, "soon", -5, object()):
        assert retry_after_seconds(junk, T0) is None


def test_error_classification_reads_the_mro_and_http_status() -> None:
    class SubDns(DnsError):
        pass

    assert classify_error(SubDns("x")) == ("dns_error", "transient", None)
    assert classify_error(HttpStatusError(410, "u")) == ("gone", "gone", 410)
    assert classify_error(HttpStatusError(403, "u")) == ("http_error", "permanent", 403)
    assert classify_error(HttpStatusError(408, "u")) == ("http_error", "transient", 408)
    assert classify_error(HttpStatusError(429, "u")) == ("rate_limited", "transient", 429)
    assert classify_error(HttpStatusError(503, "u")) == ("http_error", "transient", 503)
    assert classify_error(FeedParseError("x")) == ("malformed_no_entries", "permanent", None)
    assert classify_error(UnsafeXmlError("x")) == ("unsafe_xml", "permanent", None)
    assert classify_error(KeyError("x")) == ("fetch_error", "transient", None)


def test_failure_thresholds() -> None:
    assert failure_threshold("gone", 10) == 1
    assert failure_threshold("permanent", 10) == 5 and failure_threshold("permanent", 5) == 3
    assert failure_threshold("permanent", 1) == 1
    assert failure_threshold("transient", 10) == 10


def test_jitter_is_deterministic_and_uniform_enough() -> None:
    values = [unit_hash(f"https://f{n}.example/rss", "backoff", 1) for n in range(2000)]
    assert values == [unit_hash(f"https://f{n}.example/rss", "backoff", 1) for n in range(2000)]
    assert all(0 <= v < 1 for v in values)
    assert 0.45 < sum(values) / len(values) < 0.55
    assert sum(v < 0.1 for v in values) in range(150, 250)


def test_backoff_bounds() -> None:
    assert 150 <= backoff_delay("u", 1, 300, 21600, 0) < 300
    assert 600 <= backoff_delay("u", 3, 300, 21600, 0) < 1200
    assert 10800 <= backoff_delay("u", 40, 300, 21600, 0) < 21600
    assert backoff_delay("u", 1, 300, 21600, 900) == 900  # never below the feed's minimum


def test_rate_decays_with_a_half_life_of_twelve_hours() -> None:
    items, seconds = decay_rate(10.0, 36000.0, 0, 12 * HOUR)
    assert items == pytest.approx(5.0) and seconds == pytest.approx(18000.0 + 12 * HOUR)
    assert decay_rate(0.0, 0.0, 3, 600) == (3.0, 600.0)


def test_adapt_interval_rules() -> None:
    low, high = 600.0, 86400.0
    # steady one item per hour: stays at an hour
    assert adapt_interval(HOUR, 10.0, 10 * HOUR, 1, 20, low, high) == HOUR
    # nothing ever seen: doubles, up to max
    assert adapt_interval(HOUR, 0.0, 5 * HOUR, 0, 20, low, high) == 2 * HOUR
    assert adapt_interval(20 * HOUR, 0.0, 50 * HOUR, 0, 20, low, high) == high
    # a busy feed: halves at most per step, never below min
    assert adapt_interval(HOUR, 100.0, HOUR, 5, 50, low, high) == HOUR / 2
    assert adapt_interval(900.0, 100.0, HOUR, 5, 50, low, high) == low
    # overflow: 8 of 10 listed items new halves at once even if the rate says otherwise
    assert adapt_interval(HOUR, 1.0, 10 * HOUR, 8, 10, low, high) == HOUR / 2
    # no observation yet: unchanged, clamped
    assert adapt_interval(60.0, 0.0, 0.0, 3, 3, low, high) == low


def test_times_are_utc_aware() -> None:
    assert T0.tzinfo is timezone.utc
