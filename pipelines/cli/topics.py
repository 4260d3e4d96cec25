"""``storywire topics create|describe|check``: the topic contract, checked against a real cluster.

- ``create`` creates the four topics idempotently from ``storywire.connectors.kafka.topics.default_topic_specs``
  (stories ``cleanup.policy=compact``; the others ``delete`` with a retention); an existing topic is left as
  it is, and a difference from what was asked (e.g. its partition count) is reported.
- ``describe`` prints, per topic, the partitions and, for every config storywire asks for, the value asked
  next to the value the broker reports and its source. A value reported as the broker's default rather
  than as a topic override (``DEFAULT_CONFIG``) is flagged: the broker may not apply it (the bundled Tansu
  broker reports the configs it was given this way and enforces none: no compaction, no retention).
- ``check`` exits 0 when all four topics exist, else 2, naming exactly the missing ones and the command
  that creates them.

The comparison (``compare``) and the rendering are pure; only ``run`` talks to the broker.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from storywire.connectors.kafka import KafkaConfig, TopicNames, TopicSpec, default_topic_specs
from storywire.connectors.kafka.admin import TopicDescription, describe_topics, ensure_topics
from storywire.connectors.kafka.errors import KafkaConfigError
from storywire.connectors.kafka.topics import DEFAULT_PARTITIONS

__all__ = [
    "BOOTSTRAP_HELP",
    "DEFAULT_BOOTSTRAP",
    "TopicReport",
    "add_parser",
    "compare",
    "config_from_bootstrap",
    "create_command",
    "render_check",
    "render_describe",
    "run",
]

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"
EXIT_MISSING = 2
_DEFAULT_SOURCE = "DEFAULT_CONFIG"


@dataclass(frozen=True, slots=True)
class ConfigCheck:
    """One config storywire asks for, next to what the broker reports."""

    key: str
    asked: str
    reported: str | None
    source: str | None

    @property
    def matches(self) -> bool:
        return self.reported == self.asked

    @property
    def override(self) -> bool:
        """Whether the broker reports it as set on the topic (not as its own default)."""
        return self.source is not None and self.source != _DEFAULT_SOURCE


@dataclass(frozen=True, slots=True)
class TopicReport:
    """What was asked for one topic and what the broker reports (``described`` is None: missing)."""

    spec: TopicSpec
    described: TopicDescription | None
    configs: tuple[ConfigCheck, ...]

    @property
    def exists(self) -> bool:
        return self.described is not None

    def differences(self) -> list[str]:
        """Human-readable differences between what was asked and what the broker reports."""
        if self.described is None:
            return ["missing"]
        found = []
        if self.described.partitions != self.spec.partitions:
            found.append(f"{self.described.partitions} partitions, asked {self.spec.partitions}")
        asked_rf = self.spec.replication_factor
        if asked_rf is not None and self.described.replication_factor != asked_rf:
            found.append(f"replication factor {self.described.replication_factor}, asked {asked_rf}")
        for check in self.configs:
            if not check.matches:
                found.append(f"{check.key}={check.reported}, asked {check.asked}")
        return found


def compare(spec: TopicSpec, described: TopicDescription | None) -> TopicReport:
    """Pair a topic's spec with the broker's description of it."""
    checks = []
    for key, asked in sorted(spec.configs.items()):
        reported = described.configs.get(key) if described is not None else None
        checks.append(
            ConfigCheck(
                key=key,
                asked=asked,
                reported=reported.value if reported is not None else None,
                source=reported.source if reported is not None else None,
            )
        )
    return TopicReport(spec, described, tuple(checks))


def create_command(bootstrap: str, prefix: str, partitions: int | None = None, rf: int | None = None) -> str:
    """The ``storywire topics create`` command line for these settings."""
    parts = ["storywire", "topics", "create", "--bootstrap", bootstrap]
    if prefix != "news":
        parts += ["--topic-prefix", prefix]
    if partitions is not None and partitions != DEFAULT_PARTITIONS:
        parts += ["--partitions", str(partitions)]
    if rf is not None:
        parts += ["--replication-factor", str(rf)]
    return shlex.join(parts)


def render_describe(reports: Sequence[TopicReport], bootstrap: str) -> str:
    """One block per topic: partitions, then each config asked vs reported (with its source)."""
    lines = [f"topics at {bootstrap}:"]
    flagged = False
    for report in reports:
        described = report.described
        if described is None:
            lines.append(f"  {report.spec.name}: MISSING (asked {report.spec.partitions} partitions)")
            continue
        leaders = ",".join(str(leader) for leader in described.leaders) or "none"
        rf = report.spec.replication_factor
        lines.append(
            f"  {report.spec.name}: {described.partitions} partitions (asked {report.spec.partitions}), "
            f"replication factor {described.replication_factor} (asked {rf if rf is not None else 'broker default'}), "
            f"leaders {leaders}"
        )
        for check in report.configs:
            reported = "not reported" if check.reported is None else f"reported {check.reported} [{check.source}]"
            mark = "" if check.matches else "  <- differs"
            if check.reported is not None and not check.override:
                mark += "  <- not a topic override"
                flagged = True
            lines.append(f"      {check.key}: asked {check.asked}, {reported}{mark}")
        others = len(described.configs) - len(report.configs)
        if others > 0:
            lines.append(f"      (+{others} other configs reported at their values)")
    if flagged:
        lines.append(
            "note: a config reported as DEFAULT_CONFIG was not recorded as a topic override, so the broker may "
            "not apply it (the bundled Tansu broker reports configs this way and enforces none: no compaction, "
            "no retention)."
        )
    return "\n".join(lines)


def render_check(
    reports: Sequence[TopicReport], bootstrap: str, prefix: str, *, command_bootstrap: str | None = None
) -> tuple[str, str | None]:
    """(stdout lines, one-line error or None when every topic exists). ``command_bootstrap``: the ``--bootstrap``
    for the suggested ``create`` command (the URL with its security settings; no password is ever in it)."""
    lines = []
    for report in reports:
        if report.described is None:
            lines.append(f"MISSING {report.spec.name}")
        else:
            lines.append(f"ok      {report.spec.name} ({report.described.partitions} partitions)")
    missing = [r.spec.name for r in reports if r.described is None]
    if not missing:
        return "\n".join(lines), None
    error = (
        f"{len(missing)} of {len(reports)} topics missing at {bootstrap}: {', '.join(missing)}; "
        f"create them with: {create_command(command_bootstrap or bootstrap, prefix)}"
    )
    return "\n".join(lines), error


BOOTSTRAP_HELP = (
    "HOST:PORT[,HOST:PORT] or a kafka:// URL with client settings, the same as --sink: TLS and SASL too, e.g. "
    "kafka+ssl://b1:9093?sasl_mechanism=SCRAM-SHA-512&sasl_username=svc&sasl_password_env=KAFKA_PASSWORD"
    "&ssl_cafile=/etc/kafka/ca.pem (passwords only by *_password_env or *_password_file)"
)


def config_from_bootstrap(value: str, prefix: str, timeout_s: float) -> KafkaConfig:
    """``HOST:PORT[,HOST:PORT]`` or a ``kafka://``/``kafka+ssl://`` URL (TLS, SASL and other client settings,
    as for ``--sink``); errors name ``--bootstrap`` and never show a password."""
    timeout_ms = max(100, int(timeout_s * 1000))
    try:
        if "://" in value:
            return KafkaConfig.from_url(value, topic_prefix=prefix, bootstrap_timeout_ms=timeout_ms)
        return KafkaConfig(bootstrap_servers=value, topic_prefix=prefix, bootstrap_timeout_ms=timeout_ms)
    except KafkaConfigError as exc:
        raise KafkaConfigError(f"--bootstrap: {exc}") from exc


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``topics create|describe|check`` on the ``storywire`` parser."""
    topics = sub.add_parser("topics", help="create, describe or check the Kafka topics")
    actions = topics.add_subparsers(dest="topics_command", required=True, metavar="{create,describe,check}")
    for name, text in (
        ("create", "create the topics that do not exist (idempotent); report differences of existing ones"),
        ("describe", "partitions and configs: what storywire asks for vs what the broker reports"),
        ("check", "exit 0 if every topic exists, else 2 naming the missing ones"),
    ):
        parser = actions.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--bootstrap",
            default=DEFAULT_BOOTSTRAP,
            metavar="HOST:PORT|URL",
            help=f"{BOOTSTRAP_HELP}; default {DEFAULT_BOOTSTRAP}, the local broker",
        )
        parser.add_argument("--topic-prefix", default="news", help="topic names are PREFIX.articles.v1 etc.")
        parser.add_argument(
            "--partitions", type=int, default=DEFAULT_PARTITIONS, help=f"partitions (default {DEFAULT_PARTITIONS})"
        )
        parser.add_argument(
            "--replication-factor", type=int, default=None, metavar="R", help="default: the broker's default"
        )
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the broker")


