"""Configuration of a live run: a YAML file plus ``STORYWIRE__*`` environment overrides, frozen and validated.

File format (every key optional except ``http.user_agent`` and at least one feed; see
``deploy/feeds.example.yaml``)::

    feeds:                          # a list; an entry is a URL or a mapping
      - https://example.com/rss.xml
      - url: https://news.example/world.atom
        outlet: news.example        # default: the host without www.
        language: en                # ISO 639-1; default: what the feed declares
        min_interval: 5m            # default: polling.min_interval
        max_interval: 6h            # default: polling.max_interval
        trust_validators: false     # never send ETag/If-Modified-Since (default true)
        enabled: false              # keep it (and its state) but do not poll it (default true)
        title: World news           # a label for people
    feed_files: [feeds.yaml]        # more feeds: YAML files holding only a feeds: list, relative to this file
    http: {user_agent: "acme-monitor/1.0 (+https://acme.example/bot)", connect_timeout: 10s, read_timeout: 20s,
           max_body_bytes: 10MiB, min_delay: 5s, allow_private_addresses: false, allowed_networks: [], ...}
    polling: {min_interval: 10m, max_interval: 24h, initial_interval: 30m, max_failures: 10, backoff_base: 5m,
              backoff_cap: 6h, seen_items: 200, startup_spread: 5m}
    state: {path: state/feed-state.json, checkpoint_interval: 60s}
    sinks: [kafka://127.0.0.1:19092, file://out/live]
    archive: {dir: null, rotate_size: 1GB}
    topic_prefix: news
    stories: {dormancy: 48h, horizon: 30d}

- Durations: a number and a unit, ``ms s m h d w``, parts may be chained: ``90s``, ``5m``, ``1h30m``, ``1.5d``.
  A bare number is refused (seconds or minutes?).
- Sizes: ``B``, decimal ``KB MB GB`` (1000s) or binary ``KiB MiB GiB`` (1024s): ``10MB``, ``512KiB``; a bare
  integer is bytes.
- ``http:`` takes every field of :class:`storywire.connectors.http.config.HttpConfig` (the HTTP layer's own validated
  settings); a field in seconds (``connect_timeout_s``) is written without ``_s`` as a duration
  (``connect_timeout: 10s``).
- Relative ``feed_files`` are relative to the config file; ``state.path``, ``archive.dir`` and ``file://``
  sinks to the working directory (as for ``storywire replay``).

Environment overrides (read here and nowhere else, in :func:`load_config`): ``STORYWIRE__<SECTION>__<KEY>`` sets
``<section>.<key>``, ``STORYWIRE__<KEY>`` a top-level key, case-insensitive, e.g.
``STORYWIRE__HTTP__USER_AGENT="acme/1.0 (+https://acme.example/bot)"``, ``STORYWIRE__POLLING__MIN_INTERVAL=15m``,
``STORYWIRE__TOPIC_PREFIX=staging.news``, ``STORYWIRE__SINKS=kafka://b1:9092,file://out`` (lists: commas, or a
YAML flow list ``[a, b]``). They win over the file. Feeds cannot be set from the environment. A
``STORYWIRE__`` variable naming no setting is an error (a typo must not be ignored).

Every mistake raises :class:`~storywire.connectors.errors.ConfigError` naming the file and line (or the variable), the
key path and how to fix it, e.g. ``live.yaml line 12: feeds[2].min_interval: '5 minutes' is not a duration;
write a number and a unit, e.g. 90s, 5m, 6h or 1d``.

``storywire feeds import LIST.opml --config FILE | -o FEEDS.yaml`` (:func:`import_opml`) appends the OPML's
feeds to the ``feeds:`` list of a YAML file, skipping URLs already there (same canonical URL); the rest of
the file, comments included, is left as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import re
import sys
import tempfile
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import yaml

from storywire.connectors.errors import ConfigError, SourceUnavailableError
from storywire.connectors.feeds.opml import SkippedOutline, parse_opml
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.http.config import HttpConfig
from storywire.connectors.urls import canonical_url

if TYPE_CHECKING:
    from storywire.pipelines.stories import StoryConfig

__all__ = [
    "ArchiveSettings",
    "FeedSpec",
    "HttpSettings",
    "ImportReport",
    "LiveConfig",
    "PollSettings",
    "StateSettings",
    "StorySettings",
    "add_feeds_parser",
    "format_duration",
    "import_opml",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
    "run_feeds",
]

ENV_PREFIX: Final = "STORYWIRE__"
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
_DURATION_HELP: Final = "write a number and a unit, e.g. 90s, 5m, 6h or 1d"


# -- durations and sizes --------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """``90s``, ``5m``, ``1h30m``, ``1.5d`` -> timedelta; ValueError otherwise (a bare number has no unit)."""
    compact = text.strip().lower()
    if not _DURATION.match(compact):
        raise ValueError(f"{text!r} is not a duration; {_DURATION_HELP}")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest chained form: ``timedelta(minutes=90)`` -> ``1h30m``; sub-second rests as ``ms``."""
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
    """``10MB`` (10**7), ``512KiB`` (2**19), ``1GB``, or a number of bytes -> bytes; ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text} is negative; a size is >= 0")
        return text
    match = _SIZE.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a size; write e.g. 5MB, 512KiB or 1GB")
    unit = (match.group(2) or "B").lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


# -- the configuration objects --------------------------------------------------------------------------


HttpSettings = HttpConfig
"""The ``http:`` section is the HTTP layer's own frozen, validated
:class:`~storywire.connectors.http.config.HttpConfig`."""


@dataclass(frozen=True)
class StateSettings:
    """Where the poll checkpoint lives and how often it is written (when something changed)."""

    path: str = "state/feed-state.json"
    checkpoint_interval: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if not self.path.strip():
            raise ConfigError("path must name a file, e.g. state/feed-state.json")
        if self.checkpoint_interval <= timedelta(0):
            raise ConfigError("checkpoint_interval must be a positive duration")


@dataclass(frozen=True)
class ArchiveSettings:
    """Raw captures written to WARC files in ``dir`` (None: not archived), a new file every ``rotate_size``."""

    dir: str | None = None
    rotate_size: int = 1_000_000_000

    def __post_init__(self) -> None:
        if self.dir is not None and not self.dir.strip():
            raise ConfigError("dir must name a directory, or be null to not archive")
        if self.rotate_size < 1_000_000:
            raise ConfigError(f"rotate_size must be at least 1MB, got {self.rotate_size} bytes")


@dataclass(frozen=True)
class StorySettings:
    """Story lifecycle settings (the similarity tuning keeps the defaults measured in ``bench/stories.py``)."""

    dormancy: timedelta = timedelta(hours=48)
    horizon: timedelta = timedelta(days=30)
    trending_window: timedelta = timedelta(hours=6)
    trending_baseline: timedelta = timedelta(hours=72)
    trending_ratio: float = 3.0
    trending_min_articles: int = 5
    trending_min_outlets: int = 3
    merging: bool = True
    """Merge two stories that an article bridges (False: stories never merge, for consumers that cannot follow
    ``merged_into``)."""

    def __post_init__(self) -> None:
        if self.dormancy <= timedelta(0) or self.horizon <= timedelta(0):
            raise ConfigError("dormancy and horizon must be positive durations")
        if self.dormancy > self.horizon:
            raise ConfigError(f"dormancy ({self.dormancy}) is longer than horizon ({self.horizon}); swap them")
        if self.trending_window <= timedelta(0) or self.trending_baseline <= timedelta(0):
            raise ConfigError("trending_window and trending_baseline must be positive durations")

    def story_config(self) -> StoryConfig:
        """The clustering core's :class:`~storywire.pipelines.stories.StoryConfig` with these settings."""
        from storywire.pipelines.stories import StoryConfig

        merge_threshold = StoryConfig.merge_threshold if self.merging else None
        return StoryConfig(
            merge_threshold=merge_threshold,
            dormancy=self.dormancy,
            horizon=self.horizon,
            trending_window=self.trending_window,
            trending_baseline=self.trending_baseline,
            trending_ratio=self.trending_ratio,
            trending_min_articles=self.trending_min_articles,
            trending_min_outlets=self.trending_min_outlets,
        )


