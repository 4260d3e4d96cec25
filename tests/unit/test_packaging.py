"""What ``pip install .`` gives a user: one ``storywire`` package (nothing else at the top of site-packages),
the schemas and the demo's sample archive inside it, and a working ``storywire --version`` and ``storywire demo``.

The wheel is built offline from a copy of the tracked sources (the ``storywire/`` links kept as links, as git
checks them out), then installed without ``-e`` into a fresh virtual environment whose only other path is the
dependencies of the development venv, so nothing can be imported from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from storywire import __version__
from storywire.schemas.validation import SCHEMA_FILES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("storywire", "connectors", "pipelines", "schemas"):
        shutil.copytree(ROOT / package, source / package, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: setuptools comes from the dev dependencies, no download
    command = ["pip", "wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", "--wheel-dir", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", *command, str(source)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("storywire-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); returns the venv's directory."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies come from the development venv, appended after the fresh venv's own site-packages; a
    # .pth line adds a directory without running the .pth files in it, so the checkout's editable hook stays out.
    (site / "zz_storywire_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return env_dir


def _site_packages(env_dir: Path) -> Path:
    (site,) = env_dir.glob("lib/python*/site-packages")
    return site


def test_the_wheel_holds_one_storywire_package_with_its_schemas_and_sample(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"storywire", f"storywire-{__version__}.dist-info"}
    for filename in SCHEMA_FILES.values():
        member = f"storywire/schemas/v1/{filename}"
        assert member in names
        with zipfile.ZipFile(wheel) as archive:
            assert archive.read(member) == (ROOT / "schemas" / "v1" / filename).read_bytes()
    assert "storywire/pipelines/bundled/storywire-sample.warc.gz" in names
    assert "storywire/py.typed" in names
    # every package of the checkout is in the wheel
    for init in (ROOT / "pipelines").rglob("__init__.py"):
        assert f"storywire/{init.relative_to(ROOT).as_posix()}" in names


def test_a_non_editable_install_puts_only_storywire_at_the_top_of_site_packages(installed: Path) -> None:
    entries = {path.name for path in _site_packages(installed).iterdir()}
    ours = {name for name in entries if name.startswith("storywire")}
    assert ours == {"storywire", f"storywire-{__version__}.dist-info"}
    for generic in ("connectors", "pipelines", "schemas", "sample"):
        assert generic not in entries


def test_the_installed_command_prints_its_version_and_runs_the_demo(installed: Path, tmp_path: Path) -> None:
    command = installed / "bin" / "storywire"
    version = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"storywire {__version__}"
    demo = subprocess.run(
        [command, "demo", "--sink", f"file://{tmp_path / 'out'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "balance articles -> assigned + exact repeats + filtered out: 44 = 44 ok" in demo.stdout
    assert "Russia accuses Ukraine of drone attack on the Kremlin" in demo.stdout
    assert (tmp_path / "out" / "news.articles.v1.jsonl").read_bytes().count(b"\n") == 44


def test_an_installed_wheel_loads_its_schemas_from_site_packages(installed: Path, tmp_path: Path) -> None:
    code = (
        "import storywire.schemas.validation as v\n"
        "for kind in v.SCHEMA_FILES:\n"
        "    assert v.load_schema(kind)['$id'].endswith(v.SCHEMA_FILES[kind])\n"
        "print(v.__file__)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [installed / "bin" / "python", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the checkout: "-c" puts the working directory first on sys.path
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(_site_packages(installed)))
