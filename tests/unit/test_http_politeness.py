"""Per-host politeness on a fake clock: spacing, concurrency, Retry-After, crawl-delay; Retry-After parsing."""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta, timezone

import pytest

from storywire.connectors.http import PolitenessScheduler, Slot, parse_retry_after

NOW = datetime(2023, 5, 3, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("Wed, 03 May 2023 12:01:30 GMT", 90.0),
        ("Wed, 03 May 2023 11:59:00 GMT", 0.0),  # in the past: go now
        ("Wed, 03 May 2023 12:00:10 -0000", 10.0),
        ("Wednesday, 03-May-23 12:00:20 GMT", 20.0),  # RFC 850 form, still allowed by RFC 9110
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("٣", None),  # a non-ASCII digit is not delay-seconds
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_retry_after_date_is_read_against_the_given_now() -> None:
    later = NOW + timedelta(seconds=30)
    assert parse_retry_after("Wed, 03 May 2023 12:01:30 GMT", now=later) == 60.0


def scheduler(**kwargs: float) -> PolitenessScheduler:
    options: dict[str, float] = {"min_delay_s": 5.0, "default_backoff_s": 30.0, "max_retry_after_s": 3600.0}
    options.update(kwargs)
    return PolitenessScheduler(
        min_delay_s=options["min_delay_s"],
        max_concurrency_per_host=int(options.get("max_concurrency_per_host", 1)),
        default_backoff_s=options["default_backoff_s"],
        max_retry_after_s=options["max_retry_after_s"],
        max_crawl_delay_s=options.get("max_crawl_delay_s", 60.0),
    )


def take(s: PolitenessScheduler, host: str, now: float) -> Slot:
    granted = s.try_acquire(host, now)
    assert isinstance(granted, Slot), f"expected a slot at {now}, told to come back at {granted}"
    return granted


def test_request_starts_to_one_host_are_spaced_by_the_minimum_delay() -> None:
    s = scheduler()
    assert s.next_allowed_at("a.example", 100.0) == 100.0
    s.release(take(s, "a.example", 100.0), 100.4)
    assert s.next_allowed_at("a.example", 101.0) == 105.0
    assert s.try_acquire("a.example", 101.0) == 105.0
    assert s.try_acquire("a.example", 104.999) == 105.0
    s.release(take(s, "a.example", 105.0), 106.0)
    assert s.next_allowed_at("a.example", 105.0) == 110.0


def test_hosts_are_independent() -> None:
    s = scheduler()
    take(s, "a.example", 0.0)
    take(s, "b.example", 0.0)
    assert s.next_allowed_at("c.example", 0.0) == 0.0


def test_concurrency_budget_holds_until_release() -> None:
    s = scheduler(min_delay_s=0.0, max_concurrency_per_host=2)
    first = take(s, "a.example", 0.0)
    take(s, "a.example", 0.0)
    busy = s.try_acquire("a.example", 0.0)
    assert isinstance(busy, float) and busy > 0.0  # come back later: both slots are out
    s.release(first, 0.01)
    take(s, "a.example", 0.02)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_pushes_the_next_slot(status: int) -> None:
    s = scheduler()
    applied = s.release(take(s, "a.example", 0.0), 1.0, status=status, retry_after=120.0)
    assert applied == 120.0
    assert s.next_allowed_at("a.example", 2.0) == 121.0


def test_429_without_retry_after_backs_off_by_the_default() -> None:
    s = scheduler()
    s.release(take(s, "a.example", 0.0), 1.0, status=429)
    assert s.next_allowed_at("a.example", 1.0) == 31.0


def test_retry_after_is_capped_and_other_statuses_do_not_push() -> None:
    s = scheduler(max_retry_after_s=600.0)
    s.release(take(s, "a.example", 0.0), 0.0, status=503, retry_after=10**9)
    assert s.next_allowed_at("a.example", 0.0) == 600.0
    s.release(take(s, "b.example", 0.0), 0.0, status=500, retry_after=999.0)
    s.release(take(s, "c.example", 0.0), 0.0, status=404)
    assert s.next_allowed_at("b.example", 0.0) == 5.0
    assert s.next_allowed_at("c.example", 0.0) == 5.0


def test_a_shorter_retry_after_never_shortens_an_earlier_back_off() -> None:
    s = scheduler(min_delay_s=0.0, max_concurrency_per_host=2)
    first, second = take(s, "a.example", 0.0), take(s, "a.example", 0.0)
    s.release(first, 1.0, status=429, retry_after=100.0)
    s.release(second, 2.0, status=429, retry_after=5.0)
    assert s.next_allowed_at("a.example", 3.0) == 101.0


def test_crawl_delay_raises_the_host_delay_and_is_capped() -> None:
    s = scheduler(max_crawl_delay_s=60.0)
    s.set_crawl_delay("slow.example", 20)
    assert s.delay_for("slow.example") == 20.0
    s.release(take(s, "slow.example", 0.0), 1.0)
    assert s.next_allowed_at("slow.example", 1.0) == 20.0
    s.set_crawl_delay("huge.example", 86400)
    assert s.delay_for("huge.example") == 60.0
    s.set_crawl_delay("tiny.example", 1)  # below the minimum delay: the minimum holds
    assert s.delay_for("tiny.example") == 5.0
    s.set_crawl_delay("slow.example", None)
    assert s.delay_for("slow.example") == 5.0


def test_idle_hosts_are_forgotten_when_the_table_grows() -> None:
    s = scheduler(min_delay_s=1.0)
    for i in range(9_998):
        s.release(take(s, f"h{i}.example", 0.0), 0.0)
    s.set_crawl_delay("h0.example", 30)
    held = take(s, "busy.example", 0.0)
    s.release(take(s, "backoff.example", 0.0), 0.0, status=429, retry_after=100.0)
    assert len(s) == 10_000
    take(s, "new.example", 2.0)  # past the idle hosts' delay: they go, constraints stay
    assert len(s) == 4  # h0 (crawl-delay), busy (in flight), backoff (blocked), new
    assert s.delay_for("h0.example") == 30.0
    assert s.next_allowed_at("backoff.example", 2.0) == 100.0
    s.release(held, 3.0)


def test_concurrent_threads_never_exceed_the_budget() -> None:
    s = scheduler(min_delay_s=0.0, max_concurrency_per_host=3)
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal in_flight, peak
        for _ in range(200):
            granted = s.try_acquire("a.example", 0.0)
            if not isinstance(granted, Slot):
                continue
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            with lock:
                in_flight -= 1
            s.release(granted, 0.0)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= peak <= 3
    assert s.next_allowed_at("a.example", 0.0) == 0.0
    assert not math.isinf(s.next_allowed_at("a.example", 0.0))
