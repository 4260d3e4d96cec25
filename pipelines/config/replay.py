"""Run configuration: frozen, validated at start-up, with errors that say how to fix them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from storywire.connectors.archives.warc_reader import DEFAULT_MAX_BODY_BYTES
from storywire.connectors.articles.settings import DEFAULT_MIN_CHARS
from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka import KafkaConfig
from storywire.connectors.kafka.errors import KafkaConfigError
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.stories import StoryConfig

SinkKind = Literal["kafka", "file"]


@dataclass(frozen=True)
class SinkSpec:
    """Where results go: ``kafka://host:port[?options]`` or ``file://DIRECTORY`` (a bare path means a directory)."""

    kind: SinkKind
    target: str
    kafka: KafkaConfig | None = None

    @classmethod
    def parse(cls, uri: str, topic_prefix: str | None = None) -> SinkSpec:
        scheme = urlsplit(uri).scheme if "://" in uri else ""
        if scheme in ("kafka", "kafka+ssl"):
            try:
                overrides = {} if topic_prefix is None else {"topic_prefix": topic_prefix}
                kafka = KafkaConfig.from_url(uri, **overrides)
            except KafkaConfigError as exc:
                raise ConfigError(f"--sink {uri}: {exc}") from exc
            return cls(kind="kafka", target=kafka.bootstrap_servers, kafka=kafka)
        if scheme == "file":
            path = uri[len("file://") :]
            if not path:
                raise ConfigError(f"--sink {uri}: give a directory, e.g. file://out/replay")
            return cls(kind="file", target=path)
        if scheme == "":
            if not uri:
                raise ConfigError("--sink: empty value; use kafka://HOST:PORT or file://DIRECTORY")
            return cls(kind="file", target=uri)
        raise ConfigError(f"--sink {uri}: unknown scheme {scheme!r}; use kafka://HOST:PORT or file://DIRECTORY")


@dataclass(frozen=True)
class ReplayConfig:
    """Everything a replay needs; the same transforms read their settings from here in live runs."""

    archives: tuple[str, ...]
    sinks: tuple[SinkSpec, ...]
    topic_prefix: str = "news"
    min_text_chars: int = DEFAULT_MIN_CHARS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    stories: StoryConfig = field(default_factory=StoryConfig)

    def __post_init__(self) -> None:
        if not self.archives:
            raise ConfigError("no archive given: name at least one .warc or .warc.gz file")
        if not self.sinks:
            raise ConfigError("no sink given: add --sink kafka://HOST:PORT and/or --sink file://DIRECTORY")
        if self.min_text_chars < 1:
            raise ConfigError(f"min_text_chars must be >= 1, got {self.min_text_chars}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be >= 1024, got {self.max_body_bytes}")
        try:
            TopicNames(self.topic_prefix)
        except (ValueError, KafkaConfigError) as exc:
            raise ConfigError(f"topic prefix {self.topic_prefix!r}: {exc}") from exc

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)
