"""From an article's tokens to its weighted TF-IDF vector, with document frequencies counted online.

:class:`DocumentFrequencies` is state (pickled with the assigner): the counts in two generations rotated every
``horizon`` of stream time (so the vocabulary held stays bounded and IDF follows the recent stream) and the IDF
memo, cleared each time the document count has grown by a quarter (a deterministic schedule: IDF may lag that
much). A prior of ``prior_documents`` pseudo-documents drawn from general word frequencies of the article's
language (:mod:`storywire.pipelines.stories.idf_prior`) is added to the counts, so that a young stream does
not treat common words as rare; it fades as real documents accumulate.

:class:`Vectoriser` holds what a :class:`~storywire.pipelines.stories.StoryConfig` says about vectors (field
weights, caps) and builds an :class:`ArticleVector`: the title, summary, lead of the body and the rest of the
body each add their field weight per occurrence of a term to its count (any non-negative weight: counts are
weighted, not tokens repeated), the count is damped sublinearly (``1 + ln c`` above 1), multiplied by the
term's IDF, the ``article_terms`` strongest terms are kept and the vector is scaled to unit length. The title
also gets a vector of its own for the title channel: its distinct terms, each weighing its IDF, unit length.

A story's centroid is the sum of its articles' unit vectors (:func:`add_pruned`), each weighted with the IDF of
the time the article arrived.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from operator import add, itemgetter, mul
from typing import cast

from storywire.pipelines.stories import text as textmod
from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.idf_prior import document_share, word_frequencies
from storywire.schemas.records import Article

__all__ = [
    "EMPTY_VECTOR",
    "ArticleVector",
    "DocumentFrequencies",
    "SublinearWeights",
    "Vectoriser",
    "add_pruned",
    "article_tokens",
]

_SECOND = itemgetter(1)


@dataclass(frozen=True, slots=True)
class ArticleVector:
    """An article's unit TF-IDF vector, its most specific terms (for the inverted index) and the unit IDF
    vector of its title terms."""

    weights: dict[str, float]
    top: list[str]
    title: dict[str, float]


EMPTY_VECTOR = ArticleVector({}, [], {})


def article_tokens(article: Article, config: StoryConfig) -> tuple[list[str], list[str], list[str]]:
    """Content tokens of the title, summary and body, each read up to its cap (``head_chars``, ``body_chars``)."""
    head = config.head_chars
    return (
        textmod.tokens(article.title[:head] if article.title else ""),
        textmod.tokens(article.summary[:head] if article.summary else ""),
        textmod.tokens(article.text[: config.body_chars] if article.text else ""),
    )


class SublinearWeights(dict[float, float]):
    """Memo of the sublinear weight of a weighted term count ``c``: ``1 + ln c`` above 1, else ``c``.

    A pure function's cache (clearing it changes nothing): bounded, because any field weights are allowed and
    their weighted counts need not repeat."""

    _LIMIT = 4_096

    def __missing__(self, count: float) -> float:
        if len(self) >= self._LIMIT:
            self.clear()
        value = 1.0 + math.log(count) if count > 1.0 else count
        self[count] = value
        return value


class DocumentFrequencies:
    """Online document frequencies in two generations, their IDF memo and the prior (see the module docstring)."""

    def __init__(self) -> None:
        self.previous: Counter[str] = Counter()
        self.current: Counter[str] = Counter()
        self.previous_documents = 0
        self.current_documents = 0
        self.generation_start: datetime | None = None
        self.memo: dict[str, float] = {}
        self.memo_documents = 0  # the document count when the memo was last cleared

    @property
    def counted_terms(self) -> int:
        """Entries of the two generations' counts (a term counted in both is two): what their memory grows with."""
        return len(self.previous) + len(self.current)

    def advance(self, now: datetime, horizon: timedelta) -> None:
        """Follow the stream clock: start the first generation, or rotate once a generation is ``horizon`` old."""
        if self.generation_start is None:
            self.generation_start = now
        elif now - self.generation_start >= horizon:
            self.previous, self.current = self.current, Counter()
            self.previous_documents, self.current_documents = self.current_documents, 0
            self.generation_start = now
            self.memo.clear()
            self.memo_documents = self.previous_documents

    def count(self, vector: ArticleVector) -> None:
        """Count the terms of one more document (an article with no terms counts nothing)."""
        if not vector.weights:
            return
        self.current.update(vector.weights.keys())
        self.current_documents += 1
        n = self.previous_documents + self.current_documents
        if n >= self.memo_documents * 1.25:
            self.memo.clear()
            self.memo_documents = n

    def idf(
        self,
        terms: list[str],
        language: str | None,
        prior_documents: int,
        prior_document_tokens: int,
        *,
        memoise: bool = True,
    ) -> list[float]:
        """IDF of each (distinct) term: from the memo, misses computed from the counts and the prior (and memoised
        unless ``memoise`` is False, for a look that must leave no trace)."""
        cache = self.memo
        idf = list(map(cache.get, terms))
        if None in idf:
            log = math.log
            # (the IDF memo is keyed by term alone: right because a partition holds one language)
            pseudo = prior_documents
            frequencies = word_frequencies(language) if pseudo else {}
            if not frequencies:
                pseudo = 0
            base = log(self.previous_documents + self.current_documents + pseudo + 1.0) + 1.0
            prev = self.previous.get
            cur = self.current.get
            prior = frequencies.get
            i = idf.index(None)
            try:
                while True:  # the misses only (list.index scans in C)
                    term = terms[i]
                    df = prev(term, 0) + cur(term, 0) + 1.0
                    frequency = prior(term)
                    if frequency:  # pseudo-documents of general language that hold the term
                        df += pseudo * document_share(frequency, prior_document_tokens)
                    value = base - log(df)
                    idf[i] = value
                    if memoise:
                        cache[term] = value
                    i = idf.index(None, i + 1)
            except ValueError:
                pass
        return cast("list[float]", idf)  # (every miss was filled)


