"""Logging of the ``storywire`` command: the standard :mod:`logging` module, one handler on stderr, two formats.

- ``json`` (the default when stderr is not a terminal: containers, systemd, CI): one JSON object a line, e.g.
  ``{"timestamp":"2026-05-03T07:00:00.123Z","level":"INFO","logger":"storywire.live.feeds","message":"feed
  https://a.example/rss: ok, 2 new, ...","feed_url":"https://a.example/rss","outcome":"ok","new_items":2}``:
  the ``extra=`` attributes a record carries become fields (:func:`storywire.pipelines.live.progress.log_poll`
  gives ``feed_url``, ``outcome``...), a traceback is in ``exc_info``.
- ``text`` (the default on a terminal): ``2026-05-03T07:00:00.123Z INFO live: 12 polls ...``; a record of another
  library names its logger in brackets.

The level: ``--log-level LEVEL`` (or ``STORYWIRE_LOG_LEVEL``), else ``-v`` (INFO) / ``-vv`` (DEBUG), else WARNING
with storywire's own progress and Kafka outage lines at INFO (shown by default). Beam, Kafka and the other
libraries log at WARNING and above whatever our level (their INFO and DEBUG lines are noise to an operator); the
few that log an ERROR for what storywire reports itself in one line (a refused connection, a failed bundle) are
kept quiet unless the level is INFO or finer. The format: ``--log-format`` (or ``STORYWIRE_LOG_FORMAT``).

Errors that stop the command are not log records: they are the one ``storywire: error: ...`` line (exit 2).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TextIO

import orjson

__all__ = [
    "FORMATS",
    "LEVELS",
    "JsonFormatter",
    "LogSettings",
    "TextFormatter",
    "add_options",
    "configure",
    "resolve",
    "verbosity",
]

FORMATS: Final = ("json", "text")
LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LEVEL_ENV: Final = "STORYWIRE_LOG_LEVEL"
FORMAT_ENV: Final = "STORYWIRE_LOG_FORMAT"

# Loggers of storywire whose INFO lines show at the default level: the live run's progress line (the per-feed
# events, storywire.live.feeds, only from INFO on) and the Kafka sink's two outage lines (unreachable, back).
DEFAULT_VISIBLE: Final = ("storywire.live", "storywire.kafka", "storywire.replay")
QUIET_BY_DEFAULT: Final = ("storywire.live.feeds",)
# Libraries whose INFO/DEBUG lines are noise: at WARNING whatever the level.
THIRD_PARTY: Final = ("apache_beam", "kafka", "urllib3", "warcio", "grpc", "asyncio", "filelock")
# Library loggers that log, at ERROR, what storywire says itself in one line: kafka-python every refused
# connection, Beam a failed bundle's traceback before raising it; warcio warns about damaged records that become
# dead letters. Silent unless the level is INFO or finer.
SILENCED: Final[Mapping[str, int]] = {
    "kafka": logging.CRITICAL,
    "apache_beam.runners.common": logging.CRITICAL,
    "apache_beam.runners.worker": logging.CRITICAL,
    "warcio": logging.ERROR,
}
# Logged at import by Beam on every machine without Google Cloud libraries; it is not about storywire.
_IGNORED_PREFIXES: Final = ("apitools not found",)

# The attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_FIELDS: Final = ("timestamp", "level", "logger", "message")


@dataclass(frozen=True)
class LogSettings:
    """The resolved level (None: the default, WARNING with the default-visible lines) and format."""

    level: int | None
    format: str

    @property
    def verbose(self) -> bool:
        """INFO or finer: the per-feed poll events and the libraries' ERROR lines show."""
        return self.level is not None and self.level <= logging.INFO


def add_options(parser: argparse.ArgumentParser, *, depth: int) -> None:
    """``-v``, ``--log-level``, ``--log-format`` on ``parser`` (the command at ``depth``: 0 for ``storywire``
    itself). Below the top they leave what was given before the command (SUPPRESS), and each level counts its
    own ``-v`` (summed by :func:`verbosity`), so the options work anywhere on the line."""
    top = depth == 0
    group = parser.add_argument_group("global options (anywhere on the line)")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest=f"_verbose_{depth}",
        default=0 if top else argparse.SUPPRESS,
        help="log at INFO (-vv: DEBUG); the libraries (Beam, Kafka) stay at WARNING",
    )
    group.add_argument(
        "--log-level",
        type=str.lower,
        choices=LEVELS,
        default=None if top else argparse.SUPPRESS,
        metavar="LEVEL",
        help=f"{', '.join(LEVELS)} (default: warning, with the progress lines; env {LEVEL_ENV})",
    )
    group.add_argument(
        "--log-format",
        type=str.lower,
        choices=FORMATS,
        default=None if top else argparse.SUPPRESS,
        help=f"json lines (default when stderr is not a terminal) or text (env {FORMAT_ENV})",
    )


