"""The resurfacing error diagnosis that bench/stories.py prints: each wrong or missed event gets its mechanism."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bench.stories import Row, RunResult, gold_resurfacings, resurfacing_errors, retime, score_kept
from tests.support.articles import T0, make_article

pytestmark = pytest.mark.slow  # tests of the benchmarks (bench/), not of the product

H = timedelta(hours=1)


def _row(article_id: str, gold: str, at: timedelta, clean: bool = True) -> Row:
    return Row(make_article(article_id, article_id, at=T0 + at, published=T0 + at), gold, clean, True)


def test_each_error_is_named_by_its_mechanism() -> None:
    rows = [
        _row("a1", "A", 0 * H),
        _row("a2", "A", 1 * H, clean=False),  # split off into a story of its own
        _row("b1", "B", 2 * H),
        _row("a3", "A", 72 * H),  # back in a1's story: a resurfacing only because a2 went elsewhere
        _row("b2", "B", 73 * H),  # joins A's story by mistake
        _row("c1", "C", 96 * H),  # a gold resurfacing (say) that opened a story
        _row("c2", "C", 97 * H),  # a gold resurfacing (say) that joined B's story
    ]
    joined = {"a1": "s1", "a2": "s2", "b1": "s3", "a3": "s1", "b2": "s1", "c1": "s4", "c2": "s3"}
    result = RunResult(
        pred=dict(joined),
        resurfaced={"a3", "b2"},
        created={"a1", "a2", "b1", "c1"},
        joined=joined,
        merges=0,
        seconds=0.0,
    )
    found = resurfacing_errors(rows, result, gold={"c1", "c2"})
    assert found == {
        "FP its gold story's previous row (damaged) was in another story": 1,
        "FP joined a quiet story of another gold story": 1,
        "FN opened a story of its own": 1,
        "FN joined a story of another gold story": 1,
    }
    merged_later = RunResult({**joined, "a2": "s1"}, {"a3"}, set(), joined, 1, 0.0)
    assert resurfacing_errors(rows, merged_later, gold=set()) == {
        "FP its gold story's previous row (damaged) was in another story, merged later": 1
    }
    right = RunResult(dict(joined), {"c1"}, set(), joined, 0, 0.0)
    assert resurfacing_errors(rows, right, gold={"c1"}) == {}


def test_retime_makes_every_story_of_three_or_more_articles_come_back_once() -> None:
    rows = [
        _row(f"{g}{i}", g, (i * 7 + ord(g)) * H) for g, n in (("A", 5), ("B", 3), ("C", 2), ("D", 1)) for i in range(n)
    ]
    first, again, other = retime(rows, 1), retime(rows, 1), retime(rows, 2)
    assert first == again and first != other
    assert sorted((r.article.article_id, r.gold) for r in first) == sorted((r.article.article_id, r.gold) for r in rows)
    assert [r.article.first_seen_at for r in first] == sorted(r.article.first_seen_at for r in first)
    gold = gold_resurfacings(first, timedelta(hours=48), timedelta(days=30))
    assert {article_id[0] for article_id in gold} == {"A", "B"}  # one return each; C (2 articles) and D stay one burst
    assert len(gold) == 2
    for story in "AB":
        times = sorted(r.article.first_seen_at for r in first if r.gold == story)
        gaps = sorted(b - a for a, b in itertools.pairwise(times))
        assert gaps[-1] >= timedelta(days=3)  # the return
        assert all(gap <= timedelta(days=1) for gap in gaps[:-1])  # within a burst


def test_content_only_gold_leaves_rows_without_content_out_of_the_timeline() -> None:
    empty = Row(make_article("a2", "", at=T0 + 40 * H, published=T0 + 40 * H), "A", False, True)
    rows = [_row("a1", "A", 0 * H), empty, _row("a3", "A", 80 * H), _row("b1", "B", 81 * H)]
    dormancy, horizon = timedelta(hours=48), timedelta(days=30)
    assert gold_resurfacings(rows, dormancy, horizon) == set()  # a2 broke A's silence: 40 h + 40 h
    assert gold_resurfacings(rows, dormancy, horizon, content_only=True) == {"a3"}  # 80 h after a1


def test_a_minimum_event_score_keeps_the_events_without_a_score() -> None:
    scores: dict[str, float | None] = {"r1": 0.29, "r2": 0.41, "r3": None}
    result = RunResult({}, {"r1", "r2", "r3"}, set(), {}, 0, 0.0, scores)
    assert score_kept(result, {"r1", "r3"}, 0.27) == (3, 2)
    assert score_kept(result, {"r1", "r3"}, 0.3) == (2, 1)  # r1 dropped; r3 (found by a merge) kept
    assert score_kept(result, {"r1", "r3"}, 0.5) == (1, 1)
