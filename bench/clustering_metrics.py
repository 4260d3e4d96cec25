"""External clustering metrics, implemented from their definitions (no scikit-learn at run time).

All functions take two equally long sequences of hashable labels, ``gold`` and ``pred``, one entry per item.

- B-cubed precision/recall/F1 (Bagga & Baldwin 1998; Amigo et al. 2009): per-item averages of the overlap of
  the item's predicted and gold clusters; F1 is the harmonic mean of the two averages.
- Pairwise precision/recall/F1 over the item pairs placed together.
- ARI (Hubert & Arabie 1985): the Rand index adjusted for chance.
- AMI (Vinh, Epps & Bailey 2010): mutual information adjusted for chance, normalised by the arithmetic mean of
  the two entropies (the scikit-learn default), natural logarithms. The expected MI uses the hypergeometric
  model computed with log-gamma.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Scores:
    """Every metric for one clustering."""

    n: int
    gold_clusters: int
    pred_clusters: int
    bcubed_p: float
    bcubed_r: float
    bcubed_f1: float
    pair_p: float
    pair_r: float
    pair_f1: float
    ari: float
    ami: float

    def line(self) -> str:
        return (
            f"n={self.n:4d} gold={self.gold_clusters:3d} pred={self.pred_clusters:3d} "
            f"B3 P/R/F1={self.bcubed_p:.3f}/{self.bcubed_r:.3f}/{self.bcubed_f1:.3f} "
            f"pair P/R/F1={self.pair_p:.3f}/{self.pair_r:.3f}/{self.pair_f1:.3f} "
            f"AMI={self.ami:.3f} ARI={self.ari:.3f}"
        )


def _check(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} items, pred has {len(pred)}")


def _contingency(
    gold: Sequence[Hashable], pred: Sequence[Hashable]
) -> tuple[Counter[tuple[Hashable, Hashable]], Counter[Hashable], Counter[Hashable]]:
    return Counter(zip(gold, pred, strict=True)), Counter(gold), Counter(pred)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def bcubed(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[float, float, float]:
    """B-cubed (precision, recall, F1)."""
    _check(gold, pred)
    n = len(gold)
    if n == 0:
        return 1.0, 1.0, 1.0
    joint, gsize, psize = _contingency(gold, pred)
    # every item of cell (g, p) has overlap n_gp with precision n_gp/|p| and recall n_gp/|g|
    precision = sum(c * c / psize[p] for (_, p), c in joint.items()) / n
    recall = sum(c * c / gsize[g] for (g, _), c in joint.items()) / n
    return precision, recall, _f1(precision, recall)


def _pairs(k: int) -> int:
    return k * (k - 1) // 2


def pairwise(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F1); 1.0 when there are no pairs on a side."""
    _check(gold, pred)
    joint, gsize, psize = _contingency(gold, pred)
    together = sum(_pairs(c) for c in joint.values())
    pred_pairs = sum(_pairs(c) for c in psize.values())
    gold_pairs = sum(_pairs(c) for c in gsize.values())
    precision = together / pred_pairs if pred_pairs else 1.0
    recall = together / gold_pairs if gold_pairs else 1.0
    return precision, recall, _f1(precision, recall)


