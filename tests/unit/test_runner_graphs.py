"""The Flink and Dataflow commands of docs/deploy.md: their Beam options parse, and both graphs build for them.

Neither runner can run here (Flink's job server is a download, Dataflow is Google Cloud): nothing calls
``run()``. Each command is taken from the page, split into storywire's arguments and Beam's (those after ``--``)
the way the CLI does it (``parse_command_line``), its options are built as ``storywire run`` / ``replay`` build
them, and the live or replay graph is applied to a ``beam.Pipeline`` on that runner and turned into the runner API
proto, the form a runner receives. ``apache-beam[gcp]`` is not needed: the Dataflow runner builds pipelines without it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)
from apache_beam.transforms.environments import DockerEnvironment, Environment, ExternalEnvironment

from storywire import __version__
from storywire.connectors.errors import ConfigError
from storywire.pipelines.beam.live_source import _ENDLESS, _ENDLESS_RANGE
from storywire.pipelines.cli.main import parse_command_line
from storywire.pipelines.cli.run import _story_store
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.graphs.live import build_live
from storywire.pipelines.graphs.replay import build_replay

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
WORKER_IMAGE = f"REGISTRY/storywire-beam-worker:{__version__}"
LIVE_YAML = """
feeds:
  - https://harbour-times.example/rss
  - url: https://daily-meridian.example/rss.xml
    outlet: daily-meridian.example
http:
  user_agent: "acme-news-monitor/1.0 (+https://acme.example/bot)"
state:
  path: /mnt/storywire-state/feed-state.json
  stories_path: off
sinks: [kafka://broker:9092]
"""


def _documented_commands() -> list[list[str]]:
    """Every ``storywire run|replay ... --runner X`` of the page's shell blocks, continuation lines joined."""
    commands: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", DEPLOY_DOC.read_text(), flags=re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            if words[:2] in (["storywire", "run"], ["storywire", "replay"]) and "--runner" in words:
                commands.append(words[1:])
    return commands


def _commands_for(runner: str) -> list[list[str]]:
    found = [c for c in _documented_commands() if c[c.index("--runner") + 1] == runner]
    assert sorted(c[0] for c in found) == ["replay", "run"], f"docs/deploy.md: a run and a replay on {runner}"
    return found


def _cli_options(words: list[str]) -> tuple[Any, PipelineOptions]:
    """storywire's arguments and the PipelineOptions the command builds (as pipelines/cli builds them)."""
    assert "--" in words, f"Beam's options go after -- (storywire refuses unknown options before it): {words}"
    args, beam_args = parse_command_line(words)  # refuses loose words and unknown options (ConfigError)
    streaming = ["--streaming"] if args.command == "run" else []
    return args, PipelineOptions([f"--runner={args.runner}", *streaming, *beam_args])


def _live_config() -> LiveConfig:
    return parse_config(LIVE_YAML, "live.yaml", {})


def _build(args: Any, options: PipelineOptions) -> beam.Pipeline:
    pipeline = beam.Pipeline(options=options)
    if args.command == "run":
        config = _live_config()
        build_live(pipeline, config, shards=args.shards, story_store=_story_store(config, args.runner))
    else:
        sinks = tuple(SinkSpec.parse(uri) for uri in args.sink)
        build_replay(pipeline, ReplayConfig(archives=tuple(args.inputs), sinks=sinks))
    return pipeline


def _transform_names(pipeline: beam.Pipeline) -> set[str]:
    proto = pipeline.to_runner_api()
    assert proto.root_transform_ids
    return {t.unique_name for t in proto.components.transforms.values()}


@pytest.mark.parametrize("command", ["run", "replay"])
def test_the_flink_commands_parse_and_build_both_graphs(command: str) -> None:
    (words,) = [c for c in _commands_for("FlinkRunner") if c[0] == command]
    args, options = _cli_options(words)
    flink = options.view_as(FlinkRunnerOptions)
    assert flink.flink_master == "flink-jobmanager:8081"
    assert flink.flink_version in FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS
    assert flink.parallelism > 0
    assert options.view_as(StandardOptions).streaming is (command == "run")
    environment = Environment.from_options(options.view_as(PortableOptions))
    assert isinstance(environment, ExternalEnvironment)
    assert environment.url == "localhost:50000"
    pipeline = _build(args, options)
    assert type(pipeline.runner).__name__ == "FlinkRunner"
    names = _transform_names(pipeline)
    if command == "run":
        assert any(n.startswith("PollFeeds") for n in names) and "AssignStories" in names
    else:
        assert "Archives" in names and "JoinOnUrl" in names and "AssignStories" in names


@pytest.mark.parametrize("command", ["run", "replay"])
def test_the_dataflow_commands_parse_validate_and_build_both_graphs(command: str) -> None:
    (words,) = [c for c in _commands_for("DataflowRunner") if c[0] == command]
    args, options = _cli_options(words)
    cloud = options.view_as(GoogleCloudOptions)
    assert cloud.project == "my-gcp-project" and cloud.region == "europe-west1"
    assert (cloud.temp_location or "").startswith("gs://")
    assert options.view_as(WorkerOptions).sdk_container_image == WORKER_IMAGE
    assert options.view_as(SetupOptions).sdk_location == "container"
    assert options.view_as(StandardOptions).streaming is (command == "run")
    # beam.Pipeline runs Dataflow's option validation (project id, GCS paths...): a bad value raises here.
    pipeline = _build(args, options)
    assert type(pipeline.runner).__name__ == "DataflowRunner"
    names = _transform_names(pipeline)
    assert "AssignStories" in names
    # The proto reads back into a pipeline (what a runner does with it).
    beam.Pipeline.from_runner_api(pipeline.to_runner_api(), pipeline.runner, options)


def test_the_docker_environment_names_the_worker_image() -> None:
    options = PipelineOptions(["--environment_type=DOCKER", f"--environment_config={WORKER_IMAGE}"])
    environment = Environment.from_options(options.view_as(PortableOptions))
    assert isinstance(environment, DockerEnvironment)
    assert environment.container_image == WORKER_IMAGE
    assert f"--environment_config={WORKER_IMAGE}" in DEPLOY_DOC.read_text().replace("\n", " ")


def test_dataflow_validation_refuses_what_a_typo_would_break() -> None:
    """The graph tests above mean something: the same construction refuses a Dataflow option set that is wrong."""
    options = PipelineOptions(["--runner=DataflowRunner", "--project=p", "--region=europe-west1"])
    with pytest.raises(ValueError, match="validations errors"):
        beam.Pipeline(options=options)


@pytest.mark.parametrize("runner", ["FlinkRunner", "DataflowRunner", "PortableRunner"])
def test_story_state_is_beam_state_on_distributed_runners(runner: str) -> None:
    config = _live_config()
    assert _story_store(config, runner) is None
    auto = parse_config(LIVE_YAML, "live.yaml", {"STORYWIRE__STATE__STORIES_PATH": "auto"})
    assert _story_store(auto, runner) is None
    explicit = parse_config(LIVE_YAML, "live.yaml", {"STORYWIRE__STATE__STORIES_PATH": "/mnt/s/stories.sqlite"})
    with pytest.raises(ConfigError, match="stories_path is a local file"):
        _story_store(explicit, runner)
    assert _story_store(auto, "FnApiRunner") == "/mnt/storywire-state/stories.sqlite"


def test_a_drain_truncates_the_live_source_to_nothing() -> None:
    assert _ENDLESS_RANGE.truncate(0, OffsetRange(5, _ENDLESS)) is None
