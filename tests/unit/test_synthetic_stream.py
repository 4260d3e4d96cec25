"""The synthetic stream of bench/synthetic_stream.py is deterministic; the gold-resurfacing rule both benches use."""

from __future__ import annotations

from datetime import timedelta

from bench.clustering_metrics import gap_resurfacings
from bench.synthetic_stream import START, SyntheticStream


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
