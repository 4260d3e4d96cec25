"""Turn what a user names on the replay command line into input files of a known kind.

``storywire replay`` takes paths, directories (read recursively, hidden names skipped) and glob patterns
(``crawl/**/*.warc.gz``, ``gs://bucket/2023-05-*.warc.gz``), in any mix. :func:`resolve_inputs` expands them and
looks at the first bytes of each file (through gzip when it is compressed) to tell its kind:

- ``warc``: a WARC (or ARC) archive, plain or gzip per record: it starts with ``WARC/`` (or ``filedesc://``);
- ``jsonl``: a JSONL article dump, plain or gzip: its first non-blank byte opens a JSON object
  (:mod:`storywire.connectors.archives.article_dump` says which fields a line holds).

A file of any other kind, an empty file, a directory without files, a pattern matching nothing or a path that
does not exist is refused with a reason that names it and says what would be read; a refused input never stops
the others (the replay reports each one and dead-letters it, stage ``read-input``). Pure Python: other file
systems (``gs://``, ``s3://``) come in through the ``list_remote`` and ``open_remote`` callables.
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

from storywire.connectors.errors import UnknownInputError
from storywire.connectors.failures import UNKNOWN_TIME, Failure, Stage

InputKind = Literal["warc", "jsonl"]
HEAD_BYTES = 4096
"""Bytes read (after gzip) to tell a file's kind."""
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_WHAT_IS_READ = "give WARC archives (.warc, .warc.gz) or JSONL article dumps (.jsonl, .jsonl.gz)"


@dataclass(frozen=True, slots=True)
class ReplayInput:
    """One file to replay and its kind."""

    path: str
    kind: InputKind


@dataclass(frozen=True, slots=True)
class RefusedInput:
    """A named input that gives nothing to replay, and why (the reason names it and says what to give)."""

    path: str
    reason: str

    def failure(self) -> Failure:
        """The ``read-input`` dead letter that records it."""
        return Failure.from_exception(Stage.READ_INPUT, self.path, UnknownInputError(self.reason), UNKNOWN_TIME)


@dataclass(frozen=True)
class ResolvedInputs:
    """Every file to replay, in a stable order, and every input refused."""

    inputs: tuple[ReplayInput, ...]
    refused: tuple[RefusedInput, ...]

    def paths(self, kind: InputKind) -> tuple[str, ...]:
        return tuple(item.path for item in self.inputs if item.kind == kind)


def is_remote(path: str) -> bool:
    """Whether a path names another file system (``gs://``...) rather than a local file."""
    return "://" in path and not path.startswith("file://")


def sniff(head: bytes) -> InputKind | None:
    """The kind of a file from its first bytes (already decompressed), or None when it is neither kind."""
    text = head.removeprefix(_BOM).lstrip()
    if text.startswith((b"WARC/", b"filedesc://")):
        return "warc"
    if text.startswith(b"{"):
        return "jsonl"
    return None


def read_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    """Up to ``size`` bytes from the start of a stream, decompressed when it is gzip (even a damaged member gives
    what could be inflated)."""
    raw = stream.read(size)
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head = b""
    while raw and len(head) < size:
        try:
            head += inflate.decompress(raw, size - len(head))
        except zlib.error:
            break
        if inflate.eof:
            break
        raw = inflate.unconsumed_tail or stream.read(size)
    return head


def _shown(head: bytes) -> str:
    return head[:16].decode("latin-1").encode("unicode_escape").decode("ascii")


def _open_local(path: str) -> BinaryIO:
    return open(path, "rb")


def _classify(path: str, opener: Callable[[str], BinaryIO]) -> ReplayInput | RefusedInput:
    try:
        with opener(path) as stream:
            head = read_head(stream)
    except OSError as exc:
        return RefusedInput(path, f"cannot read {path}: {exc.strerror or exc}")
    if not head:
        return RefusedInput(path, f"{path} is empty (0 bytes after decompression); {_WHAT_IS_READ}")
    kind = sniff(head)
    if kind is None:
        return RefusedInput(
            path,
            f"{path} is neither a WARC archive (it would start with 'WARC/') nor a JSONL article dump (a JSON "
            f"object per line); it starts with '{_shown(head)}'; {_WHAT_IS_READ}",
        )
    return ReplayInput(path, kind)


def _walk(directory: str) -> Iterator[str]:
    """Files under a directory, recursively, sorted, hidden names (``.part``, ``.DS_Store``...) left out."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


def _expand_local(spec: str) -> tuple[list[str], RefusedInput | None]:
    """The files a local path, directory or pattern names, or why it names none."""
    path = spec.removeprefix("file://")
    if glob.has_magic(path):
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            return [], RefusedInput(spec, f"no file matches the pattern {spec}; {_WHAT_IS_READ}")
        files: list[str] = []
        for match in matches:
            files.extend(_walk(match) if os.path.isdir(match) else [match])
        return files, None
    if os.path.isdir(path):
        files = list(_walk(path))
        if not files:
            return [], RefusedInput(spec, f"the directory {spec} holds no files; {_WHAT_IS_READ}")
        return files, None
    if not os.path.exists(path):
        return [], RefusedInput(spec, f"{spec} not found; {_WHAT_IS_READ}, or directories or patterns of them")
    if not os.access(path, os.R_OK):
        return [], RefusedInput(spec, f"{spec} is not readable (check its permissions)")
    return [path], None


def resolve_inputs(
    specs: Sequence[str],
    *,
    list_remote: Callable[[str], list[str]] | None = None,
    open_remote: Callable[[str], BinaryIO] | None = None,
) -> ResolvedInputs:
    """Expand ``specs`` (paths, directories, glob patterns; ``gs://``... when ``list_remote`` and ``open_remote``
    are given) into files of a known kind, in the order given (a directory's or pattern's files sorted), each file
    once. Never raises for a bad input: it is refused with its reason."""
    inputs: list[ReplayInput] = []
    refused: list[RefusedInput] = []
    seen: set[str] = set()
    for spec in specs:
        if is_remote(spec):
            if list_remote is None or open_remote is None:
                refused.append(RefusedInput(spec, f"cannot read {spec}: no file system for its scheme"))
                continue
            try:
                files = sorted(list_remote(spec))
            except Exception as exc:  # any file-system error refuses this input, naming it
                refused.append(RefusedInput(spec, f"cannot list {spec}: {exc}"))
                continue
            if not files:
                refused.append(RefusedInput(spec, f"no file matches {spec}; {_WHAT_IS_READ}"))
            opener = open_remote
        else:
            files, refusal = _expand_local(spec)
            if refusal is not None:
                refused.append(refusal)
            opener = _open_local
        for path in files:
            key = path if is_remote(path) else os.path.realpath(path)
            if key in seen:
                continue
            seen.add(key)
            outcome = _classify(path, opener)
            if isinstance(outcome, ReplayInput):
                inputs.append(outcome)
            else:
                refused.append(outcome)
    return ResolvedInputs(tuple(inputs), tuple(refused))
