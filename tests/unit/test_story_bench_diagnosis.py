"""The resurfacing error diagnosis that bench/stories.py prints: each wrong or missed event gets its mechanism."""

from __future__ import annotations

from datetime import timedelta

from bench.stories import Row, RunResult, resurfacing_errors
from tests.unit.test_story_core import T0, make

H = timedelta(hours=1)


def _row(article_id: str, gold: str, at: timedelta, clean: bool = True) -> Row:
    return Row(make(article_id, article_id, at=T0 + at, published=T0 + at), gold, clean, True)


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
