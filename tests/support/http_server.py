"""A real HTTP/1.1 server on loopback with scripted routes, for integration tests and benchmarks.

Tests never reach the internet; this is the web they talk to instead. Routes are scripted per path:

- ``serve(path, body, ...)``: a resource with ETag/Last-Modified that answers conditional GETs with 304, and
  compresses (gzip/deflate/br) when asked to and the client accepts it. Calling it again replaces the body,
  the ETag and Last-Modified: that is how a test makes a feed change between polls;
- ``redirect(path, to, status)``, ``status(path, code, headers=...)``, ``slow(path, delay_s)``,
  ``huge(path, size)`` (streamed, optionally without Content-Length), ``sequence(path, replies)`` (one reply per
  request, the last one repeated), ``trickle(path, data, interval_s)`` (a raw response written a few bytes at a
  time, for servers that drip their headers or chunked framing), or any ``route(path, handler)`` returning a
  :class:`Reply`.

Every request is recorded (method, path, headers) for assertions (``requests_for(path)``). Keep-alive works,
so a client reuses its connection as with a real server. ``tls=`` takes a server-side ``ssl.SSLContext``.

Usage::

    with LoopbackHttpServer() as server:
        server.serve("/feed.xml", b"<rss .../>", content_type="application/rss+xml")
        url = server.url("/feed.xml")

``python tests/http_server.py`` runs one in the foreground (prints its port; serves ``/feed.xml``), for
benchmarks that must not share a process with the server.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.server
import select
import socket
import ssl
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

import brotli  # type: ignore[import-untyped]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    client: tuple[str, int]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class Trickle:
    """Raw bytes (status line, headers, body or chunked framing) sent as they are, then the connection closes.

    The first ``prompt`` bytes go out at once, the rest ``step`` bytes every ``interval_s``. The server stops
    early when the client hangs up, and counts it (``LoopbackHttpServer.abandoned``).
    """

    data: bytes
    interval_s: float
    prompt: int = 0
    step: int = 1


@dataclass(frozen=True)
class Reply:
    """What a route answers. ``chunks`` streams a body (then the connection closes, no Content-Length).

    ``raw`` replaces everything else: the server writes those bytes verbatim (see :class:`Trickle`).
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    chunks: Callable[[], Iterable[bytes]] | None = None
    delay_s: float = 0.0
    raw: Trickle | None = None


Handler = Callable[[RecordedRequest], Reply]


def compress(body: bytes, encoding: str) -> bytes:
    """``body`` in the given Content-Encoding (gzip, deflate (zlib-wrapped), br)."""
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "br":
        return bytes(brotli.compress(body))
    raise ValueError(f"unknown encoding {encoding!r}")


