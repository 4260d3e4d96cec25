"""Every dead letter a replay emits names a listed ``error_type`` and a ``Stage``: the bundled sample, and a
hostile archive built to hit every replay stage's failures (no broker needed: file sink, FnApiRunner)."""

from __future__ import annotations

import gzip
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from storywire.connectors.errors import DEAD_LETTER_ERROR_TYPES
from storywire.connectors.failures import Stage
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.bundled import SAMPLE_ARCHIVE
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.summary import read_sink
from storywire.pipelines.graphs.replay import build_replay
from storywire.schemas.records import DeadLetter
from storywire.schemas.validation import validate
from tests.support.replay_archive import T0, feed_captures, page_captures
from tests.support.warc import RSS, Capture, write_warc

MAX_BODY_BYTES = 4096
ENTITY_FEED = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "bigbigbig">]>'
    b'<rss version="2.0"><channel><title>&big;</title><item><title>x</title>'
    b"<link>https://f.example/x</link></item></channel></rss>"
)


def _replay(archives: list[Path], out: Path) -> tuple[DeadLetter, ...]:
    config = ReplayConfig(
        archives=tuple(str(a) for a in archives),
        sinks=(SinkSpec.parse(f"file://{out}"),),
        max_body_bytes=MAX_BODY_BYTES,
    )
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, config)
    pipeline.run().wait_until_finish()
    return read_sink(str(out), TopicNames()).dead_letters


def _hostile_archives(directory: Path) -> list[Path]:
    feeds = [
        *feed_captures(),
        Capture("https://f.example/rss.xml", T0, ENTITY_FEED, RSS),  # entity declarations: refused
        Capture("https://g.example/rss.xml", T0, b"down for maintenance", RSS, status=503),
    ]
    pages = [
        *page_captures(),
        Capture("https://e.example/logo.png", T0, b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png"),
        Capture("https://e.example/huge", T0, b"<html><body>" + b"x" * (2 * MAX_BODY_BYTES)),
    ]
    feed_archive = write_warc(directory / "feeds.warc.gz", feeds)
    page_archive = write_warc(directory / "pages.warc.gz", pages)
    # A corrupt tail: reading stops there, what came before is kept.
    page_archive.write_bytes(
        page_archive.read_bytes() + gzip.compress(b"WARC/1.0\r\nnot a header block\r\n\r\n", mtime=0)
    )
    return [feed_archive, page_archive]


def _check(letters: tuple[DeadLetter, ...]) -> set[tuple[str, str]]:
    stages = {stage.value for stage in Stage}
    for letter in letters:
        assert letter.error_type in DEAD_LETTER_ERROR_TYPES, letter
        assert letter.stage in stages, letter
        validate("dead_letter", letter)
    return {(letter.stage, letter.error_type) for letter in letters}


def test_the_sample_replay_emits_only_listed_error_types(tmp_path: Path) -> None:
    kinds = _check(_replay([SAMPLE_ARCHIVE], tmp_path / "out"))
    assert ("parse-feed", "MalformedFeedError") in kinds and ("extract-article", "EmptyExtractionError") in kinds


def test_a_hostile_archive_emits_only_listed_error_types_at_every_replay_stage(tmp_path: Path) -> None:
    letters = _replay(_hostile_archives(tmp_path), tmp_path / "out")
    assert _check(letters) == {
        ("read-archive", "ArchiveRecordError"),  # the oversized body and the corrupt tail
        ("read-archive", "UnsupportedContentError"),
        ("parse-feed", "FeedParseError"),
        ("parse-feed", "MalformedFeedError"),
        ("parse-feed", "UnsafeXmlError"),
        ("parse-feed", "HttpStatusError"),
        ("join-archive", "NotCapturedError"),
        ("extract-article", "EmptyExtractionError"),
        ("extract-article", "HttpStatusError"),
    }
    archive_errors = [d for d in letters if d.error_type == "ArchiveRecordError"]
    assert {d.identity for d in archive_errors} >= {"https://e.example/huge"}
    assert any(d.identity.startswith("pages.warc.gz#offset=") for d in archive_errors)


@pytest.mark.parametrize("stage", list(Stage))
def test_a_dead_letter_of_every_stage_validates(stage: Stage) -> None:
    validate("dead_letter", DeadLetter("d_1", stage.value, "x", "FeedParseError", "m", None, None, T0))
