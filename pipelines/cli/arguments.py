"""Argument types the commands share: each turns a word into a value or an ``ArgumentTypeError`` saying why not."""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta, timezone


def _whole_number(text: str, minimum: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} {rule}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1, "must be at least 1")


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0, "must be 0 or more")


def duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h30m``... longer than zero."""
    from storywire.connectors.errors import InvalidSettingError
    from storywire.pipelines.config.units import parse_duration

    try:
        value = parse_duration(text)
    except InvalidSettingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value.total_seconds() <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be longer than 0s")
    return value


def _moment(text: str, *, end_of_day: bool) -> datetime:
    from storywire.schemas.records import parse_time

    try:
        parsed = parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date or time; write 2023-05-03 or 2023-05-03T14:00 (UTC unless a zone is given)"
        ) from None
    if len(text) == 10 and end_of_day:  # a day alone: all of it
        return datetime.combine(parsed.date(), time.max, tzinfo=timezone.utc)
    return parsed


def since(text: str) -> datetime:
    """A day (``2023-05-03``: from its start) or a time (``2023-05-03T14:00``, UTC unless a zone is given)."""
    return _moment(text, end_of_day=False)


def until(text: str) -> datetime:
    """A day (``2023-05-03``: to its end, included) or a time (UTC unless a zone is given)."""
    return _moment(text, end_of_day=True)


def word_list(text: str) -> list[str]:
    """``a,b`` -> ``["a", "b"]`` (for options that may be repeated or take a comma-separated list); a list
    naming nothing (``,``) is an error, not a filter that keeps everything."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    if not words:
        raise argparse.ArgumentTypeError(f"{text!r} names nothing; give one or more, e.g. a,b")
    return words
