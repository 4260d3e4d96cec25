"""Kafka security against the local broker (Tansu 0.6.0): what it can show.

The bundled Tansu build cannot serve a secured listener, measured here: with ``--authentication`` every SASL
handshake fails with ``NoSharedMechanism`` (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, users created with
``tansu user create``; kafka-python and librdkafka alike), and with ``--cert`` a ``tls://`` listener never
completes a TLS handshake (``--cert`` and ``--key`` cannot even be given together). So SASL and TLS are tested at
the configuration level (tests/unit/test_kafka_security.py) and here only for what a client sees when its
security settings do not match the listener: one clear error within the bootstrap timeout, naming the settings in
use and what to check, never the password.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import trustme

from storywire.connectors.kafka import BrokerUnreachableError, KafkaConfig, check_reachable, ensure_topics
from storywire.connectors.kafka.topics import TopicSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PASSWORD = "hunter2-Sup3rSecret"


def test_an_explicit_plaintext_url_works(kafka_broker: Any, topic_prefix: str) -> None:
    config = KafkaConfig.from_url(f"{kafka_broker.url}?security_protocol=PLAINTEXT&prefix={topic_prefix}")

    check_reachable(config, timeout_s=5)
    assert ensure_topics(config, [TopicSpec(f"{topic_prefix}.plain.v1", partitions=1)]) == {
        f"{topic_prefix}.plain.v1": "created"
    }


def test_sasl_against_a_listener_without_it_is_one_clear_error(kafka_broker: Any) -> None:
    url = (
        f"{kafka_broker.url}?security_protocol=SASL_PLAINTEXT&sasl_mechanism=SCRAM-SHA-512&sasl_username=svc&sasl_password_env=KAFKA_PASSWORD"
        "&bootstrap_timeout_ms=2000"
    )
    config = KafkaConfig.from_url(url, environ={"KAFKA_PASSWORD": PASSWORD})
    started = time.monotonic()

    with pytest.raises(BrokerUnreachableError) as caught:
        check_reachable(config, timeout_s=2)

    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "connecting with SASL_PLAINTEXT, SCRAM-SHA-512 as svc" in message
    assert "the password from environment variable KAFKA_PASSWORD" in message
    assert PASSWORD not in message


def test_tls_against_a_plaintext_listener_gives_up_instead_of_hanging(
    kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # kafka-python 3.0.12 puts no deadline on the TLS handshake, and Tansu never answers a ClientHello on a
    # plaintext port: without storywire's bound the admin client would wait forever.
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    config = KafkaConfig.from_url(f"kafka+ssl://{kafka_broker.bootstrap}?ssl_cafile={ca_file}")
    started = time.monotonic()

    with pytest.raises(BrokerUnreachableError) as caught:
        check_reachable(config, timeout_s=1)

    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "no TLS handshake within 6s: is this port a TLS listener?" in message
    assert f"connecting with SSL, CA {ca_file}" in message
