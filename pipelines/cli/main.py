"""The ``storywire`` command line.

Exit codes: 0 success, 1 the pipeline failed (e.g. the Kafka broker was lost mid-run and stayed away
longer than the broker outage limit), 2 a usage or configuration problem (bad argument, missing archive,
unreachable broker, missing topics): the one-line message says what is wrong and how to fix it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from storywire import __version__
from storywire.connectors.errors import ConfigError, SourceUnavailableError, StorywireError
from storywire.connectors.kafka.errors import DeliveryError, KafkaConnectorError
from storywire.connectors.kafka.producer import OUTAGE_LOGGER
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines import bundled
from storywire.pipelines.cli import feeds as feeds_cli
from storywire.pipelines.cli import report as report_cli
from storywire.pipelines.cli import run as run_cli
from storywire.pipelines.cli import status as status_cli
from storywire.pipelines.cli import tail as tail_cli
from storywire.pipelines.cli import topics as topics_cli

if TYPE_CHECKING:
    from storywire.connectors.articles.settings import ExtractionLimits
    from storywire.pipelines.stories import StoryConfig

DEFAULT_RUNNER = "FnApiRunner"
SAMPLE_ARCHIVE = bundled.SAMPLE_ARCHIVE
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storywire", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", action="version", version=f"storywire {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO (Beam's own logs included)")
    sub = parser.add_subparsers(dest="command", required=True)

    replay = sub.add_parser("replay", help="replay WARC archives through the pipeline to Kafka and/or files")
    replay.add_argument("archives", nargs="+", metavar="ARCHIVE", help=".warc or .warc.gz files")
    replay.add_argument(
        "--max-items-per-feed",
        type=_positive_int,
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
    _add_run_options(replay)

    demo = sub.add_parser("demo", help="replay the bundled sample archive and print a summary")
    demo.add_argument("--archive", default=str(SAMPLE_ARCHIVE), help="archive to replay (default: bundled sample)")
    _add_run_options(demo, default_summary=True)

    summary = sub.add_parser("summary", help="summarise a file sink directory written by replay")
    summary.add_argument("directory")
    summary.add_argument("--topic-prefix", default="news")

    topics_cli.add_parser(sub)
    tail_cli.add_parser(sub)
    feeds_cli.add_parser(sub)
    run_cli.add_parser(sub)
    status_cli.add_parser(sub)
    report_cli.add_parsers(sub)  # report, stories, export
    return parser


def _add_run_options(parser: argparse.ArgumentParser, default_summary: bool = False) -> None:
    parser.add_argument(
        "--sink",
        action="append",
        default=[],
        metavar="URI",
        help="kafka://HOST:PORT[?compression=gzip] or file://DIRECTORY; repeat for several",
    )
    parser.add_argument("--topic-prefix", default="news", help="topic names are PREFIX.articles.v1 etc.")
    parser.add_argument("--runner", default=DEFAULT_RUNNER, help="Beam runner (always explicit; default FnApiRunner)")
    parser.add_argument(
        "--summary",
        action=argparse.BooleanOptionalAction,
        default=default_summary,
        help="print a story summary",
    )
    parser.add_argument("--broker-timeout", type=float, default=10.0, help="seconds to wait for the broker")
    parser.add_argument(
        "--broker-outage-limit",
        type=_duration,
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _duration(text: str) -> timedelta:
    from storywire.connectors.errors import InvalidSettingError
    from storywire.pipelines.config.units import parse_duration

    try:
        value = parse_duration(text)
    except InvalidSettingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value.total_seconds() <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be longer than 0s")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args, beam_args = _parser().parse_known_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    # Beam logs this at import on every machine without Google Cloud libraries; it is not about storywire.
    logging.getLogger().addFilter(lambda record: not str(record.msg).startswith("apitools not found"))
    if not args.verbose:
        # kafka-python logs every refused connection at ERROR, and Beam logs a failed bundle's traceback before
        # raising it; our own one-line error says it better (-v shows them).
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        logging.getLogger("apache_beam.runners.common").setLevel(logging.CRITICAL)
        logging.getLogger("apache_beam.runners.worker").setLevel(logging.CRITICAL)
        # warcio warns about the damaged records the archive reader turns into dead letters (or a start-up error).
        logging.getLogger("warcio").setLevel(logging.ERROR)
    # The Kafka sink's two state lines (broker unreachable, broker back) show without -v.
    logging.getLogger(OUTAGE_LOGGER).setLevel(logging.INFO)
    try:
        if args.command == "summary":
            return _summary(args.directory, args.topic_prefix)
        if args.command == "topics":
            return topics_cli.run(args)
        if args.command == "tail":
            return tail_cli.run(args)
        if args.command == "feeds":
            return feeds_cli.run(args)
        if args.command == "run":
            return _run_live(args, beam_args)
        if args.command == "status":
            return status_cli.run(args)
        if args.command in report_cli.COMMANDS:
            return report_cli.run(args)
        archives = [args.archive] if args.command == "demo" else args.archives
        return _replay(args, archives, beam_args, demo=args.command == "demo")
    except DeliveryError as exc:  # raised outside a pipeline (a runner wraps the ones raised inside)
        print(f"storywire: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    except StorywireError as exc:
        print(f"storywire: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"storywire: interrupted: {_INTERRUPTED[args.command]}", file=sys.stderr)
        return EXIT_INTERRUPTED


_INTERRUPTED_REPLAY = (
    "the replay stopped before it finished, so its sinks are incomplete (files may be partial; Kafka topics "
    "hold what was delivered). Run the same replay again to complete them: ids are stable, so a re-run only "
    "repeats messages"
)
_INTERRUPTED = defaultdict(
    lambda: "stopped before it finished", {"replay": _INTERRUPTED_REPLAY, "demo": _INTERRUPTED_REPLAY}
)
"""What an interrupted command leaves behind, by command."""


class _InterruptWatch:
    """Notes a SIGINT (Ctrl-C) while a pipeline runs, and lets it interrupt as usual: Beam turns the
    KeyboardInterrupt raised inside a bundle into a RuntimeError, which ``seen`` tells apart from a failure."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def __enter__(self) -> _InterruptWatch:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt


