"""When to poll a feed next: adaptive interval, exponential backoff with deterministic jitter, failure kinds.

Pure functions of numbers (seconds) and the feed URL, so every rule is unit-tested without a clock.

Interval adaptation: entry frequency, not the 33 %/67 % rule
------------------------------------------------------------
Miniflux's idea, with our own observations: the interval aims at about **one new item per poll**, so a feed
is polled about as often as it publishes, within its ``[min_interval, max_interval]``.

- The publishing rate is estimated from what *we* saw, never from the feed's dates (missing, wrong or in the
  future too often): after each successful poll, ``N`` (new items) and ``T`` (seconds since the previous
  successful poll) are added to running sums that decay with a half-life of 12 hours, so the estimate follows
  the day's rhythm without jumping at one quiet or busy poll. The target interval is ``T / N`` (the max when
  nothing new was seen). 304s and unchanged bodies count as polls with 0 new items: a quiet feed slows down.
- A poll moves the interval by at most a factor of 2 either way (no oscillation on one odd poll).
- Overflow guard, from Media Cloud's upper threshold: when more than 2/3 of the items a feed lists are new
  (and it lists at least 3), items were probably missed, so the interval is at least halved at once.
- The first successful poll of a feed only sets the baseline (its items are a backlog, not a rate); the
  interval stays at ``initial_interval`` (clamped to the feed's bounds) until the second.

Media Cloud's 33 %/67 % "share already seen" rule was considered: it optimises for not losing items with the
fewest requests, which lets a feed that publishes hourly drift to polls every ~10 hours. storywire is a
monitoring pipeline where minutes matter, so latency is the goal and the share rule only guards overflow.

Backoff and broken
------------------
After the n-th consecutive failure the next poll is ``min(backoff_cap, backoff_base * 2**(n-1))`` times a
jitter factor in [0.5, 1.0) taken from a hash of (feed URL, n): the same feed fails the same way in every
test and replay, while many feeds failing together (an outage) do not retry in lockstep. The delay is never
below the feed's ``min_interval`` (retrying a struggling server faster than we poll a healthy one is rude).
A ``Retry-After`` is a lower bound on that.

A feed becomes **broken** when its consecutive failures reach the threshold of the latest error kind:
``410 Gone`` at once; *permanent* kinds (other 4xx except 408/429, a host name that does not exist, an
invalid URL, blocked address, body too large, bad content encoding, too many redirects, a body that is not a
feed, unsafe XML) after ``ceil(max_failures / 2)``; *transient* kinds (timeouts, DNS "try again",
connection, TLS, protocol errors, 5xx, 408, 429, anything unknown) after ``max_failures``.

``HostBackoffError`` (storywire.connectors.http: our own politeness slot for the host is further away than the fetcher
may wait) is not a failure of the feed: the poll is *deferred* to that time, nothing is counted.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final, Literal

RATE_HALF_LIFE_S: Final = 12 * 3600.0
MAX_STEP: Final = 2.0
OVERFLOW_SHARE: Final = 2 / 3
OVERFLOW_MIN_ITEMS: Final = 3

Permanence = Literal["gone", "permanent", "transient", "deferred"]
ErrorKind = Literal[
    "deferred",
    "malformed_no_entries",
    "unsafe_xml",
    "timeout",
    "dns_error",
    "connect_error",
    "tls_error",
    "http_error",
    "rate_limited",
    "gone",
    "body_too_large",
    "too_many_redirects",
    "blocked_address",
    "invalid_url",
    "protocol_error",
    "decoding_error",
    "robots_disallowed",
    "fetch_error",
]

# Status/metric name and permanence of each error, by class name (matched anywhere in the MRO, so the core
# needs no import of the HTTP layer and accepts its subclasses).
ERROR_KINDS: Final[dict[str, tuple[ErrorKind, Permanence]]] = {
    "FetchTimeoutError": ("timeout", "transient"),
    "TimeoutError": ("timeout", "transient"),
    "ConnectError": ("connect_error", "transient"),
    "TlsError": ("tls_error", "transient"),
    "BodyTooLargeError": ("body_too_large", "permanent"),
    "TooManyRedirectsError": ("too_many_redirects", "permanent"),
    "BlockedAddressError": ("blocked_address", "permanent"),
    "InvalidUrlError": ("invalid_url", "permanent"),
    "HttpProtocolError": ("protocol_error", "transient"),
    "ContentDecodingError": ("decoding_error", "permanent"),
    "RobotsDisallowedError": ("robots_disallowed", "permanent"),
    "HostBackoffError": ("deferred", "deferred"),
    "FeedParseError": ("malformed_no_entries", "permanent"),
    "UnsafeXmlError": ("unsafe_xml", "permanent"),
}


def classify_error(error: BaseException) -> tuple[ErrorKind, Permanence, int | None]:
    """(status name, permanence, HTTP status or None) of an error from the HTTP layer or the parser."""
    for klass in type(error).__mro__:
        name = klass.__name__
        if name == "HttpStatusError":
            status = getattr(error, "status", None)
            if not isinstance(status, int):
                return "http_error", "transient", None
            kind, permanence = classify_status(status)
            return kind, permanence, status
        if name == "DnsError":  # storywire.connectors.http: retryable only when the resolver said "try again"
            return "dns_error", "transient" if getattr(error, "retryable", True) else "permanent", None
        if name in ERROR_KINDS:
            kind, permanence = ERROR_KINDS[name]
            return kind, permanence, None
    return "fetch_error", "transient", None


def classify_status(status: int) -> tuple[ErrorKind, Permanence]:
    """Status name and permanence of a non-success HTTP status."""
    if status == 410:
        return "gone", "gone"
    if status == 429:
        return "rate_limited", "transient"
    if 400 <= status < 500 and status != 408:
        return "http_error", "permanent"
    return "http_error", "transient"


def failure_threshold(permanence: Permanence, max_failures: int) -> int:
    """Consecutive failures after which a feed failing this way is broken (deferrals never count)."""
    if permanence == "deferred":
        return 2**31
    if permanence == "gone":
        return 1
    if permanence == "permanent":
        return max(1, math.ceil(max_failures / 2))
    return max_failures


def unit_hash(feed_url: str, salt: str, n: int = 0) -> float:
    """A number in [0, 1) fixed by (feed URL, salt, n): deterministic jitter, same in every process."""
    digest = hashlib.blake2b(f"{feed_url}\x00{salt}\x00{n}".encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2.0**64


def backoff_delay(feed_url: str, failures: int, base_s: float, cap_s: float, min_s: float) -> float:
    """Seconds before retrying after the ``failures``-th consecutive failure (>= 1)."""
    exponent = min(max(failures, 1) - 1, 62)
    raw = min(cap_s, base_s * 2.0**exponent)
    jittered = raw * (0.5 + 0.5 * unit_hash(feed_url, "backoff", failures))
    return max(jittered, min_s)


def decay_rate(rate_items: float, rate_seconds: float, new_items: int, elapsed_s: float) -> tuple[float, float]:
    """Fold one poll (``new_items`` seen over ``elapsed_s``) into the decayed sums (items, seconds)."""
    elapsed_s = max(elapsed_s, 0.0)
    weight = 0.5 ** (elapsed_s / RATE_HALF_LIFE_S)
    return rate_items * weight + new_items, rate_seconds * weight + elapsed_s


def adapt_interval(
    current_s: float,
    rate_items: float,
    rate_seconds: float,
    new_items: int,
    listed_items: int,
    min_s: float,
    max_s: float,
) -> float:
    """The next regular interval (seconds) after a successful poll whose sums already include it."""
    current_s = min(max(current_s, min_s), max_s)
    if rate_seconds <= 0.0:
        return current_s
    target = max_s if rate_items <= 1e-9 else rate_seconds / rate_items
    interval = min(max(target, current_s / MAX_STEP), current_s * MAX_STEP)
    if listed_items >= OVERFLOW_MIN_ITEMS and new_items > OVERFLOW_SHARE * listed_items:
        interval = min(interval, current_s / 2.0)
    return min(max(interval, min_s), max_s)
