"""``storywire topics create|describe|check``: the topic contract, checked against a real cluster.

- ``create`` creates the four topics idempotently from ``storywire.connectors.kafka.topics.default_topic_specs``
  (stories ``cleanup.policy=compact``; the others ``delete`` with a retention); an existing topic is left as
  it is, and a difference from what was asked (e.g. its partition count) is reported.
- ``describe`` prints, per topic, the partitions and, for every config storywire asks for, the value asked
  next to the value the broker reports and its source. A value reported as the broker's default rather
  than as a topic override (``DEFAULT_CONFIG``) is flagged: the broker may not apply it (the bundled Tansu
  broker reports the configs it was given this way and enforces none: no compaction, no retention).
- ``check`` exits 0 when all four topics exist with the partition count and cleanup policy storywire expects,
  else 2, naming exactly the missing ones and the command that creates them, or the topics that differ and
  how (an auto-created topic with another partition count, or a stories topic that is not compacted).

The comparison (``compare``) and the rendering are pure; only ``run`` talks to the broker.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka import KafkaConfig, TopicNames, TopicSpec, default_topic_specs
from storywire.connectors.kafka.admin import TopicDescription, describe_topics, ensure_topics
from storywire.connectors.kafka.errors import KafkaConfigError
from storywire.connectors.kafka.topics import DEFAULT_PARTITIONS

__all__ = [
    "BOOTSTRAP_HELP",
    "BROKER_ENV",
    "DEFAULT_BOOTSTRAP",
    "DeprecatedAlias",
    "TopicReport",
    "add_broker_options",
    "add_parser",
    "broker_config",
    "compare",
    "config_from_bootstrap",
    "config_from_broker",
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
    """The ``storywire topics create`` command line for these settings (``bootstrap``: HOST:PORT, a URL, or
    ``--config FILE`` when the broker came from a config)."""
    if bootstrap.startswith("--config "):
        parts = ["storywire", "topics", "create", "--config", bootstrap.removeprefix("--config ")]
    else:
        parts = [
            "storywire",
            "topics",
            "create",
            "--broker",
            bootstrap if "://" in bootstrap else f"kafka://{bootstrap}",
        ]
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
    """(stdout lines, one-line error or None when every topic exists). ``command_bootstrap``: the ``--broker``
    for the suggested ``create`` command (the URL with its security settings; no password is ever in it)."""
    lines = []
    wrong: list[str] = []
    for report in reports:
        problems = check_problems(report)
        if report.described is None:
            lines.append(f"MISSING {report.spec.name}")
        elif problems:
            lines.append(f"DIFFERS {report.spec.name}: {'; '.join(problems)}")
            wrong.append(f"{report.spec.name} ({'; '.join(problems)})")
        else:
            lines.append(f"ok      {report.spec.name} ({report.described.partitions} partitions)")
    missing = [r.spec.name for r in reports if r.described is None]
    if missing:
        error = (
            f"{len(missing)} of {len(reports)} topics missing at {bootstrap}: {', '.join(missing)}; "
            f"create them with: {create_command(command_bootstrap or bootstrap, prefix)}"
        )
        return "\n".join(lines), error
    if wrong:
        error = (
            f"{len(wrong)} of {len(reports)} topics differ from what storywire expects at {bootstrap}: "
            f"{', '.join(wrong)}; an existing topic is never altered: recreate it, or change its partitions or "
            "cleanup.policy with the cluster's own tools"
        )
        return "\n".join(lines), error
    return "\n".join(lines), None


def check_problems(report: TopicReport) -> list[str]:
    """What ``topics check`` refuses in an existing topic: another partition count (keys would move between
    partitions), or a cleanup policy that is not the one asked (a stories topic that is not compacted grows
    for ever and a consumer replaying it sees every old version)."""
    described = report.described
    if described is None:
        return []
    problems = []
    if described.partitions != report.spec.partitions:
        problems.append(f"{described.partitions} partitions, expected {report.spec.partitions}")
    asked = report.spec.configs.get("cleanup.policy")
    reported = next((c.reported for c in report.configs if c.key == "cleanup.policy"), None)
    if asked == "compact" and reported != "compact":
        problems.append(f"cleanup.policy {reported or 'not reported (the broker default)'}, expected compact")
    elif asked is not None and reported is not None and reported != asked:
        problems.append(f"cleanup.policy {reported}, expected {asked}")
    return problems


BOOTSTRAP_HELP = (
    "a kafka:// URL with client settings, the same as --sink (HOST:PORT[,HOST:PORT] works too): TLS and SASL, "
    "e.g. kafka+ssl://b1:9093?sasl_mechanism=SCRAM-SHA-512&sasl_username=svc&sasl_password_env=KAFKA_PASSWORD"
    "&ssl_cafile=/etc/kafka/ca.pem (passwords only by *_password_env or *_password_file)"
)
BROKER_ENV = "STORYWIRE_BROKER"
BROKER_HELP = (
    f"{BOOTSTRAP_HELP}. Default: ${BROKER_ENV}, else the first kafka:// sink of --config, else the bundled "
    f"local broker ({DEFAULT_BOOTSTRAP})"
)


def config_from_broker(value: str, prefix: str, timeout_s: float, *, flag: str = "--broker") -> KafkaConfig:
    """``HOST:PORT[,HOST:PORT]`` or a ``kafka://``/``kafka+ssl://`` URL (TLS, SASL and other client settings,
    as for ``--sink``); errors name ``flag`` (where the value came from) and never show a password."""
    timeout_ms = max(100, int(timeout_s * 1000))
    try:
        if "://" in value:
            return KafkaConfig.from_url(value, topic_prefix=prefix, bootstrap_timeout_ms=timeout_ms)
        return KafkaConfig(bootstrap_servers=value, topic_prefix=prefix, bootstrap_timeout_ms=timeout_ms)
    except KafkaConfigError as exc:
        raise KafkaConfigError(f"{flag}: {exc}") from exc


def config_from_bootstrap(value: str, prefix: str, timeout_s: float) -> KafkaConfig:
    """:func:`config_from_broker` for a value given as ``--bootstrap`` (the deprecated name of ``--broker``)."""
    return config_from_broker(value, prefix, timeout_s, flag="--bootstrap")


class DeprecatedAlias(argparse.Action):
    """An old option name: stores like the new one (``dest``) and says, on one stderr line, what to write now."""

    def __init__(self, option_strings: list[str], dest: str, *, replacement: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        print(f"storywire: warning: {option} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_flag", option)


def add_broker_options(parser: argparse.ArgumentParser) -> None:
    """``--broker URL`` (``--bootstrap``: deprecated), ``--config FILE``, ``--broker-timeout S`` and
    ``--topic-prefix`` of the commands that talk to the broker directly (``topics``, ``tail``)."""
    parser.add_argument("--broker", metavar="URL", default=None, help=BROKER_HELP)
    parser.add_argument("--bootstrap", dest="broker", action=DeprecatedAlias, replacement="--broker URL")
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a live config: its first kafka:// sink (with the kafka: section's TLS/SASL) is the broker, its "
        "topic_prefix the prefix (--broker and --topic-prefix win)",
    )
    parser.add_argument(
        "--broker-timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the broker (10)"
    )
    parser.add_argument(
        "--topic-prefix", default=None, help="topic names are PREFIX.articles.v1 etc. (default news, or --config's)"
    )


def broker_config(args: argparse.Namespace) -> tuple[KafkaConfig, str]:
    """The broker of ``args`` (``--broker``, else ``$STORYWIRE_BROKER``, else ``--config``'s first kafka:// sink,
    else the local broker) and how to write it in a suggested command; sets ``args.topic_prefix`` when unset."""
    from storywire.pipelines.config.environment import storywire_environment

    live = None
    if args.config is not None:
        from storywire.pipelines.config.loading import load_config

        live = load_config(args.config)
    if args.topic_prefix is None:
        args.topic_prefix = live.topic_prefix if live is not None else "news"
    timeout_s = args.broker_timeout
    if timeout_s <= 0:
        raise ConfigError(f"--broker-timeout must be > 0, got {timeout_s:g}")
    if args.broker is not None:
        flag = getattr(args, "broker_flag", "--broker")
        return config_from_broker(args.broker, args.topic_prefix, timeout_s, flag=flag), args.broker
    environment = storywire_environment().get(BROKER_ENV, "").strip()
    if environment:
        return config_from_broker(environment, args.topic_prefix, timeout_s, flag=BROKER_ENV), environment
    if live is not None:
        sink = next((sink for sink in live.sink_specs() if sink.kafka is not None), None)
        if sink is None or sink.kafka is None:
            raise ConfigError(f"{args.config} has no kafka:// sink; give the broker with --broker kafka://HOST:PORT")
        kafka = sink.kafka.with_overrides(
            topic_prefix=args.topic_prefix, bootstrap_timeout_ms=max(100, int(timeout_s * 1000))
        )
        return kafka, f"--config {args.config}"
    return config_from_broker(DEFAULT_BOOTSTRAP, args.topic_prefix, timeout_s), DEFAULT_BOOTSTRAP


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``topics create|describe|check`` on the ``storywire`` parser."""
    topics = sub.add_parser("topics", help="create, describe or check the Kafka topics")
    actions = topics.add_subparsers(dest="topics_command", required=True, metavar="{create,describe,check}")
    for name, text in (
        ("create", "create the topics that do not exist (idempotent); report differences of existing ones"),
        ("describe", "partitions and configs: what storywire asks for vs what the broker reports"),
        ("check", "exit 0 if every topic exists, else 2 naming the missing ones"),
    ):
        parser = actions.add_parser(name, help=text, description=text, epilog=_EXAMPLES.format(name=name))
        add_broker_options(parser)
        parser.add_argument(
            "--partitions", type=int, default=DEFAULT_PARTITIONS, help=f"partitions (default {DEFAULT_PARTITIONS})"
        )
        parser.add_argument(
            "--replication-factor", type=int, default=None, metavar="R", help="default: the broker's default"
        )
        parser.add_argument(
            "--timeout", dest="broker_timeout", type=float, action=DeprecatedAlias, replacement="--broker-timeout S"
        )


