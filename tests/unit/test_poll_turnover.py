"""Turnover: a list sharing nothing with the previous one is counted, logged once and polled sooner."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from storywire.connectors.feeds.poll import FeedPoller
from storywire.connectors.feeds.settings import FeedSpec
from storywire.connectors.feeds.state_store import CheckpointStore
from tests.support.poll_doubles import T0, URL, FetchTimeoutError, not_modified, ok, poll, poller, settings

LOGGER = "storywire.connectors.feeds.poll"


def _rss(*guids: str) -> bytes:
    entries = "".join(
        f"<item><title>Story {g}</title><link>https://harbour-times.example/n/{g}</link><guid>{g}</guid></item>"
        for g in guids
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>HT</title>'
        f"<link>https://harbour-times.example/</link>{entries}</channel></rss>"
    ).encode()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def _two_polls(second: bytes, *, forget_previous: bool = False, **overrides: object) -> FeedPoller:
    p = poller(**{"min_interval": timedelta(minutes=1), **overrides})
    first = poll(p, T0, ok(_rss("a", "b", "c"), T0))
    if forget_previous:  # as if the previous poll had listed nothing: no turnover can be judged
        p.state(URL).listed = 0
    poll(p, first.next_poll_at, ok(second, first.next_poll_at))
    return p


def test_a_list_sharing_nothing_with_the_previous_one_is_a_turnover(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    p = poller(min_interval=timedelta(minutes=1))
    first = poll(p, T0, ok(_rss("a", "b", "c"), T0))
    assert not first.turnover and p.state(URL).turnovers == 0  # a first poll has nothing to compare with
    t1 = first.next_poll_at
    second = poll(p, t1, ok(_rss("d", "e", "f"), t1))
    assert second.turnover and second.status == "new_items"
    assert p.state(URL).turnovers == 1
    (line,) = _warnings(caplog)
    assert URL in line and "may have been missed" in line


def test_the_interval_of_a_turnover_is_halved_never_below_the_minimum() -> None:
    turned = _two_polls(_rss("d", "e", "f")).state(URL)
    control = _two_polls(_rss("d", "e", "f"), forget_previous=True).state(URL)  # same counts, no verdict
    assert turned.turnovers == 1 and control.turnovers == 0
    assert turned.interval_s == pytest.approx(control.interval_s / 2)
    floor = _two_polls(_rss("d", "e", "f"), min_interval=timedelta(minutes=30)).state(URL)
    assert floor.turnovers == 1 and floor.interval_s == 30 * 60.0


def test_one_shared_item_is_no_turnover(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    p = _two_polls(_rss("d", "e", "f", "c"))
    assert p.state(URL).turnovers == 0 and _warnings(caplog) == []


def test_polls_without_a_new_list_keep_the_previous_list(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    p = poller()
    now = poll(p, T0, ok(_rss("a", "b", "c"), T0)).next_poll_at
    now = poll(p, now, not_modified(now)).next_poll_at
    now = poll(p, now, FetchTimeoutError()).next_poll_at
    now = poll(p, now, ok(_rss("a", "b", "c"), now)).next_poll_at  # unchanged body
    assert poll(p, now, ok(_rss("x", "y"), now)).turnover
    assert p.state(URL).turnovers == 1 and len(_warnings(caplog)) == 1


def test_turnovers_survive_a_checkpoint_and_old_files_load_as_zero(tmp_path: Path) -> None:
    p = _two_polls(_rss("d", "e", "f"))
    path = tmp_path / "feeds.json"
    store = CheckpointStore(path)
    store.save(p.states(), T0)
    loaded = store.load(200)
    assert loaded[URL].turnovers == 1
    restarted = FeedPoller([FeedSpec(URL)], settings(), T0, states=loaded)
    later = restarted.state(URL).next_poll_at
    assert poll(restarted, later, ok(_rss("g"), later)).turnover  # the previous list is known after a restart
    assert restarted.state(URL).turnovers == 2
    document = orjson.loads(path.read_bytes())
    for feed in document["feeds"]:
        del feed["turnovers"]
    path.write_bytes(orjson.dumps(document))
    assert CheckpointStore(path).load(200)[URL].turnovers == 0
