"""The live run's metrics and health endpoints (a real HTTP server on loopback, no pipeline)."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest

from storywire.connectors.failures import Failure, Stage
from storywire.connectors.kafka import broker_health
from storywire.pipelines.live import metrics
from storywire.pipelines.live.health import HealthServer, PortInUseError


def _value(text: str, name: str) -> float:
    """The value of one sample line ``name value`` in the Prometheus text format."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics:\n{text}")


@pytest.fixture
def server() -> Iterator[HealthServer]:
    metrics.reset()
    served = HealthServer("127.0.0.1", 0)
    served.start()
    yield served
    served.stop()


def test_engine_counts_become_labelled_counters_and_fetch_times_a_histogram(server: HealthServer) -> None:
    live = metrics.METRICS
    live.count_engine(
        Counter({"polls.new_items": 2, "polls.not_modified": 3, "items.new": 5, "pages.fetched": 4, "x.y": 1}),
        [("page", 0.2), ("feed", 0.01)],
    )
    failure = Failure.from_exception(
        Stage.FETCH_ARTICLE, "https://a.example/x", TimeoutError("slow"), datetime(2023, 5, 3, tzinfo=timezone.utc)
    )
    live.count_dead_letter(str(failure.stage), failure.error_type)
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    assert _value(text, 'storywire_polls_total{outcome="new_items"}') == 2
    assert _value(text, 'storywire_polls_total{outcome="not_modified"}') == 3
    assert _value(text, 'storywire_items_total{kind="new"}') == 5
    assert _value(text, 'storywire_pages_total{outcome="fetched"}') == 4
    assert _value(text, 'storywire_fetch_seconds_count{kind="page"}') == 1
    assert _value(text, 'storywire_dead_letters_total{stage="fetch-article",type="TimeoutError"}') == 1


def test_readiness_needs_restored_state_and_a_reachable_broker(server: HealthServer) -> None:
    url = f"http://127.0.0.1:{server.port}"
    assert httpx.get(url + "/readyz").status_code == 503  # the source has not restored its state yet
    assert httpx.get(url + "/healthz").status_code == 200  # starting is alive
    metrics.METRICS.source_ready()
    metrics.METRICS.set_broker_up(True)
    assert httpx.get(url + "/readyz").status_code == 200
    metrics.METRICS.set_broker_up(False)
    answer = httpx.get(url + "/readyz")
    assert answer.status_code == 503 and "broker" in answer.text
    metrics.METRICS.set_broker_up(True)
    health = broker_health.health_of("10.9.8.7:9092")
    health.since = 1.0  # a Kafka writer is riding out an outage of that broker
    try:
        answer = httpx.get(url + "/readyz")
        assert answer.status_code == 503 and "10.9.8.7:9092 unreachable" in answer.text
    finally:
        health.since = None
    assert httpx.get(url + "/nothing").status_code == 404


def test_liveness_fails_when_the_dispatcher_stops_beating(monkeypatch: pytest.MonkeyPatch) -> None:
    live = metrics.reset()
    live.beat()
    assert live.alive() == (True, "ok")
    later = time.monotonic() + 31
    monkeypatch.setattr(metrics.time, "monotonic", lambda: later)
    ok, why = live.alive()
    assert not ok and "31s" in why


def test_a_port_in_use_is_one_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=rf"127\.0\.0\.1:{port}.*--metrics-port"):
            HealthServer("127.0.0.1", port)
