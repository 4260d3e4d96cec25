"""Build small WARC files and HTML/feed bodies for tests (the real sample is built by sample/build_sample.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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


def write_warc(path: Path, captures: list[Capture], *, gzip: bool = True) -> Path:
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        for capture in captures:
            reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(capture.status, "Status")
            fields = [("Content-Type", capture.content_type), ("Content-Length", str(len(capture.body)))]
            if capture.location is not None:
                fields.append(("Location", capture.location))
            headers = StatusAndHeaders(f"{capture.status} {reason}", fields, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                capture.url,
                "response",
                payload=io.BytesIO(capture.body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": capture.at.strftime("%Y-%m-%dT%H:%M:%SZ")},
            )
            writer.write_record(record)
    return path


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
