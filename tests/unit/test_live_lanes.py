"""Per-host lanes, the threaded runner, back-pressure and a lossless stop, with scripted fetchers (no network)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http.fetcher import FetchResult, Kind
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.live import engine as engine_module
from storywire.pipelines.live.engine import LiveEngine
from storywire.pipelines.live.lanes import FetchJob, HostLanes, host_of
from storywire.pipelines.live.runner import LaneRunner
from tests.support.warc import page, rss
from tests.unit.test_live_engine import PARAS, T0

A_FEED, B_FEED = "https://alpha.example/rss.xml", "https://beta.example/rss.xml"


def _feed(site: str, *links: str) -> bytes:
    items = [{"title": link, "link": link, "date": "Wed, 03 May 2023 08:00:00 GMT"} for link in links]
    return rss(site, f"https://{site}/", items)


class GatedFetcher:
    """Answers from routes; a URL in ``gates`` blocks until its event is set (a stalled server). Thread-safe."""

    def __init__(self, routes: dict[str, bytes]) -> None:
        self.routes = routes
        self.gates: dict[str, threading.Event] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def fetch(self, url: str, *, kind: Kind, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        with self._lock:
            self.calls.append(url)
        gate = self.gates.get(url)
        if gate is not None and not gate.wait(timeout=10):
            raise TimeoutError(f"{url} stalled")
        content_type = "application/rss+xml" if kind == "feed" else "text/html; charset=utf-8"
        response = CapturedResponse(url, T0, 200, (("Content-Type", content_type),), self.routes[url], "live")
        return FetchResult(response, url, (), None, False, 0.01)

    def close(self) -> None:
        pass


def _config_text(tmp_path: Path, run: str = "") -> str:
    return f"""
