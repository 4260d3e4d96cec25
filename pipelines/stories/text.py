"""Text features for story clustering: tokens, light stemming and field-weighted term frequencies.

Pure Python, no third-party imports. Everything here is a deterministic function of its input.

Tokenisation rules:

- Words are runs of Unicode word characters (``\\w``); digits-only runs are kept (years, counts and flight
  numbers identify stories), underscores split words.
- Words are lowercased, English stop words and one-letter words are dropped, and a light suffix stripper folds
  plurals and possessives (``missiles`` -> ``missile``, ``korea's`` -> ``korea``). It is English-only; for
  other languages it is a no-op on most words, which is fine for TF-IDF within one language.
- Scripts written without spaces (Chinese, Japanese kana/kanji, Thai) are split into overlapping character
  bigrams so a sentence does not become one giant token.
- Words longer than :data:`MAX_WORD_CHARS` (URLs, base64, minified junk) are dropped.
- The caller caps the number of characters fed in (see ``StoryConfig.max_text_chars``), so a gigantic body
  costs no more than its capped lead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator

MAX_WORD_CHARS = 40

_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_NO_SPACE_SCRIPT_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f\uf900-\ufaff]")

_STOP_TEXT = """
    a about above across after afterwards again against all almost alone along already also although always am
    among amongst an and another any anyhow anyone anything anyway anywhere are around as at back be became
    because become becomes been before beforehand behind being below beside besides between beyond both but by
    can cannot could did do does doing done down during each either else elsewhere enough etc even ever every
    everyone everything everywhere except few first for former formerly from further get gets got had has have
    having he her here hereafter hereby herein hers herself him himself his how however i if in indeed into is
    it its itself just last latter least less like made make many may me meanwhile might more moreover most
    mostly much must my myself namely neither never nevertheless new next no nobody none noone nor not nothing
    now nowhere of off often on once one only onto or other others otherwise our ours ourselves out over own
    per perhaps please put rather re said same say says see seem seemed seeming seems several she should since
    so some somehow someone something sometime sometimes somewhere still such than that the their theirs them
    themselves then thence there thereafter thereby therefore therein thereupon these they this those though
    through throughout thru thus to together too toward towards under until up upon us very via was we well
    were what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
    whether which while whither who whoever whole whom whose why will with within without would yet you your
    yours yourself yourselves mr mrs ms dr told according year years day days week weeks time times people
    percent including just monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow s
    t don didn doesn isn wasn aren weren won wouldn couldn shouldn ve ll photo image video getty reuters ap
    afp http https www com html
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())


def stem(word: str) -> str:
    """Fold common English inflections: possessive ``'s``, plurals, and a few ``-ies``/``-es`` forms."""
    if word.endswith(("'s", "\u2019s")):
        word = word[:-2]
    n = len(word)
    if n <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and n > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def _split_no_space(word: str) -> Iterator[str]:
    """Character bigrams for runs in scripts written without spaces; other runs pass through whole."""
    start = 0
    run: list[str] = []
    for i, ch in enumerate(word):
        if _NO_SPACE_SCRIPT_RE.match(ch):
            if not run and i > start:
                yield word[start:i]
            run.append(ch)
        elif run:
            yield from _bigrams(run)
            run = []
            start = i
    if run:
        yield from _bigrams(run)
    elif start < len(word):
        yield word[start:]


def _bigrams(chars: list[str]) -> Iterator[str]:
    if len(chars) == 1:
        yield chars[0]
        return
    for i in range(len(chars) - 1):
        yield chars[i] + chars[i + 1]


def tokens(text: str, limit: int | None = None) -> list[str]:
    """Content tokens of ``text`` in order (lowercased, stop words dropped, stemmed), at most ``limit``."""
    out: list[str] = []
    if not text:
        return out
    stop = STOP_WORDS
    for match in _WORD_RE.finditer(text):
        raw = match.group()
        if len(raw) > MAX_WORD_CHARS:
            continue
        word = raw.lower()
        pieces: Iterable[str] = (word,)
        if not word.isascii() and _NO_SPACE_SCRIPT_RE.search(word):
            pieces = _split_no_space(word)
        for piece in pieces:
            if len(piece) < 2 and piece.isascii():
                continue
            if piece in stop:
                continue
            term = piece
            if not piece.isdigit():
                term = stem(piece)
                if term in stop:
                    continue
            out.append(term)
            if limit is not None and len(out) >= limit:
                return out
    return out


def add_weighted(into: dict[str, float], toks: Iterable[str], weight: float) -> None:
    """Add ``weight`` to ``into[t]`` for every occurrence of every token."""
    get = into.get
    for tok in toks:
        into[tok] = get(tok, 0.0) + weight


def sublinear(weights: dict[str, float]) -> dict[str, float]:
    """Dampen repeated terms: ``w -> 1 + ln(w)`` above 1, unchanged below (keeps field weights)."""
    log = math.log
    return {t: (1.0 + log(w)) if w > 1.0 else w for t, w in weights.items()}
