"""Fetched page -> extracted Article (shared by replay and live).

Each DoFn instance owns one extraction worker process (``setup`` to ``teardown``,
:class:`~storywire.connectors.articles.worker.IsolatedWorker`): trafilatura runs there under the per-page time
limit, and a page it spins on is stopped and dead-lettered (``ExtractionTimeoutError``). Beam's parallelism (several
DoFn instances) gives several workers; trafilatura is not thread-safe, and processes keep it apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.articles.extract import extract_page
from storywire.connectors.articles.settings import (
    DEFAULT_MAX_HTML_BYTES,
    DEFAULT_MAX_MESS_RATIO,
    DEFAULT_MAX_REPLACEMENT_RATIO,
    DEFAULT_MAX_TEXT_CHARS,
    DEFAULT_MIN_CHARS,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKER_RECYCLE_BYTES,
    ExtractionLimits,
)
from storywire.connectors.articles.worker import IsolatedWorker
from storywire.connectors.errors import InputError
from storywire.connectors.failures import Failure, Stage
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.core.normalise import PageTask, build_article


class _ExtractFn(beam.DoFn):
    def __init__(self, limits: ExtractionLimits) -> None:
        self._limits = limits
        self._worker: IsolatedWorker | None = None

    def setup(self) -> None:
        if self._limits.timeout_s:
            self._worker = IsolatedWorker(
                timeout_s=self._limits.timeout_s, recycle_bytes=self._limits.worker_recycle_bytes
            )
            self._worker.start()

    def teardown(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def process(self, task: PageTask) -> Iterator[Any]:
        response = task.response
        try:
            page = extract_page(response, limits=self._limits, worker=self._worker)
            article = build_article(task, page)
        except Exception as exc:  # InputErrors and library surprises alike become dead letters
            payload = None if isinstance(exc, InputError) and response.status >= 300 else response.body
            yield dead_letter(
                Failure.from_exception(
                    Stage.EXTRACT_ARTICLE, response.url, exc, response.captured_at, response.source_ref, payload
                )
            )
            return
        if page.text_truncated:
            article = article.replace(text_truncated=True)
            counter("articles.text_truncated").inc()
        if page.charset_corrected:
            counter("articles.charset_corrected").inc()
        counter(f"articles.extracted.{page.method}").inc()
        yield article


class ExtractArticles(beam.PTransform):
    """PageTask -> Article (revision 1, no story yet), plus ``dead_letters``.

    The limits (:mod:`storywire.connectors.articles.settings`, which documents each): ``max_text_chars``,
    ``max_html_bytes``, ``timeout_s`` (``None`` or 0: extraction in the DoFn's own process, without a time limit),
    ``max_replacement_ratio`` and ``max_mess_ratio`` (garbled text), ``worker_recycle_bytes``.
    """

    def __init__(
        self,
        min_chars: int = DEFAULT_MIN_CHARS,
        *,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        max_replacement_ratio: float = DEFAULT_MAX_REPLACEMENT_RATIO,
        max_mess_ratio: float = DEFAULT_MAX_MESS_RATIO,
        worker_recycle_bytes: int = DEFAULT_WORKER_RECYCLE_BYTES,
        limits: ExtractionLimits | None = None,
    ) -> None:
        """``limits`` (the live config's ``extraction:``) replaces the keyword arguments when given."""
        super().__init__()
        self._limits = limits or ExtractionLimits(
            min_chars=min_chars,
            max_text_chars=max_text_chars,
            max_html_bytes=max_html_bytes,
            timeout_s=timeout_s,
            max_replacement_ratio=max_replacement_ratio,
            max_mess_ratio=max_mess_ratio,
            worker_recycle_bytes=worker_recycle_bytes,
        )

    def expand(self, tasks: PCollection) -> beam.pvalue.DoOutputsTuple:
        return tasks | "Extract" >> beam.ParDo(_ExtractFn(self._limits)).with_outputs(DEAD_LETTERS, main="articles")
