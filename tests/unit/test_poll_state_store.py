"""Checkpoint file and compacted-topic codec of the poll state: round trip, restart, corruption."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

import storywire.connectors.feeds.state_store as store_module
from storywire.connectors.feeds.poll import FeedPoller
from storywire.connectors.feeds.settings import FeedSpec
from storywire.connectors.feeds.state import SeenItems
from storywire.connectors.feeds.state_store import (
    Checkpointer,
    CheckpointStore,
    FeedStateTopicWriter,
    StateFileError,
    decode_feed_state_message,
    encode_feed_state_message,
    feed_state_topic,
    feed_state_topic_spec,
    state_to_dict,
)
from tests.support.poll_doubles import T0, URL, FetchTimeoutError, body, ok, poll, settings

OTHER = "https://continental-post.example/feeds/world.atom"
THIRD = "https://northern-ledger.example/business/rss.xml"


def _polled() -> FeedPoller:
    p = FeedPoller([FeedSpec(URL), FeedSpec(OTHER), FeedSpec(THIRD)], settings(), T0)
    assert len(p.due(T0)) == 3
    p.on_result(URL, ok(body("rss_basic.xml"), T0, headers=(("ETag", '"e1"'),)), T0)
    p.on_result(OTHER, ok(body("atom_basic.xml"), T0, url=OTHER), T0)
    p.on_error(THIRD, FetchTimeoutError("slow"), T0)
    return p


def test_checkpoint_round_trip_keeps_every_field(tmp_path: Path) -> None:
    p = _polled()
    store = CheckpointStore(tmp_path / "state" / "feeds.json")
    store.save(p.states(), T0)
    loaded = store.load(seen_capacity=500)
    assert set(loaded) == {URL, OTHER, THIRD}
    for url, state in loaded.items():
        assert state_to_dict(state) == state_to_dict(p.state(url))
    assert loaded[URL].etag == '"e1"' and len(loaded[URL].seen) == 3 and loaded[THIRD].failures == 1
    document = orjson.loads((tmp_path / "state" / "feeds.json").read_bytes())
    assert document["format"] == "storywire.feed-state" and document["version"] == 1
    assert [f["feed_url"] for f in document["feeds"]] == sorted([URL, OTHER, THIRD])


def test_saving_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    p = _polled()
    a, b = CheckpointStore(tmp_path / "a.json"), CheckpointStore(tmp_path / "b.json")
    a.save(p.states(), T0)
    b.save(reversed(list(p.states())), T0)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_a_restart_emits_nothing_already_emitted(tmp_path: Path) -> None:
    p = _polled()
    store = CheckpointStore(tmp_path / "feeds.json")
    store.save(p.states(), T0)
    later = T0 + timedelta(days=2)
    restarted = FeedPoller([FeedSpec(URL), FeedSpec(OTHER), FeedSpec(THIRD)], settings(), later, store.load(500))
    outcome = poll(restarted, later, ok(body("rss_basic.xml"), later))
    assert outcome.status == "unchanged_body" and outcome.new_items == ()
    # a changed body still emits only what is new
    at = restarted.state(URL).next_poll_at
    outcome = poll(restarted, at, ok(body("rss_basic_next.xml"), at))
    assert [i.item_key for i in outcome.new_items] == ["ht-1002"]
    assert restarted.state(THIRD).failures == 1  # the failure streak survives too


def test_a_restart_spreads_overdue_feeds_and_keeps_future_ones(tmp_path: Path) -> None:
    feeds = [FeedSpec(f"https://outlet{n}.example/rss") for n in range(100)]
    p = FeedPoller(feeds, settings(), T0)
    for request in p.due(T0):
        p.on_result(request.feed_url, ok(body("rss_basic.xml"), T0, url=request.feed_url), T0)
    store = CheckpointStore(tmp_path / "feeds.json")
    store.save(p.states(), T0)
    # restart before the next polls: every feed keeps its time
    soon = T0 + timedelta(minutes=5)
    kept = FeedPoller(feeds, settings(startup_spread=timedelta(minutes=10)), soon, store.load(500))
    assert all(kept.state(f.url).next_poll_at == p.state(f.url).next_poll_at for f in feeds)
    # restart after a long pause: overdue feeds are spread over startup_spread, not all due at once
    late = T0 + timedelta(days=3)
    spread = FeedPoller(feeds, settings(startup_spread=timedelta(minutes=10)), late, store.load(500))
    times = [spread.state(f.url).next_poll_at for f in feeds]
    assert all(late <= t < late + timedelta(minutes=10) for t in times) and len(set(times)) > 90
    assert len(spread.due(late + timedelta(minutes=1))) < 30


def test_states_of_removed_feeds_are_dropped_and_disabled_ones_kept(tmp_path: Path) -> None:
    p = _polled()
    store = CheckpointStore(tmp_path / "feeds.json")
    store.save(p.states(), T0)
    again = FeedPoller([FeedSpec(URL), FeedSpec(OTHER, enabled=False)], settings(), T0, store.load(500))
    assert again.dropped_states == (THIRD,)
    assert {s.feed_url for s in again.states()} == {URL, OTHER}
    assert [r.feed_url for r in again.due(T0 + timedelta(days=2))] == [URL]


def test_a_smaller_seen_bound_applies_on_load_but_never_below_the_last_list(tmp_path: Path) -> None:
    p = _polled()
    store = CheckpointStore(tmp_path / "feeds.json")
    store.save(p.states(), T0)
    assert p.state(URL).listed == 3
    assert len(store.load(seen_capacity=2)[URL].seen) == 3  # trimming them would re-emit them at the next poll
    p.state(URL).listed = 1
    store.save(p.states(), T0)
    assert len(store.load(seen_capacity=2)[URL].seen) == 2


def test_a_missing_file_is_a_first_start(tmp_path: Path) -> None:
    assert CheckpointStore(tmp_path / "none.json").load(500) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "is not a storywire poll state file"),
        (b'{"format": "storywire.feed-state", "version": 9, "feeds": []}', "has version 9"),
        (b'{"format": "storywire.feed-state", "version": 1}', "has no feed list"),
        (
            b'{"format": "storywire.feed-state", "version": 1, "feeds": [{"feed_url": "https://a.example/rss"}]}',
            "is damaged: feed https://a.example/rss",
        ),
    ],
)
def test_an_unusable_state_file_stops_start_up_with_advice(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "feeds.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=message) as caught:
        CheckpointStore(path).load(500)
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)


def test_a_damaged_field_is_named(tmp_path: Path) -> None:
    p = _polled()
    path = tmp_path / "feeds.json"
    CheckpointStore(path).save(p.states(), T0)
    document = orjson.loads(path.read_bytes())
    document["feeds"][0]["seen"] = "!!!"
    document["feeds"][1]["interval_s"] = "soon"
    path.write_bytes(orjson.dumps(document))
    with pytest.raises(StateFileError, match="feed https://"):
        CheckpointStore(path).load(500)
    document = orjson.loads(path.read_bytes())
    document["feeds"][0]["seen"] = SeenItems(10).encode()
    document["feeds"][0]["next_poll_at"] = "2023-05-03T09:00:00"  # no zone
    path.write_bytes(orjson.dumps(document))
    with pytest.raises(StateFileError, match="next_poll_at is not a UTC time"):
        CheckpointStore(path).load(500)


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _polled()
    path = tmp_path / "feeds.json"
    store = CheckpointStore(path)
    store.save(p.states(), T0)
    before = path.read_bytes()

    def broken_replace(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        store.save(p.states(), T0 + timedelta(hours=1))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["feeds.json"]  # no temporary file left behind


def test_checkpointer_saves_on_interval_and_only_after_changes(tmp_path: Path) -> None:
    p = _polled()
    path = tmp_path / "feeds.json"
    checkpointer = Checkpointer(CheckpointStore(path), timedelta(minutes=1), T0)
    assert not checkpointer.maybe_save(p, T0 + timedelta(seconds=30))
    assert checkpointer.maybe_save(p, T0 + timedelta(minutes=1)) and path.exists()
    assert not checkpointer.maybe_save(p, T0 + timedelta(minutes=5))  # nothing changed since
    at = p.state(URL).next_poll_at
    poll(p, at, ok(body("rss_basic.xml"), at))
    assert checkpointer.maybe_save(p, at)


def test_kafka_snapshot_codec_and_writer() -> None:
    p = _polled()
    assert feed_state_topic("staging.news") == "staging.news.feed-state.v1"
    spec = feed_state_topic_spec()
    assert spec.name == "news.feed-state.v1" and spec.configs == {"cleanup.policy": "compact"}
    key, value = encode_feed_state_message(p.state(URL))
    assert key == URL.encode()
    url, state = decode_feed_state_message(key, value, 500)
    assert url == URL and state is not None and state_to_dict(state) == state_to_dict(p.state(URL))
    assert decode_feed_state_message(key, None, 500) == (URL, None)
    with pytest.raises(ValueError, match="describes"):
        decode_feed_state_message(b"https://elsewhere.example/rss", value, 500)
    with pytest.raises(ValueError, match="version"):
        decode_feed_state_message(key, orjson.dumps({**orjson.loads(value), "version": 2}), 500)

    sent: list[tuple[str, bytes, bytes | None]] = []
    writer = FeedStateTopicWriter(lambda topic, k, v: sent.append((topic, k, v)), "news.feed-state.v1")
    assert writer.publish(p.states()) == 3
    assert writer.publish(p.states()) == 0  # nothing moved
    at = p.state(URL).next_poll_at
    poll(p, at, ok(body("rss_basic.xml"), at))
    assert writer.publish(p.states()) == 1 and sent[-1][1] == URL.encode()
    assert writer.publish([s for s in p.states() if s.feed_url != OTHER]) == 1
    assert sent[-1] == ("news.feed-state.v1", OTHER.encode(), None)  # a tombstone for the feed that left


def test_a_state_written_before_listed_existed_loads_as_zero(tmp_path: Path) -> None:
    p = _polled()
    path = tmp_path / "feeds.json"
    CheckpointStore(path).save(p.states(), T0)
    document = orjson.loads(path.read_bytes())
    for feed in document["feeds"]:
        del feed["listed"]
    path.write_bytes(orjson.dumps(document))
    loaded = CheckpointStore(path).load(seen_capacity=2)
    assert loaded[URL].listed == 0 and len(loaded[URL].seen) == 2