def _run_live(args: argparse.Namespace, beam_args: list[str]) -> int:
    """``storywire run``; a run stopped by Kafka (the broker away past the outage limit) ends with one line."""
    try:
        return run_cli.run(args, beam_args)
    except StorywireError:
        raise
    except Exception as exc:
        reason = _kafka_failure(exc)
        if reason is None:
            raise
        print(f"storywire: error: {reason}", file=sys.stderr)  # it names the broker and what happens next
        return EXIT_FAILED


def _summary(directory: str, prefix: str) -> int:
    from storywire.pipelines.core.summary import read_sink, render

    if not os.path.isdir(directory):
        raise SourceUnavailableError(f"not a directory: {directory} (give the file sink directory of a replay)")
    print(render(read_sink(directory, TopicNames(prefix))))
    return 0


def _replay(args: argparse.Namespace, archives: list[str], beam_args: list[str], *, demo: bool) -> int:
    from storywire.pipelines.config.replay import ReplayConfig
    from storywire.pipelines.config.sinks import SinkSpec

    unknown = [a for a in beam_args if not a.startswith("--")]
    if unknown:
        raise ConfigError(f"unexpected argument(s): {' '.join(unknown)}")
    archives = _expand_archives(archives)
    sinks = [SinkSpec.parse(uri, args.topic_prefix) for uri in args.sink]
    if demo and not any(s.kind == "file" for s in sinks):
        sinks.append(SinkSpec.parse("file://out/demo"))
    summary_dir = None
    if args.summary and not any(s.kind == "file" for s in sinks):
        summary_dir = tempfile.mkdtemp(prefix="storywire-summary-")
        sinks.append(SinkSpec.parse(f"file://{summary_dir}"))
    stories, feed_outlets, extraction = _live_settings(getattr(args, "config", None))
    config = ReplayConfig(
        archives=tuple(archives),
        sinks=tuple(sinks),
        topic_prefix=args.topic_prefix,
        stories=stories,
        feed_outlets=ReplayConfig.outlets_by_feed(feed_outlets),
        extraction=extraction,
    )
    _prepare_kafka(config, args.broker_timeout, create=args.create_topics)
    _probe_archives(archives)

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from storywire.pipelines.beam.feeds import DEFAULT_MAX_ITEMS_PER_FEED
    from storywire.pipelines.beam.run_report import RunReport
    from storywire.pipelines.beam.sinks import DEFAULT_OUTAGE_LIMIT
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
    interrupted = _InterruptWatch()
    try:
        with interrupted:
            result = pipeline.run()
            result.wait_until_finish()
    except Exception as exc:
        if interrupted.seen:  # Beam re-raises Ctrl-C inside a bundle as a RuntimeError naming the step
            raise KeyboardInterrupt from exc
        reason = _kafka_failure(exc)
        if reason is None:
            raise
        print(f"storywire: error: the run stopped: {reason.rstrip('.')}. {_RERUN_HINT}", file=sys.stderr)
        return EXIT_FAILED
    elapsed = time.monotonic() - started
    report = RunReport.from_result(result)
    print(f"storywire replay of {len(archives)} archive(s) finished in {elapsed:.1f}s on {args.runner}")
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
        directory = summary_dir or next(s.target for s in config.sinks if s.kind == "file")
        print()
        _summary(directory, args.topic_prefix)
    if demo:
        return _compare_kafka_with_files(config)
    return 0


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


