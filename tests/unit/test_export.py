"""``storywire export``: articles, stories and story events as CSV and Parquet, one column per record field."""

from __future__ import annotations

import csv
import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storywire.pipelines.cli.main import main
from storywire.pipelines.core.summary import SinkContents
from storywire.pipelines.report.tables import export_tables
from storywire.schemas.records import Article, Story, StoryEvent
from tests.unit.test_report import KREMLIN, contents, write_sink


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_has_every_field_iso_times_joined_lists_and_every_revision(tmp_path: Path) -> None:
    data = contents()
    written = export_tables(data, str(tmp_path / "csv"), "csv")
    assert {name: rows for name, (_, rows) in written.items()} == {"articles": 6, "stories": 3, "story_events": 5}
    articles = _csv(tmp_path / "csv" / "articles.csv")
    assert list(articles[0]) == [f.name for f in dataclasses.fields(Article)]
    assert sorted(r["revision"] for r in articles if r["article_id"] == "a_k2") == ["1", "2"]
    stories = {r["story_id"]: r for r in _csv(tmp_path / "csv" / "stories.csv")}
    kremlin = stories[KREMLIN]
    assert kremlin["first_seen_at"] == "2023-05-03T08:00:00Z" and kremlin["merged_into"] == ""
    assert kremlin["outlets"].split("; ") == list(next(s for s in data.stories if s.story_id == KREMLIN).outlets)
    events = _csv(tmp_path / "csv" / "story_events.csv")
    assert list(events[0]) == [f.name for f in dataclasses.fields(StoryEvent)]
    assert [e["score"] for e in events if e["event_type"] == "resurfaced"] == ["0.9"]


def test_parquet_keeps_types(tmp_path: Path) -> None:
    export_tables(contents(), str(tmp_path), "parquet")
    stories = pq.read_table(tmp_path / "stories.parquet")
    assert stories.column_names == [f.name for f in dataclasses.fields(Story)]
    assert stories.schema.field("first_seen_at").type == pa.timestamp("us", tz="UTC")
    assert stories.schema.field("outlets").type == pa.list_(pa.string())
    assert stories.schema.field("article_count").type == pa.int64()
    row = next(r for r in stories.to_pylist() if r["story_id"] == KREMLIN)
    assert row["first_seen_at"] == datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
    assert row["article_ids"] == ["a_k1", "a_k2", "a_k3", "a_s1"]
    articles = pq.read_table(tmp_path / "articles.parquet")
    assert articles.num_rows == 6 and articles.schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert articles.schema.field("text_truncated").type == pa.bool_()
    events = pq.read_table(tmp_path / "story_events.parquet")
    assert events.schema.field("score").type == pa.float64()


def test_an_empty_sink_gives_tables_with_their_columns_only(tmp_path: Path) -> None:
    empty = SinkContents((), (), (), ())
    export_tables(empty, str(tmp_path), "parquet")
    export_tables(empty, str(tmp_path), "csv")
    assert pq.read_table(tmp_path / "articles.parquet").num_rows == 0
    assert (tmp_path / "stories.csv").read_text(encoding="utf-8").startswith("story_id,status,headline")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_storywire_export(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    sink = write_sink(tmp_path / "out", contents())
    target = tmp_path / "tables"
    assert main(["export", str(sink), "--format", fmt, "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"stories: 3 rows -> {target / f'stories.{fmt}'}" in out
    assert sorted(p.name for p in target.iterdir()) == sorted(
        f"{t}.{fmt}" for t in ("articles", "stories", "story_events")
    )


def test_export_needs_an_output_directory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["export", str(tmp_path)])
    assert raised.value.code == 2


def test_the_arrow_type_names_match_the_arrow_types() -> None:
    from storywire.pipelines.report import tables

    assert set(tables._arrow_types()) == tables._ARROW_KINDS
