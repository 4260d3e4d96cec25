"""Before a live run starts: every directory it will write is checked, with one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from storywire.connectors.errors import ConfigError
from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.config.preflight import check_writable_paths


def _config(tmp_path: Path, **paths: str) -> str:
    state = paths.get("state", str(tmp_path / "state" / "feeds.json"))
    archive = paths.get("archive", str(tmp_path / "archive"))
    sink = paths.get("sink", str(tmp_path / "out"))
    return f"""
feeds: [https://a.example/rss]
http: {{user_agent: "t/1.0 (+https://t.example)"}}
state: {{path: {state}}}
archive: {{dir: {archive}}}
sinks: [file://{sink}]
"""


def test_writable_paths_pass_and_their_directories_are_created(tmp_path: Path) -> None:
    check_writable_paths(parse_config(_config(tmp_path), "t.yaml", {}))
    assert (tmp_path / "state").is_dir() and (tmp_path / "archive").is_dir() and (tmp_path / "out").is_dir()
    assert list((tmp_path / "state").iterdir()) == []  # the probe file is gone


@pytest.mark.parametrize(("setting", "key"), [("state.path", "state"), ("archive.dir", "archive"), ("sinks", "sink")])
def test_an_unwritable_directory_is_one_line_naming_the_setting(tmp_path: Path, setting: str, key: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    target = str(blocker / "sub" / ("feeds.json" if key == "state" else "dir"))
    config = parse_config(_config(tmp_path, **{key: target}), "t.yaml", {})
    with pytest.raises(ConfigError) as caught:
        check_writable_paths(config)
    message = str(caught.value)
    assert message.startswith(f"{setting}: cannot write to {blocker / 'sub'}") and "\n" not in message
