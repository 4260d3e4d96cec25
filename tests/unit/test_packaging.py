"""The JSON Schemas ship inside the wheel: build it offline from a copy of the sources, unpack it, and load
every schema through ``schemas.validation`` from the unpacked wheel (not from the editable checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from schemas.validation import SCHEMA_FILES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("connectors", "pipelines", "schemas"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",  # setuptools from the dev dependencies: no download
            "--no-index",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("storywire-*.whl")
    return built


def test_the_wheel_holds_every_schema_byte_for_byte(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for filename in SCHEMA_FILES.values():
            member = f"schemas/v1/{filename}"
            assert member in names
            assert archive.read(member) == (ROOT / "schemas" / "v1" / filename).read_bytes()
        assert "schemas/compat.py" in names and "pipelines/topics_cli.py" in names


def test_an_installed_wheel_loads_its_schemas(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)  # a pure-Python wheel unpacks to its installed layout
    code = (
        "import schemas, schemas.validation as v\n"
        f"assert schemas.__file__.startswith({str(target)!r}), schemas.__file__\n"
        "for kind in v.SCHEMA_FILES:\n"
        "    assert v.load_schema(kind)['$id'].endswith(v.SCHEMA_FILES[kind])\n"
        "print(sorted(v.SCHEMA_FILES))\n"
    )
    # -S: no site-packages .pth files, so the editable checkout's import hook is not installed; the
    # dependencies come from the venv's site-packages, after the unpacked wheel.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])}
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the checkout: "-c" puts the working directory first on sys.path
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sorted(SCHEMA_FILES))
