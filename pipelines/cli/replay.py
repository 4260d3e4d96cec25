"""``storywire replay`` and ``storywire demo``: archived inputs through the pipeline to Kafka and/or files.

``replay`` takes WARC archives and JSONL article dumps, as files, directories or glob patterns
(:mod:`storywire.connectors.archives.inputs`); an input that gives nothing to read is reported, dead-lettered and
left out, and the replay goes on with the others (exit 2 only when nothing at all can be read). ``--since``,
``--until``, ``--outlet`` and ``--lang`` keep a slice (:mod:`storywire.pipelines.core.filters`). While it runs it
shows progress: a bar on a terminal, a log line every ``--progress-interval`` seconds otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

from storywire.connectors.errors import ConfigError, SourceUnavailableError
from storywire.pipelines import bundled
from storywire.pipelines.cli import arguments
from storywire.pipelines.cli import topics as topics_cli
from storywire.pipelines.cli.failures import RERUN_HINT, kafka_failure
from storywire.pipelines.cli.interrupts import InterruptWatch

if TYPE_CHECKING:
    from storywire.connectors.archives.inputs import ResolvedInputs
    from storywire.connectors.articles.settings import ExtractionLimits
    from storywire.pipelines.config.replay import ReplayConfig
    from storywire.pipelines.stories import StoryConfig

DEFAULT_RUNNER = "FnApiRunner"
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
SINKS_COMPLETE = "the replay had finished and its sinks are complete; only the report after it was cut short"
DEFAULT_PROGRESS_INTERVAL_S = 10.0

EXAMPLES = {
    "replay": """\
  storywire replay crawl.warc.gz --sink file://out/replay --summary
  storywire replay crawls/ 'more/*.warc.gz' articles.jsonl --sink file://out/replay   # directories, patterns, dumps
  storywire replay crawls/ --since 2023-05-01 --until 2023-05-07 --lang en --outlet reuters.com \\
      --sink file://out/may-week-1
  storywire replay a.warc.gz b.warc.gz --sink kafka://127.0.0.1:19092 --sink file://out/replay
  storywire replay crawl.warc.gz --config live.yaml --sink file://out/replay   # the live run's story settings
  storywire replay 'gs://bucket/crawl-*.warc.gz' --sink kafka://broker:9092 --runner FlinkRunner \\
      -- --flink_master=flink-jobmanager:8081 --parallelism=8""",
    "demo": """\
  storywire demo                                   # the bundled sample to out/demo, then a story summary
  storywire demo --sink kafka://127.0.0.1:19092    # and to the local broker, read back and compared""",
}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser("replay", help="replay WARC archives and JSONL article dumps to Kafka and/or files")
    replay.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="WARC archives (.warc, .warc.gz), JSONL article dumps (.jsonl, .jsonl.gz; fields in README), "
        "directories of them (read recursively) or glob patterns ('crawl/**/*.warc.gz', gs://bucket/*.warc.gz)",
    )
    replay.add_argument(
        "--max-items-per-feed",
        type=arguments.positive_int,
        default=None,
        metavar="N",
        help="items taken from each feed document (default 5000); the rest are counted as over the cap, not joined",
    )
    replay.add_argument(
        "--config",
        metavar="LIVE_YAML",
        help="take the story settings (the stories: section and its STORYWIRE__STORIES__* overrides) from this "
        "live config, so the replay gives the story events the live run gave (default: the built-in settings)",
    )
    keep = replay.add_argument_group("keep a slice (stories are built from the articles kept)")
    keep.add_argument(
        "--since",
        type=arguments.since,
        metavar="WHEN",
        help="articles from this day or time on (2023-05-01, 2023-05-01T06:00; UTC unless a zone is given); an "
        "article's time is its publication time, else when it was first seen",
    )
    keep.add_argument(
        "--until", type=arguments.until, metavar="WHEN", help="articles up to this day (included) or time"
    )
    keep.add_argument(
        "--outlet",
        action="extend",
        type=arguments.word_list,
        default=[],
        metavar="NAME",
        help="only these outlets (repeat, or a,b); reuters.com keeps its subdomains too",
    )
    keep.add_argument(
        "--lang",
        action="extend",
        type=arguments.word_list,
        default=[],
        metavar="TAG",
        help="only these languages (repeat, or en,de); en keeps en-GB too; articles without a language are left out",
    )
    _add_run_options(replay)

    demo = sub.add_parser("demo", help="replay the bundled sample archive and print a summary")
    demo.add_argument(
        "--archive", default=str(bundled.SAMPLE_ARCHIVE), help="archive to replay (default: bundled sample)"
    )
    _add_run_options(demo, default_summary=True)


