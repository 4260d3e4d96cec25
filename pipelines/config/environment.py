"""``STORYWIRE__*`` environment overrides of the live config, read here and nowhere else.

``STORYWIRE__<SECTION>__<KEY>`` sets ``<section>.<key>``, ``STORYWIRE__<KEY>`` a top-level key, case-insensitive,
e.g. ``STORYWIRE__HTTP__USER_AGENT="acme/1.0 (+https://acme.example/bot)"``,
``STORYWIRE__POLLING__MIN_INTERVAL=15m``, ``STORYWIRE__STORIES__DORMANCY=72h``,
``STORYWIRE__SINKS=kafka://b1:9092,file://out`` (lists: commas, or a YAML flow list ``[a, b]``). They win over
the file. Feeds cannot be set from the environment. A ``STORYWIRE__`` variable naming no setting is an error
with the closest variable that would (a typo must not be ignored)::

    overrides = environment_overrides(storywire_environment(), ["sinks", "topic_prefix"], {"polling": [...]})
    overrides[("polling", "min_interval")]    # EnvValue("STORYWIRE__POLLING__MIN_INTERVAL", "15m")
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from typing import Final

from storywire.connectors.errors import ConfigError
from storywire.pipelines.config.yaml_reader import EnvValue

__all__ = ["ENV_PREFIX", "environment_overrides", "storywire_environment"]

ENV_PREFIX: Final = "STORYWIRE__"


def storywire_environment() -> Mapping[str, str]:
    """The process environment (``os.environ``): the one place storywire reads it."""
    return os.environ


def environment_overrides(
    environ: Mapping[str, str], top_keys: Iterable[str], section_keys: Mapping[str, Iterable[str]]
) -> dict[tuple[str, ...], EnvValue]:
    """``STORYWIRE__A__B=v`` -> ``{("a", "b"): EnvValue(...)}`` for the settings named by ``top_keys`` (top-level
    scalars) and ``section_keys`` (section -> keys); other ``STORYWIRE__`` variables are ConfigErrors."""
    tops = list(top_keys)
    sections = {section: list(keys) for section, keys in section_keys.items()}
    result: dict[tuple[str, ...], EnvValue] = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        dotted = ".".join(path)
        if path[0] in ("feeds", "feed_files"):
            raise ConfigError(f"environment variable {name}: feeds cannot be set from the environment; use the file")
        if (len(path) == 1 and path[0] in tops) or (
            len(path) == 2 and path[0] in sections and path[1] in sections[path[0]]
        ):
            result[path] = EnvValue(name, environ[name])
            continue
        known = [*tops, *(f"{s}.{k}" for s, keys in sections.items() for k in keys)]
        close = difflib.get_close_matches(dotted, known, n=1)
        hint = f"did you mean {ENV_PREFIX}{close[0].replace('.', '__').upper()}?" if close else ""
        raise ConfigError(f"environment variable {name}: no setting {dotted!r}; {hint}".rstrip("; "))
    return result
