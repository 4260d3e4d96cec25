"""When an article happened: the one rule for a plausible publication time, shared by every stage.

Normalising a page into an article (:mod:`storywire.pipelines.core.normalise`) keeps ``published_at`` only when
:func:`plausible_time` accepts it, and story clustering (:func:`article_time`) applies the same function, so a
consumer never receives a ``published_at`` that clustering ignored, and clustering never trusts a date that
consumers were not given.

A publication time is plausible when it is

- not before :data:`EARLIEST_PLAUSIBLE` (1990-01-01 UTC): earlier dates are the 1970 epoch or zero dates of
  broken feeds, not news; and
- not later than the first sighting of the item plus :data:`FUTURE_TOLERANCE` (one hour): a publisher cannot
  publish after we saw the item. An hour covers clock skew between the publisher's server and ours and an
  offset one hour off around a daylight-saving change. A date further ahead is a wrong time zone (local time
  labelled UTC, hours ahead), a scheduled or embargo date, or a typo; none of them says when the article
  appeared, and the first sighting (at most one poll interval late) says it better.

A capture time (a WARC record's ``WARC-Date``, which becomes ``first_seen_at`` and the time of the feed items a
captured feed lists) is plausible inside :func:`capture_window`: from :data:`EARLIEST_PLAUSIBLE` to the wall
clock at the start of the replay plus :data:`CAPTURE_FUTURE_TOLERANCE` (one day). An archive is written before it
is replayed, so a later date is a broken crawler clock or a forged record; one day covers any clock skew and time
zone mistake. A record outside the window is refused (a ``read-archive`` dead letter), never corrected: its
capture time is the only time it has, and one record dated 9999 would otherwise advance story time to 9999 and
expire every story of its language partition (and a year-1 date overflows date arithmetic). Publication times
are bounded by the capture time (above), so they need no window of their own. The window depends on the wall
clock only at its upper end, which no genuine archive reaches: the same archive gives the same output on every
run.

Naive datetimes are taken as UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storywire.schemas.records import Article

__all__ = [
    "CAPTURE_FUTURE_TOLERANCE",
    "EARLIEST_PLAUSIBLE",
    "FUTURE_TOLERANCE",
    "article_time",
    "as_utc",
    "capture_window",
    "plausible_time",
]

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_TOLERANCE = timedelta(hours=1)
CAPTURE_FUTURE_TOLERANCE = timedelta(days=1)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def capture_window(now: datetime) -> tuple[datetime, datetime]:
    """(earliest, latest) plausible capture time of a record replayed at ``now`` (see the module docstring)."""
    return EARLIEST_PLAUSIBLE, as_utc(now) + CAPTURE_FUTURE_TOLERANCE


def _plausible(published: datetime, seen_at: datetime) -> bool:
    """The rule, on UTC datetimes."""
    return EARLIEST_PLAUSIBLE <= published <= seen_at + FUTURE_TOLERANCE


def plausible_time(value: datetime | None, seen_at: datetime) -> datetime | None:
    """``value`` (unchanged) when it is a plausible publication time of an item first seen at ``seen_at``, else
    None (see the module docstring)."""
    if value is None or not _plausible(as_utc(value), as_utc(seen_at)):
        return None
    return value


def article_time(article: Article) -> datetime:
    """The time of an article for story clustering and dormancy, in UTC: its ``published_at`` when plausible
    (:func:`plausible_time`), else its ``first_seen_at``."""
    seen = as_utc(article.first_seen_at)
    if article.published_at is None:
        return seen
    published = as_utc(article.published_at)
    return published if _plausible(published, seen) else seen
