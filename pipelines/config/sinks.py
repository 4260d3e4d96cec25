"""Sink URIs, the one rule for both the command line (``--sink``) and the live YAML (``sinks:``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka.config import KafkaConfig
from storywire.connectors.kafka.errors import KafkaConfigError
from storywire.connectors.kafka.security import KafkaSecurity, redact_url

SinkKind = Literal["kafka", "file"]


@dataclass(frozen=True)
class SinkSpec:
    """Where results go: ``kafka://host:port[?options]`` (``kafka+ssl://`` for TLS) or ``file://DIRECTORY``.

    ``SinkSpec.parse("kafka://127.0.0.1:19092?compression=zstd")``; the Beam sink it describes is built by
    :func:`storywire.pipelines.beam.sinks.sink_for`. The options are :meth:`KafkaConfig.from_url`'s, security
    included (``?sasl_mechanism=SCRAM-SHA-512&sasl_username=svc&sasl_password_env=KAFKA_PASSWORD&ssl_cafile=...``);
    they go on top of ``security`` (the live YAML's ``kafka:`` section).
    """

    kind: SinkKind
    target: str
    kafka: KafkaConfig | None = None

    @classmethod
    def parse(
        cls,
        uri: str,
        topic_prefix: str | None = None,
        *,
        name: str = "--sink",
        bare_path: bool = True,
        security: KafkaSecurity | None = None,
    ) -> SinkSpec:
        """Parse ``uri``; errors start with ``name`` (the option or key it came from) and show ``uri`` without
        any password. A bare path means a directory when ``bare_path``, else it is refused (the live YAML asks
        for an explicit scheme). ``security``: the TLS/SASL settings of every ``kafka://`` sink."""
        scheme = urlsplit(uri).scheme if "://" in uri else ""
        if scheme in ("kafka", "kafka+ssl"):
            try:
                kafka = KafkaConfig.from_url(uri, security=security)
                if topic_prefix is not None:
                    kafka = kafka.with_overrides(topic_prefix=topic_prefix)
            except KafkaConfigError as exc:
                raise ConfigError(f"{name} {redact_url(uri)}: {exc}") from exc
            return cls(kind="kafka", target=kafka.bootstrap_servers, kafka=kafka)
        if scheme == "file":
            path = uri[len("file://") :]
            if not path:
                raise ConfigError(f"{name} {uri}: give a directory, e.g. file://out/results")
            return cls(kind="file", target=path)
        if scheme:
            raise ConfigError(
                f"{name} {redact_url(uri)}: unknown scheme {scheme!r}; use kafka://HOST:PORT or file://DIRECTORY"
            )
        if not bare_path:
            raise ConfigError(f"{name} {uri!r} needs a scheme: kafka://HOST:PORT or file://DIRECTORY")
        if not uri:
            raise ConfigError(f"{name}: empty value; use kafka://HOST:PORT or file://DIRECTORY")
        return cls(kind="file", target=uri)