@dataclass(frozen=True)
class LiveConfig:
    """Everything a live run needs. Build it with :func:`load_config`; the constructor validates too."""

    feeds: tuple[FeedSpec, ...]
    http: HttpConfig
    polling: PollSettings = field(default_factory=PollSettings)
    state: StateSettings = field(default_factory=StateSettings)
    sinks: tuple[str, ...] = ()
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    topic_prefix: str = "news"
    stories: StorySettings = field(default_factory=StorySettings)

    def __post_init__(self) -> None:
        if not self.feeds:
            raise ConfigError("no feeds: add a feeds: list (or feed_files:), e.g. feeds: [https://example.com/rss]")
        seen: dict[str, str] = {}
        for feed in self.feeds:
            key = canonical_url(feed.url)
            if key in seen:
                raise ConfigError(f"feed {feed.url} is listed twice (also as {seen[key]}); keep one")
            seen[key] = feed.url
        from storywire.connectors.kafka.config import TOPIC_PREFIX_RE

        if not TOPIC_PREFIX_RE.match(self.topic_prefix) or len(self.topic_prefix) > 200:
            raise ConfigError(
                f"topic_prefix {self.topic_prefix!r} is invalid: use lowercase dot-separated words, e.g. news"
            )

    @property
    def enabled_feeds(self) -> tuple[FeedSpec, ...]:
        return tuple(f for f in self.feeds if f.enabled)

    def sink_specs(self) -> tuple[Any, ...]:
        """The sinks as :class:`~storywire.pipelines.config.replay.SinkSpec` (``kafka://`` and ``file://``)."""
        from storywire.pipelines.config.replay import SinkSpec

        return tuple(SinkSpec.parse(uri, self.topic_prefix) for uri in self.sinks)


