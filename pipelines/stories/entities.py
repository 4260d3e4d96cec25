"""Names as evidence of a new event: a cheap online proxy for the named entities of an article.

An article that joins a quiet story (a resurfacing claim) and names people, places or organisations the story
has never held is likely a new event with the same protagonists and topic (a primary defeat, then the leadership
race it opens; an indictment, then a guilty plea). Named-entity recognition is too slow and too
language-specific for the hot path, so the proxy is the *proper-noun-like* words of the title, summary and lead:

- words starting with an upper-case letter (Unicode: any cased script) that do not start a sentence (the
  first word of each sentence, and of each field, is skipped: a capital there says nothing);
- a title written in title case (most of its words capitalised, as some outlets do) is skipped as a whole;
- each word becomes its content term (:func:`storywire.pipelines.stories.text.tokens`: lowercased, stop words
  dropped, plurals folded), so it compares with the story's terms;
- terms that are common words of the article's language (a general frequency of at least
  :data:`NAME_MAX_FREQUENCY`, from the IDF prior's word lists, :mod:`~storywire.pipelines.stories.idf_prior`)
  are left out: capitalised titles, months and institutions ("President", "January", "Council", "Senate") say
  little about which event an article covers, rare names ("Natarajan", "Mattis") do. A language without word
  lists keeps every capitalised word.

Scripts without case (Chinese, Japanese, Thai, Arabic, ...) give no such words: their articles get no novelty,
so joins are decided as before. Deterministic; computed only when an article is scored against a quiet story.

:func:`novelty` looks at the names among the article's most specific terms (its ``query_terms`` strongest, the
ones that say what the article is about: a name in a byline or a photo credit rarely is one) and gives the share,
by the article's term weight, of those that the story has never held (neither in its content centroid nor in its
title centroid): 0 when every such name is known to the story (or the article has none), 1 when every one is
new.
"""

from __future__ import annotations

import math
import re

from storywire.pipelines.stories import text as textmod
from storywire.pipelines.stories.idf_prior import word_frequencies
from storywire.pipelines.stories.story import LiveStory
from storywire.pipelines.stories.vectors import ArticleVector

__all__ = ["LEAD_CHARS", "entity_terms", "novelty"]

LEAD_CHARS = 600
"""Characters of the body read for names (the lead: who the article is about)."""
_WORD_RE = re.compile(r"\w+")
_SENTENCE_RE = re.compile(r"[.!?\u2026:;\u3002]+[\s\"'\u201d\u2019)]+|\n+")
NAME_MAX_FREQUENCY = 2e-5
"""General word frequency (share of running words) from which a capitalised word is a common word, not a name."""
_TITLE_CASE_SHARE = 0.6
"""A title with more than this share of capitalised words (of those with three or more letters) is in title case."""


def _capitalised(word: str) -> bool:
    return word[0].isupper()


def _title_case(title: str) -> bool:
    words = [w for w in _WORD_RE.findall(title) if len(w) >= 3 and w[0].isalpha()]
    if not words:
        return False
    return sum(map(_capitalised, words)) > _TITLE_CASE_SHARE * len(words)


def entity_terms(title: str, summary: str, body: str, language: str | None) -> tuple[str, ...]:
    """The distinct terms of the proper-noun-like words of an article (see the module docstring), in order of
    first appearance."""
    common = word_frequencies(language)
    fields = [summary, body[:LEAD_CHARS]]
    if title and not _title_case(title):
        fields.insert(0, title)
    found: dict[str, None] = {}
    for field in fields:
        if not field:
            continue
        for sentence in _SENTENCE_RE.split(field):
            words = _WORD_RE.findall(sentence)
            for word in words[1:]:
                if word[0].isupper():
                    for term in textmod.tokens(word):
                        if common.get(term, 0.0) < NAME_MAX_FREQUENCY:
                            found[term] = None
    return tuple(found)


def novelty(entities: tuple[str, ...], vec: ArticleVector, story: LiveStory) -> float:
    """The share (by the article's term weight) of the name terms among the article's most specific terms
    (``vec.top``) that ``story`` has never held."""
    if not entities:
        return 0.0
    known = story.centroid
    titles = story.titles
    names = set(entities)
    weights = vec.weights
    total: list[float] = []
    new: list[float] = []
    for term in vec.top:
        if term not in names:
            continue
        weight = weights[term]
        total.append(weight)
        if term not in known and term not in titles:
            new.append(weight)
    if not new:
        return 0.0
    return math.fsum(new) / math.fsum(total)
