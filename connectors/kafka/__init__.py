"""Kafka connector: config, topic names, admin helpers, a failure-surfacing writer, a test reader.

Pure Python on kafka-python (no Beam import): Beam DoFns adapt it. Its exceptions (``errors``) are a branch of
the one tree drawn in ``storywire.connectors.errors``.

Import the names from here (``from storywire.connectors.kafka import KafkaConfig, iter_topic``). Those of the
admin client, the consumer and the producer are loaded on first use: they import kafka-python (about 0.25 s),
which a command that only needs the config, the topic names or the errors should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storywire.connectors.lazy import lazy_exports

from .config import COMPRESSION_TYPES, KafkaConfig
from .envelope import SCHEMA_VERSION_ATTRIBUTE, SPEC_VERSION, cloudevent_headers, parse_cloudevent_headers
from .errors import (
    BrokerUnreachableError,
    DeliveryError,
    FailedRecord,
    InvalidEnvelopeError,
    KafkaConfigError,
    KafkaConnectorError,
    MessageTooLargeError,
    TopicSetupError,
    is_permanent_failure,
)
from .topics import DEFAULT_PARTITIONS, TopicNames, TopicSpec, default_topic_specs

if TYPE_CHECKING:
    from .admin import (
        ReportedConfig,
        TopicDescription,
        TopicOutcome,
        admin_client,
        check_reachable,
        describe_topics,
        ensure_topics,
        missing_topics,
    )
    from .consumer import ConsumedMessage, iter_topic, read_topic
    from .producer import KafkaMessageWriter, fits, record_size

__all__ = [
    "COMPRESSION_TYPES",
    "DEFAULT_PARTITIONS",
    "SCHEMA_VERSION_ATTRIBUTE",
    "SPEC_VERSION",
    "BrokerUnreachableError",
    "ConsumedMessage",
    "DeliveryError",
    "FailedRecord",
    "InvalidEnvelopeError",
    "KafkaConfig",
    "KafkaConfigError",
    "KafkaConnectorError",
    "KafkaMessageWriter",
    "MessageTooLargeError",
    "ReportedConfig",
    "TopicDescription",
    "TopicNames",
    "TopicOutcome",
    "TopicSetupError",
    "TopicSpec",
    "admin_client",
    "check_reachable",
    "cloudevent_headers",
    "default_topic_specs",
    "describe_topics",
    "ensure_topics",
    "fits",
    "is_permanent_failure",
    "iter_topic",
    "missing_topics",
    "parse_cloudevent_headers",
    "read_topic",
    "record_size",
]

if not TYPE_CHECKING:  # mypy reads the imports above; a module __getattr__ would make every name type-check
    __getattr__ = lazy_exports(
        __name__,
        globals(),
        {
            "admin": (
                "ReportedConfig",
                "TopicDescription",
                "TopicOutcome",
                "admin_client",
                "check_reachable",
                "describe_topics",
                "ensure_topics",
                "missing_topics",
            ),
            "consumer": ("ConsumedMessage", "iter_topic", "read_topic"),
            "producer": ("KafkaMessageWriter", "fits", "record_size"),
        },
    )
