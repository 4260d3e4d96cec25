"""Converters from a YAML value (or an environment variable's string) to a typed setting.

Each is a :data:`~storywire.pipelines.config.yaml_reader.Convert`: ``(value, from_env) -> typed value``, raising
:class:`~storywire.pipelines.config.yaml_reader.BadValue` with the fix; pass one to
:meth:`YamlDocument.convert <storywire.pipelines.config.yaml_reader.YamlDocument.convert>`, which adds the file,
line and key. Values from the environment are strings, so ``yes``/``3``/``2.5`` are read here rather than by YAML,
and a list is written ``a,b`` or ``[a, b]``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import yaml

from storywire.pipelines.config.units import DURATION_HELP, parse_duration, parse_size
from storywire.pipelines.config.yaml_reader import BadValue, Convert

__all__ = [
    "boolean",
    "duration",
    "integer",
    "optional_duration",
    "optional_string",
    "path_or_off",
    "ratio",
    "seconds",
    "size",
    "string",
    "string_list",
]

_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


def string(value: object, from_env: bool) -> str:
    """Non-empty text (YAML's ``no``/``on`` are booleans, so they are refused with the advice to quote)."""
    if isinstance(value, str) and value.strip():
        return value
    if value is None or isinstance(value, str):
        raise BadValue("must be a non-empty string")
    raise BadValue(f"{value!r} must be text; put it in quotes (YAML reads yes/no/on/off as true/false)")


def path_or_off(value: object, from_env: bool) -> str:
    """A path, ``auto`` or ``off`` (YAML's unquoted ``off``/``false`` arrive as False: they mean ``off``)."""
    if value is False:
        return "off"
    return string(value, from_env)


def optional_string(value: object, from_env: bool) -> str | None:
    """Text, or None for ``null`` (or an empty environment variable)."""
    if value is None or (from_env and value == ""):
        return None
    return string(value, from_env)


def boolean(value: object, from_env: bool) -> bool:
    """``true``/``false``; from the environment also ``yes/no/on/off/1/0``."""
    if isinstance(value, bool):
        return value
    if from_env and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadValue(f"{value!r} must be true or false")


def integer(low: int) -> Convert:
    """A converter to a whole number ``>= low``."""

    def convert(value: object, from_env: bool) -> int:
        if from_env and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue(f"{value!r} must be a whole number")
        if value < low:
            raise BadValue(f"{value} must be >= {low}")
        return value

    return convert


def optional_integer(low: int) -> Convert:
    """A converter to a whole number ``>= low``, or None for ``null`` (or an empty environment variable)."""
    whole = integer(low)

    def convert(value: object, from_env: bool) -> int | None:
        if value is None or (from_env and value in ("", "null", "off")):
            return None
        number: int = whole(value, from_env)
        return number

    return convert


def non_negative(value: object, from_env: bool) -> float:
    """A number >= 0 (a share such as 0.01, or a score)."""
    if from_env and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise BadValue(f"{value!r} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(f"{value!r} must be a number")
    if value < 0:
        raise BadValue(f"{value} must not be negative")
    return float(value)


def ratio(value: object, from_env: bool) -> float:
    """``stories.trending_ratio``: a number in the story core's
    :data:`~storywire.pipelines.stories.TRENDING_RATIO_RANGE`."""
    if from_env and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise BadValue(f"{value!r} must be a number, e.g. 3 or 2.5") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"{value!r} must be a number, e.g. 3 or 2.5")
    from storywire.pipelines.stories import TRENDING_RATIO_RANGE

    low, high = TRENDING_RATIO_RANGE
    if not low <= value <= high:
        raise BadValue(f"{value} must be between {low:g} and {high:g} (times the story's own recent rate)")
    return float(value)


def duration(value: object, from_env: bool) -> timedelta:
    """A duration with a unit (:func:`~storywire.pipelines.config.units.parse_duration`); a bare number is
    refused."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise BadValue(f"{value!r} has no unit; {DURATION_HELP}")
    if not isinstance(value, str):
        raise BadValue(f"{value!r} is not a duration; {DURATION_HELP}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise BadValue(str(exc)) from exc


def optional_duration(value: object, from_env: bool) -> timedelta | None:
    """A duration, or None for ``null``."""
    return None if value is None else duration(value, from_env)


def seconds(value: object, from_env: bool) -> float:
    """A duration as float seconds (for settings stored in seconds, such as ``HttpConfig.*_s``)."""
    return duration(value, from_env).total_seconds()


def size(value: object, from_env: bool) -> int:
    """A size in bytes (:func:`~storywire.pipelines.config.units.parse_size`)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadValue(f"{value!r} is not a size; write e.g. 5MB, 512KiB or 1GB")
    try:
        return parse_size(value)
    except ValueError as exc:
        raise BadValue(str(exc)) from exc


def string_list(value: object, from_env: bool) -> tuple[str, ...]:
    """A list of non-empty strings; from the environment ``a,b`` or a YAML flow list ``[a, b]``."""
    if from_env and isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise BadValue(f"not a YAML flow list: {exc}") from exc
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise BadValue("must be a list of strings, e.g. [a, b]")
    return tuple(value)
