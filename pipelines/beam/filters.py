"""Leave out the articles a replay's :class:`~storywire.pipelines.core.filters.ArticleFilter` does not keep.

Counted for the run report's balances: ``filter.tasks.time`` (page tasks left out before extraction, their time
fixed by the feed) and ``filter.articles.<time|outlet|language>`` (articles left out after extraction or reading).
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.pipelines.beam.common import counter
from storywire.pipelines.core import progress
from storywire.pipelines.core.filters import ArticleFilter, time_before_extraction
from storywire.pipelines.core.normalise import PageTask
from storywire.schemas.records import Article


def _keep_task(task: PageTask, keep: ArticleFilter) -> Iterator[PageTask]:
    when = time_before_extraction(task)
    if when is not None and not keep.in_range(when):
        counter("filter.tasks.time").inc()
        progress.add_total(progress.PAGES, -1)  # one page fewer to extract
        return
    yield task


def _keep_article(article: Article, keep: ArticleFilter) -> Iterator[Article]:
    reason = keep.drop_reason(article)
    if reason is not None:
        counter(f"filter.articles.{reason}").inc()
        return
    yield article


class FilterTasksByTime(beam.PTransform):
    """Page tasks -> those that may be kept: a task whose feed item fixes a time outside the range is left out."""

    def __init__(self, keep: ArticleFilter) -> None:
        super().__init__()
        self._keep = keep

    def expand(self, tasks: PCollection) -> PCollection:
        return tasks | "KeepTasksInRange" >> beam.FlatMap(_keep_task, keep=self._keep)


class FilterArticles(beam.PTransform):
    """Articles -> those the filter keeps."""

    def __init__(self, keep: ArticleFilter) -> None:
        super().__init__()
        self._keep = keep

    def expand(self, articles: PCollection) -> PCollection:
        return articles | "KeepArticles" >> beam.FlatMap(_keep_article, keep=self._keep)
