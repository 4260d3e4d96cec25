from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from storywire.connectors.archives.warc_reader import classify, read_archive
from storywire.connectors.archives.warc_writer import RotatingWarcWriter
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.core.pairing import redirect_edge, resolve_redirects

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)


def _response(n: int, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> CapturedResponse:
    base = (("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), *headers)
    body = f"<html><body><p>page {n}</p></body></html>".encode() * 20
    return CapturedResponse(f"https://o.example/{n}", T0 + timedelta(minutes=n), status, base, body, "live")


def test_written_responses_read_back_identically_and_files_rotate(tmp_path: Path) -> None:
    written = [_response(n) for n in range(30)]
    with RotatingWarcWriter(tmp_path, max_bytes=4096) as writer:
        for response in written:
            writer.write(response)
    files = sorted(tmp_path.iterdir())
    assert len(files) > 1 and all(f.name.endswith(".warc.gz") for f in files)
    assert files == sorted(writer.closed_files)
    read = [r for f in files for r in read_archive(str(f)) if isinstance(r, CapturedResponse)]
    assert [(r.url, r.captured_at, r.status, r.body) for r in read] == [
        (w.url, w.captured_at, w.status, w.body) for w in written
    ]
    # The body is stored decoded, so the transfer encoding must not be claimed.
    assert all(r.header("Content-Encoding") is None for r in read)


def test_open_file_is_not_visible_as_an_archive_until_closed(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path)
    writer.write(_response(1))
    assert [f.suffix for f in tmp_path.iterdir()] == [".open"]
    writer.close()
    assert [f.name.endswith(".warc.gz") for f in tmp_path.iterdir()] == [True]


def test_redirect_hops_are_archived_and_followed_on_replay(tmp_path: Path) -> None:
    hop = _response(1, status=301, headers=(("Location", "/2?utm_source=x"),))
    with RotatingWarcWriter(tmp_path) as writer:
        writer.write(hop)
    (read,) = [r for f in tmp_path.iterdir() for r in read_archive(str(f))]
    assert isinstance(read, CapturedResponse) and classify(read) == "redirect"
    edges = dict([redirect_edge(read), ("https://o.example/2", "https://o.example/3")])
    assert resolve_redirects("https://o.example/1", edges) == "https://o.example/3"
    loop = {"https://o.example/a": "https://o.example/b", "https://o.example/b": "https://o.example/a"}
    assert resolve_redirects("https://o.example/a", loop) in {"https://o.example/a", "https://o.example/b"}
