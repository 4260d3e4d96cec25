"""Sink URIs, the one rule for both the command line (``--sink``) and the live YAML (``sinks:``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka.config import KafkaConfig
from storywire.connectors.kafka.errors import KafkaConfigError

SinkKind = Literal["kafka", "file"]


@dataclass(frozen=True)
class SinkSpec:
    """Where results go: ``kafka://host:port[?options]`` or ``file://DIRECTORY``.

    ``SinkSpec.parse("kafka://127.0.0.1:19092?compression=zstd")``; the Beam sink it describes is built by
    :func:`storywire.pipelines.beam.sinks.sink_for`.
    """

    kind: SinkKind
    target: str
    kafka: KafkaConfig | None = None

    @classmethod
    def parse(
        cls, uri: str, topic_prefix: str | None = None, *, name: str = "--sink", bare_path: bool = True
    ) -> SinkSpec:
        """Parse ``uri``; errors start with ``name`` (the option or key it came from). A bare path means a
        directory when ``bare_path``, else it is refused (the live YAML asks for an explicit scheme)."""
        scheme = urlsplit(uri).scheme if "://" in uri else ""
        if scheme in ("kafka", "kafka+ssl"):
            try:
                overrides = {} if topic_prefix is None else {"topic_prefix": topic_prefix}
                kafka = KafkaConfig.from_url(uri, **overrides)
            except KafkaConfigError as exc:
                raise ConfigError(f"{name} {uri}: {exc}") from exc
            return cls(kind="kafka", target=kafka.bootstrap_servers, kafka=kafka)
        if scheme == "file":
            path = uri[len("file://") :]
            if not path:
                raise ConfigError(f"{name} {uri}: give a directory, e.g. file://out/results")
            return cls(kind="file", target=path)
        if scheme:
            raise ConfigError(f"{name} {uri}: unknown scheme {scheme!r}; use kafka://HOST:PORT or file://DIRECTORY")
        if not bare_path:
            raise ConfigError(f"{name} {uri!r} needs a scheme: kafka://HOST:PORT or file://DIRECTORY")
        if not uri:
            raise ConfigError(f"{name}: empty value; use kafka://HOST:PORT or file://DIRECTORY")
        return cls(kind="file", target=uri)
