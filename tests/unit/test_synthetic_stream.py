"""The synthetic stream of bench/synthetic_stream.py is deterministic; the gold-resurfacing rule both benches use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.clustering_metrics import gap_resurfacings
from bench.synthetic_stream import START, SyntheticStream, main

pytestmark = pytest.mark.slow  # tests of the benchmarks (bench/), not of the product


def test_stream_is_deterministic_for_a_seed() -> None:
    first = [a.article_id for a in SyntheticStream(500, 10, 3).articles()]
    again = [a.article_id for a in SyntheticStream(500, 10, 3).articles()]
    other = [a.article_id for a in SyntheticStream(500, 10, 4).articles()]
    assert first == again and first != other and len(first) == 500


def test_gold_resurfacings_follow_the_gap_rule() -> None:
    h = timedelta(hours=1)
    timeline = [
        ("a1", START),
        ("a2", START + 10 * h),  # 10 h later: no
        ("b1", START + 11 * h),
        ("a3", START + 60 * h),  # 50 h after a2: yes
        ("a3", START + 200 * h),  # a revision of a3: not a new article
        ("b2", START + 40 * 24 * h),  # 40 days after b1: beyond the horizon, the story had expired
    ]
    gold = ["A", "A", "B", "A", "A", "B"]
    found = gap_resurfacings(gold, timeline, timedelta(hours=48), timedelta(days=30))
    assert found == {"a3"}


def test_a_returning_story_comes_back_with_new_keywords() -> None:
    stream = SyntheticStream(2_000, 30, 3, drift=0.5)
    story = next(iter(stream._returns))  # a story with a quiet spell
    before, after = stream._story(story, 0), stream._story(story, 1)
    assert after.entities == before.entities and after.topic == before.topic
    assert len(set(after.keywords) & set(before.keywords)) == 9  # half of its six own keywords are new
    assert stream._story(story, 2).keywords != after.keywords  # a second development brings other words
    steady = SyntheticStream(2_000, 30, 3, drift=0.0)
    assert steady._story(story, 1) == steady._story(story, 0)
    with pytest.raises(ValueError, match="drift"):
        SyntheticStream(10, 1, 3, drift=1.5)


def test_benchmark_prints_rates_and_the_state_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--articles", "600", "--days", "2", "--every", "300", "--quality", "--state"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("articles"))
    assert header.endswith("state MB pickle ms   B/id")
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["300"], ["600"])]
    assert len(rows) == 2 and all(len(row) == 9 and float(row[-1]) > 0 for row in rows)  # bytes per live id
    assert "core/floor" in out and "resurfaced vs the plan" in out
