"""Loading the live config: the YAML file, its feed files and the ``STORYWIRE__*`` overrides, into a
:class:`~storywire.pipelines.config.live.LiveConfig`::

    config = load_config("deploy/feeds.example.yaml")            # os.environ supplies the overrides
    config = parse_config(text, "live.yaml", environ={})         # the same from text, for tests and tools

Every mistake raises :class:`~storywire.connectors.errors.ConfigError` naming the file and line (or the
environment variable), the key path and how to fix it, e.g. ``live.yaml line 12: feeds[2].min_interval:
'5 minutes' is not a duration; write a number and a unit, e.g. 90s, 5m, 6h or 1d``; an unknown key gets the
closest known one (``did you mean 'min_interval'?``). A missing file is a
:class:`~storywire.connectors.errors.SourceUnavailableError`. Loading stops at the first mistake;
:func:`check_config` goes on and returns every one it finds (``storywire config check``)::

    problems = check_config("live.yaml")    # [] or ["live.yaml line 4: feeds[1].min_interval: ...", ...]

The file format is described in :mod:`storywire.pipelines.config.live`, the overrides in
:mod:`storywire.pipelines.config.environment`.

Each section's values are converted where they are written (:mod:`~storywire.pipelines.config.values`) and
then given to the section's own settings class, whose validation (ConfigError, or ValueError/TypeError for the
story core's :class:`~storywire.pipelines.stories.StoryConfig`) is reported at the line of the key it names.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import yaml

from storywire.connectors.articles.settings import ExtractionLimits
from storywire.connectors.errors import ConfigError, SourceUnavailableError, StorywireError
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.http.config import HttpConfig
from storywire.connectors.kafka.security import URL_SECURITY_PARAMS, KafkaSecurity
from storywire.pipelines.config import values
from storywire.pipelines.config.environment import environment_overrides, storywire_environment
from storywire.pipelines.config.feeds import (
    FEED_KEYS,
    FeedAt,
    check_duplicates,
    check_feed_bounds,
    read_feed_file,
)
from storywire.pipelines.config.live import (
    ArchiveSettings,
    LiveConfig,
    MetricsSettings,
    ProgressSettings,
    RunSettings,
    StateSettings,
)
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.config.yaml_reader import (
    BadValue,
    Convert,
    EnvValue,
    RawValue,
    YamlDocument,
    join_path,
    read_text_file,
    unknown_key,
)
from storywire.pipelines.stories import StoryConfig

__all__ = ["check_config", "load_config", "parse_config"]


@dataclass(frozen=True)
class _Section:
    """How one YAML section becomes its settings object."""

    build: Callable[..., Any]
    keys: Mapping[str, Convert]
    """YAML key -> converter."""
    arguments: Mapping[str, str] = field(default_factory=dict)
    """YAML key -> constructor argument, where they differ (messages are written back in YAML keys)."""
    adapt: Callable[[dict[str, Any]], dict[str, Any]] = dict
    """Turns the converted values (by argument name) into the constructor's keyword arguments."""


def _http_section() -> _Section:
    """``http:``, derived from HttpConfig's fields so the two never drift apart: ``connect_timeout_s`` is
    written ``connect_timeout: 10s``, ``*_bytes`` take sizes. A missing ``user_agent`` is passed as "" so that
    HttpConfig says it is required, and how to write it."""
    hints = typing.get_type_hints(HttpConfig)
    keys: dict[str, Convert] = {}
    arguments: dict[str, str] = {}
    for item in dataclasses.fields(HttpConfig):
        kind = hints[item.name]
        key = item.name[:-2] if item.name.endswith("_s") and kind is float else item.name
        if key != item.name:
            keys[key] = values.seconds
            arguments[key] = item.name
        elif item.name.endswith("_bytes"):
            keys[key] = values.size
        elif kind is bool:
            keys[key] = values.boolean
        elif kind is int:
            keys[key] = values.integer(0)
        elif kind is str:
            keys[key] = values.string
        elif kind == (str | None):
            keys[key] = values.optional_string
        elif kind == tuple[str, ...]:
            keys[key] = values.string_list
        else:  # a new field of a type not mapped here: fail loudly at import, in tests
            raise TypeError(f"HttpConfig.{item.name}: no YAML conversion for {kind!r}")
    return _Section(HttpConfig, keys, arguments, adapt=lambda kwargs: {"user_agent": "", **kwargs})


def _story_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``merging: false`` is ``merge_threshold=None``; ``merging: true`` keeps StoryConfig's threshold."""
    if not kwargs.pop("merging", True):
        kwargs["merge_threshold"] = None
    return kwargs


