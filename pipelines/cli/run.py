"""``storywire run --config FILE``: the live pipeline until SIGTERM or Ctrl-C (or ``--max-rounds``)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from storywire.connectors.errors import ConfigError

if TYPE_CHECKING:
    from storywire.pipelines.config.live import LiveConfig
    from storywire.pipelines.live.health import HealthServer

# How far past the stop grace the watchdog lets a run go before it exits the process itself.
_WATCHDOG_SLACK_S = 2.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="poll the configured feeds continuously and stream results to the sinks",
        epilog="""examples:
  storywire run --config deploy/feeds.example.yaml
  storywire run --config live.yaml --max-rounds 1 --log-format text
  storywire run --config live.yaml --metrics-port 9464 --log-level info
  storywire run --config live.yaml --runner FlinkRunner --shards 4 -- --flink_master=flink-jobmanager:8081""",
    )
    run.add_argument("--config", required=True, help="YAML config (see deploy/feeds.example.yaml)")
    run.add_argument(
        "--runner",
        default="FnApiRunner",
        help="Beam runner (always explicit; default FnApiRunner); its own options go after --",
    )
    run.add_argument("--shards", type=int, default=1, help="split feeds by host into N polling shards (default 1)")
    run.add_argument(
        "--max-rounds",
        type=int,
        default=None,
        help="stop once every feed was polled N times (or failed its last poll) and its pages are done (demos, tests)",
    )
    run.add_argument(
        "--broker-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the broker at start (10)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics, /healthz and /readyz on this port (default: metrics.port of the config; 0: any)",
    )
    run.add_argument(
        "--create-topics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="create missing Kafka topics at start-up (default)",
    )


def run(args: argparse.Namespace, beam_args: list[str]) -> int:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from storywire.connectors.feeds.state_store import feed_state_topic_spec
    from storywire.connectors.kafka.admin import check_reachable, ensure_topics, missing_topics
    from storywire.connectors.kafka.topics import TopicNames, default_topic_specs
    from storywire.pipelines.beam.run_report import RunReport
    from storywire.pipelines.config.loading import load_config
    from storywire.pipelines.config.preflight import check_writable_paths
    from storywire.pipelines.graphs.live import build_live
    from storywire.pipelines.live import metrics, stop

    if args.shards < 1:
        raise ConfigError(f"--shards must be >= 1, got {args.shards}")
    config = load_config(args.config)
    check_writable_paths(config)
    if not config.sinks:
        raise ConfigError(f"{args.config}: no sinks configured; add e.g. sinks: [kafka://127.0.0.1:19092, file://out]")
    topics = TopicNames(config.topic_prefix)
    for sink in config.sink_specs():
        if sink.kafka is None:
            continue
        check_reachable(sink.kafka, args.broker_timeout)
        if args.create_topics:
            specs = (*default_topic_specs(topics), feed_state_topic_spec(config.topic_prefix))
            ensure_topics(sink.kafka, specs)
        elif missing := missing_topics(sink.kafka, topics.all(), timeout_s=args.broker_timeout):
            raise ConfigError(f"Kafka topic(s) missing at {sink.kafka.bootstrap_servers}: {', '.join(missing)}")
    health = _serve_metrics(config, args.metrics_port)
    if any(sink.kafka is not None for sink in config.sink_specs()):
        metrics.METRICS.set_broker_up(True)  # reached just above
    stop.reset()
    stop.set_grace(config.run.stop_grace.total_seconds())
    stop.install_signal_handlers()
    _exit_if_stuck(config.run.stop_grace.total_seconds())
    options = PipelineOptions([f"--runner={args.runner}", "--streaming", *beam_args])
    started = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    build_live(
        pipeline, config, shards=args.shards, max_rounds=args.max_rounds, story_store=_story_store(config, args.runner)
    )
    enabled, disabled = len(config.enabled_feeds), len(config.feeds) - len(config.enabled_feeds)
    skipped = f" ({disabled} disabled, not polled)" if disabled else ""
    print(f"storywire run: polling {enabled} feed(s){skipped}; stop with SIGTERM or Ctrl-C", flush=True)
    result = pipeline.run()
    result.wait_until_finish()
    if health is not None:
        health.stop()
    report = RunReport.from_result(result)
    print(f"storywire run stopped after {time.monotonic() - started:.1f}s")
    for name, value in sorted(report.counters.items()):
        print(f"  {name}: {value}")
    balance = report.live_balance()
    print(balance.render("live pages"))
    if not balance.ok:
        print(f"storywire run: warning: {balance.total - balance.accounted} page(s) unaccounted", file=sys.stderr)
    return 0


def _serve_metrics(config: LiveConfig, port_flag: int | None) -> HealthServer | None:
    """Start the metrics and health endpoints when a port is configured (a port in use: exit 2 now)."""
    from storywire.pipelines.live import metrics
    from storywire.pipelines.live.health import HealthServer

    metrics.reset()
    port = config.metrics.port if port_flag is None else port_flag
    if port is None:
        return None
    server = HealthServer(config.metrics.host, port)
    server.start()
    print(f"storywire run: metrics on http://{config.metrics.host}:{server.port}/metrics", flush=True)
    return server


# Runners whose workers share this machine's disk: the story state file works there. On Flink or Dataflow keyed
# state moves between machines, so story state stays in the runner's own (checkpointed) state.
_LOCAL_RUNNERS = frozenset({"FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner"})


def _story_store(config: LiveConfig, runner: str) -> str | None:
    path = config.state.story_store_path()
    if path is None:
        return None
    if runner.rsplit(".", 1)[-1] not in _LOCAL_RUNNERS:
        if config.state.stories_path != "auto":
            raise ConfigError(
                f"state.stories_path is a local file, which the {runner} runner cannot share between its workers; "
                "set it to off (story state then lives in the runner's checkpoints)"
            )
        return None
    return path


def _exit_if_stuck(grace_s: float) -> None:
    """A last resort: if the run has not ended shortly after its stop grace, say so and exit.

    The pipeline normally ends well within the grace (the source saves unfinished work as pending and returns).
    Should something not return (a sink that ignores the stop), the process still ends, with exit 1; the last
    checkpoint then covers the work, and what came after it is done again after a restart.
    """
    import os
    import sys
    import threading

    from storywire.pipelines.live import stop

    def watch() -> None:
        stop.STOP.wait()
        time.sleep(grace_s + _WATCHDOG_SLACK_S)
        print(
            f"storywire run: still running {grace_s + _WATCHDOG_SLACK_S:.0f}s after the stop signal (run.stop_grace "
            f"is {grace_s:.0f}s); exiting now: work since the last checkpoint is done again after a restart",
            file=sys.stderr,
            flush=True,
        )
        os._exit(1)

    threading.Thread(target=watch, name="storywire-stop-watchdog", daemon=True).start()
