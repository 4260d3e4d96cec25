"""The story state file: snapshot plus log per partition, its transactions, and clear errors (no Beam)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storywire.pipelines.config.loading import parse_config
from storywire.pipelines.stories.store import StoryStateStore, StoryStoreError

CONFIG = 'feeds: [https://a.example/rss]\nhttp: {user_agent: "t/1.0 (+https://t.example)"}\n'


def test_a_new_partition_has_no_snapshot_and_an_empty_log(tmp_path: Path) -> None:
    store = StoryStateStore(tmp_path / "stories.sqlite")
    assert store.load("en") == (None, [])
    store.close()


def test_articles_are_logged_in_order_per_partition_and_a_snapshot_empties_the_log(tmp_path: Path) -> None:
    store = StoryStateStore(tmp_path / "s" / "stories.sqlite")  # the directory is created
    store.append("en", [b"a1", b"a2"])
    store.append("de", [b"d1"])
    store.append("en", [b"a3"])
    assert store.load("en") == (None, [b"a1", b"a2", b"a3"]) and store.logged("en") == 3
    store.snapshot("en", b"state-after-a3", articles=3)
    store.append("en", [b"a4"])
    store.close()
    reopened = StoryStateStore(tmp_path / "s" / "stories.sqlite")
    assert reopened.load("en") == (b"state-after-a3", [b"a4"])
    assert reopened.load("de") == (None, [b"d1"])
    reopened.close()


def test_a_file_of_another_layout_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "stories.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoryStoreError, match=r"stories\.sqlite has layout 99.*move the file aside"):
        StoryStateStore(path)


def test_a_file_that_is_not_a_database_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "stories.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoryStoreError, match=r"stories_path"):
        StoryStateStore(path)


def test_the_stories_path_setting(tmp_path: Path) -> None:
    state = parse_config(CONFIG + "state: {path: /srv/sw/feeds.json}\n", "t.yaml", {}).state
    assert state.story_store_path() == "/srv/sw/stories.sqlite" and state.stories_snapshot_every == 2000
    off = parse_config(CONFIG + "state: {stories_path: off}\n", "t.yaml", {}).state
    assert off.story_store_path() is None
    own = parse_config(CONFIG, "t.yaml", {"STORYWIRE__STATE__STORIES_PATH": str(tmp_path / "x.db")}).state
    assert own.story_store_path() == str(tmp_path / "x.db")
