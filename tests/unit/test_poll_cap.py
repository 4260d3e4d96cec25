"""``max_new_items_per_poll``: a poll hands out at most the cap, and the rest comes out at the next polls."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from storywire.connectors.errors import ConfigError
from storywire.connectors.feeds.poll import FeedPoller, PollOutcome
from storywire.connectors.feeds.settings import FeedSpec, PollSettings
from storywire.connectors.feeds.state_store import CheckpointStore
from tests.support.poll_doubles import T0, URL, ok, poll, poller, settings

MIN = timedelta(minutes=10)


def _feed(guids: list[str], *, dated: bool = True, titles: dict[str, str] | None = None) -> bytes:
    """RSS listing ``guids`` in this order; item ``it-N`` is dated N minutes after 2023-05-01."""
    entries = []
    for guid in guids:
        date = ""
        if dated:
            when = datetime(2023, 5, 1, tzinfo=T0.tzinfo) + timedelta(minutes=int(guid.split("-")[1]))
            date = f"<pubDate>{email.utils.format_datetime(when, usegmt=True)}</pubDate>"
        title = (titles or {}).get(guid, f"Item {guid}")
        entries.append(
            f"<item><title>{title}</title><link>https://harbour-times.example/n/{guid}</link>"
            f"<guid>{guid}</guid>{date}</item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>HT</title>'
        f"<link>https://harbour-times.example/</link>{''.join(entries)}</channel></rss>"
    ).encode()


def _keys(outcome: PollOutcome) -> list[str]:
    return [item.link.rsplit("/", 1)[1] for item in (*outcome.new_items, *outcome.updated_items)]


def test_the_default_cap_and_its_check() -> None:
    assert PollSettings().max_new_items_per_poll == 100
    with pytest.raises(ConfigError, match="max_new_items_per_poll must be an integer >= 1"):
        PollSettings(max_new_items_per_poll=0)


def test_a_thousand_item_feed_comes_out_whole_a_cap_at_a_time_across_a_checkpoint(tmp_path: Path) -> None:
    guids = [f"it-{n:04d}" for n in reversed(range(1000))]  # newest first, as feeds list them
    payload = _feed(guids)
    p = poller()  # seen_items stays at its default (200): far fewer than the feed lists
    assert p.state(URL).seen.capacity == 200
    emitted: list[str] = []
    batches: list[list[str]] = []
    now = T0
    polls = 0
    while True:
        request = {r.feed_url: r for r in p.due(now)}[URL]
        if polls:  # the rest must come from a parsed body: nothing may answer 304 or "unchanged"
            assert request.etag is None and request.last_modified is None
        outcome = p.on_result(URL, ok(payload, now), now)
        polls += 1
        batch = _keys(outcome)
        assert len(batch) <= 100
        emitted.extend(batch)
        batches.append(sorted(batch))
        if outcome.held_back:
            assert len(batch) == 100 and outcome.held_back == 1000 - len(emitted)
            assert outcome.next_poll_at - now == MIN  # soon: the feed's minimum interval
        if polls == 4:  # restart mid-way from the checkpoint
            store = CheckpointStore(tmp_path / "feeds.json")
            store.save(p.states(), now)
            p = FeedPoller([FeedSpec(URL)], settings(), outcome.next_poll_at, states=store.load(200))
        if not outcome.held_back:
            break
        now = outcome.next_poll_at
    assert polls == 10
    assert len(emitted) == len(set(emitted)) == 1000
    oldest_first = sorted(guids)
    assert batches == [oldest_first[n : n + 100] for n in range(0, 1000, 100)]  # by the feed's dates
    assert outcome.status == "new_items" and outcome.held_back == 0
    later = p.state(URL).next_poll_at
    assert poll(p, later, ok(payload, later)).status == "unchanged_body"  # drained: the body hash is kept again


def test_undated_items_go_out_in_the_feeds_order_and_edits_wait_too() -> None:
    guids = [f"it-{n}" for n in range(5)]
    p = poller(max_new_items_per_poll=2)
    now = T0
    batches = []
    for _ in range(3):
        outcome = poll(p, now, ok(_feed(guids, dated=False), now))
        batches.append(_keys(outcome))
        now = outcome.next_poll_at
    assert batches == [["it-0", "it-1"], ["it-2", "it-3"], ["it-4"]]
    edited = _feed(guids, dated=False, titles={g: f"Edited {g}" for g in guids})
    batches = []
    for _ in range(3):
        outcome = poll(p, now, ok(edited, now))
        assert outcome.new_items == ()
        batches.append(_keys(outcome))
        now = outcome.next_poll_at
    assert batches == [["it-0", "it-1"], ["it-2", "it-3"], ["it-4"]]  # an edit held back stays an edit
    assert poll(p, now, ok(edited, now)).status == "unchanged_body"


def test_under_the_cap_nothing_changes() -> None:
    p = poller(max_new_items_per_poll=5)
    outcome = poll(p, T0, ok(_feed([f"it-{n}" for n in range(5)]), T0))
    assert outcome.held_back == 0 and len(outcome.new_items) == 5
    assert _keys(outcome) == [f"it-{n}" for n in range(5)]  # feed order, as before
    assert p.state(URL).body_hash is not None


def test_a_held_back_poll_sends_no_validators_next_time() -> None:
    p = poller(max_new_items_per_poll=2)
    payload = _feed([f"it-{n}" for n in range(3)])
    first = poll(p, T0, ok(payload, T0, headers=(("ETag", '"v1"'),)))
    assert first.held_back == 1
    (request,) = p.due(first.next_poll_at)
    assert request.etag is None and request.last_modified is None
    second = p.on_result(URL, ok(payload, request.due_at, headers=(("ETag", '"v1"'),)), request.due_at)
    assert _keys(second) == ["it-2"] and second.held_back == 0
    (request,) = p.due(second.next_poll_at)
    assert request.etag == '"v1"'  # drained: conditional again
