"""Near-duplicate sketches for story assignment: bottom-k MinHash over the word 3-shingles of a whole text.

Pure Python, no third-party imports; every function is a deterministic function of its input.

A syndicated copy usually differs from the original in its first line (each outlet writes its own standfirst),
its title and a few edited words, while the body runs on identically. So the sketch covers every 3-shingle of
the (capped) token sequence, not a prefix: a differing lead only removes the few shingles it touches from the
estimate, wherever it sits.

How a sketch is computed (:func:`sketch`):

1. Every token gets the 32-bit ``crc32`` of its UTF-8 bytes (computed afresh: hashing costs less than a memo's
   look-ups in a big dict).
2. A shingle's hash is ``hash()`` of the tuple of its three token hashes, masked to 62 bits. CPython salts the
   hash of ``str``, ``bytes`` and ``datetime`` only; the hash of a tuple of ints is a fixed function of the ints
   (xxHash-style mixing since CPython 3.8, on 64-bit builds), so sketches are the same in every process.
   ``map(hash, zip(...))`` keeps the per-shingle work in C.
3. *Anchors*: a shingle whose first token's crc32 falls in the lowest quarter is anchored. Shingles are ordered
   anchored first, then by hash, and the sketch is the ``size`` smallest in that order (ascending values:
   non-anchored shingles get bit 62 set). A text with at least ``size`` distinct anchored shingles (about
   ``4 * size`` tokens) therefore only hashes its anchored shingles, a quarter of them; a shorter text hashes
   them all. Which shingles are anchored depends only on their words, so a copy anchors the same ones, and
   the bottom-k of one fixed order is a proper MinHash sketch: for long texts it estimates the Jaccard
   similarity of the anchored shingles, a sample of all of them picked by their first word (so a little
   noisier than a sample of single shingles).

:func:`sketch_jaccard` estimates the Jaccard similarity of the two shingle sets from two sketches (the share of
the union's bottom-k that both sketches hold); its standard deviation is about ``sqrt(J * (1 - J) / size)``.

Each live story keeps a :data:`SketchIndex` of its original (non-duplicate) articles: :func:`index_original`
files an original under its :data:`INDEXED_HASHES` smallest hashes, and :func:`find_near_duplicate` compares a
new sketch only with the originals that share at least two of its smallest indexed hashes. A hash shared by
:data:`BOILERPLATE_BUCKET` originals of one story is boilerplate: it is skipped, when indexing and when looking
up, in favour of the next smallest one.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence
from itertools import compress, repeat
from operator import and_

__all__ = [
    "BOILERPLATE_BUCKET",
    "INDEXED_HASHES",
    "MIN_SHINGLES",
    "Original",
    "SketchIndex",
    "find_near_duplicate",
    "index_original",
    "merge_indexes",
    "sketch",
    "sketch_jaccard",
    "token_hashes",
]

MIN_SHINGLES = 8
"""Fewest distinct shingles a text needs to get a sketch (shorter texts say too little to call them copies)."""

INDEXED_HASHES = 6
"""Smallest hashes of a sketch an original is indexed under (and a look-up reads)."""
BOILERPLATE_BUCKET = 8
"""Originals of one story sharing a hash that make it boilerplate (not indexed further, skipped on look-up)."""

Original = tuple[str, bytes]
"""What a story's index remembers of one of its original articles: its id and its sketch packed as 64-bit ints (a
fifth of the size of a tuple of ints). Plain tuples of atomic values, so the garbage collector stops tracking
them (as it does the index's tuples of them)."""
SketchIndex = dict[int, tuple[Original, ...]]
"""One story's originals by their smallest hashes."""

_ANCHOR_RATE = 4
_ANCHOR_CUT = 2**32 // _ANCHOR_RATE
_LOW = 2**62 - 1
_HIGH = 2**62


def token_hashes(toks: Sequence[str]) -> list[int]:
    """``crc32`` of every token's UTF-8 bytes, in order."""
    return list(map(zlib.crc32, map(str.encode, toks)))


def sketch(toks: Sequence[str], size: int) -> tuple[int, ...]:
    """Bottom-``size`` MinHash sketch (ascending) of the word 3-shingles of ``toks``; ``()`` when too short."""
    n = len(toks)
    if n < MIN_SHINGLES + 2:
        return ()
    hashes = token_hashes(toks)
    shingles = zip(hashes, hashes[1:], hashes[2:], strict=False)
    if n >= _ANCHOR_RATE * size:
        # the shingles whose first token is an anchor, all in C
        anchored = set(map(and_, map(hash, compress(shingles, map(_ANCHOR_CUT.__gt__, hashes))), repeat(_LOW)))
        if len(anchored) >= size:
            return tuple(sorted(anchored)[:size])
        shingles = zip(hashes, hashes[1:], hashes[2:], strict=False)
    # short text: every shingle, the anchored ones ordered first (the same order as above)
    values = {
        (hash(shingle) & _LOW) | (_HIGH if first >= _ANCHOR_CUT else 0)
        for shingle, first in zip(shingles, hashes, strict=False)
    }
    if len(values) < MIN_SHINGLES:
        return ()
    return tuple(sorted(values)[:size])


def sketch_jaccard(a: Sequence[int], b: Sequence[int], size: int) -> float:
    """Jaccard estimate from two bottom-k sketches: the share of the union's bottom-k held by both."""
    set_a = set(a)
    both = set_a.intersection(b)
    if not both:
        return 0.0
    union = sorted(set_a.union(b))[:size]
    return sum(1 for h in union if h in both) / len(union)


def index_original(index: SketchIndex, article_id: str, article_sketch: Sequence[int]) -> None:
    """File an original article of a story in the story's ``index`` under its smallest non-boilerplate hashes."""
    original = (article_id, array("q", article_sketch).tobytes())
    keys = 0
    for key in article_sketch:
        bucket = index.get(key)
        if bucket is None:
            index[key] = (original,)
        elif len(bucket) < BOILERPLATE_BUCKET:
            index[key] = (*bucket, original)
        else:
            continue  # a full bucket is boilerplate shared by many articles: index a further hash
        keys += 1
        if keys == INDEXED_HASHES:
            break


def find_near_duplicate(
    article_sketch: Sequence[int], indexes: Sequence[SketchIndex], threshold: float, size: int
) -> tuple[int, str] | None:
    """The most similar original among those sharing at least two of the sketch's smallest indexed hashes, as
    (position of its story's index in ``indexes``, article id), when its estimated Jaccard similarity is at least
    ``threshold``; ties: the earlier index (pass the oldest story first), then the earlier original."""
    best: tuple[int, str] | None = None
    best_score = threshold
    for position, index in enumerate(indexes):
        if not index:
            continue
        hits: dict[str, int] = {}
        found: dict[str, bytes] = {}
        keys = 0
        for key in article_sketch:
            bucket = index.get(key)
            if bucket is not None:
                if len(bucket) >= BOILERPLATE_BUCKET:
                    continue  # boilerplate: skipped when indexing too
                for article_id, packed in bucket:
                    hits[article_id] = hits.get(article_id, 0) + 1
                    found[article_id] = packed
            keys += 1
            if keys == INDEXED_HASHES:
                break
        for article_id, count in hits.items():
            if count < 2:  # a near duplicate (Jaccard >= 0.5) shares most of the smallest hashes
                continue
            score = sketch_jaccard(article_sketch, memoryview(found[article_id]).cast("q"), size)
            if score > best_score or (score == best_score and best is None):
                best, best_score = (position, article_id), score
    return best


def merge_indexes(into: SketchIndex, other: SketchIndex) -> None:
    """Add ``other``'s originals to ``into`` (a merge of two stories)."""
    for key, bucket in other.items():
        mine = into.get(key)
        into[key] = bucket if mine is None else (*mine, *bucket)
