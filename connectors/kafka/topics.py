"""storywire's topic names and their creation specs.

Names are ``<prefix>.<name>.v1`` (lowercase, dot-separated, versioned): with the default prefix
``news.articles.v1``, ``news.stories.v1``, ``news.story-events.v1``, ``news.deadletter.v1``.
The story-state topic is compacted (latest state per story id); the others are append-only with a
retention time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from .config import TOPIC_PREFIX_RE, KafkaConfig
from .errors import KafkaConfigError

__all__ = [
    "DAY_MS",
    "DEFAULT_PARTITIONS",
    "TopicNames",
    "TopicSpec",
    "default_topic_specs",
]

DEFAULT_PARTITIONS: Final = 6
DAY_MS: Final = 86_400_000
_TOPIC_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The four storywire topic names under one prefix (default ``news``)."""

    prefix: str = "news"

    def __post_init__(self) -> None:
        if not TOPIC_PREFIX_RE.match(self.prefix) or len(self.prefix) > 200:
            raise KafkaConfigError(
                f"topic prefix {self.prefix!r} is invalid: use lowercase dot-separated words of [a-z0-9_-]"
            )

    @classmethod
    def from_config(cls, config: KafkaConfig) -> TopicNames:
        """Names under ``config.topic_prefix``."""
        return cls(config.topic_prefix)

    @property
    def articles(self) -> str:
        """Append-only articles, keyed by article id."""
        return f"{self.prefix}.articles.v1"

    @property
    def stories(self) -> str:
        """Latest story state, keyed by story id (compacted)."""
        return f"{self.prefix}.stories.v1"

    @property
    def story_events(self) -> str:
        """Story lifecycle events (created, updated, merged...), keyed by story id."""
        return f"{self.prefix}.story-events.v1"

    @property
    def dead_letters(self) -> str:
        """Records that failed a stage, with the stage, error and raw payload."""
        return f"{self.prefix}.deadletter.v1"

    def all(self) -> tuple[str, str, str, str]:
        """All four names: articles, stories, story events, dead letters."""
        return (self.articles, self.stories, self.story_events, self.dead_letters)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """How to create one topic. ``replication_factor=None`` uses the broker's default."""

    name: str
    partitions: int = DEFAULT_PARTITIONS
    replication_factor: int | None = None
    configs: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _TOPIC_RE.match(self.name) or self.name in (".", ".."):
            raise KafkaConfigError(f"topic name {self.name!r} is invalid: use 1-249 characters of [A-Za-z0-9._-]")
        if isinstance(self.partitions, bool) or not isinstance(self.partitions, int) or self.partitions < 1:
            raise KafkaConfigError(f"topic {self.name}: partitions={self.partitions!r} must be an integer >= 1")
        if self.replication_factor is not None and (
            isinstance(self.replication_factor, bool)
            or not isinstance(self.replication_factor, int)
            or self.replication_factor < 1
        ):
            raise KafkaConfigError(
                f"topic {self.name}: replication_factor={self.replication_factor!r} must be >= 1 or None"
            )
        configs = dict(self.configs)
        bad = [key for key, value in configs.items() if not isinstance(key, str) or not isinstance(value, str)]
        if bad:
            raise KafkaConfigError(f"topic {self.name}: config values must be strings (got {bad})")
        object.__setattr__(self, "configs", configs)


def default_topic_specs(
    names: TopicNames,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int | None = None,
    retention_ms: int = 14 * DAY_MS,
    dead_letter_retention_ms: int = 30 * DAY_MS,
) -> tuple[TopicSpec, ...]:
    """Specs for the four topics: stories compacted, the others deleted after their retention."""
    retention = {"cleanup.policy": "delete", "retention.ms": str(retention_ms)}

    def spec(name: str, configs: dict[str, str]) -> TopicSpec:
        return TopicSpec(name, partitions, replication_factor, configs)

    return (
        spec(names.articles, retention),
        spec(names.stories, {"cleanup.policy": "compact"}),
        spec(names.story_events, retention),
        spec(names.dead_letters, {"cleanup.policy": "delete", "retention.ms": str(dead_letter_retention_ms)}),
    )