def _share(value: object, from_env: bool) -> float:
    """``stories.resurface_threshold`` and ``stories.novelty_weight``: a number from 0 to 1."""
    if from_env and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise BadValue(f"{value!r} must be a number from 0 to 1, e.g. 0.35") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise BadValue(f"{value!r} must be a number from 0 to 1, e.g. 0.35")
    return float(value)


_STORY_KEYS: Final[dict[str, Convert]] = {
    "dormancy": values.duration,
    "horizon": values.duration,
    "memory": values.duration,
    "max_archived_stories": values.integer(0),
    "resurface_threshold": _share,
    "novelty_weight": _share,
    "trending_window": values.duration,
    "trending_baseline": values.duration,
    "trending_ratio": values.ratio,
    "trending_min_articles": values.integer(1),
    "trending_min_outlets": values.integer(1),
    "merging": values.boolean,
}
"""The ``stories:`` keys: StoryConfig fields under their own names, plus ``merging``. Defaults are StoryConfig's."""
if missing := set(_STORY_KEYS) - {"merging"} - {f.name for f in dataclasses.fields(StoryConfig)}:
    raise TypeError(f"stories: keys {sorted(missing)} are not StoryConfig fields")

_SECTIONS: Final[dict[str, _Section]] = {
    "http": _http_section(),
    "polling": _Section(
        PollSettings,
        {
            "min_interval": values.duration,
            "max_interval": values.duration,
            "initial_interval": values.duration,
            "max_failures": values.integer(1),
            "backoff_base": values.duration,
            "backoff_cap": values.duration,
            "seen_items": values.integer(10),
            "startup_spread": values.duration,
            "max_new_items_per_poll": values.integer(1),
            "page_retry_attempts": values.integer(0),
            "page_retry_base": values.duration,
            "page_retry_max_delay": values.duration,
        },
    ),
    "state": _Section(
        StateSettings,
        {
            "path": values.string,
            "checkpoint_interval": values.duration,
            "stories_path": values.path_or_off,
            "stories_snapshot_every": values.integer(1),
        },
    ),
    "archive": _Section(ArchiveSettings, {"dir": values.optional_string, "rotate_size": values.size}),
    "progress": _Section(ProgressSettings, {"interval": values.duration}),
    "metrics": _Section(MetricsSettings, {"port": values.optional_integer(0), "host": values.string}),
    "run": _Section(
        RunSettings,
        {
            "stop_grace": values.duration,
            "max_parallel_fetches": values.integer(1),
            "max_buffered_pages": values.integer(1),
            "broker_outage_limit": values.duration,
        },
    ),
    "stories": _Section(StoryConfig, _STORY_KEYS, adapt=_story_arguments),
    "extraction": _Section(
        ExtractionLimits,
        {
            "min_chars": values.integer(1),
            "max_text_chars": values.integer(1),
            "max_html_bytes": values.size,
            "timeout": values.seconds,
            "max_replacement_ratio": values.non_negative,
            "max_mess_ratio": values.non_negative,
            "worker_recycle_bytes": values.size,
        },
        {"timeout": "timeout_s"},
        # timeout: 0s runs extraction in the pipeline's own process, without a time limit
        adapt=lambda kwargs: {**kwargs, "timeout_s": kwargs["timeout_s"] or None} if "timeout_s" in kwargs else kwargs,
    ),
    # TLS and SASL of every kafka:// sink; passwords only by *_password_env / *_password_file (KafkaSecurity)
    "kafka": _Section(
        KafkaSecurity.from_settings,
        {
            key: {"ssl_check_hostname": values.boolean, "security_protocol": values.string}.get(
                key, values.optional_string
            )
            for key in sorted(URL_SECURITY_PARAMS)
        },
    ),
}
_TOP_SCALARS: Final[dict[str, Convert]] = {"sinks": values.string_list, "topic_prefix": values.string}
_TOP_KEYS: Final = ["feeds", "feed_files", *_SECTIONS, *_TOP_SCALARS]


