"""ProgressTap counts every element into the progress registry on the FnApiRunner (which runs the DoFns in this
process) and passes the elements on unchanged, element type included."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from storywire.pipelines.beam.progress_tap import FLUSH_EVERY, ProgressTap
from storywire.pipelines.core import progress


@pytest.fixture(autouse=True)
def _clean_registry() -> None:
    progress.reset()


def _pipeline() -> beam.Pipeline:
    return beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def test_counts_every_element_and_passes_it_on_unchanged() -> None:
    elements = [("k", n) for n in range(FLUSH_EVERY * 3 + 17)]  # several flushes and a remainder
    with _pipeline() as pipeline:
        tapped = (
            pipeline
            | beam.Create(elements, reshuffle=False)
            | "Records" >> ProgressTap(progress.RECORDS)
            | "Again" >> ProgressTap(progress.ARTICLES)
        )
        assert_that(tapped, equal_to(elements))
    assert progress.snapshot() == {progress.RECORDS: len(elements), progress.ARTICLES: len(elements)}


def test_keeps_the_element_type_for_the_coders_downstream() -> None:
    pipeline = _pipeline()
    keyed = pipeline | beam.Create([("a", 1)]).with_output_types(tuple[str, int])
    tapped = keyed | ProgressTap(progress.PAGES)
    assert tapped.element_type == keyed.element_type


def test_an_empty_collection_counts_nothing() -> None:
    with _pipeline() as pipeline:
        tapped = pipeline | beam.Create([]) | ProgressTap(progress.RECORDS)
        assert_that(tapped, equal_to([]))
    assert progress.snapshot().get(progress.RECORDS, 0) == 0


@pytest.mark.parametrize(("flush_every", "seen"), [(1, [1, 2, 3, 4, 5]), (FLUSH_EVERY, [0, 0, 0, 0, 0])])
def test_flush_every_sets_how_soon_the_display_sees_an_element(flush_every: int, seen: list[int]) -> None:
    """Rare elements (new stories) are told at once; common ones in batches, at the latest at the bundle's end."""
    with _pipeline() as pipeline:
        counts = (
            pipeline
            | beam.Create(list(range(5)), reshuffle=False)
            | ProgressTap(progress.STORIES, flush_every=flush_every)
            | beam.Map(lambda _: progress.snapshot().get(progress.STORIES, 0))  # fused: runs right after the tap
        )
        assert_that(counts, equal_to(seen))
    assert progress.snapshot()[progress.STORIES] == 5
