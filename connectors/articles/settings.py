"""Extraction limits, importable without loading trafilatura (it is slow to import and warns on import).

Every page is bounded three ways (issue 15: a 2.4 KB gzip page expanding to 9 MB of HTML took 95 s and 884 MB and
gave a 6.8-million-character article):

- ``max_html_bytes``: the body handed to the extractor is cut to this size (the article is then marked
  ``text_truncated``); the extractor's time and memory grow with the markup (measured on the worst page we know,
  nested elements repeated: 1 MiB costs 6-12 s and 340 MB on a 2-core runner; the uncut 9 MB took 95 s and 884 MB);
- ``timeout_s``: trafilatura runs in a worker process (:mod:`storywire.connectors.articles.worker`); a page it
  spins on longer is stopped (the worker is killed and replaced) and dead-lettered as ``ExtractionTimeoutError``.
  ``None`` (or 0) runs it in-process, without a time limit;
- ``max_text_chars``: longer article text is cut (at a word boundary) and marked ``text_truncated``.

Charsets: a body whose declared charset does not fit its bytes is decoded with the one that does (see
:mod:`storywire.connectors.articles.charset`); text still made of more than ``max_replacement_ratio``
replacement characters, or reading as mojibake (``max_mess_ratio``), is refused as ``EncodingError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from storywire.connectors.errors import InvalidSettingError

DEFAULT_MIN_CHARS = 200
"""Text shorter than this is not an article (a video page, a paywall teaser); Media Cloud uses the same floor."""

DEFAULT_MAX_TEXT_CHARS = 200_000
"""About 30,000 words, ten times a long read; longer text is cut and the article marked ``text_truncated``."""

DEFAULT_MAX_HTML_BYTES = 1024 * 1024
"""Markup beyond this is not given to the extractor. Most news pages weigh 50-600 KB, inline scripts included;
a page cut here usually keeps its article, which comes before the trailing scripts and JSON."""

DEFAULT_TIMEOUT_S = 20.0
"""A normal page takes 2-200 ms; the worst 1 MiB page we know 6-12 s (about 2x headroom)."""

DEFAULT_MAX_REPLACEMENT_RATIO = 0.01
"""More than 1% U+FFFD in the extracted text: the charset was wrong and could not be fixed."""

DEFAULT_MAX_MESS_RATIO = 0.2
"""charset-normalizer's mess ratio of the text (0 for clean text in any script; mojibake scores 0.2 to 7)."""

DEFAULT_WORKER_RECYCLE_BYTES = 512 * 1024 * 1024
"""A worker whose peak memory passed this after a page is replaced, which gives the memory back."""


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """The per-page bounds of article extraction (defaults above; ``ExtractArticles`` takes the same names)."""

    min_chars: int = DEFAULT_MIN_CHARS
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    max_replacement_ratio: float = DEFAULT_MAX_REPLACEMENT_RATIO
    max_mess_ratio: float = DEFAULT_MAX_MESS_RATIO
    worker_recycle_bytes: int = DEFAULT_WORKER_RECYCLE_BYTES

    def __post_init__(self) -> None:
        for name in ("min_chars", "max_text_chars", "max_html_bytes", "worker_recycle_bytes"):
            if getattr(self, name) < 1:
                raise InvalidSettingError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_text_chars < self.min_chars:
            raise InvalidSettingError(f"max_text_chars ({self.max_text_chars}) is below min_chars ({self.min_chars})")
        if self.timeout_s is not None and self.timeout_s < 0:
            raise InvalidSettingError(
                f"timeout_s must be positive (or None: no worker, no limit), got {self.timeout_s}"
            )
        for name in ("max_replacement_ratio", "max_mess_ratio"):
            if getattr(self, name) < 0:
                raise InvalidSettingError(f"{name} must not be negative, got {getattr(self, name)}")

    @property
    def isolated(self) -> bool:
        """Whether extraction runs in a worker process with a time limit."""
        return bool(self.timeout_s)