def verbosity(args: argparse.Namespace) -> int:
    """The ``-v`` count over every level of the command line (removing the per-level counts from ``args``)."""
    counts = [key for key in vars(args) if key.startswith("_verbose_")]
    total = sum(getattr(args, key) for key in counts)
    for key in counts:
        delattr(args, key)
    return total


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _plain(value: Any) -> Any:
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp (UTC, ms), level, logger, message, the record's extra attributes,
    ``exc_info`` (the traceback) and ``stack_info`` when present. Values JSON cannot hold are written as text."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[f"extra.{key}" if key in _FIELDS else key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


class TextFormatter(logging.Formatter):
    """``2026-05-03T07:00:00.123Z INFO message``; records of other libraries add ``[logger]`` before the
    message; a traceback follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        source = "" if record.name.startswith("storywire") else f"[{record.name}] "
        line = f"{_timestamp(record)} {record.levelname} {source}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test's capture, a replaced stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _not_ignored(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_IGNORED_PREFIXES)


def resolve(
    level: str | None,
    log_format: str | None,
    verbose: int = 0,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> LogSettings:
    """The settings the flags ask for: ``level`` (``--log-level``) wins over ``STORYWIRE_LOG_LEVEL``, which wins
    over ``verbose`` (the count of ``-v``); ``log_format`` over ``STORYWIRE_LOG_FORMAT`` over the terminal test
    (text on a terminal, json otherwise). A bad environment value is a ValueError naming the variable."""
    env = os.environ if environ is None else environ
    name = level or env.get(LEVEL_ENV) or None
    chosen: int | None
    if name is not None:
        if name.strip().lower() not in LEVELS:
            raise ValueError(f"{LEVEL_ENV}={name!r} is not a level; use one of {', '.join(LEVELS)}")
        chosen = logging.getLevelName(name.strip().upper())
    elif verbose:
        chosen = logging.INFO if verbose == 1 else logging.DEBUG
    else:
        chosen = None
    fmt = log_format or env.get(FORMAT_ENV) or None
    if fmt is not None and fmt.strip().lower() not in FORMATS:
        raise ValueError(f"{FORMAT_ENV}={fmt!r} is not a log format; use json or text")
    if fmt is None:
        out = stream or sys.stderr
        fmt = "text" if _isatty(out) else "json"
    return LogSettings(chosen, fmt.strip().lower())


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


_OURS = "_storywire_handler"


def configure(settings: LogSettings, stream: TextIO | None = None) -> logging.Handler:
    """Install the one stderr handler on the root logger (replacing earlier ones) and set the levels.

    An explicit level is also the handler's: nothing below it is written, whichever logger asks. At the default
    level the root logger is at WARNING and the :data:`DEFAULT_VISIBLE` loggers at INFO."""
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler.addFilter(_not_ignored)
    root = logging.getLogger()
    # Replace the handler an earlier call installed (a second command in one process), not others' (pytest's
    # capture handler, an embedding application's).
    for old in list(root.handlers):
        if getattr(old, _OURS, False):
            root.removeHandler(old)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    level = logging.WARNING if settings.level is None else settings.level
    root.setLevel(level)
    handler.setLevel(logging.NOTSET if settings.level is None else settings.level)
    for name in ("storywire", *DEFAULT_VISIBLE, *QUIET_BY_DEFAULT):
        logging.getLogger(name).setLevel(logging.NOTSET)
    if settings.level is None:
        for name in DEFAULT_VISIBLE:
            logging.getLogger(name).setLevel(logging.INFO)
        for name in QUIET_BY_DEFAULT:
            logging.getLogger(name).setLevel(logging.WARNING)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name, quiet in SILENCED.items():
        logging.getLogger(name).setLevel(max(level, logging.WARNING) if settings.verbose else quiet)
    return handler
