"""The layout is a contract (docs/architecture.md): these tests keep the folders saying what a file is.

- pure cores (``connectors``, ``schemas``, ``pipelines/{core,stories,live,config,report}``) import no Apache Beam; only
  ``pipelines/beam`` (adapters), ``pipelines/graphs`` (the two graphs) and ``pipelines/cli`` do;
- dependencies point one way: ``schemas`` <- ``connectors`` <- ``pipelines``, and pure cores never reach into
  the Beam side;
- every third-party import of the package is a declared dependency; no module passes about 600 lines;
  no absolute path of one machine anywhere in the code.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FOLDERS = ("connectors", "pipelines", "schemas")
BEAM_FOLDERS = ("pipelines/beam", "pipelines/graphs", "pipelines/cli")
MAX_MODULE_LINES = 600


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _is_beam_side(path: Path) -> bool:
    return any(_relative(path).startswith(folder + "/") for folder in BEAM_FOLDERS)


def test_only_the_beam_folders_import_apache_beam() -> None:
    offenders = [
        _relative(path)
        for path in _modules(*PACKAGE_FOLDERS)
        if not _is_beam_side(path) and any(name.split(".")[0] == "apache_beam" for name in _imports(path))
    ]
    assert offenders == []


def test_the_beam_folders_exist_and_use_beam() -> None:
    """The check above would pass vacuously if the folders moved: each Beam folder has modules importing Beam
    (the command line imports it lazily, inside the commands that run a pipeline)."""
    for folder in BEAM_FOLDERS:
        assert any("apache_beam" in {n.split(".")[0] for n in _imports(p)} for p in _modules(folder)), folder


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("schemas", ("storywire.connectors", "storywire.pipelines")),
        ("connectors", ("storywire.pipelines",)),
        ("pipelines/core", ("storywire.pipelines.beam", "storywire.pipelines.graphs", "storywire.pipelines.cli")),
        ("pipelines/stories", ("storywire.pipelines.beam", "storywire.pipelines.graphs", "storywire.pipelines.cli")),
        ("pipelines/live", ("storywire.pipelines.beam", "storywire.pipelines.graphs", "storywire.pipelines.cli")),
        ("pipelines/config", ("storywire.pipelines.beam", "storywire.pipelines.graphs", "storywire.pipelines.cli")),
        ("pipelines/report", ("storywire.pipelines.beam", "storywire.pipelines.graphs", "storywire.pipelines.cli")),
    ],
)
def test_dependencies_point_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    offenders = {
        _relative(path): sorted(name for name in _imports(path) if name.startswith(forbidden))
        for path in _modules(folder)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = {
        re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    distributions = packages_distributions()
    undeclared: dict[str, str] = {}
    for path in _modules(*PACKAGE_FOLDERS):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("storywire", "__future__"):
                continue
            providers = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
            if not providers & declared:
                undeclared[top] = _relative(path)
    assert undeclared == {}


def test_no_product_module_is_longer_than_about_600_lines() -> None:
    long = {
        _relative(path): lines
        for path in _modules(*PACKAGE_FOLDERS)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


ABSOLUTE_PATH = re.compile(r"""["'](?:/work|/home|/root|/Users|/tmp)/""")


def test_no_absolute_machine_paths_in_code() -> None:
    offenders = [
        f"{_relative(path)}:{number}"
        for path in _modules(*PACKAGE_FOLDERS, "bench", "deploy", "sample")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ABSOLUTE_PATH.search(line)
    ]
    assert offenders == []
