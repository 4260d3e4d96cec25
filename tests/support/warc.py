"""Build small WARC files and HTML/feed bodies for tests (the real sample is built by sample/build_sample.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Capture:
    url: str
    at: datetime
    body: bytes
    content_type: str = HTML
    status: int = 200
    location: str | None = None
    """A redirect hop's ``Location`` header (with a 3xx ``status``)."""
    record_type: str = "response"
    """The WARC-Type; anything but ``response`` is written as a plain block (``body``) of ``content_type``."""
    warc_date: str | None = None
    """A raw ``WARC-Date`` written instead of ``at`` (hostile archives: ``0001-01-01T00:00:00Z``)."""
    target_uri: bool = True
    """False: the record has no ``WARC-Target-URI``."""
    http_headers: tuple[tuple[str, str], ...] = ()
    """More HTTP headers (a ``Content-Length`` here replaces the body's)."""
    warc_headers: tuple[tuple[str, str], ...] = ()
    """More WARC headers (``WARC-Truncated``...)."""


def write_warc(path: Path, captures: list[Capture], *, gzip: bool = True) -> Path:
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        for capture in captures:
            writer.write_record(_record(writer, capture))
    return path


def _record(writer: WARCWriter, capture: Capture) -> Any:
    date = capture.warc_date or capture.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    warc_headers = {"WARC-Date": date, **dict(capture.warc_headers)}
    if capture.record_type != "response":
        record = writer.create_warc_record(
            capture.url,
            capture.record_type,
            payload=io.BytesIO(capture.body),
            warc_content_type=capture.content_type,
            warc_headers_dict=warc_headers,
        )
    else:
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(capture.status, "Status")
        fields = [("Content-Type", capture.content_type)]
        if not any(name.lower() == "content-length" for name, _ in capture.http_headers):
            fields.append(("Content-Length", str(len(capture.body))))
        if capture.location is not None:
            fields.append(("Location", capture.location))
        fields.extend(capture.http_headers)
        headers = StatusAndHeaders(f"{capture.status} {reason}", fields, protocol="HTTP/1.1")
        record = writer.create_warc_record(
            capture.url,
            "response",
            payload=io.BytesIO(capture.body),
            http_headers=headers,
            warc_headers_dict=warc_headers,
        )
    if not capture.target_uri:
        record.rec_headers.remove_header("WARC-Target-URI")
    return record


def rss(title: str, link: str, items: list[dict[str, str]]) -> bytes:
    entries = "".join(
        "<item>"
        f"<title>{item['title']}</title><link>{item['link']}</link><guid>{item.get('guid', item['link'])}</guid>"
        f"<pubDate>{item['date']}</pubDate><description>{item.get('summary', '')}</description>"
        "</item>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link><language>en</language>{entries}</channel></rss>"
    ).encode()


def page(title: str, paragraphs: list[str], canonical: str | None = None) -> bytes:
    head = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Copyright Example Media</footer></body></html>"
    ).encode()


# Hostile archives (tests/unit/test_hostile_archives.py, tests/beam/test_replay_hostile.py): damage applied to
# the bytes of a well-formed file.


def cut_last_record(path: Path, keep_bytes: int) -> Path:
    """A plain WARC whose last record is cut ``keep_bytes`` into its block (a file copied while written)."""
    data = path.read_bytes()
    start = data.rindex(b"WARC/1.")
    block = data.index(b"\r\n\r\n", start) + 4
    path.write_bytes(data[: block + keep_bytes])
    return path


def cut_gzip_member(path: Path, member: int, keep: float = 0.5) -> Path:
    """A gzip-per-record WARC whose ``member``-th member (from 0) is cut to ``keep`` of its bytes, the rest of the
    file dropped."""
    data = path.read_bytes()
    starts = _member_starts(data)
    begin = starts[member]
    end = starts[member + 1] if member + 1 < len(starts) else len(data)
    path.write_bytes(data[: begin + max(10, int((end - begin) * keep))])
    return path


def damage_gzip_member(path: Path, member: int) -> Path:
    """Overwrite 16 bytes in the middle of the ``member``-th gzip member's compressed data (the rest untouched)."""
    data = bytearray(path.read_bytes())
    starts = _member_starts(bytes(data))
    begin = starts[member]
    end = starts[member + 1] if member + 1 < len(starts) else len(data)
    middle = (begin + end) // 2
    data[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(data))
    return path


def flip_body_byte(path: Path, marker: bytes) -> Path:
    """A plain WARC with one byte changed after ``marker`` (its digests no longer match)."""
    data = bytearray(path.read_bytes())
    at = data.index(marker) + len(marker)
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    return path


def _member_starts(data: bytes) -> list[int]:
    import zlib

    starts, offset = [], 0
    while offset < len(data):
        starts.append(offset)
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        decompressor.decompress(data[offset:])
        offset = len(data) - len(decompressor.unused_data)
    return starts
