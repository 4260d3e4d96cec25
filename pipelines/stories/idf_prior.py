"""A prior for document frequencies, so IDF is sensible from the first article of a stream.

Online IDF starts from nothing: after a few hundred articles every word looks rare, and topic words such as
``flight`` or ``rocket`` weigh as much as the names that tell one story from another. The story core therefore
adds ``prior_documents`` pseudo-documents whose term shares come from general word frequencies (the
``wordfreq`` package, bundled offline, about 40 languages): the chance that a document of ``doc_tokens``
content tokens contains a word of frequency ``p`` is ``1 - exp(-doc_tokens * p)``. The prior fades as the
stream grows: next to a million real documents, ten thousand pseudo-documents no longer matter.

Only ``wordfreq``'s small word lists are loaded (about 30,000 words per language, frequency >= 1e-6, a few MB):
a rarer word would add at most a few pseudo-documents, which changes nothing. Unknown languages get an empty
table, which is the behaviour without a prior. ``wordfreq`` is imported by the first lookup, not with this module
(about 0.3 s): commands that only read the story settings do not pay for it.
"""

from __future__ import annotations

import functools
import math

__all__ = ["document_share", "word_frequencies"]


@functools.lru_cache(maxsize=128)  # bounded: the language comes from untrusted pages and feeds
def word_frequencies(language: str | None) -> dict[str, float]:
    """Word -> frequency (share of running words) for ``language`` (lower-case ISO 639-1, e.g. ``en``); {} for
    anything else (unknown codes, region suffixes, junk)."""
    import wordfreq

    if not language or language not in wordfreq.available_languages(wordlist="small"):
        return {}
    return wordfreq.get_frequency_dict(language, wordlist="small")


def document_share(frequency: float, doc_tokens: int) -> float:
    """Expected share of documents of ``doc_tokens`` content tokens that contain a word of ``frequency``."""
    return -math.expm1(-doc_tokens * frequency)
