"""``trending``: a story's article rate well above its own recent rate."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from storywire.pipelines.stories import StoryAssigner, StoryConfig
from tests.support.articles import QUAKE, T0, make_article

CFG = StoryConfig(
    trending_window=timedelta(hours=6),
    trending_baseline=timedelta(hours=72),
    trending_ratio=3.0,
    trending_min_articles=5,
    trending_min_outlets=3,
    near_duplicate_jaccard=None,
)


def _article(i: int, at: datetime):  # type: ignore[no-untyped-def]
    # one story: the same title, a different slice of the body each time (no exact duplicates)
    words = QUAKE.split()
    body = " ".join(words[i % 20 : i % 20 + 25]) + f" Update number {i}."
    return make_article(f"q{i}", "Earthquake strikes Hokkaido, tsunami warning", body, at=at, outlet=f"o{i % 4}.jp")


def _trending_times(times: list[datetime], config: StoryConfig = CFG) -> list[datetime]:
    assigner = StoryAssigner(config)
    found = []
    story_ids = set()
    for i, at in enumerate(times):
        result = assigner.assign(_article(i, at))
        story_ids.add(result.article.story_id)
        found += [at for e in result.events if e.event_type == "trending"]
    assert len(story_ids) == 1, "the test stream must stay one story"
    return found


def test_a_young_storys_first_burst_trends_once() -> None:
    times = [T0 + timedelta(minutes=30 * i) for i in range(8)]  # 8 articles in 3.5 h, nothing before
    assert _trending_times(times) == [times[4]]  # the fifth article fills the window


def test_steady_high_rate_does_not_trend_again_but_a_jump_above_it_does() -> None:
    steady = [T0 + timedelta(hours=i) for i in range(96)]  # one article an hour for four days
    burst_start = steady[-1] + timedelta(minutes=10)
    burst = [burst_start + timedelta(minutes=5 * i) for i in range(30)]  # 30 in 2.5 h: ~12 an hour
    found = _trending_times(steady + burst)
    # the first hours trend (nothing before them); afterwards 6 an hour-window vs 1 an hour baseline is x1
    assert found[0] == steady[4]
    assert all(at in burst for at in found[1:]) and len(found) == 2
    # the burst trends once it holds three times the baseline rate: >= 18 articles in the 6 h window
    rate_hit = found[1]
    assert burst_start < rate_hit <= burst[-1]


def test_the_same_volume_without_a_quiet_baseline_is_not_trending_with_a_high_ratio() -> None:
    steady = [T0 + timedelta(hours=i) for i in range(96)]
    strict = replace(CFG, trending_ratio=50.0)
    found = _trending_times(steady, strict)
    assert found == [steady[4]]  # only the very first burst, against an empty baseline


@pytest.mark.parametrize(
    "kwargs", [{"trending_ratio": 0.5}, {"trending_ratio": True}, {"trending_baseline": timedelta(0)}]
)
def test_trending_settings_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        StoryConfig(**kwargs)  # type: ignore[arg-type]
