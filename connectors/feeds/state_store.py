"""Poll state that survives restarts: a local checkpoint file, and the same snapshots for a compacted Kafka topic.

Checkpoint file
---------------
One orjson document, written atomically (temporary file in the same directory, fsync, rename, fsync of the
directory), so a crash leaves the previous checkpoint or the new one, never half of one::

    {"format": "storywire.feed-state", "version": 1, "written_at": "2023-05-03T09:00:00Z",
     "feeds": [{"feed_url": "https://...", "current_url": ..., "etag": ..., "seen": "<base64>", ...}, ...]}

Feeds are sorted by URL, so the same state gives the same bytes. A missing file is a first start; a file that
cannot be read, is not this format, or comes from a newer version is a :class:`StateFileError` naming the path
and what to do: never a silent reset, which would re-emit every feed's current items.

When to save is the caller's decision (:class:`Checkpointer`): save only once the records emitted for the
polls it covers are durable downstream (sinks flushed). A crash in between then re-emits those items
(at-least-once; the revision step drops unchanged repeats) instead of losing them.

Kafka topic ``<prefix>.feed-state.v1`` (compacted)
--------------------------------------------------
Key: the configured feed URL (UTF-8); value: one feed's state, the same fields as in the file plus
``"version"``; a ``None`` value (tombstone) deletes a feed that left the configuration. A consumer reading the
topic from the start and keeping the last value per key rebuilds the checkpoint
(:func:`decode_feed_state_message`). :class:`FeedStateTopicWriter` sends only the feeds that changed since its
last call; the lead wires it to :meth:`storywire.connectors.kafka.producer.KafkaMessageWriter.send`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Protocol

import orjson

from storywire.connectors.errors import DamagedStateError, SourceUnavailableError
from storywire.connectors.feeds.state import FeedState, SeenItems
from storywire.connectors.files import write_atomically
from storywire.connectors.kafka.topics import TopicSpec
from storywire.schemas.records import parse_time

FORMAT: Final = "storywire.feed-state"
VERSION: Final = 1
_DUMPS: Final = orjson.OPT_UTC_Z | orjson.OPT_SORT_KEYS
_ADVICE: Final = (
    "restore it from a backup, or move it aside to start with empty state "
    "(every feed is then polled again and its current items are emitted once more)"
)


class StateFileError(SourceUnavailableError):
    """The poll checkpoint file exists but cannot be used; start-up stops instead of forgetting what was seen."""


def state_to_dict(state: FeedState) -> dict[str, Any]:
    """The JSON-ready fields of one feed's state (times as UTC ISO-8601 strings); :func:`state_from_dict` inverts it."""
    return {
        "feed_url": state.feed_url,
        "current_url": state.current_url,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "body_hash": state.body_hash,
        "body_at": _iso(state.body_at),
        "seen": state.seen.encode(),
        "next_poll_at": _iso(state.next_poll_at),
        "interval_s": state.interval_s,
        "failures": state.failures,
        "broken": state.broken,
        "last_success_at": _iso(state.last_success_at),
        "last_error": state.last_error,
        "rate_items": state.rate_items,
        "rate_seconds": state.rate_seconds,
        "hint_s": state.hint_s,
        "listed": state.listed,
        "turnovers": state.turnovers,
    }


def state_from_dict(data: object, seen_capacity: int) -> FeedState:
    """The inverse of :func:`state_to_dict` (also of its JSON); DamagedStateError saying which field is wrong."""
    if not isinstance(data, dict):
        raise DamagedStateError(f"a feed state must be an object, got {type(data).__name__}")
    try:
        listed = _int(data, "listed") if "listed" in data else 0  # absent in files written before it existed
        return FeedState(
            feed_url=_str(data, "feed_url"),
            current_url=_str(data, "current_url"),
            etag=_opt_str(data, "etag"),
            last_modified=_opt_str(data, "last_modified"),
            body_hash=_opt_str(data, "body_hash"),
            body_at=_opt_time(data, "body_at"),
            seen=_seen(_str(data, "seen"), seen_capacity, listed),
            next_poll_at=_time(data, "next_poll_at"),
            interval_s=_number(data, "interval_s"),
            failures=_int(data, "failures"),
            broken=_bool(data, "broken"),
            last_success_at=_opt_time(data, "last_success_at"),
            last_error=_opt_str(data, "last_error"),
            rate_items=_number(data, "rate_items"),
            rate_seconds=_number(data, "rate_seconds"),
            hint_s=None if data.get("hint_s") is None else _number(data, "hint_s"),
            listed=listed,
            turnovers=_int(data, "turnovers") if "turnovers" in data else 0,  # absent in older files
        )
    except (KeyError, TypeError, ValueError) as exc:
        where = data.get("feed_url", "?")
        raise DamagedStateError(f"feed {where}: {exc}") from exc


