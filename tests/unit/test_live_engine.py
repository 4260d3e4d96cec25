"""The live engine with a scripted fetcher and clock: what one round emits, what a restart does not re-emit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from storywire.connectors.archives.warc_reader import read_archive
from storywire.connectors.errors import HttpStatusError
from storywire.connectors.feeds.state_store import StateFileError
from storywire.connectors.http.errors import FetchTimeoutError, HostBackoffError
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


def _config(tmp_path: Path, archive: bool = True, polling: str = "") -> str:
    return f"""
feeds: [{{url: {FEED}, outlet: Alpha Daily}}]
http: {{user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)"}}
polling: {{min_interval: 1m, initial_interval: 1m, startup_spread: 0s{polling}}}
state: {{path: {tmp_path / "state.json"}, checkpoint_interval: 1s}}
archive: {{dir: {tmp_path / "archive" if archive else "null"}}}
"""


def _engine(tmp_path: Path, fetcher: ScriptedFetcher, clock: list[datetime], polling: str = "") -> LiveEngine:
    config = parse_config(_config(tmp_path, polling=polling), "test.yaml", {})
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


def _pending(engine: LiveEngine) -> list[tuple[str, int, datetime]]:
    return sorted((p.item.link, p.failed_attempts, p.due_at) for p in engine.pending_pages)


def test_retryable_page_failures_are_retried_then_dead_lettered_and_survive_a_restart(tmp_path: Path) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    flaky, down = "https://alpha.example/flaky", "https://alpha.example/down"
    fetcher.routes = {FEED: _items(flaky, down), flaky: HttpStatusError(503, flaky), down: HttpStatusError(503, down)}
    engine = _engine(tmp_path, fetcher, clock)
    first = engine.step()
    assert first.tasks == [] and first.failures == [] and first.counts["pages.retry_scheduled"] == 2
    pending = _pending(engine)
    assert [(link, failed) for link, failed, _ in pending] == [(down, 1), (flaky, 1)]
    assert engine.next_wakeup() == min(due for _, _, due in pending) < T0 + timedelta(seconds=30)
    engine.close()  # the pending retries are checkpointed with the poll state

    fetcher.routes[flaky] = page("Flaky", PARAS)
    clock[0] = max(due for _, _, due in pending)
    restarted = _engine(tmp_path, fetcher, clock)
    assert _pending(restarted) == pending  # nothing lost, nothing rescheduled by the restart
    second = restarted.step()
    assert [t.response.url for t in second.tasks] == [flaky]
    failures = []
    while restarted.pending_pages:  # the remaining retries of the page that stays down, then a dead letter
        clock[0] = restarted.pending_pages[0].due_at
        failures += restarted.step().failures
        assert clock[0] < T0 + timedelta(minutes=10)
    assert [(f.stage, f.identity, f.error_type) for f in failures] == [("fetch-article", down, "HttpStatusError")]
    assert [call for call in fetcher.calls if call[0] == down] == [(down, "page")] * 4  # 1 fetch + 3 retries
    restarted.close()


BUSY = "https://alpha.example/busy"


@pytest.mark.parametrize(
    "error",
    [
        HttpStatusError(429, BUSY, retry_after=5.0),
        HostBackoffError("alpha.example may not be asked for another 5.0s", BUSY, retry_after=5.0),
        HttpStatusError(503, BUSY, retry_after=T0 + timedelta(seconds=5)),  # type: ignore[arg-type]  # an HTTP date
    ],
)
def test_a_retry_after_of_5s_is_retried_after_5s(tmp_path: Path, error: Exception) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    busy = BUSY
    fetcher.routes = {FEED: _items(busy), busy: error}
    engine = _engine(tmp_path, fetcher, clock)
    assert engine.step().counts["pages.retry_scheduled"] == 1
    assert _pending(engine) == [(busy, 1, T0 + timedelta(seconds=5))]
    assert engine.next_wakeup() == T0 + timedelta(seconds=5)
    fetcher.routes[busy] = page("Busy", PARAS)
    clock[0] = T0 + timedelta(seconds=5)
    assert [t.response.url for t in engine.step().tasks] == [busy]
    assert engine.pending_pages == ()
    engine.close()


@pytest.mark.parametrize(
    ("polling", "cap"),
    [("", timedelta(minutes=30)), (", page_retry_max_delay: 10m", timedelta(minutes=10))],
)
def test_a_retry_after_of_a_week_is_capped(tmp_path: Path, polling: str, cap: timedelta) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    busy = "https://alpha.example/busy"
    fetcher.routes = {FEED: _items(busy), busy: HttpStatusError(503, busy, retry_after=7 * 86400.0)}
    engine = _engine(tmp_path, fetcher, clock, polling)
    assert engine.step().counts["pages.retry_after_capped"] == 1
    assert _pending(engine) == [(busy, 1, T0 + cap)]
    engine.close()


def _backoff_delays(tmp_path: Path, links: tuple[str, ...]) -> dict[str, list[float]]:
    """Every retry delay of pages that keep failing with a 503 without Retry-After, until they are dead letters."""
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    fetcher.routes = {FEED: _items(*links), **{link: HttpStatusError(503, link) for link in links}}
    engine = _engine(tmp_path, fetcher, clock)
    delays: dict[str, list[float]] = {link: [] for link in links}
    failures = engine.step().failures
    while engine.pending_pages:
        for pending in engine.pending_pages:
            if pending.failed_attempts > len(delays[pending.item.link]):
                delays[pending.item.link].append((pending.due_at - clock[0]).total_seconds())
        clock[0] = min(p.due_at for p in engine.pending_pages)
        failures += engine.step().failures
    assert sorted(f.identity for f in failures) == sorted(links)
    engine.close()
    return delays


def test_retries_without_retry_after_back_off_exponentially_with_deterministic_jitter(tmp_path: Path) -> None:
    links = ("https://alpha.example/a", "https://alpha.example/b")
    delays = _backoff_delays(tmp_path / "first", links)
    for link in links:
        assert len(delays[link]) == 3
        for n, delay in enumerate(delays[link]):  # base 30 s doubling, times a jitter factor in [0.5, 1)
            assert 15 * 2**n <= delay < 30 * 2**n, (link, n, delay)
    assert delays[links[0]] != delays[links[1]]  # pages failing together do not retry in lockstep
    assert _backoff_delays(tmp_path / "second", links) == delays  # the same on every run


def test_the_backoff_stops_at_page_retry_max_delay(tmp_path: Path) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    down = "https://alpha.example/down"
    fetcher.routes = {FEED: _items(down), down: HttpStatusError(503, down)}
    polling = ", page_retry_attempts: 8, page_retry_base: 1m, page_retry_max_delay: 3m"
    engine = _engine(tmp_path, fetcher, clock, polling)
    engine.step()
    delays = []
    while engine.pending_pages:
        (pending,) = engine.pending_pages
        delays.append((pending.due_at - clock[0]).total_seconds())
        clock[0] = pending.due_at
        engine.step()
    assert len(delays) == 8 and all(0 < d <= 180 for d in delays) and max(delays) > 120
    engine.close()


@pytest.mark.parametrize("attempts", [0, 1])
def test_after_the_last_attempt_the_page_is_a_dead_letter_with_its_error_type(tmp_path: Path, attempts: int) -> None:
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    slow = "https://alpha.example/slow"
    fetcher.routes = {FEED: _items(slow), slow: FetchTimeoutError("read timed out", slow)}
    engine = _engine(tmp_path, fetcher, clock, f", page_retry_attempts: {attempts}")
    failures = engine.step().failures
    for _ in range(attempts):
        assert failures == [] and len(engine.pending_pages) == 1
        clock[0] = engine.pending_pages[0].due_at
        failures = engine.step().failures
    assert [(f.stage, f.identity, f.error_type) for f in failures] == [("fetch-article", slow, "FetchTimeoutError")]
    assert engine.pending_pages == ()
    engine.close()


def test_a_pending_pages_file_of_the_previous_build_is_loaded_and_its_far_retries_capped(tmp_path: Path) -> None:
    link = "https://alpha.example/old"
    item = {
        "item_key": link,
        "link": link,
        "title": "Old",
        "summary": "",
        "authors": ["A. Writer"],
        "published_at": "2023-05-03T08:00:00Z",
        "feed_url": FEED,
        "feed_title": "Alpha",
        "feed_language": None,
        "seen_at": "2023-05-03T08:55:00Z",
    }
    # The format written before page retries became configurable: version 1, no other fields. This retry was
    # scheduled by a 6 h Retry-After, longer than the 30 min page_retry_max_delay allows now.
    old = {
        "version": 1,
        "pages": [{"item": item, "outlet": "Alpha Daily", "failed_attempts": 2, "due_at": "2023-05-03T15:00:00Z"}],
    }
    (tmp_path / "state.json.pages").write_bytes(orjson.dumps(old))
    clock = [T0]
    fetcher = ScriptedFetcher(clock)
    fetcher.routes = {FEED: _items(), link: page("Old", PARAS)}
    engine = _engine(tmp_path, fetcher, clock)
    (pending,) = engine.pending_pages
    assert (pending.item.link, pending.item.authors, pending.outlet) == (link, ("A. Writer",), "Alpha Daily")
    assert (pending.failed_attempts, pending.due_at) == (2, T0 + timedelta(minutes=30))
    clock[0] = T0 + timedelta(minutes=30)
    result = engine.step()
    assert [(t.response.url, t.outlet, t.first_seen_at) for t in result.tasks] == [
        (link, "Alpha Daily", datetime(2023, 5, 3, 8, 55, tzinfo=timezone.utc))
    ]
    engine.close()


def test_a_damaged_pending_pages_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    (tmp_path / "state.json.pages").write_bytes(b'{"version": 1, "pages": [{"item": ')
    with pytest.raises(StateFileError, match=r"state\.json\.pages is unreadable .*move it aside"):
        _engine(tmp_path, ScriptedFetcher([T0]), [T0])
