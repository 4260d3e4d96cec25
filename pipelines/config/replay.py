"""Run configuration: frozen, validated at start-up, with errors that say how to fix them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from storywire.connectors.archives.warc_reader import DEFAULT_MAX_BODY_BYTES
from storywire.connectors.articles.settings import DEFAULT_MIN_CHARS, ExtractionLimits
from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka.topics import TopicNames
from storywire.connectors.urls import canonical_url
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.filters import ArticleFilter
from storywire.pipelines.stories import StoryConfig


@dataclass(frozen=True)
class ReplayConfig:
    """Everything a replay needs; the same transforms read their settings from here in live runs."""

    archives: tuple[str, ...]
    """WARC archives (files; :func:`~storywire.connectors.archives.inputs.resolve_inputs` expands what a user
    names)."""
    sinks: tuple[SinkSpec, ...]
    topic_prefix: str = "news"
    min_text_chars: int = DEFAULT_MIN_CHARS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    stories: StoryConfig = field(default_factory=StoryConfig)
    extraction: ExtractionLimits | None = None
    """The live config's ``extraction:`` limits (``--config``); None: the defaults with ``min_text_chars``."""
    feed_outlets: tuple[tuple[str, str], ...] = ()
    """(feed URL, outlet) of each feed of the live config that names an ``outlet``: the pages a feed listed are
    credited to its outlet, as the live run credited them. Stored sorted, with canonical URLs
    (:meth:`outlets_by_feed` builds it from any mapping)."""
    dumps: tuple[str, ...] = ()
    """JSONL article dumps (:mod:`storywire.pipelines.core.dumped`)."""
    refused_inputs: tuple[tuple[str, str], ...] = ()
    """(input, reason) of each input that gave nothing to read: each becomes a ``read-input`` dead letter."""
    keep: ArticleFilter = field(default_factory=ArticleFilter)
    """The articles the replay keeps (``--since/--until/--outlet/--lang``); the default keeps all."""
    workers: int | None = None
    """Feed-parsing and extraction processes; None: one per core; 0 or 1: pages one at a time in one extraction
    process (for its time limit), feeds in the step's own process."""

    def __post_init__(self) -> None:
        if not self.archives and not self.dumps:
            raise ConfigError(
                "nothing to replay: name WARC archives (.warc, .warc.gz) or JSONL article dumps (.jsonl), files, "
                "directories or patterns"
            )
        if not self.sinks:
            raise ConfigError("no sink given: add --sink kafka://HOST:PORT and/or --sink file://DIRECTORY")
        if self.min_text_chars < 1:
            raise ConfigError(f"min_text_chars must be >= 1, got {self.min_text_chars}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be >= 1024, got {self.max_body_bytes}")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (0 or 1: no worker processes), got {self.workers}")
        try:
            TopicNames(self.topic_prefix)
        except ValueError as exc:  # KafkaConfigError is one too
            raise ConfigError(f"topic prefix {self.topic_prefix!r}: {exc}") from exc
        object.__setattr__(self, "feed_outlets", self.outlets_by_feed(dict(self.feed_outlets)))

    @staticmethod
    def outlets_by_feed(outlets: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """(canonical feed URL, outlet) pairs, sorted; ConfigError for an empty outlet or two outlets for one
        canonical URL."""
        pairs: dict[str, str] = {}
        for url, outlet in outlets.items():
            if not isinstance(outlet, str) or not outlet.strip():
                raise ConfigError(f"feed {url}: outlet must be a non-empty string")
            try:
                key = canonical_url(url)
            except ValueError as exc:
                raise ConfigError(f"feed {url}: not a URL ({exc})") from exc
            if pairs.get(key, outlet) != outlet:
                raise ConfigError(f"feed {url}: two outlets for one feed ({pairs[key]!r} and {outlet!r})")
            pairs[key] = outlet
        return tuple(sorted(pairs.items()))

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)