@dataclass
class Resource:
    """A body with validators; ``serve`` creates it, calling ``serve`` again replaces it."""

    body: bytes
    content_type: str
    etag: str | None
    last_modified: datetime | None
    encoding: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()

    def answer(self, request: RecordedRequest) -> Reply:
        validators: list[tuple[str, str]] = []
        if self.etag is not None:
            validators.append(("ETag", self.etag))
        if self.last_modified is not None:
            validators.append(("Last-Modified", format_datetime(self.last_modified, usegmt=True)))
        if self._not_modified(request):
            return Reply(304, tuple(validators))
        headers = [("Content-Type", self.content_type), *validators, *self.extra_headers]
        body = self.body
        accepted = request.header("Accept-Encoding") or ""
        if self.encoding is not None and self.encoding in [part.split(";")[0].strip() for part in accepted.split(",")]:
            body = compress(body, self.encoding)
            headers += [("Content-Encoding", self.encoding), ("Vary", "Accept-Encoding")]
        return Reply(200, tuple(headers), body)

    def _not_modified(self, request: RecordedRequest) -> bool:
        if_none_match = request.header("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
            return self.etag is not None and ("*" in tags or self.etag.removeprefix("W/") in tags)
        since = request.header("If-Modified-Since")
        if since is None or self.last_modified is None:
            return False
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        return when >= self.last_modified.replace(microsecond=0)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LoopbackHttpServer


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    timeout = 10  # idle keep-alive connections are dropped after this
    server: _Server

    def do_GET(self) -> None:
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        self._handle(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: tests assert on recorded requests instead

    def _handle(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=tuple((str(k), str(v)) for k, v in self.headers.items()),
            client=(str(self.client_address[0]), int(self.client_address[1])),
        )
        owner = self.server.owner
        reply = owner._dispatch(path, request)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.raw is not None:
            self.close_connection = True
            if not self._trickle(reply.raw):
                owner._abandoned(path)
            return
        try:
            self.send_response(reply.status)
            for key, value in reply.headers:
                self.send_header(key, value)
            if reply.chunks is not None:
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if send_body:
                    for chunk in reply.chunks():
                        self.wfile.write(chunk)
                return
            no_body = reply.status == 304 or reply.status < 200 or reply.status == 204
            if not no_body:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if send_body and not no_body:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client gave up (e.g. a size cap): not a server failure

    def _trickle(self, trickle: Trickle) -> bool:
        """Write ``trickle``; False when the client hung up (or the server stopped) before the end."""
        data, sent = trickle.data, trickle.prompt
        stopping = self.server.owner._stopping
        try:
            if sent:
                self.wfile.write(data[:sent])
            while sent < len(data):
                if self._client_gone(trickle.interval_s) or stopping.is_set():
                    return False
                self.wfile.write(data[sent : sent + trickle.step])
                sent += trickle.step
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return False
        return True

    def _client_gone(self, wait_s: float) -> bool:
        """Wait ``wait_s``; True if the client closed its end meanwhile (EOF or reset on the socket)."""
        if isinstance(self.connection, ssl.SSLSocket):
            time.sleep(wait_s)
            return False
        readable, _, _ = select.select([self.connection], [], [], wait_s)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


class LoopbackHttpServer:
    """A threaded HTTP/1.1 server on ``host`` (127.0.0.1) and a free port, with scripted routes."""

    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> None:
        self._host = host
        self._tls = tls
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._abandoned_paths: list[str] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> LoopbackHttpServer:
        self._stopping.clear()
        server = _Server((self._host, 0), _RequestHandler)
        server.owner = self
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends trickles still being written
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return self._host

    def url(self, path: str, *, host: str | None = None) -> str:
        """The URL of ``path`` on this server; ``host`` replaces the address (with a resolver that maps it)."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host or self._host}:{self.port}{path}"

    # -- scripting --------------------------------------------------------------------------------------------

    def route(self, path: str, handler: Handler) -> None:
        with self._lock:
            self._routes[path] = handler

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | bool = True,
        last_modified: datetime | bool = True,
        encoding: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Resource:
        """Serve ``body`` at ``path`` with validators (``True``: derived from the body / now)."""
        tag = f'"{hashlib.sha256(body).hexdigest()[:16]}"' if etag is True else (etag or None)
        modified = datetime.now(timezone.utc).replace(microsecond=0) if last_modified is True else None
        if isinstance(last_modified, datetime):
            modified = last_modified
        resource = Resource(body, content_type, tag, modified, encoding, tuple(headers))
        self.route(path, resource.answer)
        return resource

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self.route(path, lambda _request: Reply(status, (("Location", to),)))

    def status(self, path: str, status: int, *, headers: Sequence[tuple[str, str]] = (), body: bytes = b"") -> None:
        reply = Reply(status, tuple(headers), body)
        self.route(path, lambda _request: reply)

    def slow(self, path: str, delay_s: float, body: bytes = b"late") -> None:
        reply = Reply(200, (("Content-Type", "text/plain"),), body, delay_s=delay_s)
        self.route(path, lambda _request: reply)

    def huge(self, path: str, size: int, *, declare_length: bool = False, chunk: int = 64 * 1024) -> None:
        """``size`` bytes of ``x``, streamed; with ``declare_length`` the Content-Length says so upfront."""

        def chunks() -> Iterator[bytes]:
            left = size
            block = b"x" * chunk
            while left > 0:
                yield block[: min(chunk, left)]
                left -= chunk

        headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html"),)
        if declare_length:
            headers += (("Content-Length", str(size)),)
        reply = Reply(200, headers, chunks=chunks)
        self.route(path, lambda _request: reply)

    def trickle(self, path: str, data: bytes, *, interval_s: float, prompt: int = 0, step: int = 1) -> None:
        """Answer with the raw bytes ``data``: ``prompt`` bytes at once, then ``step`` bytes every ``interval_s``.

        ``data`` is a whole HTTP response as it goes on the wire; end its headers with ``Connection: close``.
        """
        reply = Reply(raw=Trickle(data, interval_s, prompt, step))
        self.route(path, lambda _request: reply)

    def sequence(self, path: str, replies: Sequence[Reply]) -> None:
        """Answer successive requests with ``replies`` in order, repeating the last one."""
        remaining = list(replies)

        def handler(_request: RecordedRequest) -> Reply:
            with self._lock:
                return remaining.pop(0) if len(remaining) > 1 else remaining[0]

        self.route(path, handler)

    # -- what happened ----------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def abandoned(self, path: str) -> int:
        """How many trickled replies to ``path`` the client hung up on before their last byte."""
        with self._lock:
            return self._abandoned_paths.count(path)

    def _abandoned(self, path: str) -> None:
        with self._lock:
            self._abandoned_paths.append(path)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _dispatch(self, path: str, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            handler = self._routes.get(path)
        if handler is None:
            return Reply(404, (("Content-Type", "text/plain"),), b"not found")
        return handler(request)


SAMPLE_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback</title><link>http://127.0.0.1/</link><description>test</description>
<item><title>One</title><link>http://127.0.0.1/a/1</link><guid>1</guid></item>
</channel></rss>
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Serve ``SAMPLE_FEED`` at /feed.xml until stdin closes; prints the port on the first line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = LoopbackHttpServer(args.host).start()
    server.serve("/feed.xml", SAMPLE_FEED)
    print(server.port, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        server.stop()
    return 0


def free_port() -> int:
    """A loopback port free right now (for tests that need one nothing listens on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    raise SystemExit(main())
