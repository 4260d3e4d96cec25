"""What a replay holds between its stages is packed (pipelines/beam/coders.py), and the files stay the same."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp

from storywire.pipelines.beam.coders import LineCoder, PackLinesFn, pack, unpack
from storywire.pipelines.beam.sinks import WriteJsonl
from storywire.pipelines.beam.stories import _unpacked_in_order
from storywire.pipelines.core.revisions import order_key
from storywire.schemas.codec import encode
from tests.support.articles import T0, make_article

TEXT = "The river rose through the night and the levee held until dawn, officials said. " * 60


def test_a_packed_article_comes_back_equal_and_is_a_third_of_beams_encoding() -> None:
    article = make_article("a1", "Levee holds", TEXT, summary="The levee held.")
    assert unpack(pack(article)) == article
    assert len(pack(article)) * 3 < len(FastPrimitivesCoder().encode(article))


def test_lines_are_deflated_in_chunks_in_order_and_the_line_coder_writes_them_as_they_were() -> None:
    lines = [encode(make_article(f"a{n}", f"Title {n}", TEXT)) for n in range(7)]
    pack_lines = PackLinesFn(lines_per_chunk=3)
    pack_lines.start_bundle()
    chunks = [c for line in lines for c in pack_lines.process(line, Timestamp(0), GlobalWindow())]
    chunks += list(pack_lines.finish_bundle())
    assert [len(LineCoder().encode(c.value).split(b"\n")) for c in chunks] == [3, 3, 1]
    assert b"\n".join(LineCoder().encode(c.value) for c in chunks) == b"\n".join(lines)
    assert all(c.windows == (GlobalWindow(),) for c in chunks)
    assert sum(len(c.value) for c in chunks) * 3 < sum(map(len, lines))


def test_a_partition_is_unpacked_in_the_order_the_story_core_sorts_it_ties_kept_in_arrival_order() -> None:
    first = make_article("b", "Second by id", at=T0)
    tie = first.replace(title="Same key, arrived later")  # same order key: arrival order decides, as before
    articles = [make_article("c", "Late", at=T0.replace(hour=9)), first, make_article("a", "First by id"), tie]
    assert list(_unpacked_in_order([pack(a) for a in articles])) == sorted(articles, key=order_key)
    assert [a.title for a in _unpacked_in_order([pack(a) for a in articles])][1:3] == [
        "Second by id",
        "Same key, arrived later",
    ]


def test_the_file_sink_writes_each_record_as_the_codec_encodes_it(tmp_path: Path) -> None:
    articles = [make_article(f"a{n}", f"Title {n}", TEXT) for n in range(150)]  # several chunks
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as pipeline:
        _ = pipeline | beam.Create(articles) | WriteJsonl(str(tmp_path), "news.articles.v1")
    written = (tmp_path / "news.articles.v1.jsonl").read_bytes().splitlines()
    assert sorted(written) == sorted(encode(a) for a in articles)
