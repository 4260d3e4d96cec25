"""The inverted candidate index: which live stories an article should be compared with.

Each story indexes its articles' most specific terms (the ``query_terms`` strongest of each article vector, up
to ``index_terms`` per story). An article looks up its own ``query_terms`` most specific terms; the stories
found are ranked by the summed article weight of the terms they share (a cheap partial dot product) and only
the best ``max_candidates`` are scored exactly; when more stories share terms than that, each one's shared weight
is first multiplied by its rank weight (:func:`storywire.pipelines.stories.similarity.rank_weight`: its time
factor, less for a quiet story that needs more evidence), so old look-alike stories do not take the slots of
recent ones. So the cost of an article does not grow with the number of live stories.
A term shared by more than ``max_posting`` live stories is too common to help and is not looked up.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from operator import itemgetter

from storywire.pipelines.stories.story import LiveStory
from storywire.pipelines.stories.vectors import ArticleVector

__all__ = ["CandidateIndex"]

_SECOND = itemgetter(1)


class CandidateIndex:
    """Index term -> the live stories (by ``seq``) that index it. State: pickled with the assigner."""

    def __init__(self) -> None:
        # term -> story seqs in insertion order (a dict as an ordered set: O(1) removal on expiry, and a dict of
        # ints is not tracked by the garbage collector); the order decides ties between candidates
        self.postings: dict[str, dict[int, None]] = {}

    def add(self, story: LiveStory, terms: list[str], limit: int) -> None:
        """Index an article's most specific ``terms`` for its story, while the story has fewer than ``limit``."""
        if len(story.index_terms) < limit:
            postings = self.postings
            seq = story.seq
            index_terms = story.index_terms
            for term in terms:
                if term not in index_terms:
                    index_terms[term] = None
                    posting = postings.get(term)
                    if posting is None:
                        postings[term] = {seq: None}
                    else:
                        posting[seq] = None

    def remove(self, story: LiveStory) -> None:
        """Drop every entry of a story (it expired)."""
        postings = self.postings
        for term in story.index_terms:
            posting = postings.get(term)
            if posting is not None and posting.pop(story.seq, 0) is None and not posting:
                del postings[term]

    def hand_over(self, absorbed: LiveStory, survivor: LiveStory, limit: int) -> None:
        """Drop ``absorbed``'s entries and index its terms for ``survivor`` (up to ``limit`` terms; a merge)."""
        self.remove(absorbed)
        postings = self.postings
        index_terms = survivor.index_terms
        for term in absorbed.index_terms:
            if term not in index_terms and len(index_terms) < limit:
                index_terms[term] = None
                postings.setdefault(term, {})[survivor.seq] = None

    def candidates(
        self,
        vec: ArticleVector,
        max_posting: int,
        max_candidates: int,
        rank_weight: Callable[[int], float] | None = None,
    ) -> list[int]:
        """The seqs of the (at most ``max_candidates``) stories sharing most article weight in the article's most
        specific terms, each times its ``rank_weight`` (by seq) when there are more; in index order (ties keep
        it)."""
        overlap: dict[int, float] = {}
        get = overlap.get
        postings = self.postings
        weights = vec.weights
        for term in vec.top:
            weight = weights[term]
            posting = postings.get(term)
            if posting is not None and len(posting) <= max_posting:
                if not overlap:  # the first posting in C (0.0 + weight is weight)
                    overlap = dict.fromkeys(posting, weight)
                    get = overlap.get
                    continue
                for seq in posting:
                    overlap[seq] = get(seq, 0.0) + weight
        if len(overlap) <= max_candidates:
            return list(overlap)
        if rank_weight is not None:
            overlap = {seq: shared * rank_weight(seq) for seq, shared in overlap.items()}
        return [seq for seq, _ in heapq.nlargest(max_candidates, overlap.items(), key=_SECOND)]