# -- reading YAML with line numbers ---------------------------------------------------------------------


class _Bad(ValueError):
    """A value is wrong; the reader adds where."""


@dataclass(frozen=True)
class _Env:
    """A value from an environment variable (a string, located by the variable's name)."""

    name: str
    text: str


_Raw = yaml.Node | _Env
_Convert = Callable[[object, bool], Any]


class _Document:
    """One YAML file composed into nodes, so every value keeps its line."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        loader = yaml.SafeLoader(text)
        try:
            self.root: yaml.Node | None = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f" line {mark.line + 1}" if mark is not None else ""
            problem = exc.problem or exc.context or "invalid YAML"
            raise ConfigError(f"{source}{line}: YAML syntax error: {problem}; check indentation and quotes") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not readable as YAML: {exc}") from exc
        self._loader = loader

    def where(self, raw: _Raw) -> str:
        if isinstance(raw, _Env):
            return f"environment variable {raw.name}"
        return f"{self.source} line {raw.start_mark.line + 1}"

    def fail(self, raw: _Raw, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where(raw)}: {path}: {message}" if path else f"{self.where(raw)}: {message}")

    def value(self, raw: _Raw, path: str) -> object:
        """The Python value of a scalar (the string itself for an environment variable)."""
        if isinstance(raw, _Env):
            return raw.text
        if not isinstance(raw, yaml.ScalarNode):
            kind = "a list" if isinstance(raw, yaml.SequenceNode) else "a mapping"
            raise self.fail(raw, path, f"expected a single value, got {kind}")
        try:
            return self._loader.construct_object(raw, deep=True)
        except yaml.YAMLError as exc:
            raise self.fail(raw, path, f"unreadable value: {exc}") from exc

    def mapping(self, raw: _Raw, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Key -> (key node, value node); duplicate and non-string keys are errors. A null is an empty mapping."""
        if isinstance(raw, yaml.ScalarNode) and raw.tag == "tag:yaml.org,2002:null":
            return {}
        if isinstance(raw, _Env) or not isinstance(raw, yaml.MappingNode):
            raise self.fail(raw, path, "expected a mapping of key: value lines")
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in raw.value:
            key = self.value(key_node, path)
            if not isinstance(key, str):
                raise self.fail(key_node, path, f"key {key!r} must be a name")
            if key in result:
                first = result[key][0].start_mark.line + 1
                raise self.fail(key_node, _join(path, key), f"given twice (first on line {first}); keep one")
            result[key] = (key_node, value_node)
        return result

    def sequence(self, raw: _Raw, path: str) -> list[yaml.Node]:
        if isinstance(raw, yaml.ScalarNode) and raw.tag == "tag:yaml.org,2002:null":
            return []
        if isinstance(raw, _Env) or not isinstance(raw, yaml.SequenceNode):
            raise self.fail(raw, path, "expected a list (lines starting with '- ')")
        return list(raw.value)

    def convert(self, raw: _Raw, path: str, convert: _Convert) -> Any:
        if isinstance(raw, _Env):
            value: object = raw.text
        elif isinstance(raw, yaml.SequenceNode):
            value = [self.value(item, f"{path}[{i}]") for i, item in enumerate(raw.value)]
        else:
            value = self.value(raw, path)
        try:
            return convert(value, isinstance(raw, _Env))
        except _Bad as exc:
            raise self.fail(raw, path, str(exc)) from exc


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unknown(doc: _Document, key_node: yaml.Node, path: str, key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
    return doc.fail(key_node, _join(path, key), f"unknown key; {hint}")


# -- converters: (value, from_env) -> typed value, _Bad with advice otherwise ---------------------------


def _string(value: object, from_env: bool) -> str:
    if isinstance(value, str) and value.strip():
        return value
    if value is None or isinstance(value, str):
        raise _Bad("must be a non-empty string")
    raise _Bad(f"{value!r} must be text; put it in quotes (YAML reads yes/no/on/off as true/false)")


def _optional_string(value: object, from_env: bool) -> str | None:
    if value is None or (from_env and value == ""):
        return None
    return _string(value, from_env)


_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


def _boolean(value: object, from_env: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Bad(f"{value!r} must be true or false")


def _integer(low: int) -> _Convert:
    def convert(value: object, from_env: bool) -> int:
        if from_env and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"{value!r} must be a whole number")
        if value < low:
            raise _Bad(f"{value} must be >= {low}")
        return value

    return convert


def _ratio(value: object, from_env: bool) -> float:
    if from_env and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _Bad(f"{value!r} must be a number, e.g. 3 or 2.5") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{value!r} must be a number, e.g. 3 or 2.5")
    from storywire.pipelines.stories import TRENDING_RATIO_RANGE

    low, high = TRENDING_RATIO_RANGE
    if not low <= value <= high:
        raise _Bad(f"{value} must be between {low:g} and {high:g} (times the story's own recent rate)")
    return float(value)


def _duration(value: object, from_env: bool) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _Bad(f"{value!r} has no unit; {_DURATION_HELP}")
    if not isinstance(value, str):
        raise _Bad(f"{value!r} is not a duration; {_DURATION_HELP}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from exc


def _optional_duration(value: object, from_env: bool) -> timedelta | None:
    return None if value is None else _duration(value, from_env)


def _size(value: object, from_env: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Bad(f"{value!r} is not a size; write e.g. 5MB, 512KiB or 1GB")
    try:
        return parse_size(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from exc


def _string_list(value: object, from_env: bool) -> tuple[str, ...]:
    if from_env and isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise _Bad(f"not a YAML flow list: {exc}") from exc
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Bad("must be a list of strings, e.g. [a, b]")
    return tuple(value)


def _seconds(value: object, from_env: bool) -> float:
    return _duration(value, from_env).total_seconds()


def _http_fields() -> tuple[dict[str, _Convert], dict[str, str]]:
    """YAML keys of the ``http:`` section, derived from HttpConfig's fields so the two never drift apart:
    ``connect_timeout_s`` is written ``connect_timeout: 10s``, ``*_bytes`` take sizes. Also key -> field name.
    """
    hints = typing.get_type_hints(HttpConfig)
    converters: dict[str, _Convert] = {}
    names: dict[str, str] = {}
    for item in dataclasses.fields(HttpConfig):
        kind = hints[item.name]
        key = item.name[:-2] if item.name.endswith("_s") and kind is float else item.name
        if key != item.name:
            converters[key] = _seconds
        elif item.name.endswith("_bytes"):
            converters[key] = _size
        elif kind is bool:
            converters[key] = _boolean
        elif kind is int:
            converters[key] = _integer(0)
        elif kind is str:
            converters[key] = _string
        elif kind == (str | None):
            converters[key] = _optional_string
        elif kind == tuple[str, ...]:
            converters[key] = _string_list
        else:  # a new field of a type not mapped here: fail loudly at import, in tests
            raise TypeError(f"HttpConfig.{item.name}: no YAML conversion for {kind!r}")
        names[key] = item.name
    return converters, names


_HTTP_CONVERTERS, _HTTP_FIELD_NAMES = _http_fields()
_SECTIONS: Final[dict[str, tuple[type, dict[str, _Convert]]]] = {
    "http": (HttpConfig, _HTTP_CONVERTERS),
    "polling": (
        PollSettings,
        {
            "min_interval": _duration,
            "max_interval": _duration,
            "initial_interval": _duration,
            "max_failures": _integer(1),
            "backoff_base": _duration,
            "backoff_cap": _duration,
            "seen_items": _integer(10),
            "startup_spread": _duration,
        },
    ),
    "state": (StateSettings, {"path": _string, "checkpoint_interval": _duration}),
    "archive": (ArchiveSettings, {"dir": _optional_string, "rotate_size": _size}),
    "stories": (
        StorySettings,
        {
            "dormancy": _duration,
            "horizon": _duration,
            "trending_window": _duration,
            "trending_baseline": _duration,
            "trending_ratio": _ratio,
            "trending_min_articles": _integer(1),
            "trending_min_outlets": _integer(1),
            "merging": _boolean,
        },
    ),
}
_TOP_SCALARS: Final[dict[str, _Convert]] = {"sinks": _string_list, "topic_prefix": _string}
_TOP_KEYS: Final = ["feeds", "feed_files", *_SECTIONS, *_TOP_SCALARS]
_FEED_FIELDS: Final[dict[str, _Convert]] = {
    "url": _string,
    "outlet": _optional_string,
    "language": _optional_string,
    "min_interval": _optional_duration,
    "max_interval": _optional_duration,
    "trust_validators": _boolean,
    "enabled": _boolean,
    "title": _optional_string,
}


# -- loading --------------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> LiveConfig:
    """Read the YAML file at ``path`` and apply ``STORYWIRE__*`` overrides (``os.environ`` when None)."""
    env = os.environ if environ is None else environ  # the one place storywire reads its environment
    file = Path(path)
    text = _read_text(file, "config file", "give the path of a YAML file, e.g. --config deploy/feeds.example.yaml")
    return parse_config(text, str(path), env, base_dir=file.parent)


def parse_config(
    text: str, source: str, environ: Mapping[str, str], base_dir: str | os.PathLike[str] = "."
) -> LiveConfig:
    """Build the config from YAML text; ``source`` names it in messages, ``base_dir`` anchors ``feed_files``."""
    doc = _Document(text, source)
    if doc.root is None:
        raise ConfigError(f"{source}: the file is empty; start from deploy/feeds.example.yaml")
    top = doc.mapping(doc.root, "")
    for key, (key_node, _) in top.items():
        if key not in _TOP_KEYS:
            raise _unknown(doc, key_node, "", key, _TOP_KEYS)
    overrides = _environment_overrides(environ)

    feeds: list[tuple[FeedSpec, str]] = []
    if "feeds" in top:
        feeds.extend(_read_feeds(doc, top["feeds"][1]))
    if "feed_files" in top:
        files = doc.convert(top["feed_files"][1], "feed_files", _string_list)
        for name in files:
            included = Path(base_dir) / name
            text_of = _read_text(included, "feed file", f"fix feed_files in {source} (paths are relative to it)")
            feeds.extend(_read_feed_file(text_of, str(included)))
    _check_duplicates(feeds)

    built: dict[str, Any] = {}
    for section, (cls, fields) in _SECTIONS.items():
        raw = top[section][1] if section in top else None
        built[section] = _read_section(doc, raw, section, cls, fields, overrides, source)
    for key, convert in _TOP_SCALARS.items():
        env = overrides.get((key,))
        raw_value: _Raw | None = env if env is not None else (top[key][1] if key in top else None)
        if raw_value is not None:
            built[key] = doc.convert(raw_value, key, convert)
            _check_top_scalar(doc, key, raw_value, built)
    polling: PollSettings = built["polling"]
    for spec, where in feeds:
        low = spec.min_interval or polling.min_interval
        if spec.max_interval is not None and spec.max_interval < low:
            raise ConfigError(
                f"{where}: max_interval ({format_duration(spec.max_interval)}) is shorter than the minimum "
                f"({format_duration(low)}); raise it or set this feed's min_interval too"
            )
    try:
        return LiveConfig(feeds=tuple(spec for spec, _ in feeds), **built)
    except ConfigError as exc:  # what is left to find here is whole-file: no feeds at all
        raise doc.fail(top["feeds"][0] if "feeds" in top else doc.root, "", str(exc)) from exc


def _check_top_scalar(doc: _Document, key: str, raw: _Raw, built: dict[str, Any]) -> None:
    """Validate ``topic_prefix`` and each sink where it is written, so the message points at the line."""
    if key == "topic_prefix":
        from storywire.connectors.kafka.config import TOPIC_PREFIX_RE

        prefix = built[key]
        if not TOPIC_PREFIX_RE.match(prefix) or len(prefix) > 200:
            raise doc.fail(
                raw, key, f"{prefix!r} is invalid: use lowercase dot-separated words, e.g. news or staging.news"
            )
        return
    items = raw.value if isinstance(raw, yaml.SequenceNode) else [raw] * len(built[key])
    for index, (uri, node) in enumerate(zip(built[key], items, strict=True)):
        try:
            _check_sink(uri, "news")
        except ConfigError as exc:
            raise doc.fail(node, f"sinks[{index}]", str(exc)) from exc


def _check_sink(uri: str, topic_prefix: str) -> None:
    """The checks of :meth:`~storywire.pipelines.config.replay.SinkSpec.parse`, without the imports it needs."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme in ("kafka", "kafka+ssl"):
        from storywire.connectors.kafka.config import KafkaConfig
        from storywire.connectors.kafka.errors import KafkaConfigError

        try:
            KafkaConfig.from_url(uri, topic_prefix=topic_prefix)
        except KafkaConfigError as exc:
            raise ConfigError(f"sink {uri}: {exc}") from exc
    elif scheme == "file":
        if not uri[len("file://") :]:
            raise ConfigError(f"sink {uri}: give a directory, e.g. file://out/live")
    elif scheme:
        raise ConfigError(f"sink {uri}: unknown scheme {scheme!r}; use kafka://HOST:PORT or file://DIRECTORY")
    else:
        raise ConfigError(f"sink {uri!r} needs a scheme: kafka://HOST:PORT or file://DIRECTORY")


def _read_section(
    doc: _Document,
    raw: yaml.Node | None,
    section: str,
    cls: type,
    fields: dict[str, _Convert],
    overrides: dict[tuple[str, ...], _Env],
    source: str,
) -> Any:
    values: dict[str, _Raw] = {}
    if raw is not None:
        for key, (key_node, value_node) in doc.mapping(raw, section).items():
            if key not in fields:
                raise _unknown(doc, key_node, section, key, list(fields))
            values[key] = value_node
    for (name, *rest), env in overrides.items():
        if name == section and rest:
            values[rest[0]] = env
    kwargs = {key: doc.convert(value, f"{section}.{key}", fields[key]) for key, value in values.items()}
    if cls is HttpConfig:
        kwargs = {_HTTP_FIELD_NAMES[key]: value for key, value in kwargs.items()}
        kwargs.setdefault("user_agent", "")  # so HttpConfig says it is required, and how to write it
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        message = str(exc)
        if cls is HttpConfig:  # name the YAML key, not the Python field
            for key, name in _HTTP_FIELD_NAMES.items():
                if key != name:
                    message = re.sub(rf"\b{name}\b", key, message)
        anchor: _Raw | None = raw
        for key, value in values.items():  # point at the value the message names, when it names one
            if re.search(rf"\b{key}\b", message):
                anchor = value
                break
        path = "" if message.startswith(f"{section}.") else section
        if anchor is None:
            raise ConfigError(f"{source}: {_join(path, message) if path else message}") from exc
        raise doc.fail(anchor, path, message) from exc


def _environment_overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], _Env]:
    """``STORYWIRE__A__B=v`` -> {("a", "b"): v}; variables naming no setting are errors."""
    result: dict[tuple[str, ...], _Env] = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        dotted = ".".join(path)
        if path[0] in ("feeds", "feed_files"):
            raise ConfigError(f"environment variable {name}: feeds cannot be set from the environment; use the file")
        if len(path) == 1 and path[0] in _TOP_SCALARS:
            result[path] = _Env(name, environ[name])
            continue
        if len(path) == 2 and path[0] in _SECTIONS and path[1] in _SECTIONS[path[0]][1]:
            result[path] = _Env(name, environ[name])
            continue
        known = [*_TOP_SCALARS, *(f"{s}.{k}" for s, (_, fields) in _SECTIONS.items() for k in fields)]
        close = difflib.get_close_matches(dotted, known, n=1)
        hint = f"did you mean {ENV_PREFIX}{close[0].replace('.', '__').upper()}?" if close else ""
        raise ConfigError(f"environment variable {name}: no setting {dotted!r}; {hint}".rstrip("; "))
    return result


def _read_feeds(doc: _Document, raw: yaml.Node) -> list[tuple[FeedSpec, str]]:
    feeds: list[tuple[FeedSpec, str]] = []
    for index, item in enumerate(doc.sequence(raw, "feeds")):
        path = f"feeds[{index}]"
        if isinstance(item, yaml.ScalarNode):
            kwargs: dict[str, Any] = {"url": doc.convert(item, path, _string)}
        else:
            kwargs = {}
            entries = doc.mapping(item, path)
            for key, (key_node, value_node) in entries.items():
                if key not in _FEED_FIELDS:
                    raise _unknown(doc, key_node, path, key, list(_FEED_FIELDS))
                kwargs[key] = doc.convert(value_node, f"{path}.{key}", _FEED_FIELDS[key])
            if "url" not in kwargs:
                raise doc.fail(item, path, "no url; every feed needs url: https://...")
        try:
            spec = FeedSpec(**kwargs)
        except ConfigError as exc:
            raise doc.fail(item, path, str(exc)) from exc
        feeds.append((spec, f"{doc.where(item)}: {path}"))
    return feeds


def _read_feed_file(text: str, source: str) -> list[tuple[FeedSpec, str]]:
    doc = _Document(text, source)
    if doc.root is None:
        return []
    top = doc.mapping(doc.root, "")
    for key, (key_node, _) in top.items():
        if key != "feeds":
            raise doc.fail(key_node, key, "a feed file holds only a feeds: list; move this to the config file")
    return _read_feeds(doc, top["feeds"][1]) if "feeds" in top else []


def _check_duplicates(feeds: list[tuple[FeedSpec, str]]) -> None:
    first: dict[str, str] = {}
    for spec, where in feeds:
        key = canonical_url(spec.url)
        if key in first:
            raise ConfigError(f"{where}: feed {spec.url} is already listed at {first[key]}; keep one")
        first[key] = where


def _read_text(path: Path, what: str, advice: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourceUnavailableError(f"{what} not found: {path} ({advice})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise SourceUnavailableError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


# -- OPML import ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What ``feeds import`` did: URLs added, URLs already present, and outlines skipped with reasons."""

    target: str
    added: tuple[str, ...]
    already_present: tuple[str, ...]
    skipped: tuple[SkippedOutline, ...]
    notes: tuple[str, ...]

    def render(self) -> str:
        lines = [
            f"{len(self.added)} feed(s) added to {self.target}, {len(self.already_present)} already there, "
            f"{len(self.skipped)} outline(s) skipped"
        ]
        lines += [f"  added: {url}" for url in self.added]
        lines += [f"  already there: {url}" for url in self.already_present]
        lines += [f"  skipped: {s.label}: {s.reason}" for s in self.skipped]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def import_opml(opml_path: str | os.PathLike[str], target: str | os.PathLike[str], *, create: bool) -> ImportReport:
    """Append the OPML's feeds to the ``feeds:`` list of the YAML file ``target`` (created when ``create``).

    Deterministic: new feeds come in OPML document order after the existing ones, and a URL whose canonical
    form is already in the file (or in its ``feed_files``) is not added again. The file is rewritten
    atomically and only when the result reads back with every old and new feed; comments and other keys
    stay as they were.
    """
    source = Path(opml_path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise SourceUnavailableError(f"cannot read OPML file {source}: {exc.strerror or exc}") from exc
    document = parse_opml(data, str(source))
    path = Path(target)
    if path.exists():
        text = _read_text(path, "YAML file", "")
    elif create:
        text = ""
    else:
        raise SourceUnavailableError(f"config file not found: {path} (create it first, or use -o FILE)")
    existing = _existing_feed_urls(text, str(path), path.parent)
    added: list[tuple[str, str | None, str | None]] = []
    present: list[str] = []
    for feed in document.feeds:
        key = canonical_url(feed.url)
        if key in existing:
            present.append(feed.url)
            continue
        existing[key] = feed.url
        added.append((feed.url, feed.title, feed.language))
    report = ImportReport(str(path), tuple(u for u, _, _ in added), tuple(present), document.skipped, document.notes)
    if not added:
        return report
    new_text = _insert_feeds(text, str(path), added)
    after = _existing_feed_urls(new_text, str(path), path.parent)
    missing = [url for url, _, _ in added if canonical_url(url) not in after]
    if missing:  # never write a file that lost feeds; this is a bug, not a user error
        raise ConfigError(f"{path}: could not append feeds safely ({missing[0]} did not read back); file unchanged")
    _write_atomically(path, new_text)
    return report


def _existing_feed_urls(text: str, source: str, base_dir: Path) -> dict[str, str]:
    doc = _Document(text, source)
    if doc.root is None:
        return {}
    top = doc.mapping(doc.root, "")
    specs: list[tuple[FeedSpec, str]] = []
    if "feeds" in top:
        specs.extend(_read_feeds(doc, top["feeds"][1]))
    if "feed_files" in top:
        for name in doc.convert(top["feed_files"][1], "feed_files", _string_list):
            included = base_dir / name
            if included.exists():
                specs.extend(_read_feed_file(_read_text(included, "feed file", ""), str(included)))
    return {canonical_url(spec.url): spec.url for spec, _ in specs}


def _feed_lines(feeds: list[tuple[str, str | None, str | None]], dash_column: int) -> list[str]:
    pad = " " * dash_column
    lines = []
    for url, title, language in feeds:
        lines.append(f"{pad}- url: {json.dumps(url, ensure_ascii=False)}")
        if title:
            lines.append(f"{pad}  title: {json.dumps(title, ensure_ascii=False)}")
        if language:
            lines.append(f"{pad}  language: {language}")
    return lines


def _insert_feeds(text: str, source: str, feeds: list[tuple[str, str | None, str | None]]) -> str:
    """The YAML text with ``feeds`` appended to its ``feeds:`` list, touching nothing else."""
    doc = _Document(text, source)
    lines = text.splitlines()
    if doc.root is None:
        header = [] if text.strip() else ["# Feeds polled by storywire (imported from OPML)."]
        return "\n".join([*lines, *header, "feeds:", *_feed_lines(feeds, 2)]) + "\n"
    top = doc.mapping(doc.root, "")
    if "feeds" not in top:
        if getattr(doc.root, "flow_style", False):
            raise doc.fail(doc.root, "", "the file is one flow mapping ({...}); write it in block style to import")
        return "\n".join([*lines, "feeds:", *_feed_lines(feeds, 2)]) + "\n"
    key_node, value = top["feeds"]
    if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null":
        at = key_node.start_mark.line + 1
        indent = key_node.start_mark.column + 2
        return "\n".join([*lines[:at], *_feed_lines(feeds, indent), *lines[at:]]) + "\n"
    if not isinstance(value, yaml.SequenceNode):
        raise doc.fail(value, "feeds", "expected a list")
    if value.flow_style:
        if value.value:
            raise doc.fail(value, "feeds", "is a flow list [...]; write one '- url: ...' per line to import into it")
        line = value.start_mark.line
        start, end = value.start_mark.column, value.end_mark.column
        lines[line] = (lines[line][:start] + lines[line][end:]).rstrip()
        indent = key_node.start_mark.column + 2
        return "\n".join([*lines[: line + 1], *_feed_lines(feeds, indent), *lines[line + 1 :]]) + "\n"
    first, last = value.value[0], value.value[-1]
    before_dash = lines[first.start_mark.line][: first.start_mark.column].rstrip()
    if not before_dash.endswith("-"):
        raise doc.fail(first, "feeds", "cannot tell the list's indentation; start each entry with '- url:'")
    at = _last_line(last) + 1
    return "\n".join([*lines[:at], *_feed_lines(feeds, len(before_dash) - 1), *lines[at:]]) + "\n"


def _last_line(node: yaml.Node) -> int:
    """The 0-based line holding the last character of a node's content."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    mark = node.end_mark
    return mark.line if mark.column > 0 else mark.line - 1


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


# -- command line: storywire feeds import ---------------------------------------------------------------


def add_feeds_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``storywire feeds import LIST.opml (--config FILE | -o FEEDS.yaml)``."""
    feeds = sub.add_parser("feeds", help="manage the feed list of a live configuration")
    actions = feeds.add_subparsers(dest="feeds_command", required=True)
    importer = actions.add_parser(
        "import",
        help="append the feeds of an OPML file to a YAML feed list (deduplicated by canonical URL)",
        description="Append the feeds of an OPML export to the feeds: list of a YAML file. URLs already there "
        "(same canonical URL) are not added twice; comments and other keys are kept; skipped outlines are listed.",
    )
    importer.add_argument("opml", metavar="LIST.opml", help="the OPML file (a feed reader's export)")
    target = importer.add_mutually_exclusive_group(required=True)
    target.add_argument("--config", metavar="FILE", help="an existing live config file to add the feeds to")
    target.add_argument("-o", "--output", metavar="FEEDS.yaml", help="a feed file to create or add to")


def run_feeds(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run a ``storywire feeds`` command; ConfigError/SourceUnavailableError reach the CLI's handler."""
    if args.feeds_command != "import":  # argparse allows only import today
        raise ConfigError(f"unknown feeds command {args.feeds_command!r}")
    report = import_opml(args.opml, args.config or args.output, create=args.config is None)
    print(report.render(), file=out or sys.stdout)
    return 0
