"""``--set key=value`` for the story benchmarks: a StoryConfig with some defaults replaced, so an ablation quoted
in a note can be re-run as a command (``--set merge_threshold=none``, ``--set dormancy=72h``)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from pipelines.live_config import parse_duration
from pipelines.stories.core import StoryConfig


def _value(name: str, text: str, default: object) -> object:
    if text.strip().lower() in ("none", "off"):
        return None
    if isinstance(default, timedelta):
        kind = "a duration such as 72h"
    elif isinstance(default, bool):
        kind = "true or false"
    elif isinstance(default, int):
        kind = "a whole number"
    else:
        kind = "a number (or none)"
    try:
        if isinstance(default, timedelta):
            return parse_duration(text)
        if isinstance(default, bool):
            return {"true": True, "false": False}[text.strip().lower()]
        if isinstance(default, int):
            return int(text)
        return float(text)
    except (KeyError, ValueError):
        raise ValueError(f"--set {name}={text}: expected {kind}") from None


def story_config(overrides: list[str], base: StoryConfig | None = None) -> StoryConfig:
    """``base`` (the defaults when None) with every ``key=value`` of ``overrides`` applied (and validated)."""
    config = base or StoryConfig()
    fields = {f.name for f in dataclasses.fields(StoryConfig)}
    changes: dict[str, object] = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise ValueError(f"--set {item}: expected NAME=VALUE with NAME one of: {', '.join(sorted(fields))}")
        changes[name] = _value(name, text, getattr(StoryConfig(), name))
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]  # (validated by StoryConfig)
