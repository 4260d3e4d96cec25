"""``storywire stories DIRECTORY``: the stories of a replay's file sink as a table, one line each.

Columns: the story id's short form (``s_`` + 8 hex digits), the headline (cut to fit the terminal), articles,
outlets, first and last seen (UTC, with the year) and status. ``--text`` keeps stories whose headline, id, top
terms, outlets or article titles contain every word; ``--since``/``--until`` (YYYY-MM-DD, UTC, inclusive) those
seen on or between those days; ``--outlet`` those an outlet containing the text covered. Most covered first
(``--sort first-seen`` or ``last-seen`` to follow time).
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from datetime import date
from typing import TextIO

from storywire.connectors.errors import ConfigError
from storywire.pipelines.report.model import StoryFilter, StoryView, short_id, story_views, when

__all__ = ["add_parser", "format_table", "run"]

_SORTS = {
    "top": None,
    "first-seen": lambda v: (v.story.first_seen_at, v.story.story_id),
    "last-seen": lambda v: (v.story.last_seen_at, v.story.story_id),
}
_HEADERS = ("story", "headline", "articles", "outlets", "first seen", "last seen", "status")
_MIN_HEADLINE = 20


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``stories`` on the ``storywire`` parser."""
    stories = sub.add_parser(
        "stories",
        help="list a file sink's stories as a table, filtered by text, dates or outlet",
        description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else None,
    )
    stories.add_argument("directory", help="the file sink directory of a replay")
    stories.add_argument("--text", help="words that must all appear (headline, terms, outlets, article titles)")
    stories.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="seen on or after this day (UTC)")
    stories.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="seen on or before this day (UTC)")
    stories.add_argument("--outlet", help="covered by an outlet whose name contains this text")
    stories.add_argument("--sort", choices=sorted(_SORTS), default="top", help="top (most covered first, default)")
    stories.add_argument("--limit", type=int, default=None, metavar="N", help="print at most N stories")
    stories.add_argument("--width", type=int, default=None, metavar="COLUMNS", help="default: the terminal's")
    stories.add_argument("--topic-prefix", default="news", help="file names are PREFIX.stories.v1.jsonl etc.")
    stories.set_defaults(analysis=run)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "\u2026"


def format_table(views: Sequence[StoryView], width: int = 120) -> list[str]:
    """The table's lines (header first); the headline column takes what the other columns leave of ``width``."""
    rows = [
        (
            short_id(v.story.story_id),
            " ".join(v.story.headline.split()) or "(no headline)",
            str(v.story.article_count),
            str(v.story.outlet_count),
            when(v.story.first_seen_at),
            when(v.story.last_seen_at),
            v.story.status,
        )
        for v in views
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(_HEADERS)]
    others = sum(w for i, w in enumerate(widths) if i != 1) + 2 * (len(_HEADERS) - 1)
    widths[1] = max(_MIN_HEADLINE, min(widths[1], width - others))
    right = {2, 3}

    def line(cells: Sequence[str]) -> str:
        parts = [
            _cut(c, widths[i]).rjust(widths[i]) if i in right else _cut(c, widths[i]).ljust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return [line(_HEADERS), *(line(row) for row in rows)]


def run(args: argparse.Namespace, out: TextIO) -> int:
    from storywire.pipelines.cli.report import load_contents

    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {args.limit}")
    if args.since and args.until and args.since > args.until:
        raise ConfigError(f"--since {args.since} is after --until {args.until}")
    views = story_views(load_contents(args.directory, args.topic_prefix))
    total = len(views)
    chosen = StoryFilter(text=args.text, since=args.since, until=args.until, outlet=args.outlet).apply(views)
    key = _SORTS[args.sort]
    if key is not None:
        chosen.sort(key=key)
    matching = len(chosen)
    if args.limit is not None:
        chosen = chosen[: args.limit]
    width = args.width or shutil.get_terminal_size((120, 24)).columns
    if chosen:
        for text in format_table(chosen, width):
            print(text, file=out)
    shown = f"{len(chosen)} of {matching} matching" if len(chosen) < matching else f"{matching}"
    noun = "story" if matching == 1 else "stories"
    print(f"{shown} {noun} ({total} in {args.directory})", file=out)
    return 0