def adjusted_rand_index(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """ARI; 1.0 for identical partitions (including the degenerate all-singletons/one-cluster cases)."""
    _check(gold, pred)
    n = len(gold)
    joint, gsize, psize = _contingency(gold, pred)
    index = sum(_pairs(c) for c in joint.values())
    sum_g = sum(_pairs(c) for c in gsize.values())
    sum_p = sum(_pairs(c) for c in psize.values())
    total = _pairs(n)
    if total == 0:
        return 1.0
    expected = sum_g * sum_p / total
    maximum = (sum_g + sum_p) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def _entropy(sizes: Counter[Hashable], n: int) -> float:
    return -sum((c / n) * math.log(c / n) for c in sizes.values() if c)


def mutual_information(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """MI in nats."""
    _check(gold, pred)
    n = len(gold)
    joint, gsize, psize = _contingency(gold, pred)
    return sum((c / n) * math.log(n * c / (gsize[g] * psize[p])) for (g, p), c in joint.items())


def expected_mutual_information(gsize: Sequence[int], psize: Sequence[int], n: int) -> float:
    """E[MI] of two random partitions with the given cluster sizes (hypergeometric model)."""
    lg = math.lgamma
    lg_n = lg(n + 1)
    total = 0.0
    for a in gsize:
        for b in psize:
            lo = max(1, a + b - n)
            hi = min(a, b)
            if lo > hi:
                continue
            base = lg(a + 1) + lg(b + 1) + lg(n - a + 1) + lg(n - b + 1) - lg_n
            for nij in range(lo, hi + 1):
                log_p = base - lg(nij + 1) - lg(a - nij + 1) - lg(b - nij + 1) - lg(n - a - b + nij + 1)
                total += (nij / n) * math.log(n * nij / (a * b)) * math.exp(log_p)
    return total


def adjusted_mutual_information(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """AMI with arithmetic-mean normalisation; 1.0 for identical partitions."""
    _check(gold, pred)
    n = len(gold)
    if n == 0:
        return 1.0
    _, gsize, psize = _contingency(gold, pred)
    if len(gsize) == len(psize) == 1 or len(gsize) == len(psize) == n:
        # identical trivial partitions (one cluster each, or all singletons on both sides)
        return 1.0
    mi = mutual_information(gold, pred)
    emi = expected_mutual_information(list(gsize.values()), list(psize.values()), n)
    normaliser = (_entropy(gsize, n) + _entropy(psize, n)) / 2
    denominator = normaliser - emi
    if abs(denominator) < 1e-15:
        denominator = math.copysign(1e-15, denominator) if denominator else 1e-15
    return (mi - emi) / denominator


def score(gold: Sequence[Hashable], pred: Sequence[Hashable], *, with_ami: bool = True) -> Scores:
    """All metrics at once (AMI costs O(clusters^2 * size); pass ``with_ami=False`` for huge inputs: NaN)."""
    bp, br, bf = bcubed(gold, pred)
    pp, pr, pf = pairwise(gold, pred)
    return Scores(
        n=len(gold),
        gold_clusters=len(set(gold)),
        pred_clusters=len(set(pred)),
        bcubed_p=bp,
        bcubed_r=br,
        bcubed_f1=bf,
        pair_p=pp,
        pair_r=pr,
        pair_f1=pf,
        ari=adjusted_rand_index(gold, pred),
        ami=adjusted_mutual_information(gold, pred) if with_ami else math.nan,
    )


def precision_recall(predicted: set[str], gold: set[str]) -> tuple[float, float, float]:
    """Set precision/recall/F1 (1.0 for an empty side with nothing to find or nothing claimed)."""
    return counted_precision_recall(len(predicted & gold), len(predicted), len(gold))


def counted_precision_recall(hits: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """:func:`precision_recall` from counts (e.g. pooled over several runs)."""
    precision = hits / predicted if predicted else 1.0
    recall = hits / gold if gold else 1.0
    return precision, recall, _f1(precision, recall)


def wilson_interval(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% for the default ``z``) of a proportion ``hits / total``: how far a precision
    or recall measured on a few events can be from the rate behind it ((0, 1) when ``total`` is 0)."""
    if total <= 0:
        return 0.0, 1.0
    p = hits / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def gap_resurfacings(
    gold: Sequence[Hashable], timeline: Sequence[tuple[str, datetime]], dormancy: timedelta, horizon: timedelta
) -> set[str]:
    """The gold resurfacings of a stream: article ids arriving >= ``dormancy`` (and < ``horizon``: older stories
    are expired by design) after their gold story's latest earlier article. ``timeline`` holds (article id,
    article time) in stream order beside ``gold``; an id seen before (a revision) is not a new article."""
    last: dict[Hashable, datetime] = {}
    seen: set[str] = set()
    found: set[str] = set()
    for story, (article_id, t) in zip(gold, timeline, strict=True):
        if article_id in seen:
            continue
        seen.add(article_id)
        prev = last.get(story)
        if prev is not None and dormancy <= t - prev < horizon:
            found.add(article_id)
        last[story] = t if prev is None else max(prev, t)
    return found


def follow_merges(pred: Sequence[str], merged_into: Mapping[str, str]) -> list[str]:
    """Each predicted story id replaced by the story it was finally merged into, as a consumer following the
    ``merged_into`` of ``merged`` snapshots sees the stream once it has ended (chains are followed; a cycle,
    which the core never makes, stops at the first repeat)."""
    final: dict[str, str] = {}
    out: list[str] = []
    for story in pred:
        resolved = final.get(story)
        if resolved is None:
            resolved, seen = story, {story}
            while (nxt := merged_into.get(resolved)) is not None and nxt not in seen:
                seen.add(nxt)
                resolved = nxt
            final[story] = resolved
        out.append(resolved)
    return out
