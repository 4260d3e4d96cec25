"""Story state across restarts: pickling round trips, state written by an older build is upgraded, state of a
newer build is refused with a message, and restored state runs the deployment's configuration."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from storywire.pipelines.beam.stories import StoryStateCoder, _PartitionState
from storywire.pipelines.stories import (
    STATE_FORMAT,
    Assignment,
    StoryAssigner,
    StoryConfig,
    StoryStateError,
    story_id_for,
)
from tests.support.articles import BRIDGING, QUAKE, T0, make_article, run, stream

# Pickled by the format-1 build (commit a2f057e, before stories remembered their first article) and by the
# format-2 build (commit f61f8c0, the core in one module and its state one flat dict): "stream_first_3" =
# StoryAssigner() after stream()[:3]; "split_at_60h" = StoryAssigner(BRIDGING) after m1 (T0) and m2 (T0 + 60 h),
# which opened a story of its own.
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "state"


def _format(number: int) -> dict[str, StoryAssigner]:
    with (FIXTURES / f"story_state_format{number}.pickle").open("rb") as f:
        return StoryStateCoder().decode(f.read())  # type: ignore[no-any-return]


def _format_1() -> dict[str, StoryAssigner]:
    return _format(1)


def _outcome(assignments: list[Assignment]) -> list[tuple[str, str | None, list[str]]]:
    return [(a.article.article_id, a.article.story_id, [e.event_type for e in a.events]) for a in assignments]


def test_pickled_state_continues_like_the_original() -> None:
    articles = stream()
    original = StoryAssigner()
    for article in articles[:3]:
        original.assign(article)
    copy = pickle.loads(pickle.dumps(original))
    assert pickle.loads(pickle.dumps(original)).__getstate__()["state_format"] == STATE_FORMAT
    assert _outcome([copy.assign(a) for a in articles[3:]]) == _outcome([original.assign(a) for a in articles[3:]])


def test_format_1_state_is_upgraded_and_continues_like_a_fresh_run() -> None:
    restored = _format_1()["stream_first_3"]
    articles = stream()
    fresh = run(articles)
    assert _outcome([restored.assign(a) for a in articles[3:]]) == _outcome(fresh[3:])
    for story in restored.live_stories():
        assert story_id_for(story.first_article) == story.story_id


def test_upgraded_first_article_is_where_a_merge_finds_the_resurfacing() -> None:
    restored = _format_1()["split_at_60h"]
    assert restored.config == BRIDGING
    bridge = make_article("m3", "Hokkaido tsunami", QUAKE, at=T0 + timedelta(hours=61), outlet="c.jp")
    events = restored.assign(bridge).events
    assert [e.event_type for e in events] == ["merged", "resurfaced", "updated"]
    assert events[1].article_id == "m2"
    assert events[1].story_id == story_id_for("m1")


def test_format_2_state_is_upgraded_and_continues_exactly_like_a_fresh_run() -> None:
    restored = _format(2)["stream_first_3"]
    assert restored.config == StoryConfig()
    assert not hasattr(restored.config, "future_tolerance")  # a field since removed is dropped on restore
    articles = stream()
    fresh = run(articles)
    assert [restored.assign(a) for a in articles[3:]] == fresh[3:]  # snapshots, events and scores alike
    again = pickle.loads(pickle.dumps(restored))
    assert again.__getstate__()["state_format"] == STATE_FORMAT
    assert [s.story_id for s in again.live_stories()] == [s.story_id for s in restored.live_stories()]


def test_format_2_state_keeps_where_a_merge_finds_the_resurfacing() -> None:
    restored = _format(2)["split_at_60h"]
    assert restored.config == BRIDGING
    bridge = make_article("m3", "Hokkaido tsunami", QUAKE, at=T0 + timedelta(hours=61), outlet="c.jp")
    events = restored.assign(bridge).events
    assert [e.event_type for e in events] == ["merged", "resurfaced", "updated"]
    assert events[1].article_id == "m2"
    assert events[1].story_id == story_id_for("m1")


def test_format_3_state_is_upgraded_and_continues_exactly_like_a_fresh_run() -> None:
    restored = _format(3)["stream_first_3"]
    assert restored.config == StoryConfig()  # the settings added since take their defaults (memory, ...)
    assert restored.archived_stories == 0
    articles = stream()
    fresh = run(articles)
    assert [restored.assign(a) for a in articles[3:]] == fresh[3:]
    again = pickle.loads(pickle.dumps(restored))
    assert again.__getstate__()["state_format"] == STATE_FORMAT


def test_format_3_state_archives_its_stories_after_the_horizon() -> None:
    restored = _format(3)["split_at_60h"]
    assert restored.config == BRIDGING
    assert len(restored) == 2
    restored.advance(T0 + timedelta(days=40))  # both idle past the horizon (30 days): archived, not expired
    assert len(restored) == 2 and restored.archived_stories == 2
    late = make_article("m4", "Hokkaido earthquake", QUAKE, at=T0 + timedelta(days=41), outlet="d.jp")
    assert [e.event_type for e in restored.assign(late).events][-1] == "resurfaced"


def test_state_of_a_newer_format_is_refused_with_a_message() -> None:
    state = StoryAssigner().__getstate__()
    blank = StoryAssigner.__new__(StoryAssigner)
    with pytest.raises(StoryStateError, match=rf"format {STATE_FORMAT + 1} cannot be read .* reads formats 1 to"):
        blank.__setstate__({**state, "state_format": STATE_FORMAT + 1})
    with pytest.raises(StoryStateError, match="start the job without the saved state"):
        blank.__setstate__({"state_format": 1})  # not story state at all
    with pytest.raises(StoryStateError, match="start the job without the saved state"):
        blank.__setstate__({"_stories": {}, "state_format": 2})  # the mark of format 2, none of the rest


def test_restored_state_runs_the_deployment_config() -> None:
    articles = stream()
    saved = _PartitionState(StoryConfig())
    for article in articles[:3]:
        saved.stories.assign(article)
    changed = replace(StoryConfig(), dormancy=timedelta(hours=2), max_article_ids=1, horizon=timedelta(days=40))
    restored = _PartitionState.restored(pickle.loads(pickle.dumps(saved)), changed)
    assert restored.stories.config == changed
    assert restored.revisions.retention == timedelta(days=40)
    # b2 comes 2 h 55 min after b1: an update under the saved dormancy (48 h), a resurfacing under the new one
    outcomes = _outcome([restored.stories.assign(a) for a in articles[3:]])
    assert outcomes[1] == ("b2", story_id_for("b1"), ["resurfaced"])
    assert all(len(s.recent_article_ids) <= 1 for s in restored.stories.live_stories())
    same = _PartitionState.restored(pickle.loads(pickle.dumps(saved)), StoryConfig())
    assert _outcome([same.stories.assign(a) for a in articles[3:]])[1] == ("b2", story_id_for("b1"), ["updated"])


def test_partition_state_of_another_kind_is_refused() -> None:
    with pytest.raises(StoryStateError, match="holds a dict, not storywire story state"):
        _PartitionState.restored({"stories": 1}, StoryConfig())
    assert len(_PartitionState.restored(None, StoryConfig()).stories) == 0
