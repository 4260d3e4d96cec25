"""Drop exact repeats and number revisions, keyed by article id (batch form for replay)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.pipelines.beam.coders import pack, unpack
from storywire.pipelines.beam.common import counter
from storywire.pipelines.core.revisions import number_revisions
from storywire.schemas.records import Article


def _keyed(article: Article) -> tuple[str, bytes]:
    return article.article_id, pack(article)


def _revisions(keyed: tuple[str, Iterable[bytes]]) -> Iterator[Article]:
    for article in number_revisions(unpack(packed) for packed in keyed[1]):
        if article is None:
            counter("articles.exact_repeats").inc()
            continue
        if article.revision > 1:
            counter("articles.revisions").inc()
        yield article


class DedupeRevisions(beam.PTransform):
    """Article captures -> distinct revisions. Parallel by article id; the group per id is small.

    The GroupByKey holds every article of the run at once: they wait in it packed (:mod:`.coders`)."""

    def expand(self, articles: PCollection) -> PCollection:
        return (
            articles
            | "KeyByArticleId" >> beam.Map(_keyed).with_output_types(tuple[str, bytes])
            | "GroupCaptures" >> beam.GroupByKey()
            | "NumberRevisions" >> beam.FlatMap(_revisions)
        )
