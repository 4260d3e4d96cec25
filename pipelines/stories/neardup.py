"""Near-duplicate sketches for story assignment: bottom-k MinHash over the word 3-shingles of a whole text.

Pure Python, no third-party imports; every function is a deterministic function of its input.

A syndicated copy usually differs from the original in its first line (each outlet writes its own standfirst),
its title and a few edited words, while the body runs on identically. So the sketch covers every 3-shingle of
the (capped) token sequence, not a prefix: a differing lead only removes the few shingles it touches from the
estimate, wherever it sits.

How a sketch is computed (:func:`sketch`):

1. Every token gets the 32-bit ``crc32`` of its UTF-8 bytes (computed afresh: a memo was slower, its look-ups
   in a big dict cost more than the hashing).
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
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import compress, repeat
from operator import and_

__all__ = ["MIN_SHINGLES", "sketch", "sketch_jaccard", "token_hashes"]

MIN_SHINGLES = 8
"""Fewest distinct shingles a text needs to get a sketch (shorter texts say too little to call them copies)."""

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
