"""The replay's progress: the process-global counts (thread-safe), the phase, rate and ETA read from two snapshots,
the log line, and ``show_progress`` off and on a terminal."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable

import pytest

from storywire.pipelines.cli.progress import LOGGER, show_progress
from storywire.pipelines.core import progress
from storywire.pipelines.core.progress import (
    ARTICLES,
    DEAD,
    DISTINCT,
    PAGES,
    RECORDS,
    STORIES,
    STORIES_ASSIGNED,
    format_duration,
    view,
)


@pytest.fixture(autouse=True)
def _clean_registry() -> None:
    progress.reset()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_counts_from_many_threads_add_up() -> None:
    def bump() -> None:
        for _ in range(5_000):
            progress.add(RECORDS)
        progress.add(ARTICLES, 7)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert progress.snapshot() == {RECORDS: 40_000, ARTICLES: 56}


def test_set_value_replaces_a_count_and_reset_forgets_counts_and_totals() -> None:
    progress.add(STORIES, 3)
    progress.set_value(STORIES, 12)
    progress.set_total(PAGES, 100)
    assert progress.snapshot() == {STORIES: 12}
    assert progress.totals() == {PAGES: 100}
    progress.reset()
    assert progress.snapshot() == {} and progress.totals() == {}


def test_a_snapshot_is_a_copy() -> None:
    progress.add(RECORDS)
    taken = progress.snapshot()
    progress.add(RECORDS)
    assert taken == {RECORDS: 1}


def test_reading_phase_rate_is_records_per_second_and_eta_needs_a_total() -> None:
    seen = view({RECORDS: 1_000}, {RECORDS: 3_000}, 4.0)
    assert (seen.phase.name, seen.phase.rate, seen.phase.eta_s) == ("reading", 500.0, None)
    known = view({RECORDS: 1_000}, {RECORDS: 3_000}, 4.0, {RECORDS: 63_000})
    assert known.phase.eta_s == 120.0


def test_extraction_eta_is_pages_left_over_the_article_rate() -> None:
    before = {RECORDS: 12_340, PAGES: 2_800, ARTICLES: 2_690}
    now = {RECORDS: 12_340, PAGES: 3_200, ARTICLES: 3_100, STORIES: 0}
    seen = view(before, now, 10.0, {PAGES: 9_800})
    assert seen.phase.name == "extracting"
    assert seen.phase.rate == 41.0
    assert seen.phase.eta_s == pytest.approx((9_800 - 3_100) / 41.0)
    assert seen.line() == (
        "replay: 12,340 records read, 3,100/9,800 articles extracted, 0 stories, extracting at 41 articles/s, ETA 2m43s"
    )


def test_without_a_page_total_the_extraction_eta_is_unknown() -> None:
    now = {RECORDS: 500, PAGES: 320, ARTICLES: 300, DEAD: 4}
    seen = view({RECORDS: 500, PAGES: 20}, now, 3.0)
    assert seen.phase.eta_s is None
    assert seen.line() == (
        "replay: 500 records read, 300 articles extracted (320 pages so far), 0 stories, 4 dead letters, "
        "extracting at 100 articles/s, ETA unknown"
    )


def test_story_phase_total_is_the_articles_or_the_distinct_ones_when_counted() -> None:
    before = {RECORDS: 900, PAGES: 620, ARTICLES: 600, STORIES_ASSIGNED: 100, STORIES: 40}
    now = {**before, STORIES_ASSIGNED: 300, STORIES: 90}
    seen = view(before, now, 2.0)
    assert (seen.phase.name, seen.phase.done, seen.phase.total, seen.phase.rate) == ("assigning", 300, 600, 100.0)
    assert seen.phase.eta_s == 3.0
    assert seen.line() == (
        "replay: 900 records read, 600 articles extracted from 620 pages, 90 stories (300/600 articles assigned), "
        "assigning at 100 articles/s, ETA 3s"
    )
    assert view(before, {**now, DISTINCT: 500}, 2.0).phase.total == 500


def test_a_jsonl_dump_has_articles_read_not_extracted() -> None:
    seen = view({}, {RECORDS: 50, ARTICLES: 50}, 1.0)
    assert seen.line().startswith("replay: 50 records read, 50 articles, 0 stories, extracting at 50 articles/s")


def test_eta_edge_cases_nothing_moving_and_nothing_left() -> None:
    stalled = view({RECORDS: 10}, {RECORDS: 10}, 5.0, {RECORDS: 20})
    assert (stalled.phase.rate, stalled.phase.eta_s) == (0.0, None)
    finished = view({RECORDS: 10}, {RECORDS: 20}, 5.0, {RECORDS: 20})
    assert finished.phase.eta_s == 0.0
    assert view({}, {RECORDS: 5}, 0.0).phase.rate == 0.0  # no division by zero
    assert view({}, {}, 1.0).line() == "replay: 0 records read, 0 articles extracted, 0 stories"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45.4, "45s"), (163, "2m43s"), (3600, "1h00m"), (11_000, "3h03m")]
)
def test_durations_for_people(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def _wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``condition`` until true; the machine may be loaded, so the bound is generous."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the progress thread did not report in time")
        time.sleep(0.02)


def test_off_a_terminal_a_log_line_per_interval_shows_the_counts(caplog: pytest.LogCaptureFixture) -> None:
    progress.add(RECORDS, 99)  # from an earlier run: show_progress starts from zero
    caplog.set_level(logging.INFO, logger=LOGGER)
    with show_progress(io.StringIO(), interval_s=0.05, enabled=True):
        progress.add(RECORDS, 1_234)
        progress.add(PAGES, 40)
        progress.add(ARTICLES, 30)
        _wait_for(lambda: any("1,234 records" in r.getMessage() for r in caplog.records if r.name == LOGGER))
    lines = [r for r in caplog.records if r.name == LOGGER]
    last = next(r for r in reversed(lines) if "1,234 records" in r.getMessage())
    assert "1,234 records read, 30 articles extracted (40 pages so far)" in last.getMessage()
    assert last.levelno == logging.INFO
    assert last.progress[RECORDS] == 1_234 and last.progress["phase"] == "extracting"  # type: ignore[attr-defined]
    count = len([r for r in caplog.records if r.name == LOGGER])
    time.sleep(0.2)  # stopped: no line after the block
    assert len([r for r in caplog.records if r.name == LOGGER]) == count


def test_disabled_shows_nothing_but_still_starts_from_zero(caplog: pytest.LogCaptureFixture) -> None:
    progress.add(RECORDS, 99)
    caplog.set_level(logging.INFO, logger=LOGGER)
    stream = FakeTerminal()
    with show_progress(stream, interval_s=0.01, enabled=False):
        assert progress.snapshot() == {}
        time.sleep(0.1)
    assert stream.getvalue() == ""
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_on_a_terminal_the_display_shows_the_counts_and_clears_itself(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    stream = FakeTerminal()
    with show_progress(stream, interval_s=60.0, enabled=True, totals={PAGES: 9_800}):
        progress.add(RECORDS, 12_340)
        progress.add(PAGES, 3_200)
        progress.add(ARTICLES, 3_100)
        progress.set_value(STORIES, 0)
        _wait_for(lambda: "3,100/9,800 extracted" in stream.getvalue())
    shown = stream.getvalue()
    assert "12,340 read" in shown and "records" in shown and "stories" in shown
    assert "articles/s" in shown and "ETA" in shown
    assert [r for r in caplog.records if r.name == LOGGER] == []  # the display, not log lines
    assert "\x1b[?25h" in shown  # the cursor is shown again: the display stopped


def test_the_display_stops_when_the_block_is_interrupted() -> None:
    stream = FakeTerminal()
    with pytest.raises(KeyboardInterrupt), show_progress(stream, interval_s=60.0, enabled=True):
        progress.add(RECORDS, 5)
        _wait_for(lambda: "5 read" in stream.getvalue())
        raise KeyboardInterrupt
    assert not any(t.name == "storywire-progress" for t in threading.enumerate())
