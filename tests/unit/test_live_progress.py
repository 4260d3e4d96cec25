"""The live run's progress line (ProgressReporter with an injected clock), its per-feed poll events, its setting,
and the live source's wait measured on the engine's clock (no empty rounds when due times are fractional)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from storywire.connectors.errors import ConfigError
from storywire.connectors.http.errors import FetchTimeoutError
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.live.engine import LiveEngine
from storywire.pipelines.live.progress import Backlog, ProgressReporter
from tests.support.warc import page
from tests.unit.test_live_engine import FEED, PARAS, T0, ScriptedFetcher, _config, _items

ROUND = Counter(
    {
        "polls.not_modified": 8,
        "polls.unchanged_body": 2,
        "polls.new_items": 2,
        "items.new": 7,
        "pages.fetched": 7,
    }
)


def _reporter(interval: float = 60.0) -> tuple[ProgressReporter, list[float]]:
    clock = [1000.0]
    return ProgressReporter(timedelta(seconds=interval), lambda: clock[0]), clock


def test_at_most_one_line_per_interval_the_first_one_interval_after_the_start() -> None:
    reporter, clock = _reporter()
    lines = []
    for second in range(0, 181, 5):  # a round every 5 s for 3 minutes
        clock[0] = 1000.0 + second
        reporter.add({"polls.not_modified": 1})
        if (line := reporter.report()) is not None:
            lines.append((second, line))
    assert [second for second, _ in lines] == [60, 120, 180]
    assert [line.split(" in ")[0] for _, line in lines] == [
        "live: 13 polls (100% unchanged), 0 new items, 0 pages, 0 dead letters",  # rounds at 0, 5, ..., 60 s
        "live: 12 polls (100% unchanged), 0 new items, 0 pages, 0 dead letters",
        "live: 12 polls (100% unchanged), 0 new items, 0 pages, 0 dead letters",
    ]
    assert lines[-1][1].endswith("since start 37 polls (100% unchanged), 0 new items, 0 pages, 0 dead letters in 3m00s")


def test_the_line_says_what_the_interval_and_the_run_so_far_did() -> None:
    reporter, clock = _reporter()
    reporter.add(ROUND, dead_letters=0)
    clock[0] += 61
    line = reporter.report(Backlog(pending_pages=2, lag=timedelta(seconds=3)))
    assert line == (
        "live: 12 polls (83% unchanged), 7 new items, 7 pages, 0 dead letters in 1m01s; "
        "2 pages pending retry, lag 3s; "
        "since start 12 polls (83% unchanged), 7 new items, 7 pages, 0 dead letters in 1m01s"
    )


def test_rare_counts_appear_when_they_happen() -> None:
    reporter, clock = _reporter()
    reporter.add(
        {
            "polls.new_items": 1,
            "polls.timeout": 1,
            "polls.broken": 1,
            "items.new": 3,
            "items.updated": 1,
            "items.held_back": 4,
            "feeds.turnover": 1,
            "pages.fetched": 2,
            "pages.retried": 1,
        },
        dead_letters=2,
    )
    clock[0] += 60
    line = reporter.report()
    assert line is not None
    assert line.startswith(
        "live: 3 polls (0% unchanged, 2 failed), 3 new items, 1 edited, 2 pages, 1 retried, 2 dead letters, "
        "4 held back, 1 turnovers in 1m00s; 0 pages pending retry;"
    )


def test_totals_run_across_intervals_while_each_line_counts_its_own_interval() -> None:
    reporter, clock = _reporter()
    reporter.add(ROUND, dead_letters=1)
    clock[0] += 60
    first = reporter.report()
    reporter.add({"polls.new_items": 3, "items.new": 5, "pages.fetched": 4}, dead_letters=1)
    clock[0] += 3600
    second = reporter.report(Backlog())
    assert first is not None and second is not None
    assert second == (
        "live: 3 polls (0% unchanged), 5 new items, 4 pages, 1 dead letters in 1h00m; 0 pages pending retry; "
        "since start 15 polls (67% unchanged), 12 new items, 11 pages, 2 dead letters in 1h01m"
    )
    clock[0] += 60  # an idle interval still says so
    assert (reporter.report() or "").startswith("live: 0 polls, 0 new items, 0 pages, 0 dead letters in 1m00s;")


def test_interval_0_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    reporter, clock = _reporter(interval=0)
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        reporter.add(ROUND, dead_letters=1)
        clock[0] += 3600
        assert reporter.report(Backlog(pending_pages=1)) is None
    assert not reporter.enabled and caplog.records == []


def test_the_line_is_logged_on_storywire_live_at_info(caplog: pytest.LogCaptureFixture) -> None:
    reporter, clock = _reporter()
    caplog.set_level(logging.INFO, logger="storywire.live")
    reporter.add(ROUND)
    clock[0] += 60
    line = reporter.report()
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [("storywire.live", logging.INFO, line)]


def _engine(tmp_path: Path, fetcher: ScriptedFetcher, now: Callable[[], datetime], polling: str = "") -> LiveEngine:
    return LiveEngine(_live_config(tmp_path, polling), fetcher, now=now, workers=2)


def _live_config(tmp_path: Path, polling: str = "") -> LiveConfig:
    return parse_config(_config(tmp_path, polling=polling), "test.yaml", {})


def test_each_poll_is_an_event_on_storywire_live_feeds(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    link = "https://alpha.example/a"
    fetcher.routes = {FEED: _items(link), link: page("A", PARAS)}
    engine = _engine(tmp_path, fetcher, lambda: clock[0])
    caplog.set_level(logging.INFO, logger="storywire.live.feeds")
    engine.step()
    events = [r for r in caplog.records if r.name == "storywire.live.feeds"]
    assert [r.getMessage() for r in events] == [
        f"feed {FEED}: new_items, 1 new, 0 edited, next poll 2023-05-03T09:01:00Z"
    ]
    assert events[0].levelno == logging.INFO
    assert (events[0].outcome, events[0].new_items, events[0].feed_url) == ("new_items", 1, FEED)  # type: ignore[attr-defined]
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="storywire.live.feeds")
    clock[0] += timedelta(minutes=1)
    engine.step()
    assert [r for r in caplog.records if r.name == "storywire.live.feeds"] == []


def test_backlog_names_pending_retries_and_how_late_the_oldest_due_work_is(tmp_path: Path) -> None:
    clock = [T0 + timedelta(seconds=30)]
    fetcher = ScriptedFetcher(clock)
    link = "https://alpha.example/a"
    fetcher.routes = {FEED: _items(link), link: FetchTimeoutError("read timed out", link)}
    engine = _engine(tmp_path, fetcher, lambda: clock[0])
    clock[0] = T0 + timedelta(seconds=30)
    assert engine.backlog() == Backlog(pending_pages=0, lag=timedelta(0))  # first poll spread from creation time
    clock[0] += timedelta(seconds=45)
    assert engine.backlog().lag == timedelta(seconds=45)
    engine.step()
    assert engine.backlog() == Backlog(pending_pages=1, lag=timedelta(0))


def test_progress_interval_setting(tmp_path: Path) -> None:
    text = _config(tmp_path)
    assert parse_config(text, "t.yaml", {}).progress.interval == timedelta(seconds=60)
    assert parse_config(text + "progress: {interval: 0s}\n", "t.yaml", {}).progress.interval == timedelta(0)
    env = {"STORYWIRE__PROGRESS__INTERVAL": "5m"}
    assert parse_config(text, "t.yaml", env).progress.interval == timedelta(minutes=5)
    with pytest.raises(ConfigError, match=r"progress\.interval"):
        parse_config(text + "progress: {interval: 60}\n", "t.yaml", {})


def test_the_dispatcher_waits_on_the_engine_clock_so_fractional_due_times_start_no_empty_passes() -> None:
    """Due times are fractional (here the start-up spread; also intervals and backoff jitter) and the engine's
    clock counts whole seconds: a wait measured on a finer clock returned early and the source ran empty passes
    (a busy loop) until the engine's second ticked over. The engine's own wait never says "now" for nothing."""
    import tempfile

    precise = [T0]
    fetcher = ScriptedFetcher([T0])
    link = "https://alpha.example/a"
    fetcher.routes = {FEED: _items(link), link: FetchTimeoutError("read timed out", link)}  # retried 3 times
    with tempfile.TemporaryDirectory() as tmp:
        text = _config(Path(tmp)).replace("startup_spread: 0s", "startup_spread: 7s")
        config = parse_config(text, "test.yaml", {})
        engine = LiveEngine(config, fetcher, now=lambda: precise[0].replace(microsecond=0), workers=2)
        dues, passes, work, spin = [], 0, 0, 0
        for _ in range(40):
            wait = engine.next_event_in()
            if wait is None:
                break
            precise[0] += timedelta(seconds=wait)
            dues.append(engine.next_wakeup())
            jobs = engine.start_jobs()
            passes += 1
            if not jobs and wait < 0.01:
                spin += 1  # "now", yet nothing to start: the busy loop
            if not jobs:
                precise[0] += timedelta(milliseconds=5)  # the dispatcher's minimum wait
            for job in jobs:
                engine.complete(job, engine.fetch(job))
                work += 1
        engine.close()
    assert work >= 5, work  # polls, the first page fetch and its 3 retries
    assert spin == 0 and passes <= 3 * work, (spin, passes, work)
    # the start-up spread and the retry backoff's jitter gave due times between whole seconds
    assert sum(1 for due in dues if due is not None and due.microsecond != 0) >= 3, dues
