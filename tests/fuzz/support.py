"""Shared strategies of the fuzz tests: byte mutations of real inputs, and the per-test budget."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st

_CI_EXAMPLES = 100  # the ci profile's max_examples (tests/fuzz/conftest.py)


def examples(ci: int) -> int:
    """A test's example budget: ``ci`` under the ci profile, scaled like max_examples under any other."""
    return max(1, ci * settings().max_examples // _CI_EXAMPLES)


# Bytes that mean something to the parsers under test: markup, WARC and HTTP syntax, encodings, gzip.
_TOKENS = [
    b"<",
    b">",
    b"</",
    b"/>",
    b"<!DOCTYPE x [<!ENTITY e 'x'>]>",
    b"<!DOCTYPE rss>",
    b"&e;",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"]]>",
    b"<?xml version='1.0' encoding='utf-16'?>",
    b"<?xml version='1.0' encoding='bogus'?>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x00",
    b"\r\n",
    b"\r\n\r\n",
    b"WARC/1.0\r\n",
    b"WARC-Type: response\r\n",
    b"WARC-Type: resource\r\n",
    b"Content-Length: 99999999\r\n",
    b"Content-Length: -1\r\n",
    b"WARC-Target-URI: http://[::1/x\r\n",
    b"WARC-Date: 0001-01-01T00:00:00Z\r\n",
    b"WARC-Truncated: length\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"Content-Encoding: gzip\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"\x1f\x8b\x08\x00",
    b"<item>",
    b"<entry>",
    b"<guid>",
    b"<link>http://x/</link>",
    b"<item><link>http://x/a</link></item>",
    b"<entry><link href='http://x/b'/></entry>",
    b"<title></title>",
    b"\xc3\x28",
    b"\xe2\x82",
]


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes], max_steps: int = 4) -> bytes:
    """``base`` with one to ``max_steps`` edits: a byte flipped or set, a cut, bytes inserted, deleted or repeated,
    or a meaningful token spliced in."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, max_steps))):
        size = len(data)
        at = draw(st.integers(0, size))
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "repeat", "token"]))
        if kind == "flip" and size:
            at = min(at, size - 1)
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "set" and size:
            data[min(at, size - 1)] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 256))]
        elif kind == "repeat":
            length = draw(st.integers(1, 512))
            data[at:at] = data[at : at + length]
        else:
            data[at:at] = draw(st.sampled_from(_TOKENS))
    return bytes(data)
