"""Bounded Content-Encoding decoding: every supported coding, stacking, the cap, bombs and corrupt streams."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli  # type: ignore[import-untyped]
import pytest

from storywire.connectors.http.decoding import BoundedDecoder, DecodingFailed, LimitExceeded

BODY = b"<rss><channel><title>Kremlin drone</title></channel></rss>\n" * 200


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def decode(encoding: str | None, data: bytes, limit: int = 10**7, chunk: int = 97) -> bytes:
    decoder = BoundedDecoder(encoding, limit)
    out = [decoder.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    out.append(decoder.flush())
    return b"".join(out)


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        (None, BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY, mtime=0)),
        ("x-gzip", gzip.compress(BODY, mtime=0)),
        ("GZIP", gzip.compress(BODY, mtime=0)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", raw_deflate(BODY)),  # what some servers send as "deflate"
        ("br", brotli.compress(BODY)),
        ("gzip, br", brotli.compress(gzip.compress(BODY, mtime=0))),  # applied in order: gzip, then br
        ("deflate, gzip", gzip.compress(zlib.compress(BODY), mtime=0)),
    ],
)
def test_supported_encodings_decode_in_small_chunks(encoding: str | None, encoded: bytes) -> None:
    assert decode(encoding, encoded) == BODY
    assert decode(encoding, encoded, chunk=len(encoded) + 1) == BODY


def test_concatenated_gzip_members_are_all_decoded() -> None:
    assert decode("gzip", gzip.compress(b"one ", mtime=0) + gzip.compress(b"two", mtime=0)) == b"one two"


def test_empty_body_with_an_encoding_header_is_empty() -> None:
    assert decode("gzip", b"") == b""
    assert decode("br", b"") == b""


@pytest.mark.parametrize("encoding", ["identity", "gzip", "deflate", "br"])
def test_exactly_the_limit_passes_one_byte_more_fails(encoding: str) -> None:
    body = bytes(range(256)) * 40  # 10,240 bytes
    encoded = {
        "identity": body,
        "gzip": gzip.compress(body, mtime=0),
        "deflate": zlib.compress(body),
        "br": brotli.compress(body),
    }[encoding]
    assert decode(encoding, encoded, limit=len(body)) == body
    with pytest.raises(LimitExceeded):
        decode(encoding, encoded, limit=len(body) - 1)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("br", brotli.compress), ("deflate", zlib.compress)],
)
def test_decompression_bomb_stops_at_the_cap_without_inflating_everything(encoding: str, compress: object) -> None:
    bomb = compress(b"\0" * (20 * 1024 * 1024))  # type: ignore[operator]
    assert len(bomb) < 256 * 1024
    decoder = BoundedDecoder(encoding, 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded):
            decoder.feed(bomb)  # one big feed: the decompressor itself must stop near the cap
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # a few buffers of the 1 MiB cap, never the 20 MiB the bomb holds


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", b"not gzip at all"),
        ("gzip", gzip.compress(BODY, mtime=0)[:-30]),  # truncated
        ("br", b"\xff\xff\xff garbage"),
        ("br", brotli.compress(BODY)[:-5]),
        ("deflate", b"\x00\x01\x02 not deflate"),
    ],
)
def test_corrupt_or_truncated_streams_fail(encoding: str, data: bytes) -> None:
    with pytest.raises(DecodingFailed):
        decode(encoding, data)


def test_unrequested_encodings_are_refused() -> None:
    with pytest.raises(DecodingFailed, match="zstd"):
        BoundedDecoder("zstd", 100)
    with pytest.raises(DecodingFailed, match="compress"):
        BoundedDecoder("gzip, compress", 100)
