"""Streaming Content-Encoding decoding with a hard output cap (gzip, deflate, br, stacked in any order).

We decode ourselves instead of letting httpx do it because httpx's decoders have no output limit: a few KiB of
gzip or brotli can expand to gigabytes (a decompression bomb). Here every step asks the decompressor for at
most the bytes still allowed plus one (zlib ``max_length``, brotli ``output_buffer_limit``), so memory stays
bounded by the cap whatever the input.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import brotli  # type: ignore[import-untyped]  # no stubs; used through two calls only


class DecodingFailed(Exception):
    """Internal: the body cannot be decoded; the fetcher turns it into ``ContentDecodingError``."""


class LimitExceeded(Exception):
    """Internal: the decoded body would exceed the cap; the fetcher turns it into ``BodyTooLargeError``."""


class _Step(Protocol):
    def feed(self, data: bytes, budget: int) -> bytes: ...

    def flush(self, budget: int) -> bytes: ...


class _Zlib:
    """gzip (``wbits=31``), zlib-wrapped deflate (15) or raw deflate (-15, what some servers send as deflate)."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._decoder = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, budget: int) -> bytes:
        out = bytearray()
        while data:
            try:
                chunk = self._decoder.decompress(data, budget - len(out) + 1)
            except zlib.error as exc:
                if self._wbits == zlib.MAX_WBITS and not self._started:
                    self._wbits = -zlib.MAX_WBITS  # "deflate" that is really raw deflate
                    self._decoder = zlib.decompressobj(self._wbits)
                    continue
                raise DecodingFailed(str(exc)) from exc
            self._started = True
            out += chunk
            if len(out) > budget:
                raise LimitExceeded
            if self._decoder.unconsumed_tail:
                data = self._decoder.unconsumed_tail
            elif self._decoder.eof and self._decoder.unused_data and self._wbits == 31:
                data = self._decoder.unused_data  # concatenated gzip members
                self._decoder = zlib.decompressobj(self._wbits)
            else:
                data = b""
        return bytes(out)

    def flush(self, budget: int) -> bytes:
        if self._started and not self._decoder.eof:
            raise DecodingFailed("truncated compressed stream")
        try:
            out = self._decoder.flush()
        except zlib.error as exc:  # pragma: no cover - flush after a complete stream does not fail
            raise DecodingFailed(str(exc)) from exc
        if len(out) > budget:
            raise LimitExceeded
        return out


class _Brotli:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()
        self._started = False

    def feed(self, data: bytes, budget: int) -> bytes:
        self._started = True
        out = bytearray()
        try:
            out += self._decoder.process(data, output_buffer_limit=budget + 1)
            while len(out) <= budget and not self._decoder.can_accept_more_data():
                out += self._decoder.process(b"", output_buffer_limit=budget - len(out) + 1)
        except brotli.error as exc:
            raise DecodingFailed(str(exc)) from exc
        if len(out) > budget:
            raise LimitExceeded
        return bytes(out)

    def flush(self, budget: int) -> bytes:
        if self._started and not self._decoder.is_finished():
            raise DecodingFailed("truncated brotli stream")
        return b""


_STEPS: dict[str, Callable[[], _Step]] = {
    "gzip": lambda: _Zlib(31),
    "x-gzip": lambda: _Zlib(31),
    "deflate": lambda: _Zlib(zlib.MAX_WBITS),
    "br": _Brotli,
}

ACCEPT_ENCODING = "gzip, deflate, br"


class BoundedDecoder:
    """Decodes a body chunk by chunk; raises ``LimitExceeded`` as soon as the output passes ``limit`` bytes."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        names = [part.strip().lower() for part in (content_encoding or "").split(",")]
        names = [name for name in names if name and name != "identity"]
        unknown = [name for name in names if name not in _STEPS]
        if unknown:
            raise DecodingFailed(f"unsupported Content-Encoding {', '.join(unknown)}")
        # Codings are listed in the order applied, so they are undone from the last one.
        self._steps = [_STEPS[name]() for name in reversed(names)]
        self._limit = limit
        self._produced = 0

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes for this raw chunk (possibly empty)."""
        for step in self._steps:
            if not data:
                return b""
            data = step.feed(data, self._limit - self._produced)
        return self._count(data)

    def flush(self) -> bytes:
        """Whatever the decoders still hold; raises ``DecodingFailed`` for a truncated stream."""
        carry = b""
        for step in self._steps:
            budget = self._limit - self._produced
            carry = (step.feed(carry, budget) if carry else b"") + step.flush(budget)
        return self._count(carry)

    def _count(self, data: bytes) -> bytes:
        self._produced += len(data)
        if self._produced > self._limit:
            raise LimitExceeded
        return data
