"""Raw-socket servers on loopback that misbehave at the byte level, for the hostile-server tests.

``tests/support/http_server.py`` is a well-behaved HTTP server with a few scripted misbehaviours; the servers
here speak raw TCP so a test decides every byte and every packet: when each byte of a header or of a chunk-size
line goes out, and whether the connection ends with a FIN or a reset (RST, via ``SO_LINGER`` 0) mid-body.

Usage::

    def script(conn: Connection) -> None:
        conn.send(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\n" + b"x" * 10)
        conn.reset()

    with RawServer(script) as server:
        fetcher.fetch(server.url("/feed.xml"), kind="feed")

Each accepted connection runs ``script`` on its own daemon thread once the request head was read (the head is
on ``Connection.request``; every head is recorded in ``RawServer.requests``). ``Connection.drip`` stops early,
returning False, when the client hangs up or the server stops, so an abandoned exchange never keeps a thread
busy; ``RawServer.abandoned`` counts those hang-ups.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable

_HEAD_END = b"\r\n\r\n"
_MAX_HEAD = 64 * 1024


class Connection:
    """One accepted client connection, handed to a server's script."""

    def __init__(
        self, sock: socket.socket, request: bytes, stopping: threading.Event, on_abandon: Callable[[], None]
    ) -> None:
        self.sock = sock
        self.request = request
        self._stopping = stopping
        self._on_abandon = on_abandon

    @property
    def path(self) -> str:
        """The request target of the request line (``/feed.xml``)."""
        parts = self.request.split(b"\r\n", 1)[0].split(b" ")
        return parts[1].decode("latin-1") if len(parts) > 1 else ""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self, data: bytes, *, interval_s: float, step: int = 1) -> bool:
        """Send ``data`` ``step`` bytes at a time, waiting ``interval_s`` before each; False if the client left."""
        for start in range(0, len(data), step):
            if self._stopping.is_set():
                return False
            try:
                if self._client_gone(interval_s):
                    raise ConnectionResetError
                self.sock.sendall(data[start : start + step])
            except OSError:
                if not self._stopping.is_set():
                    self._on_abandon()
                return False
        return True

    def reset(self) -> None:
        """End the connection with a TCP reset (RST) instead of an orderly FIN: ``SO_LINGER`` on, 0 seconds."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _client_gone(self, wait_s: float) -> bool:
        """Wait ``wait_s``; True if the client closed its end meanwhile (EOF or reset)."""
        readable, _, _ = select.select([self.sock], [], [], wait_s)
        if not readable:
            return False
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


Script = Callable[[Connection], object]


class RawServer:
    """A TCP server on 127.0.0.1 (free port) running ``script`` for every connection, after its request head."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[bytes] = []
        self._abandoned = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/", *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def requests(self) -> list[bytes]:
        """The request heads received, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def paths(self) -> list[str]:
        return [head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1") for head in self.requests]

    @property
    def abandoned(self) -> int:
        """Connections whose client hung up while a ``drip`` was still sending."""
        with self._lock:
            return self._abandoned

    def wait_abandoned(self, count: int, timeout_s: float = 3.0) -> bool:
        end = time.monotonic() + timeout_s
        while self.abandoned < count:
            if time.monotonic() > end:
                return False
            time.sleep(0.02)
        return True

    def start(self) -> RawServer:
        self._thread = threading.Thread(target=self._accept_loop, name="raw-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._listener.close()

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _count_abandoned(self) -> None:
        with self._lock:
            self._abandoned += 1

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), name="raw-http-conn", daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # every dripped byte leaves at once
        sock.settimeout(5.0)
        try:
            head = b""
            while _HEAD_END not in head and len(head) < _MAX_HEAD:
                data = sock.recv(4096)
                if not data:
                    return
                head += data
            with self._lock:
                self._requests.append(head)
            self._script(Connection(sock, head, self._stopping, self._count_abandoned))
        except OSError:
            pass
        finally:
            sock.close()  # a no-op after reset()
