"""``storywire report``, and the registration of the analysts' commands (``report``, ``stories``, ``export``).

``storywire report out/ -o report.html`` writes one self-contained HTML page (plotly.js inlined, nothing loaded
from the network) from a replay's file sink; ``storywire report --from-kafka kafka://host:port -o report.html``
reads the same records from the topics instead, each read from the beginning until no message arrived for
``--idle-timeout`` seconds (end offsets are not trusted: the local Tansu broker reports wrong ones).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from storywire.connectors.errors import ConfigError, SourceUnavailableError
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.core.summary import SinkContents, read_sink

__all__ = ["COMMANDS", "add_parsers", "load_contents", "run"]

COMMANDS = ("report", "stories", "export")


def load_contents(directory: str, prefix: str) -> SinkContents:
    """A file sink's records; a usage error (exit 2) naming the directory when it is not one."""
    if not os.path.isdir(directory):
        raise SourceUnavailableError(f"not a directory: {directory} (give the file sink directory of a replay)")
    topics = TopicNames(prefix)
    if not any(os.path.exists(os.path.join(directory, f"{name}.jsonl")) for name in topics.all()):
        raise SourceUnavailableError(
            f"no {prefix}.*.v1.jsonl files in {directory} (give the file sink directory of a replay, "
            "or the --topic-prefix it used)"
        )
    return read_sink(directory, topics)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report``, ``stories`` and ``export`` on the ``storywire`` parser."""
    from storywire.pipelines.cli import export as export_cli
    from storywire.pipelines.cli import stories as stories_cli
    from storywire.pipelines.report.html import DEFAULT_TOP
    from storywire.pipelines.report.source import DEFAULT_IDLE_TIMEOUT_S

    report = sub.add_parser(
        "report",
        help="write a static HTML report (stories, timelines, articles) from a file sink or the topics",
        description=__doc__.split("\n\n", 1)[1].strip() if __doc__ else None,
    )
    report.add_argument("directory", nargs="?", help="the file sink directory of a replay (or use --from-kafka)")
    report.add_argument("-o", "--output", default="report.html", metavar="FILE", help="default report.html")
    report.add_argument(
        "--from-kafka",
        metavar="URL",
        help="read the topics instead: kafka://HOST:PORT[,HOST:PORT][?security settings], or HOST:PORT",
    )
    report.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT_S,
        metavar="S",
        help=f"with --from-kafka: a topic is read once no message arrived for S seconds ({DEFAULT_IDLE_TIMEOUT_S:g})",
    )
    report.add_argument("--topic-prefix", default="news", help="topic (and file) names are PREFIX.articles.v1 etc.")
    report.add_argument(
        "--top", type=int, default=DEFAULT_TOP, metavar="N", help=f"stories with a timeline section ({DEFAULT_TOP})"
    )
    report.add_argument("--title", default="storywire report", help="the page's title")
    report.set_defaults(analysis=run_report)
    stories_cli.add_parser(sub)
    export_cli.add_parser(sub)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the analysis command ``args`` holds (registered by :func:`add_parsers`)."""
    code: int = args.analysis(args, out or sys.stdout)
    return code


def run_report(args: argparse.Namespace, out: TextIO) -> int:
    from storywire.pipelines.report.html import build_report

    if (args.directory is None) == (args.from_kafka is None):
        raise ConfigError("give either a file sink DIRECTORY or --from-kafka URL (one of them)")
    if args.top < 0:
        raise ConfigError(f"--top must be >= 0, got {args.top}")
    if args.idle_timeout <= 0:
        raise ConfigError(f"--idle-timeout must be > 0, got {args.idle_timeout}")
    if args.from_kafka is not None:
        contents, source = _from_kafka(args, out), args.from_kafka
    else:
        contents, source = load_contents(args.directory, args.topic_prefix), args.directory
    page = build_report(contents, source=source, title=args.title, top=args.top)
    parent = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(parent, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(page)
    print(
        f"report: {args.output} ({len(page) / 1e6:.1f} MB; {len(contents.stories)} stories, "
        f"{len({a.article_id for a in contents.articles})} articles); opens offline in any browser",
        file=out,
    )
    return 0


def _from_kafka(args: argparse.Namespace, out: TextIO) -> SinkContents:
    from storywire.pipelines.cli.topics import config_from_broker
    from storywire.pipelines.report.source import read_topics

    url = args.from_kafka
    config = config_from_broker(url, args.topic_prefix, max(args.idle_timeout, 5.0), flag="--from-kafka")
    print(f"reading {args.topic_prefix}.* topics at {url} until each is quiet for {args.idle_timeout:g}s...", file=out)
    read = read_topics(config, TopicNames(args.topic_prefix), idle_timeout_s=args.idle_timeout)
    counts = ", ".join(f"{topic} {count}" for topic, count in read.messages.items())
    print(f"messages read: {counts}", file=out)
    for topic, bad in read.undecodable.items():
        print(f"storywire: warning: {bad} message(s) on {topic} are not valid records, skipped", file=sys.stderr)
    return read.contents
