"""``--set key=value`` for the story benchmarks: a StoryConfig with some defaults replaced, so an ablation quoted
in ``docs/stories.md`` can be re-run as a command (``--set merge_threshold=none``, ``--set dormancy=72h``)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from datetime import timedelta

from storywire.pipelines.config.units import parse_duration
from storywire.pipelines.stories import StoryConfig


def _value(name: str, text: str, default: object) -> object:
    if text.strip().lower() in ("none", "off"):
        return None
    parse: Callable[[str], object]
    if isinstance(default, timedelta):
        parse, kind = parse_duration, "a duration such as 72h"
    elif isinstance(default, int):
        parse, kind = int, "a whole number"
    else:
        parse, kind = float, "a number (or none)"
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"--set {name}={text}: expected {kind}") from None


def story_config(overrides: list[str], base: StoryConfig | None = None) -> StoryConfig:
    """``base`` (the defaults when None) with every ``key=value`` of ``overrides`` applied (and validated)."""
    defaults = StoryConfig()
    fields = {f.name for f in dataclasses.fields(StoryConfig)}
    changes: dict[str, object] = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise ValueError(f"--set {item}: expected NAME=VALUE with NAME one of: {', '.join(sorted(fields))}")
        changes[name] = _value(name, text, getattr(defaults, name))
    return dataclasses.replace(base or defaults, **changes)  # type: ignore[arg-type]  # (validated by StoryConfig)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="replace a default, e.g. merge_threshold=none"
    )


def parsed_story_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StoryConfig:
    """The config of :func:`add_set_option`'s ``--set`` values; a bad one ends the program with its message."""
    try:
        return story_config(args.set)
    except ValueError as exc:
        parser.error(str(exc))