class _Problems:
    """Where mistakes go: raised at once (loading), or collected to go on with the next part (checking).

    ``attempt(step, ...)`` runs one independent part of the reading; when collecting, a ConfigError (or a missing
    feed file) is noted and ``_FAILED`` returned, so the caller skips what depended on it."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.found: list[str] = []

    def add(self, error: StorywireError) -> None:
        if not self.collect:
            raise error
        message = str(error)
        if message not in self.found:
            self.found.append(message)

    def attempt(self, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except StorywireError as exc:
            if not self.collect or not isinstance(exc, ConfigError | SourceUnavailableError):
                raise
            self.add(exc)
            return _FAILED


_FAILED: Final = object()
"""What :meth:`_Problems.attempt` returns for a part that had a mistake (noted)."""


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> LiveConfig:
    """Read the YAML file at ``path`` and apply the ``STORYWIRE__*`` overrides of ``environ`` (the process
    environment when None)."""
    env = storywire_environment() if environ is None else environ
    file = Path(path)
    text = read_text_file(file, "config file", "give the path of a YAML file, e.g. --config deploy/feeds.example.yaml")
    return parse_config(text, str(path), env, base_dir=file.parent)


def check_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Every mistake of the config at ``path`` (with its ``STORYWIRE__*`` overrides), each a one-line message
    naming file, line and key as :func:`load_config` would; an empty list when it loads. Nothing is fetched or
    written (no broker, no directory is touched)."""
    env = storywire_environment() if environ is None else environ
    file = Path(path)
    try:
        text = read_text_file(file, "config file", "give the path of a YAML file")
    except (ConfigError, SourceUnavailableError) as exc:
        return [str(exc)]
    problems = _Problems(collect=True)
    try:
        config = _parse(text, str(path), env, file.parent, problems)
    except ConfigError as exc:  # a mistake that leaves nothing to go on with (YAML syntax, not a mapping)
        problems.found.append(str(exc))
        return problems.found
    if config is None and not problems.found:  # cannot happen: a None config comes with its reason
        problems.found.append(f"{path}: not a valid config")
    return sorted(problems.found, key=_line_of)


def _line_of(message: str) -> int:
    """Messages in the order of the file (environment variables and whole-file ones first)."""
    found = re.match(r"\S.*? line (\d+): ", message)
    return int(found.group(1)) if found else 0


def parse_config(
    text: str, source: str, environ: Mapping[str, str], base_dir: str | os.PathLike[str] = "."
) -> LiveConfig:
    """Build the config from YAML text; ``source`` names it in messages, ``base_dir`` anchors ``feed_files``."""
    config = _parse(text, source, environ, base_dir, _Problems(collect=False))
    assert config is not None  # without collecting, every mistake raised
    return config


def _parse(
    text: str, source: str, environ: Mapping[str, str], base_dir: str | os.PathLike[str], problems: _Problems
) -> LiveConfig | None:
    """The config, or None when ``problems`` collected mistakes (each part is read even after one failed)."""
    doc = YamlDocument(text, source)
    if doc.root is None:
        raise ConfigError(f"{source}: the file is empty; start from deploy/feeds.example.yaml")
    top = doc.mapping(doc.root, "")
    for key, (key_node, _) in top.items():
        if key not in _TOP_KEYS:
            problems.add(unknown_key(doc, key_node, "", key, _TOP_KEYS))
    known_keys = {name: list(section.keys) for name, section in _SECTIONS.items()}
    overrides = problems.attempt(environment_overrides, environ, _TOP_SCALARS, known_keys)
    if overrides is _FAILED:
        overrides = {}

    feeds: list[FeedAt] = []
    if "feeds" in top:
        feeds.extend(_read_feeds(doc, top["feeds"][1], problems))
    if "feed_files" in top:
        names = problems.attempt(doc.convert, top["feed_files"][1], "feed_files", values.string_list)
        for name in () if names is _FAILED else names:
            included = Path(base_dir) / name
            advice = f"fix feed_files in {source} (paths are relative to it)"
            read = problems.attempt(_read_included, included, advice)
            if read is not _FAILED:
                feeds.extend(read)
    problems.attempt(check_duplicates, feeds)

    built: dict[str, Any] = {}
    failed: set[str] = set()
    for name, section in _SECTIONS.items():
        raw = top[name][1] if name in top else None
        if name == "kafka":  # a password's *_password_env names a variable of the same environment as the overrides
            section = dataclasses.replace(section, build=partial(KafkaSecurity.from_settings, environ=environ))  # noqa: PLW2901
        value = problems.attempt(_read_section, doc, raw, name, section, overrides, problems)
        if value is _FAILED or value is None:
            failed.add(name)
        else:
            built[name] = value
    for key, convert in _TOP_SCALARS.items():
        env = overrides.get((key,))
        raw_value: RawValue | None = env if env is not None else (top[key][1] if key in top else None)
        if raw_value is not None:
            value = problems.attempt(doc.convert, raw_value, key, convert)
            if value is _FAILED:
                failed.add(key)
                continue
            built[key] = value
            if problems.attempt(_check_top_scalar, doc, key, raw_value, built) is _FAILED:
                failed.add(key)
    if "polling" in built:
        problems.attempt(check_feed_bounds, feeds, built["polling"])
    if problems.found:
        return None
    try:
        return LiveConfig(feeds=tuple(spec for spec, _ in feeds), **built)
    except ConfigError as exc:  # what is left to find here is whole-file: no feeds at all
        problems.add(doc.fail(top["feeds"][0] if "feeds" in top else doc.root, "", str(exc)))
        return None


