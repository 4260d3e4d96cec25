"""``storywire config check|show FILE``: a live config checked, or shown as it takes effect; no network, no writes.

- ``check`` reads the whole file (its ``feed_files`` and the ``STORYWIRE__*`` overrides too) and prints every
  mistake, one line each, naming file, line and key (``live.yaml line 12: feeds[2].min_interval: ...``), then
  exits 2; or prints ``FILE: ok (N feeds, M enabled)`` and exits 0.
- ``show`` prints the effective config as YAML: defaults filled in, environment overrides applied, the feeds of
  ``feed_files`` listed under ``feeds:``; secrets masked (``***``: the Kafka passwords and any setting whose name
  says password, secret or token). A config with mistakes is ``check``'s output and exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import timedelta
from typing import Any, Final, TextIO

import yaml

from storywire.connectors.kafka.security import URL_SECURITY_PARAMS, KafkaSecurity, Secret, redact_url

__all__ = ["MASK", "add_parser", "effective", "run"]

MASK: Final = "***"
_SECRET_WORDS: Final = ("password", "secret", "token")
EXIT_PROBLEMS: Final = 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``config check|show`` on the ``storywire`` parser."""
    config = sub.add_parser("config", help="check a live config (every mistake) or show it as it takes effect")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="{check,show}")
    for name, text in (
        ("check", "report every mistake of a live config with file, line and key (exit 2), or ok (exit 0)"),
        ("show", "print the effective config (defaults, STORYWIRE__* overrides) as YAML, secrets masked"),
    ):
        parser = actions.add_parser(name, help=text, description=text, epilog=_EXAMPLES[name])
        parser.add_argument("file", metavar="FILE", help="the live config (YAML), e.g. deploy/feeds.example.yaml")


_EXAMPLES: Final = {
    "check": """examples:
  storywire config check live.yaml        # every mistake, with file, line and key; exit 2 if any
  STORYWIRE__POLLING__MIN_INTERVAL=15m storywire config check live.yaml""",
    "show": """examples:
  storywire config show live.yaml         # the effective settings as YAML, secrets masked
  STORYWIRE__STORIES__DORMANCY=72h storywire config show live.yaml""",
}


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``config check`` or ``config show``; mistakes go to ``err`` (stderr), one line each."""
    from storywire.pipelines.config.loading import check_config, load_config

    stdout, stderr = out or sys.stdout, err or sys.stderr
    problems = check_config(args.file)
    if problems:
        for problem in problems:
            print(f"storywire: error: {' '.join(problem.split())}", file=stderr)
        print(f"{args.file}: {len(problems)} problem(s)", file=stderr)
        return EXIT_PROBLEMS
    config = load_config(args.file)
    if args.config_command == "check":
        print(f"{args.file}: ok ({len(config.feeds)} feeds, {len(config.enabled_feeds)} enabled)", file=stdout)
        return 0
    print(
        f"# {args.file} as it takes effect: defaults filled in, STORYWIRE__* overrides applied, secrets masked",
        file=stdout,
    )
    print(yaml.safe_dump(effective(config), sort_keys=False, allow_unicode=True, width=120), end="", file=stdout)
    return 0


def effective(config: Any) -> dict[str, Any]:
    """The config as plain YAML values under the file's own keys (durations as ``10m``, secrets masked)."""
    from storywire.pipelines.config import values
    from storywire.pipelines.config.feeds import FEED_KEYS
    from storywire.pipelines.config.loading import _SECTIONS

    result: dict[str, Any] = {"feeds": [_feed(spec, FEED_KEYS) for spec in config.feeds]}
    for name, section in _SECTIONS.items():
        value = getattr(config, name)
        if isinstance(value, KafkaSecurity):
            result[name] = _kafka(value)
            continue
        shown: dict[str, Any] = {}
        for key in section.keys:
            if name == "stories" and key == "merging":
                shown[key] = value.merge_threshold is not None
                continue
            setting = getattr(value, section.arguments.get(key, key))
            if section.keys[key] is values.seconds and isinstance(setting, int | float):
                setting = timedelta(seconds=setting)  # stored in seconds, written as a duration
            shown[key] = _plain(key, setting)
        result[name] = shown
    result["sinks"] = [redact_url(uri) for uri in config.sinks]
    result["topic_prefix"] = config.topic_prefix
    return result


def _feed(spec: Any, keys: Any) -> Any:
    entry = {key: _plain(key, getattr(spec, key)) for key in keys}
    defaults = {item.name: item.default for item in dataclasses.fields(spec) if item.name != "url"}
    return {key: value for key, value in entry.items() if key == "url" or getattr(spec, key) != defaults.get(key)}


def _kafka(security: KafkaSecurity) -> dict[str, Any]:
    """The ``kafka:`` section under its YAML keys; where a password comes from is masked too."""
    shown: dict[str, Any] = {}
    for key in sorted(URL_SECURITY_PARAMS):
        if key.endswith(("_password_env", "_password_file")):
            secret = getattr(security, key.rsplit("_", 1)[0])
            from_env = isinstance(secret, Secret) and secret.source.startswith("environment variable")
            given = secret is not None and (from_env == key.endswith("_env"))
            shown[key] = MASK if given else None
            continue
        shown[key] = _plain(key, getattr(security, key))
    return shown


def _plain(key: str, value: Any) -> Any:
    """A YAML-ready value; a secret, or a value under a secret-sounding key, is ``***``."""
    if value is None:
        return None
    if isinstance(value, Secret) or any(word in key.lower() for word in _SECRET_WORDS):
        return MASK
    if isinstance(value, timedelta):
        from storywire.pipelines.config.units import format_duration

        return format_duration(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [_plain(key, item) for item in value]
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
