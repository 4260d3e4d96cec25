"""Broker reachability and idempotent topic creation (kafka-python's ``KafkaAdminClient``, dict API).

kafka-python is imported by the functions that talk to a broker, not with this module: it takes about 0.25 s,
which the commands that only build their parser with these names (``storywire --help``) should not pay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from .config import KafkaConfig
from .errors import BrokerUnreachableError, KafkaConfigError, TopicSetupError
from .security import unreachable_hint
from .topics import TopicSpec

__all__ = [
    "ReportedConfig",
    "TopicDescription",
    "TopicOutcome",
    "admin_client",
    "check_reachable",
    "describe_topics",
    "ensure_topics",
    "missing_topics",
]

log = logging.getLogger(__name__)

TopicOutcome = Literal["created", "exists"]
_TLS_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True)
class ReportedConfig:
    """One topic config as the broker reports it; ``source`` is e.g. ``DYNAMIC_TOPIC_CONFIG`` (a topic
    override) or ``DEFAULT_CONFIG`` (the broker's default, i.e. not set on this topic)."""

    value: str | None
    source: str


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """An existing topic as the broker reports it (metadata plus DescribeConfigs)."""

    name: str
    partitions: int
    replication_factor: int
    leaders: tuple[int, ...]
    configs: Mapping[str, ReportedConfig] = field(default_factory=dict, hash=False)


@contextmanager
def admin_client(config: KafkaConfig, timeout_s: float | None = None) -> Iterator[Any]:
    """An open ``KafkaAdminClient``; bootstrap failures become ``BrokerUnreachableError``."""
    import kafka.errors as kafka_errors
    from kafka import KafkaAdminClient

    kwargs = config.client_kwargs()
    if timeout_s is not None:
        kwargs["bootstrap_timeout_ms"] = max(100, int(timeout_s * 1000))
    try:
        client = _bounded_tls_admin(config, kwargs) if config.security.uses_tls else KafkaAdminClient(**kwargs)
    except (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError) as exc:
        raise BrokerUnreachableError(config.bootstrap_servers, str(exc) + unreachable_hint(config.security)) from exc
    except kafka_errors.KafkaConfigurationError as exc:
        raise KafkaConfigError(f"kafka-python rejected the admin settings: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def _bounded_tls_admin(config: KafkaConfig, kwargs: dict[str, Any]) -> Any:
    """``KafkaAdminClient(**kwargs)``, given up after the bootstrap timeout plus ``_TLS_MARGIN_S``.

    kafka-python 3.0.12 bounds the TCP connect and the bootstrap, but not a TLS handshake: against a port that
    accepts the connection and never answers the ClientHello (a plaintext listener of the bundled Tansu broker, a
    black-holing proxy) the constructor waits forever. Apache Kafka's plaintext listener closes such a connection
    at once, so this bound matters only for the silent ones; a client that connects after it is closed.
    """
    from kafka import KafkaAdminClient

    outcome: dict[str, Any] = {}
    abandoned = threading.Event()

    def connect() -> None:
        try:
            client = KafkaAdminClient(**kwargs)
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
            return
        outcome["client"] = client
        if abandoned.is_set():
            client.close()

    limit_s = kwargs["bootstrap_timeout_ms"] / 1000 + _TLS_MARGIN_S
    thread = threading.Thread(target=connect, name="storywire-kafka-tls-bootstrap", daemon=True)
    thread.start()
    thread.join(limit_s)
    if thread.is_alive():
        abandoned.set()
        raise BrokerUnreachableError(
            config.bootstrap_servers,
            f"no TLS handshake within {limit_s:.0f}s: is this port a TLS listener?{unreachable_hint(config.security)}",
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["client"]


def check_reachable(config: KafkaConfig, timeout_s: float = 10.0) -> None:
    """Raise ``BrokerUnreachableError`` unless a broker answers at the bootstrap address in ``timeout_s``."""
    import kafka.errors as kafka_errors

    with admin_client(config, timeout_s) as client:
        try:
            client.list_topics()
        except kafka_errors.KafkaError as exc:
            raise BrokerUnreachableError(config.bootstrap_servers, f"metadata request failed: {exc}") from exc


def ensure_topics(
    config: KafkaConfig, specs: Iterable[TopicSpec], *, timeout_s: float = 30.0
) -> dict[str, TopicOutcome]:
    """Create the topics that do not exist; an existing topic counts as success (it is not altered).

    Returns ``{topic: "created" | "exists"}``; waits until created topics have leaders. Raises
    ``TopicSetupError`` naming each topic the broker refused, ``BrokerUnreachableError`` if none answers.
    """
    import kafka.errors as kafka_errors

    spec_list = list(specs)
    names = [spec.name for spec in spec_list]
    if len(set(names)) != len(names):
        raise KafkaConfigError(f"ensure_topics: duplicate topic names in {names}")
    if not spec_list:
        return {}
    request = {
        spec.name: {
            "num_partitions": spec.partitions,
            "replication_factor": spec.replication_factor if spec.replication_factor is not None else -1,
            "configs": dict(spec.configs),
        }
        for spec in spec_list
    }
    timeout_ms = max(1_000, int(timeout_s * 1000))
    with admin_client(config, timeout_s) as client:
        try:
            response = client.create_topics(request, timeout_ms=timeout_ms, raise_errors=False)
        except kafka_errors.KafkaError as exc:
            raise TopicSetupError(f"CreateTopics request for {names} failed: {exc}") from exc
        outcomes: dict[str, TopicOutcome] = {}
        refused = []
        for result in response.get("topics", []):
            name = result["name"]
            code = result.get("error_code", 0)
            if code == 0:
                outcomes[name] = "created"
            elif code == kafka_errors.TopicAlreadyExistsError.errno:
                outcomes[name] = "exists"
            else:
                error_name = kafka_errors.for_code(code).__name__
                refused.append(f"{name}: {error_name} ({result.get('error_message') or 'no message'})")
        if refused:
            raise TopicSetupError("broker refused to create topic(s): " + "; ".join(refused))
        unanswered = [name for name in names if name not in outcomes]
        if unanswered:
            raise TopicSetupError(f"CreateTopics response did not mention {unanswered}")
        created = [name for name in names if outcomes[name] == "created"]
        if created:
            try:
                client.wait_for_topics(created, timeout_ms=timeout_ms)
            except kafka_errors.KafkaError as exc:
                raise TopicSetupError(f"created topics are not ready after {timeout_s}s: {exc}") from exc
    log.info("Kafka topics ensured: %s", outcomes)
    return {name: outcomes[name] for name in names}


def missing_topics(config: KafkaConfig, names: Iterable[str], *, timeout_s: float = 10.0) -> list[str]:
    """Those of ``names`` that do not exist on the cluster, in the given order."""
    import kafka.errors as kafka_errors

    wanted = list(names)
    with admin_client(config, timeout_s) as client:
        try:
            existing = set(client.list_topics())
        except kafka_errors.KafkaError as exc:
            raise TopicSetupError(f"could not list topics: {exc}") from exc
    return [name for name in wanted if name not in existing]


def describe_topics(
    config: KafkaConfig, names: Iterable[str], *, timeout_s: float = 10.0
) -> dict[str, TopicDescription | None]:
    """``{name: description}`` for each of ``names`` in order; ``None`` for a topic that does not exist.

    Configs are every topic config the broker reports (``config_filter="all"``). Raises
    ``BrokerUnreachableError`` or ``TopicSetupError``.
    """
    import kafka.errors as kafka_errors
    from kafka.admin import ConfigResource, ConfigResourceType

    wanted = list(names)
    found: dict[str, dict[str, Any]] = {}
    reported: dict[str, dict[str, ReportedConfig]] = {}
    with admin_client(config, timeout_s) as client:
        try:
            metadata = client.describe_topics(wanted)
        except kafka_errors.KafkaError as exc:
            raise TopicSetupError(f"could not describe topics {wanted}: {exc}") from exc
        for topic in metadata:
            code = topic.get("error_code", 0)
            if code == kafka_errors.UnknownTopicOrPartitionError.errno:
                continue
            if code != 0:
                error_name = kafka_errors.for_code(code).__name__
                raise TopicSetupError(f"describing topic {topic.get('name')} failed: {error_name}")
            found[topic["name"]] = topic
        if found:
            resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in found]
            try:
                response = client.describe_configs(resources, config_filter="all")
            except kafka_errors.KafkaError as exc:
                raise TopicSetupError(f"could not describe the configs of {sorted(found)}: {exc}") from exc
            for name, entries in response.get("topic", {}).items():
                reported[name] = {
                    key: ReportedConfig(entry.get("value"), str(entry.get("config_source", "UNKNOWN")))
                    for key, entry in sorted(entries.items())
                }
    result: dict[str, TopicDescription | None] = {}
    for name in wanted:
        topic = found.get(name)
        if topic is None:
            result[name] = None
            continue
        partitions = sorted(topic.get("partitions", []), key=lambda p: p["partition_index"])
        result[name] = TopicDescription(
            name=name,
            partitions=len(partitions),
            replication_factor=max((len(p.get("replica_nodes", [])) for p in partitions), default=0),
            leaders=tuple(sorted({p["leader_id"] for p in partitions})),
            configs=reported.get(name, {}),
        )
    return result
