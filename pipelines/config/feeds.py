"""The ``feeds:`` list of a live config and of the feed files it includes (``feed_files:``).

An entry is a URL or a mapping of :class:`~storywire.connectors.feeds.settings.FeedSpec` fields (durations written
``5m``). Each spec comes back with where it was written, so a duplicate is reported at both places::

    doc = YamlDocument(text, "live.yaml")
    feeds = read_feeds(doc, top["feeds"][1])    # [(FeedSpec(...), "live.yaml line 4: feeds[0]"), ...]
    check_duplicates(feeds)                     # same canonical URL twice: ConfigError naming both
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import yaml

from storywire.connectors.errors import ConfigError
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.urls import canonical_url
from storywire.pipelines.config import values
from storywire.pipelines.config.units import format_duration
from storywire.pipelines.config.yaml_reader import Convert, YamlDocument, read_text_file, unknown_key

__all__ = ["FEED_KEYS", "check_duplicates", "check_feed_bounds", "feed_urls_in", "read_feed_file", "read_feeds"]

FEED_KEYS: Final[dict[str, Convert]] = {
    "url": values.string,
    "outlet": values.optional_string,
    "language": values.optional_string,
    "min_interval": values.optional_duration,
    "max_interval": values.optional_duration,
    "trust_validators": values.boolean,
    "enabled": values.boolean,
    "title": values.optional_string,
}
"""The keys of a feed entry and how each is read."""

FeedAt = tuple[FeedSpec, str]
"""A feed and where it was written: ``live.yaml line 4: feeds[0]``."""


def read_feeds(doc: YamlDocument, raw: yaml.Node) -> list[FeedAt]:
    """The feeds of a ``feeds:`` list node, validated."""
    feeds: list[FeedAt] = []
    for index, item in enumerate(doc.sequence(raw, "feeds")):
        path = f"feeds[{index}]"
        if isinstance(item, yaml.ScalarNode):
            kwargs: dict[str, Any] = {"url": doc.convert(item, path, values.string)}
        else:
            kwargs = {}
            for key, (key_node, value_node) in doc.mapping(item, path).items():
                if key not in FEED_KEYS:
                    raise unknown_key(doc, key_node, path, key, list(FEED_KEYS))
                kwargs[key] = doc.convert(value_node, f"{path}.{key}", FEED_KEYS[key])
            if "url" not in kwargs:
                raise doc.fail(item, path, "no url; every feed needs url: https://...")
        try:
            spec = FeedSpec(**kwargs)
        except ConfigError as exc:
            raise doc.fail(item, path, str(exc)) from exc
        feeds.append((spec, f"{doc.where(item)}: {path}"))
    return feeds


def read_feed_file(text: str, source: str) -> list[FeedAt]:
    """The feeds of a feed file, which holds only a ``feeds:`` list."""
    doc = YamlDocument(text, source)
    if doc.root is None:
        return []
    top = doc.mapping(doc.root, "")
    for key, (key_node, _) in top.items():
        if key != "feeds":
            raise doc.fail(key_node, key, "a feed file holds only a feeds: list; move this to the config file")
    return read_feeds(doc, top["feeds"][1]) if "feeds" in top else []


def check_duplicates(feeds: list[FeedAt]) -> None:
    """ConfigError when two entries have the same canonical URL, naming where each was written."""
    first: dict[str, str] = {}
    for spec, where in feeds:
        key = canonical_url(spec.url)
        if key in first:
            raise ConfigError(f"{where}: feed {spec.url} is already listed at {first[key]}; keep one")
        first[key] = where


def check_feed_bounds(feeds: list[FeedAt], polling: PollSettings) -> None:
    """ConfigError when a feed's ``max_interval`` is below its minimum (its own, else ``polling.min_interval``)."""
    for spec, where in feeds:
        low: timedelta = spec.min_interval or polling.min_interval
        if spec.max_interval is not None and spec.max_interval < low:
            raise ConfigError(
                f"{where}: max_interval ({format_duration(spec.max_interval)}) is shorter than the minimum "
                f"({format_duration(low)}); raise it or set this feed's min_interval too"
            )


def feed_urls_in(text: str, source: str, base_dir: Path) -> dict[str, str]:
    """Canonical URL -> URL of every feed in a config or feed file's text and in its existing ``feed_files``;
    the other keys of the file are not read."""
    doc = YamlDocument(text, source)
    if doc.root is None:
        return {}
    top = doc.mapping(doc.root, "")
    specs: list[FeedAt] = []
    if "feeds" in top:
        specs.extend(read_feeds(doc, top["feeds"][1]))
    if "feed_files" in top:
        for name in doc.convert(top["feed_files"][1], "feed_files", values.string_list):
            included = base_dir / name
            if included.exists():
                specs.extend(read_feed_file(read_text_file(included, "feed file", ""), str(included)))
    return {canonical_url(spec.url): spec.url for spec, _ in specs}