def _read_included(path: Path, advice: str) -> list[FeedAt]:
    return read_feed_file(read_text_file(path, "feed file", advice), str(path))


def _read_feeds(doc: YamlDocument, raw: yaml.Node, problems: _Problems) -> list[FeedAt]:
    """The feeds of a ``feeds:`` list node (as :func:`~storywire.pipelines.config.feeds.read_feeds`), each entry
    and each of its keys read on its own so that a check reports them all."""
    items = problems.attempt(doc.sequence, raw, "feeds")
    feeds: list[FeedAt] = []
    for index, item in enumerate(() if items is _FAILED else items):
        path = f"feeds[{index}]"
        kwargs: dict[str, Any] = {}
        bad = False
        if isinstance(item, yaml.ScalarNode):
            url = problems.attempt(doc.convert, item, path, values.string)
            bad = url is _FAILED
            kwargs["url"] = url
        else:
            entries = problems.attempt(doc.mapping, item, path)
            if entries is _FAILED:
                continue
            for key, (key_node, value_node) in entries.items():
                if key not in FEED_KEYS:
                    problems.add(unknown_key(doc, key_node, path, key, list(FEED_KEYS)))
                    bad = True
                    continue
                value = problems.attempt(doc.convert, value_node, f"{path}.{key}", FEED_KEYS[key])
                if value is _FAILED:
                    bad = True
                kwargs[key] = value
            if "url" not in kwargs:
                problems.add(doc.fail(item, path, "no url; every feed needs url: https://..."))
                bad = True
        if bad:
            continue
        try:
            spec = FeedSpec(**kwargs)
        except ConfigError as exc:
            problems.add(doc.fail(item, path, str(exc)))
            continue
        feeds.append((spec, f"{doc.where(item)}: {path}"))
    return feeds


def _read_section(
    doc: YamlDocument,
    raw: yaml.Node | None,
    name: str,
    section: _Section,
    overrides: dict[tuple[str, ...], EnvValue],
    problems: _Problems | None = None,
) -> Any:
    """The settings object of one section; its constructor's complaint is reported at the key it names. With
    ``problems`` collecting, every unknown key and bad value of the section is noted, and None returned."""
    problems = problems or _Problems(collect=False)
    given: dict[str, RawValue] = {}
    bad = False
    if raw is not None:
        for key, (key_node, value_node) in doc.mapping(raw, name).items():
            if key not in section.keys:
                problems.add(unknown_key(doc, key_node, name, key, list(section.keys)))
                bad = True
                continue
            given[key] = value_node
    for (section_name, *rest), env in overrides.items():
        if section_name == name and rest:
            given[rest[0]] = env
    converted: dict[str, Any] = {}
    for key, value in given.items():
        result = problems.attempt(doc.convert, value, f"{name}.{key}", section.keys[key])
        if result is _FAILED:
            bad = True
            continue
        converted[section.arguments.get(key, key)] = result
    if bad:
        return None
    try:
        return section.build(**section.adapt(converted))
    except (ConfigError, ValueError, TypeError) as exc:
        message = str(exc)
        for key, argument in section.arguments.items():  # name the YAML key, not the Python argument
            message = re.sub(rf"\b{argument}\b", key, message)
        anchor: RawValue | None = raw
        for key, value in given.items():  # point at the value the message names, when it names one
            if re.search(rf"\b{key}\b", message):
                anchor = value
                break
        path = "" if message.startswith(f"{name}.") else name
        if anchor is None:
            raise ConfigError(f"{doc.source}: {join_path(path, message) if path else message}") from exc
        raise doc.fail(anchor, path, message) from exc


def _check_top_scalar(doc: YamlDocument, key: str, raw: RawValue, built: dict[str, Any]) -> None:
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
            SinkSpec.parse(uri, "news", name="sink", bare_path=False, security=built.get("kafka"))
        except ConfigError as exc:
            raise doc.fail(node, f"sinks[{index}]", str(exc)) from exc
