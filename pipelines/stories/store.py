"""A durable, incremental home for live story state: a snapshot per partition plus a log of what came after.

Like a Kafka Streams state store with its changelog: every article a partition assigns is appended to the
log as it is committed (the cost of a commit follows the articles of the bundle, not the size of the state);
every ``snapshot_every`` articles the whole partition state is written once and the log before it dropped. A
restart loads the snapshot and replays the log through the same deterministic core, so the stories continue
with the same ids.

The store holds bytes: the caller chooses the encodings (the Beam adapter pickles the partition state with its
versioned pickled form and logs articles in their JSON wire form). SQLite, from the standard library: one file,
transactions, no server. One process writes a file at a time.

Use::

    store = StoryStateStore("state/stories.sqlite")
    snapshot, logged = store.load("en")        # None and [] for a new partition
    store.append("en", [encoded_article, ...])   # after the outputs before them are safe
    store.snapshot("en", encoded_state)          # replaces the snapshot, empties the log
    store.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from storywire.connectors.errors import SourceUnavailableError

__all__ = ["STORE_FORMAT", "StoryStateStore", "StoryStoreError"]

STORE_FORMAT = 1
"""The layout of the SQLite file (``PRAGMA user_version``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (partition TEXT PRIMARY KEY, articles INTEGER NOT NULL, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    partition TEXT NOT NULL, seq INTEGER NOT NULL, article BLOB NOT NULL, PRIMARY KEY (partition, seq)
);
"""


class StoryStoreError(SourceUnavailableError):
    """The story state file cannot be opened, read or written."""


class StoryStateStore:
    """Snapshots and logs of story partitions in one SQLite file; not thread-safe (one per DoFn instance)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            found = self._db.execute("PRAGMA user_version").fetchone()[0]
            if found not in (0, STORE_FORMAT):
                raise StoryStoreError(
                    f"story state file {self.path} has layout {found}, this build reads {STORE_FORMAT}: use the "
                    "build that wrote it, or move the file aside to start the stories afresh"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={STORE_FORMAT}")
        except sqlite3.Error as exc:
            raise StoryStoreError(
                f"cannot open the story state file {self.path} ({exc}); check the path (state.stories_path) and "
                "that it is writable, or move a damaged file aside"
            ) from exc

    def load(self, partition: str) -> tuple[bytes | None, list[bytes]]:
        """The partition's snapshot (None: none yet) and the articles logged after it, oldest first."""
        try:
            row = self._db.execute("SELECT state FROM snapshots WHERE partition = ?", (partition,)).fetchone()
            logged = self._db.execute(
                "SELECT article FROM log WHERE partition = ? ORDER BY seq", (partition,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoryStoreError(f"cannot read story state from {self.path} ({exc})") from exc
        return (None if row is None else bytes(row[0])), [bytes(r[0]) for r in logged]

    def logged(self, partition: str) -> int:
        """How many articles are logged after the partition's snapshot."""
        row = self._db.execute("SELECT COUNT(*) FROM log WHERE partition = ?", (partition,)).fetchone()
        return int(row[0])

    def append(self, partition: str, articles: Sequence[bytes]) -> None:
        """Log ``articles`` after the ones already logged, in one transaction."""
        if not articles:
            return
        try:
            with self._transaction():
                row = self._db.execute("SELECT MAX(seq) FROM log WHERE partition = ?", (partition,)).fetchone()
                start = (row[0] or 0) + 1
                self._db.executemany(
                    "INSERT INTO log (partition, seq, article) VALUES (?, ?, ?)",
                    [(partition, start + i, article) for i, article in enumerate(articles)],
                )
        except sqlite3.Error as exc:
            raise StoryStoreError(f"cannot write story state to {self.path} ({exc})") from exc

    def snapshot(self, partition: str, state: bytes, *, articles: int = 0) -> None:
        """Replace the partition's snapshot with ``state`` (which covers every logged article) and empty its log."""
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO snapshots (partition, articles, state) VALUES (?, ?, ?)",
                    (partition, articles, state),
                )
                self._db.execute("DELETE FROM log WHERE partition = ?", (partition,))
        except sqlite3.Error as exc:
            raise StoryStoreError(f"cannot write story state to {self.path} ({exc})") from exc

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
