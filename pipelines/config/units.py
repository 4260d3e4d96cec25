"""Durations and sizes as people write them in the live config: ``90s``, ``1h30m``, ``10MiB``.

::

    parse_duration("1h30m")                    # timedelta(seconds=5400)
    format_duration(timedelta(minutes=90))     # "1h30m"
    parse_size("10MiB")                        # 10485760

- Durations: a number and a unit, ``ms s m h d w``, parts may be chained: ``90s``, ``5m``, ``1h30m``, ``1.5d``.
  A bare number is refused (seconds or minutes?).
- Sizes: ``B``, decimal ``KB MB GB TB`` (1000s) or binary ``KiB MiB GiB TiB`` (1024s): ``10MB``, ``512KiB``; a
  bare integer is bytes.

Both parsers raise InvalidSettingError (a ValueError) with the fix in the message (:data:`DURATION_HELP` for durations).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from storywire.connectors.errors import InvalidSettingError

__all__ = ["DURATION_HELP", "format_duration", "parse_duration", "parse_size"]

DURATION_HELP: Final = "write a number and a unit, e.g. 90s, 5m, 6h or 1d"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$", re.IGNORECASE)
_SIZE_UNITS: Final = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``5m``, ``1h30m``, ``1.5d`` -> timedelta; InvalidSettingError otherwise (a bare number has no unit)."""
    compact = text.strip().lower()
    if not _DURATION.match(compact):
        raise InvalidSettingError(f"{text!r} is not a duration; {DURATION_HELP}")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest chained form: ``timedelta(minutes=90)`` -> ``1h30m``; sub-second rests as ``ms``.

    :func:`parse_duration` reads it back to the same value (to the millisecond).
    """
    millis = round(value.total_seconds() * 1000)
    if millis <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(text: str | int) -> int:
    """``10MB`` (10**7), ``512KiB`` (2**19), ``1GB``, or a number of bytes -> bytes; InvalidSettingError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise InvalidSettingError(f"{text} is negative; a size is >= 0")
        return text
    match = _SIZE.match(str(text).strip())
    if not match:
        raise InvalidSettingError(f"{text!r} is not a size; write e.g. 5MB, 512KiB or 1GB")
    unit = (match.group(2) or "B").lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])
