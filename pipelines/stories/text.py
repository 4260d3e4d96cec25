"""Text features for story clustering: tokens, light stemming and field-weighted term frequencies.

Pure Python, no third-party imports. Everything here is a deterministic function of its input.

Tokenisation rules:

- Words are runs of Unicode word characters (``\\w``); digits-only runs are kept (years, counts and flight
  numbers identify stories). An apostrophe splits a word (``korea's`` -> ``korea`` + the stop word ``s``).
- Words are lowercased, English stop words and one-letter words are dropped, and a light suffix stripper folds
  plurals (``missiles`` -> ``missile``). It is English-only; for other languages it is a no-op on most words,
  which is fine for TF-IDF within one language.
- Scripts written without spaces (Chinese, Japanese kana/kanji, Thai) are split into overlapping character
  bigrams so a sentence does not become one giant token.
- Words longer than :data:`MAX_WORD_CHARS` (URLs, base64, minified junk) are dropped.
- The caller caps the number of characters fed in (see ``StoryConfig.body_chars``), so a gigantic body costs
  no more than its capped lead.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

MAX_WORD_CHARS = 40

_WORD_RE = re.compile(r"\w+")
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
    """Fold common English plurals (``-s``, ``-es``, ``-ies``); other words pass unchanged."""
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


def _split_no_space(word: str) -> list[str]:
    """Character bigrams for runs in scripts written without spaces; other runs pass through whole."""
    out: list[str] = []
    run: list[str] = []
    plain: list[str] = []
    for ch in word:
        if _NO_SPACE_SCRIPT_RE.match(ch):
            if plain:
                out.append("".join(plain))
                plain = []
            run.append(ch)
        else:
            if run:
                out.extend(_bigrams(run))
                run = []
            plain.append(ch)
    if run:
        out.extend(_bigrams(run))
    if plain:
        out.append("".join(plain))
    return out


def _bigrams(chars: list[str]) -> list[str]:
    if len(chars) == 1:
        return chars
    return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]


def _term(piece: str) -> str:
    """The term of one lowercased piece, or "" when it is dropped."""
    if len(piece) > MAX_WORD_CHARS or (len(piece) < 2 and piece.isascii()) or piece in STOP_WORDS:
        return ""
    if piece.isdigit():
        return piece
    term = stem(piece)
    return "" if term in STOP_WORDS else sys.intern(term)


# Memo of word -> term ("" = dropped, _MULTI = several terms, see _MULTI_TERMS). A pure function's cache:
# clearing it never changes results. Bounded so an endless stream of new words cannot grow it forever.
_MULTI = "\x00multi"
_MULTI_TERMS: dict[str, tuple[str, ...]] = {}
_CACHE_LIMIT = 200_000


def _pieces(word: str) -> tuple[str, ...]:
    return tuple(t for t in (_term(p) for p in _split_no_space(word)) if t)


class _Memo(dict[str, str]):
    """word -> term; a miss analyses the word (so a look-up never returns None and needs no second pass)."""

    def __missing__(self, word: str) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
            _MULTI_TERMS.clear()
        if not word.isascii() and _NO_SPACE_SCRIPT_RE.search(word):
            _MULTI_TERMS[word] = _pieces(word)
            self[word] = _MULTI
            return _MULTI
        term = _term(word)
        self[word] = term
        return term


_CACHE = _Memo()


def tokens(text: str, limit: int | None = None) -> list[str]:
    """Content tokens of ``text`` in order (lowercased, stop words dropped, stemmed), at most ``limit``."""
    if not text:
        return []
    words = _WORD_RE.findall(text.lower())
    memo = _CACHE
    # one C-level pass: look-up (analysing new words on the way) and drop the empty terms of stop words
    out: list[str] = list(filter(None, map(memo.__getitem__, words)))
    if not text.isascii() and _MULTI in out:
        out = []
        for word in words:
            term = memo[word]
            if term is _MULTI:
                # (another thread may have cleared the memo in between: recompute then)
                pieces = _MULTI_TERMS.get(word)
                out.extend(_pieces(word) if pieces is None else pieces)
            elif term:
                out.append(term)
    if limit is not None and len(out) > limit:
        del out[limit:]
    return out


def add_weighted(into: dict[str, float], toks: list[str], weight: float) -> None:
    """Add ``weight`` to ``into[t]`` for every occurrence of every token."""
    get = into.get
    for tok, count in Counter(toks).items():
        into[tok] = get(tok, 0.0) + weight * count
