"""What `storywire replay` accepts: paths, directories, patterns; WARC and JSONL told apart by their bytes."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from storywire.connectors.archives.inputs import RefusedInput, read_head, resolve_inputs, sniff
from storywire.connectors.failures import Stage

WARC = b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 0\r\n\r\n\r\n\r\n"
JSONL = b'{"url": "https://a.example/x", "title": "t", "text": "x", "published_at": "2023-05-03T08:00:00Z"}\n'


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (WARC, "warc"),
        (b"filedesc://crawl.arc 0.0.0.0 20230503 text/plain 77\n", "warc"),
        (b"\xef\xbb\xbf\n  " + JSONL, "jsonl"),
        (b"<html><body>", None),
        (b"[1, 2]", None),
        (b"", None),
    ],
)
def test_sniff_tells_the_kind_from_the_first_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_read_head_looks_through_gzip_and_survives_a_damaged_member() -> None:
    assert read_head(io.BytesIO(gzip.compress(WARC))) == WARC
    whole = gzip.compress(b"".join(b'{"n": %d}\n' % n for n in range(20000)))
    damaged = whole[: len(whole) // 2]  # cut inside the member
    assert sniff(read_head(io.BytesIO(damaged))) == "jsonl"


def test_directories_patterns_and_files_expand_in_a_stable_order(tmp_path: Path) -> None:
    b = _write(tmp_path / "crawl" / "b.warc.gz", gzip.compress(WARC))
    a = _write(tmp_path / "crawl" / "sub" / "a.warc", WARC)
    _write(tmp_path / "crawl" / ".partial.warc", WARC)  # hidden: a crawler's file in progress
    dump = _write(tmp_path / "dumps" / "x.jsonl.gz", gzip.compress(JSONL))
    resolved = resolve_inputs([str(tmp_path / "crawl"), str(tmp_path / "dumps" / "*.jsonl.gz"), str(b)])
    assert resolved.paths("warc") == (str(b), str(a))  # b once, though named twice
    assert resolved.paths("jsonl") == (str(dump),)
    assert resolved.refused == ()


def test_recursive_patterns(tmp_path: Path) -> None:
    deep = _write(tmp_path / "x" / "y" / "z.warc", WARC)
    _write(tmp_path / "x" / "notes.txt", b"hello")
    resolved = resolve_inputs([str(tmp_path / "**" / "*.warc")])
    assert resolved.paths("warc") == (str(deep),) and resolved.refused == ()


def test_every_unusable_input_is_refused_with_a_reason_naming_it(tmp_path: Path) -> None:
    good = _write(tmp_path / "ok.warc", WARC)
    text = _write(tmp_path / "in" / "README.txt", b"hello")
    empty = _write(tmp_path / "in" / "empty.warc.gz", gzip.compress(b""))
    (tmp_path / "nothing").mkdir()
    specs = [str(good), str(tmp_path / "in"), str(tmp_path / "nothing"), str(tmp_path / "gone.warc"), "/no/*.warc"]
    resolved = resolve_inputs(specs)
    assert resolved.paths("warc") == (str(good),)
    reasons = {refusal.path: refusal.reason for refusal in resolved.refused}
    assert set(reasons) == {str(text), str(empty), str(tmp_path / "nothing"), str(tmp_path / "gone.warc"), "/no/*.warc"}
    assert "neither a WARC archive" in reasons[str(text)] and "'hello'" in reasons[str(text)]
    assert "is empty" in reasons[str(empty)]
    assert "holds no files" in reasons[str(tmp_path / "nothing")]
    assert "not found" in reasons[str(tmp_path / "gone.warc")]
    assert "no file matches" in reasons["/no/*.warc"]
    for path, reason in reasons.items():
        assert path in reason  # every message names its input


def test_a_refusal_is_a_read_input_dead_letter() -> None:
    failure = RefusedInput("x.bin", "x.bin is neither ...").failure()
    assert failure.stage is Stage.READ_INPUT and failure.identity == "x.bin"
    assert failure.error_type == "UnknownInputError" and failure.message == "x.bin is neither ..."


def test_remote_inputs_go_through_the_given_file_system(tmp_path: Path) -> None:
    files = {"gs://b/a.warc.gz": gzip.compress(WARC), "gs://b/c.jsonl": JSONL, "gs://b/d.bin": b"\x00\x01"}
    resolved = resolve_inputs(
        ["gs://b/*", "gs://empty/*", "s3://x/y"],
        list_remote=lambda pattern: [p for p in files if pattern == "gs://b/*"] if pattern != "s3://x/y" else [],
        open_remote=lambda path: io.BytesIO(files[path]),
    )
    assert resolved.paths("warc") == ("gs://b/a.warc.gz",) and resolved.paths("jsonl") == ("gs://b/c.jsonl",)
    assert {r.path for r in resolved.refused} == {"gs://b/d.bin", "gs://empty/*", "s3://x/y"}
    assert resolve_inputs(["gs://b/a"]).refused[0].reason.startswith("cannot read gs://b/a")