def _add_run_options(parser: argparse.ArgumentParser, default_summary: bool = False) -> None:
    parser.add_argument(
        "--sink",
        action="append",
        default=[],
        metavar="URI",
        help="kafka://HOST:PORT[?compression=gzip] or file://DIRECTORY; repeat for several",
    )
    parser.add_argument("--topic-prefix", default="news", help="topic names are PREFIX.articles.v1 etc.")
    parser.add_argument(
        "--runner",
        default=DEFAULT_RUNNER,
        help="Beam runner (always explicit; default FnApiRunner); its own options go after --",
    )
    parser.add_argument(
        "--workers",
        type=arguments.non_negative_int,
        default=None,
        metavar="N",
        help="processes that parse feeds and extract pages (default: one per core; 0 or 1: pages one at a time "
        "in one extraction process, feeds in the pipeline's own); the story step stays ordered whatever the number",
    )
    parser.add_argument(
        "--summary",
        action=argparse.BooleanOptionalAction,
        default=default_summary,
        help="print a story summary",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show progress while the replay runs: a bar on a terminal, else a log line every "
        "--progress-interval seconds (default on)",
    )
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=DEFAULT_PROGRESS_INTERVAL_S,
        metavar="SECONDS",
        help=f"seconds between progress log lines when not on a terminal (default {DEFAULT_PROGRESS_INTERVAL_S:g})",
    )
    parser.add_argument("--broker-timeout", type=float, default=10.0, help="seconds to wait for the broker")
    parser.add_argument(
        "--broker-outage-limit",
        type=arguments.duration,
        default=None,
        metavar="DURATION",
        help="how long to wait for a Kafka broker that became unreachable mid-run, without any record "
        "acknowledged, before the run fails (e.g. 90s, 15m; default 15m)",
    )
    parser.add_argument(
        "--create-topics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="create missing Kafka topics at start-up (default); with --no-create-topics a missing topic "
        "stops the run at start-up, naming it (for clusters where topics are managed with `storywire topics`)",
    )


