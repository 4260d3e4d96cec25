"""Compact bytes for the records a bounded graph holds between its stages (replay memory).

On the FnApiRunner every stage runs as one bundle, and what a stage hands to the next one stays in the runner's
memory until that stage has run: a GroupByKey keeps its values *decoded*, as Python objects (about 6 KB for an
:class:`~storywire.schemas.records.Article`), and its output again as encoded bytes. A record packed with
:func:`pack` (pickle, then zlib at its fastest level: about 1.7 KB for an article, 30 µs) costs a third of that in
every buffer. Use it around a GroupByKey, where the graph would otherwise hold every record at once::

    keyed = articles | beam.Map(lambda a: (a.article_id, pack(a))).with_output_types(tuple[str, bytes])
    grouped = keyed | beam.GroupByKey() | beam.Map(lambda kv: [unpack(v) for v in kv[1]])

The bytes are for this run's own processes only, never stored: :mod:`storywire.schemas.codec` is the format
that leaves the pipeline. A file sink's lines wait for their file the same way (:class:`PackLinesFn`,
:class:`LineCoder`).
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import Coder
from apache_beam.utils.windowed_value import WindowedValue

_LEVEL = 1  # zlib's fastest: article text shrinks about 3x, at a few percent of what extracting it costs


def pack(record: Any) -> bytes:
    """``record`` (any picklable value) as compact bytes; :func:`unpack` gives an equal value back."""
    return zlib.compress(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL), _LEVEL)


def unpack(data: bytes) -> Any:
    """The value :func:`pack` made ``data`` from."""
    return pickle.loads(zlib.decompress(data))  # noqa: S301  (bytes this run packed itself)


LINES_PER_CHUNK = 64
"""Output lines deflated together by :class:`PackLinesFn`: consecutive story snapshots and events repeat most of
their text, and a chunk of them shrinks 3 to 4 times more than each line alone."""


class PackLinesFn(beam.DoFn):
    """Lines (bytes, without their newline) -> chunks of up to :data:`LINES_PER_CHUNK` consecutive lines joined by
    newlines and deflated, in the order the lines came; a bundle's last chunk leaves at its end. Feed them to a
    ``WriteToText(coder=LineCoder())``, which writes each chunk's lines as they were."""

    def __init__(self, lines_per_chunk: int = LINES_PER_CHUNK) -> None:
        self._lines_per_chunk = lines_per_chunk
        self._lines: list[bytes] = []
        self._window: Any = None
        self._timestamp: Any = None

    def start_bundle(self) -> None:
        self._lines = []

    def process(
        self, line: bytes, timestamp: Any = beam.DoFn.TimestampParam, window: Any = beam.DoFn.WindowParam
    ) -> Iterator[WindowedValue]:
        if self._lines and window != self._window:  # a chunk stays in one window
            yield self._chunk()
        if not self._lines:
            self._window, self._timestamp = window, timestamp
        self._lines.append(line)
        if len(self._lines) >= self._lines_per_chunk:
            yield self._chunk()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._lines:
            yield self._chunk()

    def _chunk(self) -> WindowedValue:
        chunk = zlib.compress(b"\n".join(self._lines), _LEVEL)
        self._lines = []
        return WindowedValue(chunk, self._timestamp, (self._window,))


class LineCoder(Coder):
    """The ``coder`` of a ``WriteToText`` whose elements are :class:`PackLinesFn` chunks: writes their lines.

    ``WriteToText(num_shards=1)`` (one file) groups every line of the run under one key before writing them: with
    this coder they wait there deflated, in chunks, and the file's bytes are the same."""

    def encode(self, value: bytes) -> bytes:
        return zlib.decompress(value)  # the sink adds the last line's newline

    def decode(self, encoded: bytes) -> bytes:
        raise NotImplementedError("LineCoder only writes")

    def is_deterministic(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))