def _compare_kafka_with_files(config: object) -> int:
    """Read the articles topic back and check it holds the article ids of the JSONL sink (the demo's proof)."""
    from storywire.connectors.kafka.consumer import read_topic
    from storywire.pipelines.config.replay import ReplayConfig
    from storywire.pipelines.core.summary import read_sink

    assert isinstance(config, ReplayConfig)
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


def _expand_archives(archives: list[str]) -> list[str]:
    """Check local archives now; expand remote patterns (gs://bucket/*.warc.gz) with Beam's file systems."""
    from storywire.connectors.archives.warc_reader import check_readable

    expanded: list[str] = []
    for path in archives:
        if "://" in path and not path.startswith("file://"):
            from apache_beam.io.filesystems import FileSystems

            try:
                matches = [m.path for result in FileSystems.match([path]) for m in result.metadata_list]
            except Exception as exc:  # any file-system error is a start-up error naming the path
                raise SourceUnavailableError(f"cannot list archive {path}: {exc}") from exc
            if not matches:
                raise SourceUnavailableError(f"archive not found: {path} (no file matches)")
            expanded.extend(sorted(matches))
        else:
            local = path.removeprefix("file://")
            check_readable(local)
            expanded.append(local)
    return expanded


def _probe_archives(archives: list[str]) -> None:
    """Refuse a local archive from which nothing can be read (empty, not a WARC), naming it, before the run; the
    last start-up check, after the settings and the sinks."""
    from storywire.connectors.archives.warc_reader import probe_archive

    for path in archives:
        if "://" not in path:
            probe_archive(path)


_RERUN_HINT = (
    "Records already acknowledged stay in Kafka and nothing was dropped silently; run the same replay again "
    "once the broker is healthy (ids are stable: consumers see duplicates at most, see README)"
)


def _kafka_failure(exc: BaseException) -> str | None:
    """The one-line reason when a run failed because of Kafka (the runner wraps the DoFn's exception)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KafkaConnectorError):
            return " ".join(str(current).split())
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(exc)  # runners that ship only the text of a remote worker's error
    for name in ("DeliveryError: ", "BrokerUnreachableError: "):
        if name in text:
            line = text[text.index(name) + len(name) :].splitlines()[0]
            return " ".join(line.split())
    return None


def _prepare_kafka(config: object, timeout_s: float, *, create: bool = True) -> None:
    """Fail fast with a clear error when a Kafka sink's broker is unreachable; create (or check) the topics."""
    from storywire.connectors.kafka.admin import check_reachable, ensure_topics, missing_topics
    from storywire.connectors.kafka.topics import default_topic_specs
    from storywire.pipelines.config.replay import ReplayConfig

    assert isinstance(config, ReplayConfig)
    for sink in config.sinks:
        if sink.kind != "kafka" or sink.kafka is None:
            continue
        check_reachable(sink.kafka, timeout_s)
        if create:
            ensure_topics(sink.kafka, default_topic_specs(config.topics))
            continue
        missing = missing_topics(sink.kafka, config.topics.all(), timeout_s=timeout_s)
        if missing:
            command = topics_cli.create_command(sink.kafka.bootstrap_servers, config.topic_prefix)
            raise ConfigError(
                f"{len(missing)} Kafka topic(s) missing at {sink.kafka.bootstrap_servers}: {', '.join(missing)} "
                f"(--no-create-topics); create them with: {command}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