def run(args: argparse.Namespace, beam_args: list[str], *, demo: bool) -> int:
    """Run ``replay`` (or ``demo``): check everything, run the pipeline, print the report and balances."""
    from storywire.pipelines.config.replay import ReplayConfig
    from storywire.pipelines.config.sinks import SinkSpec
    from storywire.pipelines.core.filters import ArticleFilter

    sinks = [SinkSpec.parse(uri, args.topic_prefix) for uri in args.sink]
    if demo and not any(s.kind == "file" for s in sinks):
        sinks.append(SinkSpec.parse("file://out/demo"))
    summary_dir = None
    if args.summary and not any(s.kind == "file" for s in sinks):
        summary_dir = tempfile.mkdtemp(prefix="storywire-summary-")
        sinks.append(SinkSpec.parse(f"file://{summary_dir}"))
    stories, feed_outlets, extraction = _live_settings(getattr(args, "config", None))
    keep = ArticleFilter(
        since=getattr(args, "since", None),
        until=getattr(args, "until", None),
        outlets=tuple(getattr(args, "outlet", ())),
        languages=tuple(getattr(args, "lang", ())),
    )
    from storywire.connectors.articles.worker import start_fork_server

    start_fork_server()  # the extraction workers' server warms up while Beam is imported and the graph built
    resolved = _resolve([args.archive] if demo else args.inputs)
    config = ReplayConfig(
        archives=resolved.paths("warc"),
        dumps=resolved.paths("jsonl"),
        refused_inputs=tuple((refusal.path, refusal.reason) for refusal in resolved.refused),
        sinks=tuple(sinks),
        topic_prefix=args.topic_prefix,
        stories=stories,
        feed_outlets=ReplayConfig.outlets_by_feed(feed_outlets),
        extraction=extraction,
        keep=keep,
        workers=args.workers,
    )
    _prepare_kafka(config, args.broker_timeout, create=args.create_topics)
    for refusal in resolved.refused:
        print(f"storywire: warning: skipped input: {refusal.reason}", file=sys.stderr)
    if keep.active:
        print(f"keeping articles: {keep.describe()}")

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from storywire.pipelines.beam.feeds import DEFAULT_MAX_ITEMS_PER_FEED
    from storywire.pipelines.beam.sinks import DEFAULT_OUTAGE_LIMIT
    from storywire.pipelines.cli.progress import show_progress
    from storywire.pipelines.graphs.replay import build_replay

    options = PipelineOptions([f"--runner={args.runner}", *beam_args])
    started = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    build_replay(
        pipeline,
        config,
        broker_outage_limit=args.broker_outage_limit or DEFAULT_OUTAGE_LIMIT,
        max_items_per_feed=getattr(args, "max_items_per_feed", None) or DEFAULT_MAX_ITEMS_PER_FEED,
    )
    interrupted = InterruptWatch()
    try:
        with interrupted, show_progress(sys.stderr, interval_s=args.progress_interval, enabled=args.progress):
            result = pipeline.run()
            result.wait_until_finish()
    except Exception as exc:
        if interrupted.seen:  # Beam re-raises Ctrl-C inside a bundle as a RuntimeError naming the step
            raise KeyboardInterrupt from exc
        reason = kafka_failure(exc)
        if reason is None:
            raise
        print(f"storywire: error: the run stopped: {reason.rstrip('.')}. {RERUN_HINT}", file=sys.stderr)
        return EXIT_FAILED
    try:
        return _finish(args, config, resolved, result, time.monotonic() - started, summary_dir, demo=demo)
    except KeyboardInterrupt:  # the pipeline had finished: only the report was cut short
        print(f"storywire: interrupted: {SINKS_COMPLETE}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _finish(
    args: argparse.Namespace,
    config: ReplayConfig,
    resolved: ResolvedInputs,
    result: Any,
    elapsed: float,
    summary_dir: str | None,
    *,
    demo: bool,
) -> int:
    """Print the run report, the balances and (``--summary``) the stories of a finished replay."""
    from storywire.pipelines.beam.run_report import RunReport

    report = RunReport.from_result(result)
    print(f"storywire replay of {_inputs_line(resolved)} finished in {elapsed:.1f}s on {args.runner}")
    print(report.render())
    print(report.render_balances())
    broken = [name for name, balance in report.balance_details().items() if not balance.ok]
    if broken:
        print(
            f"storywire: warning: {len(broken)} balance(s) do not hold ({'; '.join(broken)}): inputs were lost "
            "without a dead letter, a bug to report with this output",
            file=sys.stderr,
        )
    for sink in config.sinks:
        print(f"sink: {sink.kind} {sink.target}")
    if args.summary:
        from storywire.pipelines.cli.summary import print_summary

        directory = summary_dir or next(s.target for s in config.sinks if s.kind == "file")
        print()
        print_summary(directory, args.topic_prefix)
    if demo:
        return _compare_kafka_with_files(config)
    return 0


def _inputs_line(resolved: ResolvedInputs) -> str:
    parts = [f"{len(resolved.paths('warc'))} archive(s)"]
    if resolved.paths("jsonl"):
        parts.append(f"{len(resolved.paths('jsonl'))} article dump(s)")
    if resolved.refused:
        parts.append(f"{len(resolved.refused)} input(s) skipped")
    return ", ".join(parts)