_EXAMPLES = """examples:
  storywire topics {name} --broker kafka://broker:9092
  storywire topics {name} --broker kafka://broker:9092 --partitions 12 --replication-factor 3
  storywire topics {name} --config live.yaml        # the broker, TLS/SASL settings and prefix of the config
  STORYWIRE_BROKER=kafka://broker:9092 storywire topics {name}"""


def run(args: argparse.Namespace) -> int:
    """Run one ``topics`` subcommand; broker and config errors propagate to ``cli.main`` (exit 2)."""
    config, given = broker_config(args)
    timeout = args.broker_timeout
    try:
        specs = default_topic_specs(
            TopicNames(args.topic_prefix), partitions=args.partitions, replication_factor=args.replication_factor
        )
    except KafkaConfigError as exc:
        raise KafkaConfigError(f"topics {args.topics_command}: {exc}") from exc
    bootstrap = config.bootstrap_servers
    if args.topics_command == "create":
        outcomes = ensure_topics(config, specs, timeout_s=max(timeout, 1.0))
        reports = _reports(config, specs, timeout)
        for report in reports:
            name = report.spec.name
            verb = "created" if outcomes[name] == "created" else "exists "
            differences = report.differences() if outcomes[name] == "exists" else []
            note = f" (left as it is: {'; '.join(differences)})" if differences else ""
            print(f"{verb} {name}{note}")
        return 0
    reports = _reports(config, specs, timeout)
    if args.topics_command == "describe":
        print(render_describe(reports, bootstrap))
        return 0
    text, error = render_check(reports, bootstrap, args.topic_prefix, command_bootstrap=given)
    print(text)
    if error is not None:
        print(f"storywire: error: {error}", file=sys.stderr)
        return EXIT_MISSING
    return 0


def _reports(config: KafkaConfig, specs: Sequence[TopicSpec], timeout_s: float) -> list[TopicReport]:
    described = describe_topics(config, [spec.name for spec in specs], timeout_s=timeout_s)
    return [compare(spec, described[spec.name]) for spec in specs]
