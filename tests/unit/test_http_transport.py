"""The pinned transport's hard deadline: every socket operation waits at most the time left (no sockets here)."""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpcore
import httpx
import pytest

from storywire.connectors.http import AddressGuard, HttpConfig, HttpFetcher
from storywire.connectors.http.transport import PinnedNetworkBackend, current_deadline, deadline

UA = "storywire/0.1 (+https://example.org/bot)"


class RecordingStream(httpcore.NetworkStream):
    """Records the timeout each operation was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []
        self.closed = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.calls.append(("read", timeout))
        return b"x"

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.calls.append(("write", timeout))

    def close(self) -> None:
        self.closed = True

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self.calls.append(("start_tls", timeout))
        return self

    def get_extra_info(self, info: str) -> Any:
        return f"info:{info}"


class RecordingBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.stream = RecordingStream()
        self.connects: list[tuple[str, float | None]] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.connects.append((host, timeout))
        return self.stream


def backend() -> tuple[PinnedNetworkBackend, RecordingBackend]:
    config = HttpConfig(user_agent=UA, allowed_networks=("127.0.0.0/8",))
    guard = AddressGuard(config, resolver=lambda host, port, *a, **k: [(2, 1, 6, "", ("127.0.0.1", port))])
    inner = RecordingBackend()
    return PinnedNetworkBackend(guard, inner), inner


def test_without_a_deadline_timeouts_pass_through() -> None:
    pinned, inner = backend()
    stream = pinned.connect_tcp("feeds.test", 80, timeout=10.0)
    stream.write(b"GET", timeout=20.0)
    stream.read(10, timeout=20.0)
    assert inner.connects == [("127.0.0.1", 10.0)]
    assert inner.stream.calls == [("write", 20.0), ("read", 20.0)]
    assert stream.get_extra_info("is_readable") == "info:is_readable"


def test_within_a_deadline_every_operation_waits_at_most_the_time_left() -> None:
    pinned, inner = backend()
    with deadline(time.monotonic() + 2.0):
        stream = pinned.connect_tcp("feeds.test", 80, timeout=10.0)
        tls = stream.start_tls(ssl.create_default_context(), "feeds.test", timeout=10.0)
        tls.write(b"GET", timeout=20.0)
        tls.read(10, timeout=20.0)
        tls.read(10, timeout=None)
        tls.read(10, timeout=0.5)  # a shorter timeout of its own stays
    timeouts = [timeout for _, timeout in inner.connects + inner.stream.calls]
    assert all(timeout is not None and 1.0 < timeout <= 2.0 for timeout in timeouts[:-1])
    assert timeouts[-1] == 0.5


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        (lambda stream: stream.read(10, timeout=20.0), httpcore.ReadTimeout),
        (lambda stream: stream.write(b"GET", timeout=20.0), httpcore.WriteTimeout),
        (lambda stream: stream.start_tls(ssl.create_default_context(), "x", timeout=20.0), httpcore.ConnectTimeout),
    ],
)
def test_a_passed_deadline_fails_the_operation_without_waiting(operation: Any, error: type[Exception]) -> None:
    pinned, inner = backend()
    stream = pinned.connect_tcp("feeds.test", 80, timeout=10.0)
    with deadline(time.monotonic() - 0.001), pytest.raises(error, match="total timeout"):
        operation(stream)
    assert inner.stream.calls == []


def test_a_passed_deadline_fails_the_connect() -> None:
    pinned, inner = backend()
    with deadline(time.monotonic() - 0.001), pytest.raises(httpcore.ConnectTimeout):
        pinned.connect_tcp("feeds.test", 80, timeout=10.0)
    assert inner.connects == []


def test_nested_deadlines_keep_the_earlier_and_are_undone_on_exit() -> None:
    assert current_deadline() is None
    with deadline(100.0):
        with deadline(200.0):
            assert current_deadline() == 100.0
        with deadline(50.0):
            assert current_deadline() == 50.0
        assert current_deadline() == 100.0
    assert current_deadline() is None


def test_the_fetcher_sets_the_deadline_for_the_request_and_the_body() -> None:
    seen: list[float | None] = []

    class Body(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            seen.append(current_deadline())
            yield b"body"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(current_deadline())
        return httpx.Response(200, stream=Body())

    config = HttpConfig(user_agent=UA, total_timeout_s=7.0, min_delay_s=0.0, robots_enabled=False)
    resolver = lambda host, port, *a, **k: [(2, 1, 6, "", ("93.184.216.34", port))]  # noqa: E731
    with HttpFetcher(config, resolver=resolver, transport=httpx.MockTransport(handler)) as fetcher:
        before = time.monotonic()
        assert fetcher.fetch("https://news.example/feed", kind="feed").response.body == b"body"
        after = time.monotonic()
    assert len(seen) == 2 and seen[0] == seen[1]
    assert seen[0] is not None and before + 7.0 <= seen[0] <= after + 7.0
    assert current_deadline() is None
