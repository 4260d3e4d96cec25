"""What a server or a feed says about when to come back, and a body digest that ignores build timestamps.

All hints are *lower bounds* on the next poll (seconds); the poller caps them at the feed's ``max_interval``.

- Headers: ``Cache-Control: max-age`` (wins over ``Expires``, as in HTTP caching; ``no-cache``/``no-store``
  give no hint), ``Expires`` relative to the response's ``Date`` (the server's clock), ``Retry-After``
  (seconds or an HTTP date).
- Body: RSS ``<ttl>`` (minutes) and the RSS 1.0 syndication module's ``sy:updatePeriod`` /
  ``sy:updateFrequency`` (period divided by frequency). feedparser reads these too (``feed.ttl``,
  ``feed.sy_updateperiod``, ``feed.sy_updatefrequency``, checked in the tests), but
  :func:`~storywire.connectors.feeds.parse.parse_feed` does not return feed metadata, and a second feedparser pass would
  double the parse cost; so the channel header (the bytes before the first ``<item``/``<entry``, at most
  16 KiB) is scanned with three bounded regular expressions instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from storywire.connectors.http_types import CapturedResponse

HEAD_LIMIT = 16 * 1024
_PERIOD_SECONDS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
_TTL = re.compile(rb"<ttl\s*>\s*(\d{1,9})\s*</ttl\s*>", re.IGNORECASE)
_SY_PERIOD = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?updatePeriod\s*>\s*([A-Za-z]{1,16})\s*</")
_SY_FREQUENCY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?updateFrequency\s*>\s*(\d{1,9})\s*</")
# Feed-level timestamps that many servers rewrite on every request although no item changed.
_VOLATILE = re.compile(rb"<(lastBuildDate|pubDate|updated|dc:date)\s*>[^<]{0,100}</\1\s*>")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,12})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_STORE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|=|$)", re.IGNORECASE)


def _head_end(body: bytes) -> int:
    """Where the first item or entry starts (the channel/feed header ends), at most HEAD_LIMIT."""
    limit = min(len(body), HEAD_LIMIT)
    ends = [i for i in (body.find(b"<item", 0, limit), body.find(b"<entry", 0, limit)) if i >= 0]
    return min(ends) if ends else limit


def body_digest(body: bytes) -> str:
    """A 128-bit hex digest of the body with feed-level build timestamps blanked out.

    ``lastBuildDate``/``pubDate``/``updated`` before the first item are rewritten by many servers on every
    request; ignoring them lets an otherwise identical feed count as unchanged (no parse). Item-level dates
    are part of the digest.
    """
    cut = _head_end(body)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(_VOLATILE.sub(b"", body[:cut]))
    digest.update(body[cut:])
    return digest.hexdigest()


def body_min_delay(body: bytes) -> float | None:
    """Seconds the feed asks to wait between polls (the larger of ``ttl`` and ``sy:*``), None if it says nothing."""
    head = body[: _head_end(body)]
    hints: list[float] = []
    ttl = _TTL.search(head)
    if ttl:
        minutes = int(ttl.group(1))
        if minutes > 0:
            hints.append(minutes * 60.0)
    period = _SY_PERIOD.search(head)
    frequency = _SY_FREQUENCY.search(head)
    if period or frequency:
        seconds = _PERIOD_SECONDS.get(period.group(1).decode("ascii").lower(), 0.0) if period else 86400.0
        times = int(frequency.group(1)) if frequency else 1
        if seconds > 0 and times > 0:
            hints.append(seconds / times)
    return max(hints) if hints else None


def lower_headers(response: CapturedResponse) -> dict[str, str]:
    """The response's headers by lower-case name (the first of repeated ones), read once per response."""
    headers: dict[str, str] = {}
    for name, value in response.headers:
        headers.setdefault(name.lower(), value)
    return headers


def header_min_delay(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until a response stops being fresh by ``Cache-Control: max-age`` or ``Expires``; None if unsaid.

    ``headers`` are keyed by lower-case name (:func:`lower_headers`).
    """
    cache_control = headers.get("cache-control")
    if cache_control:
        if _NO_STORE.search(cache_control):
            return None
        match = _MAX_AGE.search(cache_control)
        if match:
            seconds = float(match.group(1))
            return seconds if seconds > 0 else None
    expires = headers.get("expires")
    if expires:
        when = _http_date(expires)
        if when is None:
            return None
        reference = _http_date(headers.get("date") or "") or now
        seconds = (when - reference).total_seconds()
        return seconds if seconds > 0 else None
    return None


def retry_after_seconds(value: object, now: datetime) -> float | None:
    """``Retry-After`` in seconds from the header text, a number of seconds, a timedelta or a datetime."""
    if value is None or isinstance(value, bool):
        return None
    seconds: float | None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, datetime):
        seconds = (_aware(value) - now).total_seconds()
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            seconds = float(text)
        else:
            when = _http_date(text)
            seconds = None if when is None else (when - now).total_seconds()
    else:
        return None
    return seconds if seconds is not None and seconds > 0 else None


def _http_date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return _aware(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
