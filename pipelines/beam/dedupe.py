"""Drop exact repeats and number revisions, keyed by article id (batch form for replay)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.pipelines.beam.common import counter
from storywire.pipelines.core.revisions import number_revisions
from storywire.schemas.records import Article


def _revisions(keyed: tuple[str, Iterable[Article]]) -> Iterator[Article]:
    for article in number_revisions(keyed[1]):
        if article is None:
            counter("articles.exact_repeats").inc()
            continue
        if article.revision > 1:
            counter("articles.revisions").inc()
        yield article


class DedupeRevisions(beam.PTransform):
    """Article captures -> distinct revisions. Parallel by article id; the group per id is small."""

    def expand(self, articles: PCollection) -> PCollection:
        return (
            articles
            | "KeyByArticleId" >> beam.Map(lambda a: (a.article_id, a))
            | "GroupCaptures" >> beam.GroupByKey()
            | "NumberRevisions" >> beam.FlatMap(_revisions)
        )
