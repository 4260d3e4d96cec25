"""Fetched page -> extracted Article (shared by replay and live)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.articles.extract import extract_page
from storywire.connectors.articles.settings import DEFAULT_MIN_CHARS
from storywire.connectors.errors import InputError
from storywire.connectors.failures import Failure, Stage
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.core.normalise import PageTask, build_article


class _ExtractFn(beam.DoFn):
    def __init__(self, min_chars: int) -> None:
        self._min_chars = min_chars

    def process(self, task: PageTask) -> Iterator[Any]:
        response = task.response
        try:
            page = extract_page(response, min_chars=self._min_chars)
            article = build_article(task, page)
        except Exception as exc:  # InputErrors and library surprises alike become dead letters
            payload = None if isinstance(exc, InputError) and response.status >= 300 else response.body
            yield dead_letter(
                Failure.from_exception(
                    Stage.EXTRACT_ARTICLE, response.url, exc, response.captured_at, response.source_ref, payload
                )
            )
            return
        counter(f"articles.extracted.{page.method}").inc()
        yield article


class ExtractArticles(beam.PTransform):
    """PageTask -> Article (revision 1, no story yet), plus ``dead_letters``."""

    def __init__(self, min_chars: int = DEFAULT_MIN_CHARS) -> None:
        super().__init__()
        self._min_chars = min_chars

    def expand(self, tasks: PCollection) -> beam.pvalue.DoOutputsTuple:
        return tasks | "Extract" >> beam.ParDo(_ExtractFn(self._min_chars)).with_outputs(DEAD_LETTERS, main="articles")
