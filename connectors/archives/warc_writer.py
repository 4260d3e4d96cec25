"""Write captured HTTP responses to rotating, gzip-per-record WARC files (what live runs archive for replay).

Each response becomes one WARC/1.0 ``response`` record whose ``WARC-Target-URI`` is the URL fetched and whose
``WARC-Date`` is the capture time, exactly what :mod:`storywire.connectors.archives.warc_reader` reads back.
Redirect hops are archived as their own 3xx responses, so a replay can follow them. Files rotate when they pass
``max_bytes``; a file being written is named ``*.warc.gz.open`` and renamed when closed, so a reader never
picks up a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storywire.connectors.errors import ConfigError
from storywire.connectors.http_types import CapturedResponse

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# Headers describing the transfer, not the stored (already decoded) body: dropped so the record is consistent.
_TRANSFER_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class RotatingWarcWriter:
    """Append responses to ``DIRECTORY/PREFIX-<first capture time>-<n>.warc.gz``; not thread-safe."""

    def __init__(self, directory: str | Path, *, prefix: str = "storywire", max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1024:
            raise ConfigError(f"max_bytes must be at least 1024, got {max_bytes}")
        self._directory = Path(directory)
        self._prefix = prefix
        self._max_bytes = max_bytes
        self._handle: io.BufferedWriter | None = None
        self._path: Path | None = None
        self._sequence = 0
        self.closed_files: list[Path] = []

    def write(self, response: CapturedResponse) -> None:
        """Archive one response (its body as stored: decoded, so transfer headers are dropped)."""
        if self._handle is None:
            self._open(response.captured_at)
        assert self._handle is not None
        headers = [(k, v) for k, v in response.headers if k.lower() not in _TRANSFER_HEADERS]
        headers.append(("Content-Length", str(len(response.body))))
        status_line = f"{response.status} {_REASONS.get(response.status, 'Status')}"
        record_id = hashlib.sha256(f"{response.url}\x00{response.captured_at.isoformat()}".encode()).hexdigest()
        writer = WARCWriter(self._handle, gzip=True)
        record = writer.create_warc_record(
            response.url,
            "response",
            payload=io.BytesIO(response.body),
            http_headers=StatusAndHeaders(status_line, headers, protocol="HTTP/1.1"),
            warc_headers_dict={
                "WARC-Date": response.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "WARC-Record-ID": f"<urn:sha256:{record_id}>",
            },
        )
        writer.write_record(record)
        self._handle.flush()
        if self._handle.tell() >= self._max_bytes:
            self.close()

    def close(self) -> None:
        """Finish the current file (fsync, then rename away the ``.open`` suffix)."""
        if self._handle is None or self._path is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        final = self._path.with_suffix("")  # drop ".open"
        os.replace(self._path, final)
        self.closed_files.append(final)
        self._handle = None
        self._path = None

    def _open(self, first_capture: datetime) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        stamp = first_capture.strftime("%Y%m%dT%H%M%SZ")
        while True:
            self._sequence += 1
            path = self._directory / f"{self._prefix}-{stamp}-{self._sequence:05d}.warc.gz.open"
            if not path.exists() and not path.with_suffix("").exists():
                break
        self._path = path
        self._handle = open(path, "wb")  # noqa: SIM115 - closed in close()

    def __enter__(self) -> RotatingWarcWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
