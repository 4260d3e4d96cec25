"""The configuration of a live run (``storywire run``): frozen, validated settings objects.

Build it with :func:`storywire.pipelines.config.loading.load_config`, which reads the YAML file (and the
``STORYWIRE__*`` overrides) and names the file, line and key of any mistake; the constructors validate too.
File format (every key optional except ``http.user_agent`` and at least one feed; ``deploy/feeds.example.yaml``
documents every key)::

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
    state: {path: state/feed-state.json, checkpoint_interval: 60s, stories_path: auto, stories_snapshot_every: 2000}
    sinks: [kafka://127.0.0.1:19092, file://out/live]
    kafka: {security_protocol: SASL_SSL, sasl_mechanism: SCRAM-SHA-512, sasl_username: svc,
            sasl_password_env: KAFKA_PASSWORD, ssl_cafile: /etc/kafka/ca.pem}   # every kafka:// sink; default none
    archive: {dir: null, rotate_size: 1GB}
    progress: {interval: 60s}       # the progress line's period; 0s: none
    run: {stop_grace: 10s, max_parallel_fetches: 32, max_buffered_pages: 1000, broker_outage_limit: 15m}
    metrics: {port: null, host: 0.0.0.0}   # /metrics, /healthz, /readyz; null: off (--metrics-port)
    extraction: {max_text_chars: 200000, max_html_bytes: 1MiB, timeout: 20s, max_replacement_ratio: 0.01,
                 max_mess_ratio: 0.2}     # timeout 0s: in-process, no limit
    topic_prefix: news
    stories: {dormancy: 48h, horizon: 30d, trending_window: 6h, trending_baseline: 72h, trending_ratio: 3,
              trending_min_articles: 5, trending_min_outlets: 3, merging: true}

Each section is one settings object (durations and sizes as in :mod:`storywire.pipelines.config.units`):

- ``feeds:`` -> :class:`~storywire.connectors.feeds.settings.FeedSpec` each, ``polling:`` ->
  :class:`~storywire.connectors.feeds.settings.PollSettings` (the poll core's own settings);
- ``http:`` -> :class:`~storywire.connectors.http.config.HttpConfig`, every field; one in seconds
  (``connect_timeout_s``) is written without ``_s`` as a duration (``connect_timeout: 10s``);
- ``stories:`` -> the story core's :class:`~storywire.pipelines.stories.StoryConfig`: its lifecycle and trending
  fields under their own names; ``merging: false`` is ``merge_threshold=None`` (stories never merge, for
  consumers that cannot follow ``merged_into``). Its other fields keep their defaults;
- ``state:`` -> :class:`StateSettings`, ``archive:`` -> :class:`ArchiveSettings`, ``progress:`` ->
  :class:`ProgressSettings`, ``run:`` -> :class:`RunSettings`, ``metrics:``
  -> :class:`MetricsSettings`;
- ``kafka:`` -> :class:`~storywire.connectors.kafka.security.KafkaSecurity` (TLS and SASL of every ``kafka://``
  sink; a sink URL's own security parameters win key by key). Passwords only as ``sasl_password_env`` /
  ``ssl_password_env`` (an environment variable) or ``*_password_file`` (a file), never inline.

Relative ``feed_files`` are relative to the config file; ``state.path``, ``archive.dir`` and ``file://`` sinks
to the working directory (as for ``storywire replay``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from storywire.connectors.articles.settings import ExtractionLimits
from storywire.connectors.errors import ConfigError
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.http.config import HttpConfig
from storywire.connectors.kafka.security import KafkaSecurity
from storywire.connectors.urls import canonical_url
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.stories import StoryConfig

__all__ = [
    "ArchiveSettings",
    "FeedSpec",
    "HttpSettings",
    "KafkaSecurity",
    "LiveConfig",
    "MetricsSettings",
    "PollSettings",
    "ProgressSettings",
    "RunSettings",
    "StateSettings",
    "StoryConfig",
]


HttpSettings = HttpConfig
"""The ``http:`` section is the HTTP layer's own frozen, validated
:class:`~storywire.connectors.http.config.HttpConfig`."""


@dataclass(frozen=True)
class StateSettings:
    """Where the poll checkpoint lives and how often it is written (when something changed)."""

    path: str = "state/feed-state.json"
    checkpoint_interval: timedelta = timedelta(seconds=60)
    stories_path: str = "auto"
    """The story state file (SQLite, :mod:`storywire.pipelines.stories.store`): ``auto`` is ``stories.sqlite``
    beside ``path``; ``off`` keeps story state in the runner's state only (Flink, Dataflow: their checkpoints)."""
    stories_snapshot_every: int = 2000
    """Articles logged between two snapshots of a partition's story state (a restart replays at most this many)."""

    def __post_init__(self) -> None:
        if not self.path.strip():
            raise ConfigError("path must name a file, e.g. state/feed-state.json")
        if not self.stories_path.strip():
            raise ConfigError("stories_path must be auto, off or a file path, e.g. state/stories.sqlite")
        if self.stories_snapshot_every < 1:
            raise ConfigError(f"stories_snapshot_every must be at least 1, got {self.stories_snapshot_every}")
        if self.checkpoint_interval <= timedelta(0):
            raise ConfigError("checkpoint_interval must be a positive duration")

    def story_store_path(self) -> str | None:
        """Where the story state file is (None: ``off``)."""
        if self.stories_path == "off":
            return None
        if self.stories_path == "auto":
            return os.path.join(os.path.dirname(self.path) or ".", "stories.sqlite")
        return self.stories_path


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
class ProgressSettings:
    """How often a live run logs its progress line (``storywire.live``, shown without ``-v``); 0 turns it off."""

    interval: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.interval < timedelta(0):
            raise ConfigError("interval must be a duration, e.g. 60s, or 0s to turn the progress line off")


