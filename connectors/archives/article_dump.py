"""Read the lines of a JSONL article dump (plain or gzip), bounded in size and numbered for error messages.

A dump holds one JSON object per line, an article already extracted by another tool (or by storywire: the
``PREFIX.articles.v1.jsonl`` file of a file sink is a dump too); :func:`storywire.pipelines.core.dumped.
article_from_line` turns a line into an article and says which fields it needs. A line that cannot be an article
becomes a :class:`~storywire.connectors.failures.Failure` (stage ``read-input``, error ``DumpRecordError``) whose
identity is ``FILE:LINE`` (:func:`dump_failure`); blank lines are counted and skipped. :class:`DumpStats` counts
every line: ``lines == articles + failures + blank``.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from storywire.connectors.errors import DumpRecordError
from storywire.connectors.failures import UNKNOWN_TIME, Failure, Stage

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class DumpStats:
    """What one dump held: every line is an article, a failure or blank (the caller counts the articles)."""

    lines: int = 0
    articles: int = 0
    failures: int = 0
    blank: int = 0


@dataclass(frozen=True, slots=True)
class DumpLine:
    """One non-blank line of a dump and its number (from 1)."""

    number: int
    data: bytes


def dump_failure(label: str, number: int, path: str, message: str) -> Failure:
    """The ``read-input`` failure of line ``number`` of a dump (identity ``LABEL:NUMBER``)."""
    return Failure.from_exception(
        Stage.READ_INPUT,
        f"{label}:{number}",
        DumpRecordError(message),
        UNKNOWN_TIME,
        payload_ref=f"{path}#line={number}",
    )


def _open_local(path: str) -> BinaryIO:
    return open(path, "rb")


class _Prefixed(io.RawIOBase):
    """Gives ``prefix`` back before the rest of ``stream``: a peek on a stream that cannot seek."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _decompressed(raw: BinaryIO) -> io.BufferedIOBase:
    peek = raw.read(2)
    plain = io.BufferedReader(_Prefixed(peek, raw))
    if peek == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=plain, mode="rb")
    return plain


def read_dump_lines(
    path: str,
    *,
    open_stream: Callable[[str], BinaryIO] = _open_local,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    stats: DumpStats | None = None,
    label: str | None = None,
) -> Iterator[DumpLine | Failure]:
    """Each non-blank line of a dump, or a failure for a line longer than ``max_line_bytes`` (reading goes on at
    the next line) and for a stream that breaks (a truncated gzip file: one failure naming the line it stopped at,
    then the end). ``label`` (default: ``path``) names the file in failures."""
    stats = stats if stats is not None else DumpStats()
    label = label or path
    with open_stream(path) as raw:
        stream = _decompressed(raw)
        number = 0
        while True:
            try:
                line = stream.readline(max_line_bytes + 1)
                too_long = len(line) > max_line_bytes
                rest = line
                while too_long and rest and not rest.endswith(b"\n"):  # skip the rest of the long line
                    rest = stream.readline(max_line_bytes + 1)
            except (OSError, EOFError, ValueError) as exc:  # gzip damage: nothing after it can be trusted
                stats.lines += 1
                stats.failures += 1
                yield dump_failure(label, number + 1, path, f"the file cannot be read from this line on: {exc}")
                return
            if not line:
                return
            number += 1
            stats.lines += 1
            if too_long:
                stats.failures += 1
                yield dump_failure(label, number, path, f"line longer than {max_line_bytes} bytes")
            elif not line.strip():
                stats.blank += 1
            else:
                yield DumpLine(number, line)