def run(args: argparse.Namespace) -> int:
    """Run one ``topics`` subcommand; broker and config errors propagate to ``cli.main`` (exit 2)."""
    config = config_from_bootstrap(args.bootstrap, args.topic_prefix, args.timeout)
    try:
        specs = default_topic_specs(
            TopicNames(args.topic_prefix), partitions=args.partitions, replication_factor=args.replication_factor
        )
    except KafkaConfigError as exc:
        raise KafkaConfigError(f"topics {args.topics_command}: {exc}") from exc
    bootstrap = config.bootstrap_servers
    if args.topics_command == "create":
        outcomes = ensure_topics(config, specs, timeout_s=max(args.timeout, 1.0))
        reports = _reports(config, specs, args.timeout)
        for report in reports:
            name = report.spec.name
            verb = "created" if outcomes[name] == "created" else "exists "
            differences = report.differences() if outcomes[name] == "exists" else []
            note = f" (left as it is: {'; '.join(differences)})" if differences else ""
            print(f"{verb} {name}{note}")
        return 0
    reports = _reports(config, specs, args.timeout)
    if args.topics_command == "describe":
        print(render_describe(reports, bootstrap))
        return 0
    text, error = render_check(reports, bootstrap, args.topic_prefix, command_bootstrap=args.bootstrap)
    print(text)
    if error is not None:
        print(f"storywire: error: {error}", file=sys.stderr)
        return EXIT_MISSING
    return 0


def _reports(config: KafkaConfig, specs: Sequence[TopicSpec], timeout_s: float) -> list[TopicReport]:
    described = describe_topics(config, [spec.name for spec in specs], timeout_s=timeout_s)
    return [compare(spec, described[spec.name]) for spec in specs]