class CheckpointStore:
    """The local checkpoint file of the poll state."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self, seen_capacity: int) -> dict[str, FeedState]:
        """Every saved feed state by configured URL; ``{}`` when the file does not exist yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateFileError(f"cannot read poll state file {self.path}: {exc.strerror or exc}; {_ADVICE}") from exc
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StateFileError(f"poll state file {self.path} is not valid JSON ({exc}); {_ADVICE}") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise StateFileError(f"{self.path} is not a storywire poll state file; {_ADVICE}")
        version = document.get("version")
        if version != VERSION:
            raise StateFileError(
                f"poll state file {self.path} has version {version!r}, this storywire reads version {VERSION}; "
                f"run the storywire that wrote it, or {_ADVICE}"
            )
        feeds = document.get("feeds")
        if not isinstance(feeds, list):
            raise StateFileError(f"poll state file {self.path} has no feed list; {_ADVICE}")
        states: dict[str, FeedState] = {}
        for entry in feeds:
            try:
                state = state_from_dict(entry, seen_capacity)
            except ValueError as exc:
                raise StateFileError(f"poll state file {self.path} is damaged: {exc}; {_ADVICE}") from exc
            states[state.feed_url] = state
        return states

    def save(self, states: Iterable[FeedState], now: datetime) -> None:
        """Write every state atomically; OSError (disk full, permissions) propagates to the caller."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "written_at": _iso(now),
            "feeds": [state_to_dict(s) for s in sorted(states, key=lambda s: s.feed_url)],
        }
        write_atomically(self.path, orjson.dumps(document, option=_DUMPS))


class StateSource(Protocol):
    """What a checkpointer reads from the poller."""

    @property
    def changes(self) -> int: ...

    def states(self) -> Iterable[FeedState]: ...


class Checkpointer:
    """Saves the poller's state at most every ``interval``, and only when it changed."""

    def __init__(self, store: CheckpointStore, interval: timedelta, now: datetime) -> None:
        self.store = store
        self.interval = interval
        self._last_save = now
        self._last_changes: int | None = None

    def maybe_save(self, source: StateSource, now: datetime) -> bool:
        """Save when the interval has passed since the last save and something changed; True if saved."""
        if now - self._last_save < self.interval or source.changes == self._last_changes:
            return False
        self.save(source, now)
        return True

    def save(self, source: StateSource, now: datetime) -> None:
        """Save now (e.g. at shutdown, after the sinks flushed)."""
        changes = source.changes
        self.store.save(source.states(), now)
        self._last_save = now
        self._last_changes = changes


# -- the compacted Kafka topic ------------------------------------------------------------------------


def feed_state_topic(prefix: str = "news") -> str:
    """``<prefix>.feed-state.v1``, next to the other topics of the same prefix."""
    return f"{prefix}.feed-state.v1"


def feed_state_topic_spec(
    prefix: str = "news", partitions: int = 6, replication_factor: int | None = None
) -> TopicSpec:
    """Creation spec: compacted, so the latest state per feed is kept forever."""
    return TopicSpec(feed_state_topic(prefix), partitions, replication_factor, {"cleanup.policy": "compact"})


def encode_feed_state_message(state: FeedState) -> tuple[bytes, bytes]:
    """(key, value) of one feed's state for the compacted topic."""
    value = state_to_dict(state)
    value["version"] = VERSION
    return state.feed_url.encode("utf-8"), orjson.dumps(value, option=_DUMPS)


def decode_feed_state_message(key: bytes, value: bytes | None, seen_capacity: int) -> tuple[str, FeedState | None]:
    """(feed URL, state) of one message; state None for a tombstone. DamagedStateError for a bad or newer message."""
    feed_url = key.decode("utf-8")
    if value is None:
        return feed_url, None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DamagedStateError(f"feed state of {feed_url} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise DamagedStateError(f"feed state of {feed_url} has version {version!r}, expected {VERSION}")
    state = state_from_dict(data, seen_capacity)
    if state.feed_url != feed_url:
        raise DamagedStateError(f"feed state keyed {feed_url} describes {state.feed_url}")
    return feed_url, state


class FeedStateTopicWriter:
    """Publishes changed feed states (and tombstones for feeds that left) through ``send(topic, key, value)``.

    The first call sends every state (a restart cannot know what the topic holds); later calls only the
    states whose generation moved.
    """

    def __init__(self, send: Callable[[str, bytes, bytes | None], object], topic: str) -> None:
        self.send = send
        self.topic = topic
        self._sent: dict[str, int] = {}

    def publish(self, states: Iterable[FeedState]) -> int:
        """Send each state whose generation moved since the last call, tombstone the vanished; return the count."""
        sent = self._sent
        current: dict[str, int] = {}
        count = 0
        for state in sorted(states, key=lambda s: s.feed_url):
            current[state.feed_url] = state.generation
            if sent.get(state.feed_url) == state.generation:
                continue
            key, value = encode_feed_state_message(state)
            self.send(self.topic, key, value)
            count += 1
        for feed_url in sorted(set(sent) - set(current)):
            self.send(self.topic, feed_url.encode("utf-8"), None)
            count += 1
        self._sent = current
        return count


# -- helpers ------------------------------------------------------------------------------------------


def _seen(text: str, capacity: int, listed: int) -> SeenItems:
    """The seen items, trimmed to ``capacity`` but never below what the last poll listed."""
    seen = SeenItems.decode(text, max(capacity, listed))
    seen.capacity = capacity
    return seen


def _str(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else _str(data, name)


def _number(data: dict[str, Any], name: str) -> float:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number")
    return float(value)


def _int(data: dict[str, Any], name: str) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{name} must be an integer >= 0")
    return value


def _bool(data: dict[str, Any], name: str) -> bool:
    value = data[name]
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false")
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _time(data: dict[str, Any], name: str) -> datetime:
    value = _str(data, name)
    if not value.endswith(("Z", "+00:00")):
        raise DamagedStateError(f"{name} is not a UTC time: {value}")
    return parse_time(value)


def _opt_time(data: dict[str, Any], name: str) -> datetime | None:
    return None if data.get(name) is None else _time(data, name)
