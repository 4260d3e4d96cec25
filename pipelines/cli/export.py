"""``storywire export DIRECTORY --format csv|parquet -o OUT``: a replay's articles, stories and story events as
tables for spreadsheets, pandas, DuckDB or Spark.

Writes ``OUT/articles.FORMAT`` (every revision: ``article_id`` + ``revision`` identify a row),
``OUT/stories.FORMAT`` (the latest snapshot of each story) and ``OUT/story_events.FORMAT``; one column per
record field (``schemas/v1``). Parquet keeps types (UTC timestamps, lists); CSV writes ISO 8601 times ending in
``Z`` and joins lists with ``"; "``.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from storywire.pipelines.report.tables import FORMATS, export_tables

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export`` on the ``storywire`` parser."""
    export = sub.add_parser(
        "export",
        help="write a file sink's articles, stories and story events as CSV or Parquet tables",
        description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else None,
    )
    export.add_argument("directory", help="the file sink directory of a replay")
    export.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or parquet")
    export.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the tables (created)")
    export.add_argument("--topic-prefix", default="news", help="file names are PREFIX.articles.v1.jsonl etc.")
    export.set_defaults(analysis=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    from storywire.pipelines.cli.report import load_contents

    contents = load_contents(args.directory, args.topic_prefix)
    for table, (path, rows) in export_tables(contents, args.output, args.format).items():
        print(f"{table}: {rows} rows -> {path}", file=out)
    return 0