class Vectoriser:
    """Builds article vectors with the settings of one config and the IDF of ``frequencies`` (derived from the
    config: rebuilt, never pickled)."""

    def __init__(self, config: StoryConfig, frequencies: DocumentFrequencies) -> None:
        self._frequencies = frequencies
        self._weights = tuple(
            float(w) for w in (config.title_weight, config.summary_weight, config.lead_weight, config.body_weight)
        )
        self._lead = config.lead_tokens
        self._article_terms = config.article_terms
        self._query_terms = config.query_terms
        self._title_channel = bool(config.title_similarity_weight)
        self._prior = (config.prior_documents, config.prior_document_tokens)
        self._sublinear = SublinearWeights()

    def vector(
        self, title: list[str], summary: list[str], body: list[str], language: str | None, *, memoise: bool = True
    ) -> ArticleVector:
        """The article's unit TF-IDF vector (its ``article_terms`` strongest terms) and its title vector;
        ``memoise`` False leaves the IDF memo as it was."""
        title_w, summary_w, lead_w, body_w = self._weights
        lead = self._lead
        # the counted fields' tokens in order (title first) beside the weight of each occurrence
        toks: list[str] = []
        occurrence: list[float] = []
        for field, weight in ((title, title_w), (summary, summary_w), (body[:lead], lead_w), (body[lead:], body_w)):
            if weight and field:
                toks += field
                occurrence += [weight] * len(field)
        if not toks:
            return EMPTY_VECTOR
        # weighted term counts, counts[t] += weight for every occurrence, in order, in C (dict.update sets each
        # pair before the next is read); terms in order of first occurrence
        counts: dict[str, float] = {}
        counts.update(zip(toks, map(add, map(counts.get, toks, repeat(0.0)), occurrence), strict=True))
        terms = list(counts)
        idf = self._frequencies.idf(terms, language, *self._prior, memoise=memoise)
        weights = list(map(mul, map(self._sublinear.__getitem__, counts.values()), idf))
        # stable sort of the positions by weight: ties keep first-occurrence order (title first), so the result
        # is deterministic (sorting float keys is the fast path of list.sort)
        order = sorted(range(len(terms)), key=weights.__getitem__, reverse=True)
        del order[self._article_terms :]
        if len(order) > 1:
            pick = itemgetter(*order)  # (gathers in C; with one position it would return the bare item)
            kept: Sequence[float] = pick(weights)
            ranked: Sequence[str] = pick(terms)
        else:
            kept, ranked = [weights[order[0]]], [terms[order[0]]]
        norm = math.sqrt(math.fsum(map(mul, kept, kept)))
        if norm == 0.0:
            return EMPTY_VECTOR
        unit = dict(zip(ranked, map((1.0 / norm).__mul__, kept), strict=True))
        title_vec: dict[str, float] = {}
        if self._title_channel and title:
            # each distinct title term weighs its IDF once; with a title field weight they are the first terms
            title_terms = list(dict.fromkeys(title))
            if title_w:
                title_idf = idf[: len(title_terms)]
            else:
                title_idf = self._frequencies.idf(title_terms, language, *self._prior, memoise=memoise)
            title_norm = math.sqrt(math.fsum(map(mul, title_idf, title_idf)))
            title_vec = dict(zip(title_terms, map((1.0 / title_norm).__mul__, title_idf), strict=True))
        return ArticleVector(unit, list(ranked[: self._query_terms]), title_vec)


def add_pruned(weights: dict[str, float], addition: dict[str, float], limit: int) -> tuple[dict[str, float], float]:
    """``weights`` + ``addition`` (in place), pruned to the ``limit`` heaviest terms once it is a quarter larger;
    returns the (possibly new) dict and its squared norm."""
    get = weights.get
    for term, w in addition.items():
        weights[term] = get(term, 0.0) + w
    if len(weights) > limit + limit // 4:
        weights = dict(sorted(weights.items(), key=_SECOND, reverse=True)[:limit])
    values = list(weights.values())
    return weights, math.fsum(map(mul, values, values))
