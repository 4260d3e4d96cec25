"""Fit of the story core's joining rule on the OLDER half of NewsCluster (teacher forcing).

The core joins an article to its best candidate story when::

    (content cosine + title_similarity_weight * title cosine) * time factor >= threshold

This script is where ``title_similarity_weight`` and ``threshold`` come from. As in Miranda et al. (2018), the
decision "does this article belong to this story?" is learned from labelled pairs instead of being searched
end to end: the older half of the stream (the rows as they are and the compressed copy of ``bench/stories.py``)
is replayed with the gold story *forced* as each article's assignment (teacher forcing, so every story holds
exactly its gold articles), and for every candidate story the core's index retrieves, plus the gold story, the
pair's two time-weighted cosines are recorded with the label "same gold story". A logistic regression over
(content, title) gives the decision boundary ``w_c * content + w_t * title + b = 0``, that is
``title_similarity_weight = w_t / w_c`` and ``threshold = -b / w_c``. The newer half is never read.

Why pairs rather than the end-to-end grid search: the older half's end-to-end errors are almost all recall
(gold stories spanning years, split by the 30-day horizon), so its B-cubed objective rewards a low threshold
and says nothing about look-alike stories; its pairs do contain the look-alikes (North Korea missile vs
satellite, two airline stories, snowfall vs electric bill), as negatives.

Usage::

    python bench/story_fit.py [--data PATH]

It reads the core's private scoring helpers (``_cosine``, ``_title_cosine``, ``_time_factor``), which is why
it lives in ``bench/`` beside the core's tuning and is exercised by ``tests/unit/test_story_fit.py``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stories import DEFAULT_DATA, Row, compress, load, split
from storywire.pipelines.stories import StoryAssigner, StoryConfig, core


@dataclass(frozen=True)
class Pair:
    """One (article, candidate story) pair of the teacher-forced replay."""

    content: float  # time-weighted content cosine
    title: float  # time-weighted title cosine
    same: bool  # the candidate is the article's gold story


@dataclass(frozen=True)
class Fit:
    title_similarity_weight: float
    threshold: float
    pairs: int
    positives: int
    errors: int  # training pairs on the wrong side of the boundary


class _TeacherForced(StoryAssigner):
    """A StoryAssigner whose similarity step always picks the gold story (or a new one), recording pairs."""

    def __init__(self, config: StoryConfig) -> None:
        super().__init__(config)
        self.gold = ""
        self.gold_seq: dict[str, int] = {}
        self.pairs: list[Pair] = []

    def _best_stories(
        self, vec: core._Vec, t: datetime, language: str | None
    ) -> tuple[core._StoryState | None, float, None, list[core._StoryState]]:
        _, _, _, candidates = super()._best_stories(vec, t, language)
        seq = self.gold_seq.get(self.gold)
        gold = self._stories.get(seq) if seq is not None else None
        scored = list(candidates)
        if gold is not None and gold not in scored:
            scored.append(gold)
        for state in scored:
            factor = self._time_factor(state, t)
            title = self._title_cosine(vec.title, state) if vec.title and state.titles_norm2 > 0.0 else 0.0
            self.pairs.append(Pair(self._cosine(vec.weights, state) * factor, title * factor, state is gold))
        return gold, 0.0, None, candidates  # (the score only feeds the event's score field)

    def replay(self, rows: list[Row]) -> None:
        for row in rows:
            self.gold = row.gold
            story_id = self.assign(row.article).article.story_id
            seq = self.gold_seq.get(row.gold)
            if seq is None or seq not in self._stories:  # first article of the gold story, or it expired
                self.gold_seq[row.gold] = next(s.seq for s in self._stories.values() if s.story_id == story_id)


def pairs_of(rows: list[Row], config: StoryConfig) -> list[Pair]:
    assigner = _TeacherForced(config)
    assigner.replay(rows)
    return assigner.pairs


def fit(pairs: list[Pair], *, regularisation: float = 10.0) -> Fit:
    """Logistic regression (L2, ``C`` = ``regularisation``) of ``same`` on (content, title)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]  # (dev dependency: tuning only)

    features = [[p.content, p.title] for p in pairs]
    labels = [p.same for p in pairs]
    model = LogisticRegression(C=regularisation).fit(features, labels)
    (w_content, w_title), bias = model.coef_[0], model.intercept_[0]
    if w_content <= 0:
        raise ValueError("the content cosine does not separate same-story pairs: nothing to fit")
    errors = sum(int(p != y) for p, y in zip(model.predict(features), labels, strict=True))
    return Fit(float(w_title / w_content), float(-bias / w_content), len(pairs), sum(labels), errors)


def fit_older_half(data: Path = DEFAULT_DATA, config: StoryConfig | None = None) -> Fit:
    """The fit on the older half of ``data`` (rows as they are + compressed copy)."""
    config = config or StoryConfig()
    older, _ = split(load(data))  # the newer half is dropped here, unread
    pairs = pairs_of(older, config) + pairs_of(compress(older), config)
    return fit(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    defaults = StoryConfig()
    result = fit_older_half(args.data, defaults)
    print(
        f"teacher-forced pairs on the OLDER half: {result.pairs} ({result.positives} same-story), "
        f"{result.errors} on the wrong side of the fitted boundary"
    )
    print(
        f"fitted: title_similarity_weight={result.title_similarity_weight:.3f} threshold={result.threshold:.3f}"
        f"   (defaults: {defaults.title_similarity_weight} / {defaults.threshold})"
    )
    # the content-only rule, for comparison: the threshold the same pairs give without the title channel
    content_only = fit_older_half(args.data, replace(defaults, title_similarity_weight=0.0))
    print(f"content cosine alone: threshold={content_only.threshold:.3f} ({content_only.errors} errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
