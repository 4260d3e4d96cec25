"""Articles, stories and story events as tables: CSV (standard library) and Parquet (pyarrow).

One column per record field, in the schema's order, so a field added to a record shows up without a change
here. Articles: every revision (``article_id`` + ``revision`` identify a row); stories: the latest snapshot of
each; events: each once. In Parquet, times are ``timestamp[us, UTC]`` and lists (``authors``, ``outlets``,
``top_terms``, ``article_ids``) are lists of strings; in CSV times are ISO 8601 with ``Z`` and lists are joined
with ``"; "``, empty cells meaning none.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from storywire.pipelines.core.summary import SinkContents
from storywire.schemas.records import Article, Story, StoryEvent, _Record

__all__ = ["FORMATS", "LIST_SEPARATOR", "TABLES", "export_tables"]

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
LIST_SEPARATOR = "; "
TABLES: dict[str, type[_Record]] = {"articles": Article, "stories": Story, "story_events": StoryEvent}

_ARROW_KINDS = frozenset({"str", "int", "float", "bool", "datetime", "tuple[str, ...]"})


def _arrow_types() -> dict[str, Any]:
    # pyarrow is imported by the Parquet export only: every command builds the parser that names this module.
    import pyarrow as pa

    return {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "tuple[str, ...]": pa.list_(pa.string()),
    }


def _columns(record_type: type[_Record]) -> list[tuple[str, str]]:
    """(field, base type) in declaration order; ``X | None`` is ``X``, the Literal aliases are ``str``."""
    columns = []
    for field in dataclasses.fields(record_type):  # type: ignore[arg-type]
        annotation = str(field.type).removesuffix(" | None")
        columns.append((field.name, annotation if annotation in _ARROW_KINDS else "str"))
    return columns


def _rows(contents: SinkContents, table: str) -> Sequence[_Record]:
    if table == "articles":
        return contents.articles
    if table == "stories":
        return sorted(contents.stories, key=lambda s: (s.first_seen_at, s.story_id))
    return contents.events


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def _write_csv(path: str, record_type: type[_Record], rows: Sequence[_Record]) -> None:
    names = [name for name, _ in _columns(record_type)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            writer.writerow([_csv_cell(getattr(row, name)) for name in names])


def _write_parquet(path: str, record_type: type[_Record], rows: Sequence[_Record]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = _columns(record_type)
    types = _arrow_types()
    schema = pa.schema([pa.field(name, types[kind]) for name, kind in columns])
    data = {name: [_arrow_value(getattr(row, name)) for row in rows] for name, _ in columns}
    pq.write_table(pa.table(data, schema=schema), path)


def _arrow_value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def export_tables(contents: SinkContents, directory: str, fmt: Format) -> dict[str, tuple[str, int]]:
    """Write ``articles``, ``stories`` and ``story_events`` as ``DIRECTORY/NAME.csv`` or ``.parquet`` (the
    directory is created; files of the same names are replaced). Returns table -> (path, rows)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    os.makedirs(directory, exist_ok=True)
    written: dict[str, tuple[str, int]] = {}
    for table, record_type in TABLES.items():
        rows = _rows(contents, table)
        path = os.path.join(directory, f"{table}.{fmt}")
        (_write_csv if fmt == "csv" else _write_parquet)(path, record_type, rows)
        written[table] = (path, len(rows))
    return written
