"""The clustering metrics of bench/clustering_metrics.py, by hand-computed cases and against scikit-learn."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.clustering_metrics import (
    adjusted_mutual_information,
    adjusted_rand_index,
    bcubed,
    counted_precision_recall,
    follow_merges,
    pairwise,
    precision_recall,
    score,
    wilson_interval,
)

pytestmark = pytest.mark.slow  # tests of the benchmarks (bench/), not of the product

HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None


def test_identical_partitions_score_one() -> None:
    gold = ["a", "a", "b", "c", "c", "c"]
    pred = [1, 1, 2, 3, 3, 3]
    s = score(gold, pred)
    assert (s.bcubed_p, s.bcubed_r, s.bcubed_f1) == (1.0, 1.0, 1.0)
    assert (s.pair_p, s.pair_r, s.pair_f1) == (1.0, 1.0, 1.0)
    assert s.ari == pytest.approx(1.0)
    assert s.ami == pytest.approx(1.0)


def test_bcubed_by_hand() -> None:
    # gold {0,1,2} {3,4}; pred {0,1} {2,3,4}
    gold = ["x", "x", "x", "y", "y"]
    pred = [1, 1, 2, 2, 2]
    p, r, f = bcubed(gold, pred)
    # precision per item: 1, 1, 1/3, 2/3, 2/3 ; recall: 2/3, 2/3, 1/3, 1, 1
    assert p == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert r == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    assert f == pytest.approx(2 * p * r / (p + r))


def test_pairwise_by_hand() -> None:
    gold = ["x", "x", "x", "y", "y"]
    pred = [1, 1, 2, 2, 2]
    # gold pairs: 3 + 1 = 4; pred pairs: 1 + 3 = 4; together: (0,1) and (3,4) = 2
    assert pairwise(gold, pred) == pytest.approx((0.5, 0.5, 0.5))


def test_all_in_one_cluster_is_punished() -> None:
    gold = [i // 3 for i in range(30)]
    pred = [0] * 30
    s = score(gold, pred)
    assert s.bcubed_r == 1.0
    assert s.bcubed_p == pytest.approx(0.1)
    assert s.ari == pytest.approx(0.0)
    assert s.ami == pytest.approx(0.0, abs=1e-9)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        bcubed([1, 2], [1])


def test_set_precision_recall() -> None:
    assert precision_recall({"a", "b"}, {"b", "c", "d"}) == pytest.approx((0.5, 1 / 3, 0.4))
    assert precision_recall(set(), set()) == (1.0, 1.0, 1.0)
    assert counted_precision_recall(1, 2, 3) == pytest.approx((0.5, 1 / 3, 0.4))  # the same from counts


def test_follow_merges_resolves_chains_to_the_final_story() -> None:
    pred = ["a", "b", "c", "d", "a"]
    assert follow_merges(pred, {"a": "b", "b": "c"}) == ["c", "c", "c", "d", "c"]
    assert follow_merges(pred, {}) == pred
    assert follow_merges(["x", "y"], {"x": "y", "y": "x"}) == ["y", "x"]  # a cycle stops, never loops


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553-0.3662, 0/10 -> 0-0.2775
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    low, high = wilson_interval(14, 18)
    assert low < 14 / 18 < high and high - low > 0.3  # few events: a wide interval
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _random_partitions(seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    n = rng.randint(5, 120)
    gold = [rng.randrange(rng.randint(1, 15)) for _ in range(n)]
    # a noisy copy of gold, so the scores span the range
    pred = [g if rng.random() < rng.random() else rng.randrange(20) for g in gold]
    return gold, pred


@pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn not installed (only used to cross-check; not a dependency)")
@pytest.mark.parametrize("seed", range(25))
def test_ari_and_ami_match_scikit_learn(seed: int) -> None:
    from sklearn import metrics  # type: ignore[import-untyped,import-not-found,unused-ignore]

    gold, pred = _random_partitions(seed)
    assert adjusted_rand_index(gold, pred) == pytest.approx(metrics.adjusted_rand_score(gold, pred), abs=1e-9)
    expected = metrics.adjusted_mutual_info_score(gold, pred)
    assert adjusted_mutual_information(gold, pred) == pytest.approx(expected, abs=1e-7)
