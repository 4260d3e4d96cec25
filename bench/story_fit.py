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

The pairs are those of stories within the ``horizon`` (the replay runs with ``memory`` = ``horizon``, as the
core did when ``threshold`` was fitted): archived stories are quiet by construction, and joining a quiet story
is ``resurface_threshold``'s rule. The quiet pairs of a replay with the default ``memory`` are fitted and printed
beside it, for information (the older half holds no look-alike above its boundary, so that fit says what the
older half allows, not what precision elsewhere needs; see ``docs/stories.md``).

Usage::

    python bench/story_fit.py [--data PATH]

It uses the core's public seams: :meth:`StoryAssigner.score` for the pairs (the parts of the joining score of
each candidate) and :meth:`StoryAssigner.assign_to` to force the gold assignment; ``tests/unit/test_story_fit.py``
checks that the shipped defaults are this fit, rounded. The figures it gives are in ``docs/stories.md``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stories import DEFAULT_DATA, Row, compress, load, split
from storywire.pipelines.stories import StoryAssigner, StoryConfig


@dataclass(frozen=True)
class Pair:
    """One (article, candidate story) pair of the teacher-forced replay."""

    content: float  # time-weighted content cosine
    title: float  # time-weighted title cosine
    same: bool  # the candidate is the article's gold story
    quiet: bool = False  # the candidate is quiet (joining it would be a resurfacing: resurface_threshold's rule)


@dataclass(frozen=True)
class Fit:
    title_similarity_weight: float
    threshold: float
    pairs: int
    positives: int
    errors: int  # training pairs on the wrong side of the boundary


def pairs_of(rows: list[Row], config: StoryConfig) -> list[Pair]:
    """The teacher-forced replay of ``rows``: each article joins the live story of its gold story (or opens one),
    and every article the core compares with stories gives a pair for each candidate the index retrieves, plus
    one for its gold story when that is not among them."""
    assigner = StoryAssigner(config)
    gold_story: dict[str, str] = {}  # gold label -> the live story that holds it
    pairs: list[Pair] = []
    for row in rows:
        article = row.article
        assigner.advance(article.first_seen_at)  # (what assign does first: the candidates as assign sees them)
        target = gold_story.get(row.gold)
        if target is not None and assigner.story(target) is None:
            target = None  # it expired
        scored = list(assigner.score(article))
        if target is not None:
            scored += [match for match in assigner.score(article, [target]) if not match.candidate]
        for match in scored:
            factor = match.time_factor
            pairs.append(Pair(match.content * factor, match.title * factor, match.story_id == target, match.quiet))
        assigned = assigner.assign_to(article, target).article.story_id
        if target is None and assigned is not None:  # the first article of the gold story, or it expired
            gold_story[row.gold] = assigned
    return pairs


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


def fit_older_half(data: Path = DEFAULT_DATA, config: StoryConfig | None = None, *, quiet: bool = False) -> Fit:
    """The fit on the older half of ``data`` (rows as they are + compressed copy): of the pairs of stories within
    the horizon (``memory`` = ``horizon``), or with ``quiet`` of the quiet pairs of a replay with ``config`` as
    it is."""
    config = config or StoryConfig()
    older, _ = split(load(data))  # the newer half is dropped here, unread
    if quiet:
        pairs = [p for p in pairs_of(older, config) + pairs_of(compress(older), config) if p.quiet]
    else:
        config = replace(config, memory=config.horizon)
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
    quiet = fit_older_half(args.data, defaults, quiet=True)
    print(
        f"quiet pairs with memory {defaults.memory.days}d (information): {quiet.pairs} ({quiet.positives} same-story),"
        f" boundary {quiet.threshold:.3f} at title weight {quiet.title_similarity_weight:.3f}, {quiet.errors} errors"
        f"   (resurface_threshold {defaults.resurface_threshold}, set a priori)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
