"""Extraction and feed parsing on a pool of worker processes (issue 17, point 4) give exactly what one process
gives."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from bench.replay_archive import article_page, feed, video_page, write_archive
from storywire.connectors.articles.pool import default_workers
from storywire.connectors.articles.settings import ExtractionLimits
from storywire.connectors.errors import ExtractionTimeoutError
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines import bundled
from storywire.pipelines.beam import articles, feeds
from storywire.pipelines.beam.run_report import RunReport
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.normalise import PageTask
from storywire.pipelines.graphs.replay import build_replay
from tests.support.synthetic_archive import write_synthetic_archive

FILES = ("news.articles.v1.jsonl", "news.stories.v1.jsonl", "news.story-events.v1.jsonl", "news.deadletter.v1.jsonl")
AT = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def _replay(archives: tuple[str, ...], out: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> RunReport:
    monkeypatch.setattr(articles, "DEFAULT_WORKERS", workers)
    config = ReplayConfig(archives=archives, sinks=(SinkSpec.parse(f"file://{out}"),))
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build_replay(pipeline, config, now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    result = pipeline.run()
    result.wait_until_finish()
    return RunReport.from_result(result)


def test_parallel_and_serial_replays_write_identical_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench_archive = tmp_path / "bench.warc.gz"
    write_archive(bench_archive, 40, outlets=5)
    archives = (
        str(bundled.SAMPLE_ARCHIVE),  # hostile pages and their dead letters
        str(write_synthetic_archive(tmp_path)),  # revisions
        str(bench_archive),  # realistic page structure
    )
    serial = _replay(archives, tmp_path / "serial", 1, monkeypatch)
    parallel = _replay(archives, tmp_path / "parallel", 3, monkeypatch)
    for name in FILES:
        assert (tmp_path / "parallel" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name
    assert parallel.counters == serial.counters  # counted in finish_bundle too
    assert serial.get("articles.extracted.trafilatura") > 80 and serial.get("dead_letters.extract-article") >= 1


def _task(url: str, body: bytes, status: int = 200, content_type: str = "text/html; charset=utf-8") -> PageTask:
    response = CapturedResponse(
        url=url,
        captured_at=AT,
        status=status,
        headers=(("Content-Type", content_type),),
        body=body,
        source_ref=f"t.warc.gz#{url}",
    )
    return PageTask(item=None, first_seen_at=AT, response=response)


PARAGRAPHS = [
    f"Paragraph {n}: the river rose through the night and the levee held until dawn, officials said." for n in range(8)
]
TASKS = [
    _task(
        "https://o.example/a",
        article_page("https://o.example", "https://o.example/a", "Levee holds", PARAGRAPHS, AT, "Ann Lee"),
    ),
    _task("https://o.example/gone", b"<html>gone</html>", status=404),
    _task("https://o.example/video", video_page("https://o.example", "Watch: the flood")),
    _task("https://o.example/pdf", b"%PDF-1.4", content_type="application/pdf"),
    _task(
        "https://o.example/b",
        article_page("https://o.example", "https://o.example/b", "Levee holds again", PARAGRAPHS[2:], AT, "Bo Ng"),
    ),
]


def _values(outputs: list[Any]) -> list[Any]:
    """(tag, value) of each output, windowed or not."""
    found = []
    for output in outputs:
        tag = output.tag if isinstance(output, beam.pvalue.TaggedOutput) else None
        value = output.value if isinstance(output, beam.pvalue.TaggedOutput) else output
        found.append((tag, value.value if isinstance(value, WindowedValue) else value))
    return found


def test_a_bundle_gives_every_page_back_in_order_before_it_ends() -> None:
    serial_fn = articles._ExtractFn(ExtractionLimits(), workers=1)
    pool_fn = articles._ExtractFn(ExtractionLimits(), workers=2)
    serial_fn.setup()
    pool_fn.setup()
    try:
        expected = [output for task in TASKS for output in serial_fn.process(task)]
        # Two live batches in one bundle: the first three pages at one event time, the last two at a later one.
        stamps = [Timestamp.of(100)] * 3 + [Timestamp.of(200)] * 2
        pool_fn.start_bundle()
        during = [
            out
            for task, stamp in zip(TASKS, stamps, strict=True)
            for out in pool_fn.process(task, stamp, GlobalWindow())
        ]
        at_end = list(pool_fn.finish_bundle())
    finally:
        serial_fn.teardown()
        pool_fn.teardown()
    assert _values(during + at_end) == _values(expected)  # the same articles and dead letters, in the same order
    assert len(expected) == 5 and [tag for tag, _ in _values(expected)] == [
        None,
        "dead_letters",
        "dead_letters",
        "dead_letters",
        None,
    ]
    for output in at_end:  # what leaves at the bundle's end keeps its own element's event time and window
        windowed = output.value if isinstance(output, beam.pvalue.TaggedOutput) else output
        assert isinstance(windowed, WindowedValue) and windowed.windows == (GlobalWindow(),)
        assert windowed.timestamp in (Timestamp.of(100), Timestamp.of(200))
    assert pool_fn._pool is None or pool_fn._pool.pending == 0  # nothing is held across bundles


def test_a_page_past_the_time_limit_is_the_same_dead_letter_as_with_one_worker() -> None:
    fn = articles._ExtractFn(ExtractionLimits(timeout_s=1.0), workers=2)
    task = _task("https://o.example/spin", b"<html></html>")
    error = ExtractionTimeoutError("extracting https://o.example/spin ran past the 1 s extraction time limit")
    ((letter,),) = [list(fn._outputs(task, False, error))]
    record = letter.value
    assert letter.tag == "dead_letters" and record.error_type == "ExtractionTimeoutError"
    assert (
        record.stage == "extract-article"
        and record.message == str(error)
        and record.payload_ref == task.response.source_ref
    )


def test_workers_default_to_the_cores_and_refuse_negative_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(articles, "DEFAULT_WORKERS", None)
    assert articles.ExtractArticles()._workers is None  # counted where the step runs, in setup
    fn = articles._ExtractFn(ExtractionLimits(), None)
    fn.setup()
    try:
        assert (fn._pool.workers if fn._pool else 1) == default_workers()
    finally:
        fn.teardown()
    assert articles.ExtractArticles(workers=0)._workers == 1
    with pytest.raises(ValueError, match="workers"):
        articles.ExtractArticles(workers=-1)
    assert articles._ExtractFn(ExtractionLimits(timeout_s=None), workers=4)._workers == 1  # no limit: in-process


def _feed(url: str, body: bytes, status: int = 200) -> CapturedResponse:
    headers = (("Content-Type", "application/rss+xml; charset=utf-8"),)
    return CapturedResponse(url=url, captured_at=AT, status=status, headers=headers, body=body, source_ref=url)


ITEMS = [("Levee holds", "https://o.example/a", AT, "The river rose."), ("Rates", "https://o.example/r", AT, "Up.")]
FEEDS = [
    _feed("https://o.example/rss", feed("Outlet", "https://o.example", ITEMS)),
    _feed("https://o.example/gone.xml", b"", status=404),
    _feed("https://o.example/bad.xml", feed("Outlet", "https://o.example", ITEMS)[:-40]),  # cut: malformed
    _feed("https://o.example/not-a-feed", b"<html><body>hello</body></html>"),
    _feed("https://o.example/rss2", feed("Outlet", "https://o.example", ITEMS[:1])),
]


def test_feeds_parsed_on_the_pool_give_the_same_items_and_dead_letters_in_order() -> None:
    serial = feeds._ParseFeedFn(2, workers=1)
    pooled = feeds._ParseFeedFn(2, workers=2)
    pooled.setup()
    try:
        expected = [output for response in FEEDS for output in serial.process(response)]
        pooled.start_bundle()
        got = [out for response in FEEDS for out in pooled.process(response, Timestamp.of(0), GlobalWindow())]
        got += list(pooled.finish_bundle())
    finally:
        pooled.teardown()
    assert _values(got) == _values(expected)
    tags = [tag for tag, _ in _values(expected)]
    assert tags.count(None) == 5 and tags.count("dead_letters") == 3  # 2 + 2 (one malformed) + 1 items
