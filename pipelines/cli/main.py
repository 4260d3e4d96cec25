"""The ``storywire`` command line.

Exit codes: 0 success, 1 the pipeline failed (e.g. the Kafka broker was lost mid-run and stayed away
longer than the broker outage limit), 2 a usage or configuration problem (bad argument, missing archive,
unreachable broker, missing topics): the one-line message says what is wrong and how to fix it.

Conventions: the global options (``-v``, ``--log-level``, ``--log-format``) go anywhere on the line; Apache Beam's
pipeline options only after ``--`` (``storywire run --config live.yaml --runner FlinkRunner --
--flink_master=host:8081``): any other unknown option is an error with the closest known one (exit 2).
"""

from __future__ import annotations

import argparse
import difflib
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
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines import bundled
from storywire.pipelines.cli import config as config_cli
from storywire.pipelines.cli import feeds as feeds_cli
from storywire.pipelines.cli import logs
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
    parser = argparse.ArgumentParser(
        prog="storywire",
        description=__doc__.split("\n", 1)[0],
        epilog=_TOP_EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"storywire {__version__}")
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
    config_cli.add_parser(sub)
    report_cli.add_parsers(sub)  # report, stories, export
    _finish(parser)
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
    parser.add_argument(
        "--runner",
        default=DEFAULT_RUNNER,
        help="Beam runner (always explicit; default FnApiRunner); its own options go after --",
    )
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


BEAM_COMMANDS = frozenset({"run", "replay", "demo"})
"""The commands that build a Beam pipeline: only they take Beam's options (after ``--``)."""

_TOP_EPILOG = """\
The global options work before or after the command. Apache Beam's pipeline options go after --, e.g.
  storywire run --config live.yaml --runner FlinkRunner -- --flink_master=flink-jobmanager:8081

examples:
  storywire demo
  storywire config check live.yaml
  storywire run --config live.yaml --log-level info
  storywire tail stories --broker kafka://127.0.0.1:19092 --from-beginning
"""

EXAMPLES: dict[str, str] = {
    "replay": """\
  storywire replay crawl.warc.gz --sink file://out/replay --summary
  storywire replay a.warc.gz b.warc.gz --sink kafka://127.0.0.1:19092 --sink file://out/replay
  storywire replay crawl.warc.gz --config live.yaml --sink file://out/replay   # the live run's story settings
  storywire replay 'gs://bucket/crawl-*.warc.gz' --sink kafka://broker:9092 --runner FlinkRunner \\
      -- --flink_master=flink-jobmanager:8081 --parallelism=8""",
    "demo": """\
  storywire demo                                   # the bundled sample to out/demo, then a story summary
  storywire demo --sink kafka://127.0.0.1:19092    # and to the local broker, read back and compared""",
    "summary": "  storywire summary out/demo\n  storywire summary out/live --topic-prefix staging.news",
}
"""Examples under ``--help`` of the commands defined here (the other modules give their own epilog)."""


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps one-line texts as usual; keeps texts of several lines (examples) as they are written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction[argparse.ArgumentParser]]:
    return [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]


def _finish(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command the global options (:func:`logs.add_options`) and the help formatter."""
    logs.add_options(parser, depth=0)
    seen: set[int] = {id(parser)}

    def walk(current: argparse.ArgumentParser, depth: int) -> None:
        for action in _subparsers(current):
            for name, child in action.choices.items():
                if id(child) not in seen:
                    seen.add(id(child))
                    child.formatter_class = _HelpFormatter
                    if child.epilog is None and name in EXAMPLES and depth == 0:
                        child.epilog = f"examples:\n{EXAMPLES[name]}"
                    logs.add_options(child, depth=depth + 1)
                    walk(child, depth + 1)

    walk(parser, 0)


def parse_command_line(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """storywire's arguments and Beam's (those after ``--``). An option storywire does not know before ``--`` is
    a ConfigError naming the closest known option (or saying where Beam's go); Beam options for a command that
    builds no pipeline too. ``--runner`` after ``--`` is taken as storywire's ``--runner``."""
    words = list(sys.argv[1:] if argv is None else argv)
    if "--" in words:
        cut = words.index("--")
        ours, beam_args = words[:cut], words[cut + 1 :]
    else:
        ours, beam_args = words, []
    parser = _parser()
    args, extras = parser.parse_known_args(ours)
    args.verbose = logs.verbosity(args)
    command, known = _chosen(parser, args)
    if extras:
        raise ConfigError(_unknown(extras, known, command, args.command in BEAM_COMMANDS))
    if beam_args:
        if args.command not in BEAM_COMMANDS:
            raise ConfigError(
                f"storywire {command} takes no Beam options (after --): {' '.join(beam_args)}; "
                f"only {', '.join(sorted(BEAM_COMMANDS))} build a pipeline"
            )
        beam_args = _take_runner(args, beam_args)
        loose = [word for word in beam_args if not word.startswith("-")]
        if loose:
            raise ConfigError(f"unexpected argument(s) after --: {' '.join(loose)}; write Beam options as --flag=value")
    return args, beam_args


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, list[str]]:
    """The command ``args`` chose (``topics check``) and the long options of it and the commands above it."""
    words: list[str] = []
    options: set[str] = set()
    current: argparse.ArgumentParser | None = parser
    while current is not None:
        shown = [action for action in current._actions if action.help != argparse.SUPPRESS]  # not the deprecated
        options.update(o for action in shown for o in action.option_strings if o.startswith("--"))
        actions = [a for a in _subparsers(current) if getattr(args, a.dest, None) in a.choices]
        words += [getattr(args, a.dest) for a in actions]
        current = actions[0].choices[getattr(args, actions[0].dest)] if actions else None
    return " ".join(words), sorted(options - {"--help", "--version"})


def _unknown(extras: list[str], known: list[str], command: str, takes_beam: bool) -> str:
    flags = [word for word in extras if word.startswith("-")]
    if not flags:
        return f"unexpected argument(s) for storywire {command}: {' '.join(extras)}"
    flag = flags[0]
    name = flag.split("=", 1)[0]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown option {name} of storywire {command}; did you mean {close[0]}?"
    if takes_beam:
        return f"unknown option {name} of storywire {command}; Beam's options go after --: ... -- {flag}"
    return f"unknown option {name} of storywire {command}; see storywire {command} --help"


def _take_runner(args: argparse.Namespace, beam_args: list[str]) -> list[str]:
    """``--runner=X`` (or ``--runner X``) among Beam's options sets storywire's ``--runner`` (the start-up checks
    and the report need it); given both ways with different values it is an error."""
    rest: list[str] = []
    runners: list[str] = []
    words = iter(beam_args)
    for word in words:
        if word == "--runner":
            runners.append(next(words, ""))
        elif word.startswith("--runner="):
            runners.append(word.split("=", 1)[1])
        else:
            rest.append(word)
    for runner in runners:
        if args.runner not in (DEFAULT_RUNNER, runner):
            raise ConfigError(f"--runner {args.runner} and --runner={runner} (after --) disagree; give one")
        args.runner = runner
    return rest


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args, beam_args = parse_command_line(argv)
        settings = logs.resolve(args.log_level, args.log_format, args.verbose)
    except (ConfigError, ValueError) as exc:
        print(f"storywire: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args.verbose = settings.verbose
    logs.configure(settings)
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
        if args.command == "config":
            return config_cli.run(args)
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
