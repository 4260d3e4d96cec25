"""``storywire feeds import LIST.opml (--config FILE | -o FEEDS.yaml)``: add an OPML export's feeds to a feed list.

Appends the feeds to the ``feeds:`` list of the YAML file, skipping URLs already there (same canonical URL);
the rest of the file, comments included, is left as it was
(:func:`~storywire.pipelines.config.feed_import.import_opml`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from storywire.connectors.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``feeds`` (with its ``import`` command) to the ``storywire`` subcommands."""
    feeds = sub.add_parser("feeds", help="manage the feed list of a live configuration")
    actions = feeds.add_subparsers(dest="feeds_command", required=True)
    importer = actions.add_parser(
        "import",
        help="append the feeds of an OPML file to a YAML feed list (deduplicated by canonical URL)",
        description="Append the feeds of an OPML export to the feeds: list of a YAML file. URLs already there "
        "(same canonical URL) are not added twice; comments and other keys are kept; skipped outlines are listed. "
        "Each added feed gets an outlet: the host of the outline's htmlUrl, else of the feed URL (without www.).",
        epilog="""examples:
  storywire feeds import subscriptions.opml --config live.yaml
  storywire feeds import subscriptions.opml -o feeds.yaml   # then feed_files: [feeds.yaml] in the config""",
    )
    importer.add_argument("opml", metavar="LIST.opml", help="the OPML file (a feed reader's export)")
    target = importer.add_mutually_exclusive_group(required=True)
    target.add_argument("--config", metavar="FILE", help="an existing live config file to add the feeds to")
    target.add_argument("-o", "--output", metavar="FEEDS.yaml", help="a feed file to create or add to")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run a ``storywire feeds`` command; ConfigError/SourceUnavailableError reach the CLI's handler."""
    from storywire.pipelines.config.feed_import import import_opml

    if args.feeds_command != "import":  # argparse allows only import today
        raise ConfigError(f"unknown feeds command {args.feeds_command!r}")
    report = import_opml(args.opml, args.config or args.output, create=args.config is None)
    print(report.render(), file=out or sys.stdout)
    return 0
