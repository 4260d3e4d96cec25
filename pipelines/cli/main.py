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
import sys
from collections.abc import Sequence

from storywire import __version__
from storywire.connectors.errors import ConfigError, StorywireError
from storywire.connectors.kafka.errors import DeliveryError
from storywire.pipelines import bundled
from storywire.pipelines.cli import config as config_cli
from storywire.pipelines.cli import feeds as feeds_cli
from storywire.pipelines.cli import logs
from storywire.pipelines.cli import replay as replay_cli
from storywire.pipelines.cli import report as report_cli
from storywire.pipelines.cli import run as run_cli
from storywire.pipelines.cli import status as status_cli
from storywire.pipelines.cli import tail as tail_cli
from storywire.pipelines.cli import topics as topics_cli
from storywire.pipelines.cli.failures import kafka_failure
from storywire.pipelines.cli.interrupts import INTERRUPTED
from storywire.pipelines.cli.summary import print_summary

DEFAULT_RUNNER = replay_cli.DEFAULT_RUNNER
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

    replay_cli.add_parsers(sub)  # replay, demo

    summary = sub.add_parser("summary", help="summarise a file sink directory written by replay")
    summary.add_argument("directory")
    summary.add_argument("--topic-prefix", default="news", help="file names are PREFIX.articles.v1.jsonl etc.")

    topics_cli.add_parser(sub)
    tail_cli.add_parser(sub)
    feeds_cli.add_parser(sub)
    run_cli.add_parser(sub)
    status_cli.add_parser(sub)
    config_cli.add_parser(sub)
    report_cli.add_parsers(sub)  # report, stories, export
    _finish(parser)
    return parser


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
    **replay_cli.EXAMPLES,
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
            return print_summary(args.directory, args.topic_prefix)
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
        return replay_cli.run(args, beam_args, demo=args.command == "demo")
    except DeliveryError as exc:  # raised outside a pipeline (a runner wraps the ones raised inside)
        print(f"storywire: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    except StorywireError as exc:
        print(f"storywire: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"storywire: interrupted: {INTERRUPTED[args.command]}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_live(args: argparse.Namespace, beam_args: list[str]) -> int:
    """``storywire run``; a run stopped by Kafka (the broker away past the outage limit) ends with one line."""
    try:
        return run_cli.run(args, beam_args)
    except StorywireError:
        raise
    except Exception as exc:
        reason = kafka_failure(exc)
        if reason is None:
            raise
        print(f"storywire: error: {reason}", file=sys.stderr)  # it names the broker and what happens next
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