@dataclass(frozen=True)
class MetricsSettings:
    """Where the live run serves ``/metrics``, ``/healthz`` and ``/readyz`` (``port`` null: not served)."""

    port: int | None = None
    host: str = "0.0.0.0"  # noqa: S104  (Prometheus scrapes from another machine; firewall it as any exporter)

    def __post_init__(self) -> None:
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535 (or null: off), got {self.port}")
        if not self.host.strip():
            raise ConfigError("host must be an address to listen on, e.g. 0.0.0.0 or 127.0.0.1")


@dataclass(frozen=True)
class RunSettings:
    """How the live run uses its threads, buffers and time: what it does when stopped or when the sinks stall."""

    stop_grace: timedelta = timedelta(seconds=10)
    """SIGTERM or Ctrl-C to exit: fetches still running then are checkpointed as pending and done after a restart."""
    max_parallel_fetches: int = 32
    """Fetches in flight at once, over all hosts; each host has at most one (its lane), whatever this says."""
    max_buffered_pages: int = 1000
    """Fetched pages (and their dead letters) waiting for the pipeline; when full, no new fetch starts until the
    sinks catch up (a broker outage): intake pauses, nothing is dropped."""
    broker_outage_limit: timedelta = timedelta(minutes=15)
    """How long a Kafka sink waits for an unreachable broker before the run gives up (exit 1, one line)."""

    def __post_init__(self) -> None:
        if not timedelta(seconds=1) <= self.stop_grace <= timedelta(minutes=10):
            raise ConfigError(f"stop_grace must be between 1s and 10m, got {self.stop_grace}")
        if not 1 <= self.max_parallel_fetches <= 1024:
            raise ConfigError(f"max_parallel_fetches must be between 1 and 1024, got {self.max_parallel_fetches}")
        if self.max_buffered_pages < 1:
            raise ConfigError(f"max_buffered_pages must be at least 1, got {self.max_buffered_pages}")
        if self.broker_outage_limit < timedelta(seconds=1):
            raise ConfigError(f"broker_outage_limit must be at least 1s, got {self.broker_outage_limit}")


@dataclass(frozen=True)
class LiveConfig:
    """Everything a live run needs. Build it with :func:`~storywire.pipelines.config.loading.load_config`; the
    constructor validates too (ConfigError)."""

    feeds: tuple[FeedSpec, ...]
    http: HttpConfig
    polling: PollSettings = field(default_factory=PollSettings)
    state: StateSettings = field(default_factory=StateSettings)
    sinks: tuple[str, ...] = ()
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    topic_prefix: str = "news"
    progress: ProgressSettings = field(default_factory=ProgressSettings)
    run: RunSettings = field(default_factory=RunSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    extraction: ExtractionLimits = field(default_factory=ExtractionLimits)
    """Per-page bounds of article extraction (text length, HTML size, time in a worker process, garbled text)."""
    stories: StoryConfig = field(default_factory=StoryConfig)
    """The story core's settings, used as they are by the live graph and by ``storywire replay --config``."""
    kafka: KafkaSecurity = field(default_factory=KafkaSecurity)
    """TLS and SASL settings of every ``kafka://`` sink (the ``kafka:`` section)."""

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

    def sink_specs(self) -> tuple[SinkSpec, ...]:
        """The sinks, parsed (``kafka://`` and ``file://``, as for replay)."""
        return tuple(SinkSpec.parse(uri, self.topic_prefix, security=self.kafka) for uri in self.sinks)
