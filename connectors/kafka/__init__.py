"""Kafka connector: config, topic names, admin helpers, a failure-surfacing writer, a test reader.

Pure Python on kafka-python (no Beam import): Beam DoFns adapt it. Its exceptions (``errors``) are a branch of
the one tree drawn in ``storywire.connectors.errors``.
"""

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
from .config import COMPRESSION_TYPES, KafkaConfig
from .consumer import ConsumedMessage, iter_topic, read_topic
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
from .producer import KafkaMessageWriter, fits, record_size
from .topics import DEFAULT_PARTITIONS, TopicNames, TopicSpec, default_topic_specs

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
