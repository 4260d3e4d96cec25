"""The live engine with a scripted fetcher and clock: what one round emits, what a restart does not re-emit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from storywire.connectors.archives.warc_reader import read_archive
from storywire.connectors.errors import HttpStatusError
from storywire.connectors.feeds.state_store import StateFileError
from storywire.connectors.http.fetcher import FetchResult, Kind
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.live.engine import LiveEngine
from tests.support.warc import page, rss

T0 = datetime(2023, 5, 3, 9, 0, tzinfo=timezone.utc)
FEED = "https://alpha.example/rss.xml"
PARAS = [f"Paragraph {i} about the harbour strike and the talks that went on into the night." for i in range(5)]


class ScriptedFetcher:
    """Answers from a dict of URL -> body (or exception); records every call."""

    def __init__(self, clock: list[datetime]) -> None:
        self.routes: dict[str, bytes | BaseException] = {}
        self.calls: list[tuple[str, Kind]] = []
        self.clock = clock
        self.closed = False

    def fetch(self, url: str, *, kind: Kind, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        self.calls.append((url, kind))
        answer = self.routes[url]
        if isinstance(answer, BaseException):
            raise answer
        content_type = "application/rss+xml" if kind == "feed" else "text/html; charset=utf-8"
        response = CapturedResponse(url, self.clock[0], 200, (("Content-Type", content_type),), answer, "live")
        return FetchResult(response, url, (), None, False, 0.01)

    def close(self) -> None:
        self.closed = True


def _config(tmp_path: Path, archive: bool = True) -> str:
    return f"""
feeds: [{{url: {FEED}, outlet: Alpha Daily}}]
http: {{user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)"}}
polling: {{min_interval: 1m, initial_interval: 1m, startup_spread: 0s}}
state: {{path: {tmp_path / "state.json"}, checkpoint_interval: 1s}}
archive: {{dir: {tmp_path / "archive" if archive else "null"}}}
"""


def _engine(tmp_path: Path, fetcher: ScriptedFetcher, clock: list[datetime]) -> LiveEngine:
    config = parse_config(_config(tmp_path), "test.yaml", {})
    return LiveEngine(config, fetcher, now=lambda: clock[0], workers=2)


def _items(*links: str) -> bytes:
    return rss(
        "Alpha",
        "https://alpha.example/",
        [{"title": link, "link": link, "date": "Wed, 03 May 2023 08:00:00 GMT"} for link in links],
    )


def test_a_round_fetches_new_items_pages_and_dead_letters_failed_ones(tmp_path: Path) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    good, gone = "https://alpha.example/a", "https://alpha.example/gone"
    fetcher.routes = {FEED: _items(good, gone), good: page("A", PARAS), gone: HttpStatusError(404, gone)}
    engine = _engine(tmp_path, fetcher, clock)
    result = engine.step()
    assert [t.response.url for t in result.tasks] == [good]
    assert result.tasks[0].first_seen_at == T0 and result.tasks[0].item is not None
    assert result.tasks[0].outlet == "Alpha Daily"
    assert [(f.stage, f.error_type, f.identity) for f in result.failures] == [
        ("fetch-article", "HttpStatusError", gone)
    ]
    assert result.counts["items.new"] == 2 and result.counts["pages.fetched"] == 1
    # Nothing is due again until the interval passed.
    assert engine.step().tasks == [] and engine.next_wakeup() == T0 + timedelta(minutes=1)
    engine.close()
    assert fetcher.closed
    archived = [r.url for f in sorted((tmp_path / "archive").iterdir()) for r in read_archive(str(f))]
    assert archived == [FEED, good]


def test_restart_from_checkpoint_emits_only_what_is_new(tmp_path: Path) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    first, second = "https://alpha.example/1", "https://alpha.example/2"
    fetcher.routes = {FEED: _items(first), first: page("One", PARAS), second: page("Two", PARAS[::-1])}
    engine = _engine(tmp_path, fetcher, clock)
    assert [t.response.url for t in engine.step().tasks] == [first]
    engine.close()  # the final checkpoint

    clock[0] = T0 + timedelta(minutes=5)
    fetcher.routes[FEED] = _items(first, second)
    restarted = _engine(tmp_path, fetcher, clock)
    tasks = []
    for _ in range(3):
        tasks += restarted.step().tasks
        clock[0] += timedelta(minutes=2)
    assert [t.response.url for t in tasks] == [second]
    restarted.close()


def test_retryable_page_failures_are_retried_then_dead_lettered_and_survive_a_restart(tmp_path: Path) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    flaky, down = "https://alpha.example/flaky", "https://alpha.example/down"
    fetcher.routes = {FEED: _items(flaky, down), flaky: HttpStatusError(503, flaky), down: HttpStatusError(503, down)}
    engine = _engine(tmp_path, fetcher, clock)
    first = engine.step()
    assert first.tasks == [] and first.failures == [] and first.counts["pages.retry_scheduled"] == 2
    assert sorted(p.item.link for p in engine.pending_pages) == [down, flaky]
    assert engine.next_wakeup() == T0 + timedelta(minutes=1)
    engine.close()  # the pending retries are checkpointed with the poll state

    fetcher.routes[flaky] = page("Flaky", PARAS)
    clock[0] = T0 + timedelta(minutes=1)
    restarted = _engine(tmp_path, fetcher, clock)
    assert len(restarted.pending_pages) == 2
    second = restarted.step()
    assert [t.response.url for t in second.tasks] == [flaky]
    failures = []
    for minutes in (6, 36, 100):  # the remaining retries of the page that stays down, then a dead letter
        clock[0] = T0 + timedelta(minutes=minutes)
        failures += restarted.step().failures
    assert [(f.identity, f.error_type) for f in failures] == [(down, "HttpStatusError")]
    assert restarted.pending_pages == ()
    restarted.close()


def test_a_damaged_pending_pages_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    (tmp_path / "state.json.pages").write_bytes(b'{"version": 1, "pages": [{"item": ')
    with pytest.raises(StateFileError, match=r"state\.json\.pages is unreadable .*move it aside"):
        _engine(tmp_path, ScriptedFetcher([T0]), [T0])