def _resolve(specs: list[str]) -> ResolvedInputs:
    """The inputs' files by kind; an archive from which no record can be read is refused too (local files). Raises
    SourceUnavailableError, naming every input, when nothing at all can be read."""
    from storywire.connectors.archives.inputs import RefusedInput, ReplayInput, ResolvedInputs, resolve_inputs
    from storywire.connectors.archives.warc_reader import probe_archive

    resolved = resolve_inputs(specs, list_remote=_list_remote, open_remote=_open_remote)
    usable: list[ReplayInput] = []
    refused = list(resolved.refused)
    for item in resolved.inputs:
        if item.kind == "warc" and "://" not in item.path:
            try:
                probe_archive(item.path)
            except SourceUnavailableError as exc:
                refused.append(RefusedInput(item.path, str(exc)))
                continue
        usable.append(item)
    if not usable:
        if len(refused) == 1:
            raise SourceUnavailableError(refused[0].reason)
        reasons = "; ".join(refusal.reason for refusal in refused) or "no input given"
        raise SourceUnavailableError(f"nothing to replay: {reasons}")
    return ResolvedInputs(tuple(usable), tuple(refused))


def _list_remote(pattern: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    return [m.path for result in FileSystems.match([pattern]) for m in result.metadata_list]


def _open_remote(path: str) -> Any:
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _live_settings(live_yaml: str | None) -> tuple[StoryConfig, dict[str, str], ExtractionLimits | None]:
    """The story settings, the feeds' configured outlets (feed URL -> outlet) and the extraction limits of a live
    config (the whole file is validated: it is the file the live run used)."""
    from storywire.pipelines.config.loading import load_config
    from storywire.pipelines.config.units import format_duration
    from storywire.pipelines.stories import StoryConfig

    if live_yaml is None:
        return StoryConfig(), {}, None
    live = load_config(live_yaml)
    stories = live.stories
    merging = "on" if stories.merge_threshold is not None else "off"
    print(
        f"story settings from {live_yaml}: dormancy {format_duration(stories.dormancy)}, horizon "
        f"{format_duration(stories.horizon)}, merging {merging}"
    )
    outlets = {feed.url: feed.outlet for feed in live.feeds if feed.outlet}
    print(f"outlets from {live_yaml}: {len(outlets)} of {len(live.feeds)} feed(s) name one")
    return stories, outlets, live.extraction


def _compare_kafka_with_files(config: ReplayConfig) -> int:
    """Read the articles topic back and check it holds the article ids of the JSONL sink (the demo's proof)."""
    from storywire.connectors.kafka.consumer import read_topic
    from storywire.pipelines.core.summary import read_sink

    files = next((s for s in config.sinks if s.kind == "file"), None)
    if files is None:
        return 0
    articles = read_sink(files.target, config.topics).articles
    expected = {a.article_id for a in articles}
    expected_messages = len(articles)
    for sink in config.sinks:
        if sink.kind != "kafka" or sink.kafka is None:
            continue
        messages = read_topic(sink.kafka, config.topics.articles, expected_count=expected_messages, timeout_s=30)
        got = {m.key.decode() for m in messages if m.key is not None}
        verdict = "identical" if got == expected else f"DIFFERENT ({len(got ^ expected)} ids differ)"
        print(
            f"\nKafka check: {len(messages)} messages read back from {config.topics.articles} at {sink.target}; "
            f"{len(got)} article ids, {verdict} to the JSONL sink's {len(expected)}"
        )
        if got != expected:
            return 1
    return 0


def _prepare_kafka(config: ReplayConfig, timeout_s: float, *, create: bool = True) -> None:
    """Fail fast with a clear error when a Kafka sink's broker is unreachable; create (or check) the topics."""
    kafka_sinks = [sink.kafka for sink in config.sinks if sink.kind == "kafka" and sink.kafka is not None]
    if not kafka_sinks:
        return
    from storywire.connectors.kafka.admin import check_reachable, ensure_topics, missing_topics
    from storywire.connectors.kafka.topics import default_topic_specs

    for kafka in kafka_sinks:
        check_reachable(kafka, timeout_s)
        if create:
            ensure_topics(kafka, default_topic_specs(config.topics))
            continue
        missing = missing_topics(kafka, config.topics.all(), timeout_s=timeout_s)
        if missing:
            command = topics_cli.create_command(kafka.bootstrap_servers, config.topic_prefix)
            raise ConfigError(
                f"{len(missing)} Kafka topic(s) missing at {kafka.bootstrap_servers}: {', '.join(missing)} "
                f"(--no-create-topics); create them with: {command}"
            )