feeds: [{A_FEED}, {B_FEED}]
http: {{user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)"}}
polling: {{min_interval: 1h, initial_interval: 1h, startup_spread: 0s}}
state: {{path: {tmp_path / "state.json"}, checkpoint_interval: 1s}}
{run}
"""


def _engine(tmp_path: Path, fetcher: object, run: str = "", **kwargs: object) -> LiveEngine:
    config = parse_config(_config_text(tmp_path, run), "test.yaml", {})
    return LiveEngine(config, fetcher, now=lambda: T0, **kwargs)  # type: ignore[arg-type]


def _two_sites(a_page: str, b_page: str) -> dict[str, bytes]:
    return {
        A_FEED: _feed("alpha", a_page),
        B_FEED: _feed("beta", b_page),
        a_page: page("A", PARAS),
        b_page: page("B", PARAS),
    }


def _job(job_id: int, url: str, kind: str = "page") -> FetchJob:
    return FetchJob(job_id, kind, url, host_of(url))  # type: ignore[arg-type]


def test_a_lane_runs_one_job_at_a_time_and_hosts_share_workers_round_robin() -> None:
    lanes = HostLanes()
    for n in range(3):
        lanes.add(_job(n, f"https://alpha.example/{n}"))
        lanes.add(_job(10 + n, f"https://beta.example/{n}"))
    lanes.add(_job(20, "https://gamma.example/0"))
    first = lanes.take(10, lambda host: 0.0)
    assert [j.job_id for j in first] == [0, 10, 20]  # one per host, however many workers are free
    assert lanes.take(10, lambda host: 0.0) == []  # each host is busy
    lanes.done("alpha.example")
    assert [j.job_id for j in lanes.take(10, lambda host: 0.0)] == [1]
    lanes.done("alpha.example")
    lanes.done("beta.example")
    assert [j.job_id for j in lanes.take(1, lambda host: 0.0)] == [11]  # beta's turn: alpha was served last


def test_a_host_that_must_wait_holds_only_its_own_lane() -> None:
    lanes = HostLanes()
    lanes.add(_job(1, "https://slow.example/a"))
    lanes.add(_job(2, "https://fast.example/a"))
    waits = {"slow.example": 4.5, "fast.example": 0.0}
    assert [j.job_id for j in lanes.take(5, waits.__getitem__)] == [2]
    assert lanes.next_ready_in(waits.__getitem__) == 4.5
    waits["slow.example"] = 0.0
    assert [j.job_id for j in lanes.take(5, waits.__getitem__)] == [1]


def test_feed_polls_go_ahead_of_the_pages_already_queued_for_their_host() -> None:
    lanes = HostLanes()
    lanes.add(_job(1, "https://alpha.example/page"))
    lanes.add(_job(2, A_FEED, "feed"), front=True)
    assert [j.job_id for j in lanes.take(1, lambda host: 0.0)] == [2]


def test_the_engine_starts_no_page_for_a_host_politeness_holds_back(tmp_path: Path) -> None:
    a_page, b_page = "https://alpha.example/a", "https://beta.example/b"
    fetcher = GatedFetcher(_two_sites(a_page, b_page))
    held = {"alpha.example"}
    engine = _engine(tmp_path, fetcher, host_wait=lambda host: 30.0 if host in held else 0.0)
    result = engine.step()
    assert [t.response.url for t in result.tasks] == [b_page]
    assert fetcher.calls == [B_FEED, b_page]
    assert engine.next_event_in() == 30.0
    held.clear()
    assert [t.response.url for t in engine.step().tasks] == [a_page]


def test_a_stalled_host_does_not_delay_another_hosts_article(tmp_path: Path) -> None:
    a_page, b_page = "https://alpha.example/a", "https://beta.example/b"
    fetcher = GatedFetcher(_two_sites(a_page, b_page))
    fetcher.gates[a_page] = threading.Event()  # alpha's page hangs until released
    runner = LaneRunner(_engine(tmp_path, fetcher, workers=4))
    runner.start()
    try:
        started = time.monotonic()
        urls: list[str] = []
        while b_page not in urls and time.monotonic() - started < 5:
            urls += [t.response.url for t in runner.take_output(0.5).tasks]
        assert urls == [b_page]  # out while alpha's fetch is still running
        assert runner.call(lambda engine: engine.running) == 1
        fetcher.gates[a_page].set()
        while a_page not in urls and time.monotonic() - started < 5:
            urls += [t.response.url for t in runner.take_output(0.5).tasks]
        assert urls == [b_page, a_page]
    finally:
        fetcher.gates[a_page].set()
        runner.close()


def test_a_full_buffer_pauses_intake_until_the_pipeline_takes_some(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    links = [f"https://alpha.example/{n}" for n in range(5)]
    routes = {A_FEED: _feed("alpha", *links), B_FEED: _feed("beta"), **{u: page(u, PARAS) for u in links}}
    caplog.set_level(logging.WARNING, logger="storywire.live")
    paused = _engine(tmp_path, GatedFetcher(routes), run="run: {max_buffered_pages: 2}")
    while jobs := paused.start_jobs():
        for job in jobs:
            paused.complete(job, paused.fetch(job))
    assert paused.has_output() and paused.start_jobs() == [] and paused.next_event_in() is None
    assert paused.backlog().paused and paused.backlog().queued_pages == 3
    assert sum("intake paused" in r.getMessage() for r in caplog.records) == 1
    taken = paused.take_output(limit=1)
    assert len(taken.tasks) == 1 and paused.start_jobs() != []  # room again: fetching resumes
    assert sum("intake resumed" in r.getMessage() for r in caplog.records) == 1


def test_a_stop_saves_running_queued_and_buffered_pages_and_the_restart_emits_each_once(tmp_path: Path) -> None:
    links = [f"https://alpha.example/{n}" for n in range(4)]
    b_page = "https://beta.example/b"
    routes = {A_FEED: _feed("alpha", *links), B_FEED: _feed("beta", b_page), b_page: page("B", PARAS)}
    routes.update({u: page(u, PARAS) for u in links})
    fetcher = GatedFetcher(routes)
    fetcher.gates[links[0]] = threading.Event()  # stalls: running when the stop comes
    runner = LaneRunner(_engine(tmp_path, fetcher, workers=4))
    runner.start()
    emitted: list[str] = []
    deadline = time.monotonic() + 5
    while b_page not in emitted and time.monotonic() < deadline:
        emitted += [t.response.url for t in runner.take_output(0.2, limit=1).tasks]
    assert emitted == [b_page]
    runner.call(lambda engine: engine.stop_intake())
    pending = runner.call(lambda engine: engine.abandon())
    assert pending == 4  # alpha's running page and the three queued behind it in its lane
    runner.close()  # the final checkpoint
    fetcher.gates[links[0]].set()

    fetcher.calls.clear()
    restarted = _engine(tmp_path, fetcher)
    assert sorted(p.item.link for p in restarted.pending_pages) == links
    urls = [t.response.url for t in restarted.step().tasks]
    assert sorted(urls) == links  # each once; beta's page, emitted before the stop, is not fetched again
    assert b_page not in fetcher.calls
    restarted.close()


def test_a_checkpoint_taken_while_pages_are_running_or_buffered_keeps_them_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "REORDER_HOLD_S", 0.0)  # not about the stream order: no waiting for it
    links = [f"https://alpha.example/{n}" for n in range(3)]
    routes = {A_FEED: _feed("alpha", *links), B_FEED: _feed("beta"), **{u: page(u, PARAS) for u in links}}
    engine = _engine(tmp_path, GatedFetcher(routes))
    feeds = engine.start_jobs()
    for job in feeds:
        engine.complete(job, engine.fetch(job))
    running = [j for j in engine.start_jobs() if j.kind == "page"]  # alpha's first page; two wait in its lane
    assert [j.url for j in running] == links[:1]
    engine.checkpoint(force=True)
    # A crash now: a new engine from the files has all three as pending, none lost.
    assert sorted(p.item.link for p in _engine(tmp_path, GatedFetcher(routes)).pending_pages) == links
    engine.complete(running[0], engine.fetch(running[0]))  # fetched, buffered, not yet emitted
    engine.checkpoint(force=True)
    assert sorted(p.item.link for p in _engine(tmp_path, GatedFetcher(routes)).pending_pages) == links
    engine.take_output()  # emitted (and, in the pipeline, flushed before the next checkpoint)
    engine.checkpoint(force=True)
    assert sorted(p.item.link for p in _engine(tmp_path, GatedFetcher(routes)).pending_pages) == links[1:]


def test_max_polls_finishes_once_every_feed_was_polled_that_often_or_is_failing(tmp_path: Path) -> None:
    routes = {A_FEED: _feed("alpha"), B_FEED: b"<rss><channel><title>broken"}
    clock = [T0]
    config = parse_config(_config_text(tmp_path).replace("1h", "1m"), "test.yaml", {})
    engine = LiveEngine(config, GatedFetcher(routes), now=lambda: clock[0], max_polls=2)
    engine.step()
    assert not engine.finished()  # alpha was polled once; beta failed (it waits on a backoff: not waited for)
    clock[0] += timedelta(minutes=2)
    engine.step()
    assert engine.finished()


def test_a_job_whose_result_cannot_be_handled_becomes_a_dead_letter_not_a_dead_run(tmp_path: Path) -> None:
    link = "https://alpha.example/a"
    engine = _engine(tmp_path, GatedFetcher({A_FEED: _feed("alpha", link), B_FEED: _feed("beta")}))
    for job in engine.start_jobs():
        engine.complete(job, engine.fetch(job))
    job = next(j for j in engine.start_jobs() if j.kind == "page")
    item: FeedItem | None = job.item
    assert item is not None
    engine.complete(job, "not a fetch result")  # type: ignore[arg-type]
    failures = engine.take_output().failures
    assert [(f.stage, f.identity) for f in failures] == [("fetch-article", link)]
    assert [j.kind for j in engine._running.values()] == ["robots"]  # beta's; alpha's lane is free again


def test_a_quiet_sites_robots_txt_is_fetched_after_its_first_poll_not_with_its_first_article(tmp_path: Path) -> None:
    link = "https://alpha.example/a"
    fetcher = GatedFetcher({A_FEED: _feed("alpha", link), B_FEED: _feed("beta"), link: page("A", PARAS)})
    warmed: list[str] = []
    fetcher.warm_robots = warmed.append  # type: ignore[attr-defined]
    engine = _engine(tmp_path, fetcher)
    engine.step()
    engine.step()
    # beta listed nothing new: its robots.txt is fetched now; alpha's comes with its page fetch anyway
    assert warmed == [B_FEED]
    assert engine.pending_pages == ()


def test_a_host_answering_every_other_request_with_429_still_gets_its_page_through(tmp_path: Path) -> None:
    """The retry of a throttled page goes ahead of the feed poll due at the same time: were the poll to take
    that turn, it would always get the good answer and the page always the 429."""
    from storywire.connectors.errors import HttpStatusError

    link = "https://alpha.example/a"
    inner = GatedFetcher({A_FEED: _feed("alpha", link), B_FEED: _feed("beta"), link: page("A", PARAS)})
    requests = {"alpha.example": 0}

    class Alternating:
        def fetch(
            self, url: str, *, kind: Kind, etag: str | None = None, last_modified: str | None = None
        ) -> FetchResult:
            if host_of(url) == "alpha.example":
                requests["alpha.example"] += 1
                if requests["alpha.example"] % 2 == 0:
                    raise HttpStatusError(429, url, retry_after=5.0)
            return inner.fetch(url, kind=kind, etag=etag, last_modified=last_modified)

        def close(self) -> None:
            pass

    clock = [T0]
    text = _config_text(tmp_path).replace(
        "min_interval: 1h, initial_interval: 1h", "min_interval: 5s, initial_interval: 5s, max_interval: 5s"
    )
    config = parse_config(text + "\n", "test.yaml", {})
    engine = LiveEngine(config, Alternating(), now=lambda: clock[0])  # type: ignore[arg-type]
    articles = []
    for _ in range(6):
        articles += [t.response.url for t in engine.step().tasks]
        clock[0] += timedelta(seconds=5)
    assert articles == [link]


def test_a_page_waits_briefly_for_pages_first_seen_before_it_so_stories_see_the_stream_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of polls made at the same second: assignment sees them in article-id order, as a replay of the
    archive does, whichever is fetched first; a page is held at most REORDER_HOLD_S for a slower one."""
    from storywire.connectors.urls import article_id_for, canonical_url

    a_page, b_page = "https://alpha.example/a", "https://beta.example/b"
    earlier, later = sorted((a_page, b_page), key=lambda u: article_id_for(canonical_url(u)))
    clock = [100.0]
    monkeypatch.setattr(engine_module.time, "monotonic", lambda: clock[0])
    engine = _engine(tmp_path, GatedFetcher(_two_sites(a_page, b_page)))
    for job in engine.start_jobs():
        engine.complete(job, engine.fetch(job))
    pages = {j.url: j for j in engine.start_jobs() if j.kind == "page"}
    assert set(pages) == {a_page, b_page}  # both running, one per host
    engine.complete(pages[later], engine.fetch(pages[later]))
    assert not engine.has_output() and engine.take_output().tasks == []  # held: an earlier page is running
    engine.complete(pages[earlier], engine.fetch(pages[earlier]))
    assert [t.response.url for t in engine.take_output().tasks] == [earlier, later]

    # The same again, but the earlier page is slow: the later one waits REORDER_HOLD_S, not longer.
    restarted = _engine(tmp_path / "again", GatedFetcher(_two_sites(a_page, b_page)))
    for job in restarted.start_jobs():
        restarted.complete(job, restarted.fetch(job))
    pages = {j.url: j for j in restarted.start_jobs() if j.kind == "page"}
    restarted.complete(pages[later], restarted.fetch(pages[later]))
    assert restarted.take_output().tasks == []
    clock[0] += engine_module.REORDER_HOLD_S
    assert [t.response.url for t in restarted.take_output().tasks] == [later]
