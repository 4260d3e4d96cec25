"""Checks a live run makes before it starts: every directory it will write is writable (pure Python).

A run that fails on its first checkpoint, first archive file or first sink line has already polled feeds and
marked items seen; one line naming the path and the fix, before any work, is better.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from storywire.connectors.errors import ConfigError
from storywire.pipelines.config.live import LiveConfig


def check_writable_paths(config: LiveConfig) -> None:
    """Raise :class:`ConfigError` for the first directory of ``config`` the run could not write to."""
    places: list[tuple[str, Path]] = [("state.path", Path(config.state.path).parent)]
    stories = config.state.story_store_path()
    if stories is not None:
        places.append(("state.stories_path", Path(stories).parent))
    if config.archive.dir:
        places.append(("archive.dir", Path(config.archive.dir)))
    places += [("sinks", Path(sink.target)) for sink in config.sink_specs() if sink.kind == "file"]
    for setting, directory in places:
        _check_directory(setting, directory)


def _check_directory(setting: str, directory: Path) -> None:
    where = directory if str(directory) else Path(".")
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=where, prefix=".storywire-write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"{setting}: cannot write to {where} ({reason}); choose a writable directory or fix its permissions"
        ) from exc
