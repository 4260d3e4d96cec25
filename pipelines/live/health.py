"""``/metrics``, ``/healthz`` and ``/readyz`` for a live run, on one small HTTP server thread.

- ``/metrics``: the Prometheus text format of :data:`storywire.pipelines.live.metrics.METRICS`.
- ``/healthz``: 200 while the run is alive (its fetch dispatcher beats), else 503: restart it.
- ``/readyz``: 200 once the state is restored and the source runs, while no Kafka sink is cut off from its
  broker, else 503 with the reason.

Use::

    server = HealthServer("0.0.0.0", 9464)   # raises PortInUseError (a ConfigError) when it cannot bind
    server.start()
    ...
    server.stop()
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from storywire.connectors.errors import ConfigError
from storywire.pipelines.live import metrics


class PortInUseError(ConfigError):
    """The metrics port cannot be bound."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "storywire"

    def do_GET(self) -> None:
        live = metrics.METRICS
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, generate_latest(live.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            ok, why = live.alive()
            self._reply(200 if ok else 503, f"{why}\n".encode(), "text/plain; charset=utf-8")
        elif path == "/readyz":
            ok, why = live.ready()
            self._reply(200 if ok else 503, f"{why}\n".encode(), "text/plain; charset=utf-8")
        else:
            self._reply(404, b"try /metrics, /healthz or /readyz\n", "text/plain; charset=utf-8")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class HealthServer:
    """The endpoints on ``host:port`` (port 0: any free port, see :attr:`port`), served by a daemon thread."""

    def __init__(self, host: str, port: int) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), _Handler)
        except OSError as exc:
            raise PortInUseError(
                f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); choose another port with "
                "--metrics-port or metrics.port, or stop what uses it"
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="storywire-metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
