"""One live polling round at a time: due feeds -> fetch -> poll core -> page fetches -> archive (pure Python).

The Beam source (:mod:`storywire.pipelines.beam.live_source`) owns a :class:`LiveEngine` and calls
:meth:`LiveEngine.step` once per bundle; everything here is testable without Beam, with an injected fetcher and clock.

A round:

1. ``FeedPoller.due(now)`` names the feeds to poll; they are fetched concurrently (a thread pool; the fetcher
   is thread-safe and spaces requests per host, so concurrency never means impoliteness).
2. Each result goes through the poll core, in feed order (the core is single-threaded): new and edited items
   come out, failures become dead letters.
3. The page of every new or edited item is fetched (concurrently too). Each success is a
   :class:`~storywire.pipelines.core.normalise.PageTask`, the same shape replay builds from an archive, so extraction,
   revisions and stories are shared. A retryable failure (429, 5xx, timeout, connection, host busy) is kept as a
   :class:`PendingPage` and fetched again in a later round, after the server's ``Retry-After`` or an exponential
   backoff (:func:`page_retry_delay`, bounded by ``polling.page_retry_max_delay``), up to
   ``polling.page_retry_attempts`` times; any other failure, and the last retry's, is a dead letter of stage
   ``fetch-article`` with the error's type.
4. Every response, redirect hops included, is written to the WARC archive when one is configured, so the
   run can be replayed later with ``storywire replay`` and gives the same article ids.

Checkpoints: :meth:`checkpoint` saves the poll state; the source calls it only when the previous round's
outputs have been flushed by the sinks (the start of the next bundle), so a crash re-emits at most one round
(at-least-once) and a clean stop re-emits nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from storywire.connectors.archives.warc_writer import RotatingWarcWriter
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.feed_hints import retry_after_seconds
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.feeds.poll import FeedPoller, PollOutcome
from storywire.connectors.feeds.schedule import backoff_delay
from storywire.connectors.feeds.settings import PollSettings
from storywire.connectors.feeds.state import FeedState
from storywire.connectors.feeds.state_store import Checkpointer, CheckpointStore, StateFileError
from storywire.connectors.files import write_atomically
from storywire.connectors.http.fetcher import FetchResult, Kind
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.urls import article_id_for, canonical_url
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.core.normalise import PageTask
from storywire.pipelines.core.revisions import stream_order
from storywire.pipelines.live.progress import Backlog, log_poll
from storywire.schemas.records import parse_time

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
# The shortest wait before a page retry, whatever the server's Retry-After says (0 included): a retry in the
# same instant would meet the same busy server.
PAGE_RETRY_FLOOR_S = 1.0


@dataclass(frozen=True, slots=True)
class PendingPage:
    """A page fetch to try again: the item, its outlet, how many attempts failed, and when to retry."""

    item: FeedItem
    outlet: str | None
    failed_attempts: int
    due_at: datetime


class Fetcher(Protocol):
    """What the engine needs of :class:`storywire.connectors.http.HttpFetcher` (tests pass a fake)."""

    def fetch(
        self, url: str, *, kind: Kind, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...

    def close(self) -> None: ...


@dataclass
class StepResult:
    """What one round produced: page tasks in stream order, dead letters, and counts for metrics."""

    tasks: list[PageTask] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class LiveEngine:
    """Drives the poll core with real fetches; not thread-safe (one per source instance)."""

    def __init__(
        self,
        config: LiveConfig,
        fetcher: Fetcher,
        *,
        now: Callable[[], datetime],
        shard: int = 0,
        shards: int = 1,
        workers: int = DEFAULT_WORKERS,
        publish_states: Callable[[Iterable[FeedState]], object] | None = None,
    ) -> None:
        self._config = config
        self._fetcher = fetcher
        self._now = now
        feeds = [f for f in config.feeds if _shard_of(f.url, shards) == shard]
        self._outlets = {f.url: f.outlet for f in feeds if f.outlet}
        self._store = CheckpointStore(_shard_path(config.state.path, shard, shards))
        started = now()
        self.poller = FeedPoller(feeds, config.polling, started, states=self._store.load(config.polling.seen_items))
        self._checkpointer = Checkpointer(self._store, config.state.checkpoint_interval, started)
        self._publish_states = publish_states
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="storywire-fetch")
        self._archive: RotatingWarcWriter | None = None
        if config.archive.dir:
            prefix = "storywire" if shards == 1 else f"storywire-shard{shard}"
            self._archive = RotatingWarcWriter(config.archive.dir, prefix=prefix, max_bytes=config.archive.rotate_size)
        self.feed_count = len(feeds)
        self._pending_store = PendingPagesStore(_shard_path(config.state.path, shard, shards) + ".pages")
        # A file from an earlier run (or build, or a larger page_retry_max_delay) may hold retries due later than
        # the cap allows now: they are brought forward to it, never dropped.
        latest = started + config.polling.page_retry_max_delay
        self._pending: list[PendingPage] = [
            p if p.due_at <= latest else dataclasses.replace(p, due_at=latest) for p in self._pending_store.load()
        ]

    # -- the round ------------------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        times = [t for t in (self.poller.next_wakeup(), *(p.due_at for p in self._pending)) if t is not None]
        return min(times) if times else None

    def seconds_to_next_round(self, *, idle: timedelta = timedelta(seconds=60)) -> float:
        """How long to wait before :meth:`step` has work, on the engine's own clock (``idle``: nothing scheduled).

        Wait with this, not with another clock: due times are fractional (intervals and backoff jitter) while the
        engine's clock may be coarser (the live source's counts whole seconds, as WARC dates do), so a finer
        clock would say "due" while :meth:`step` still finds nothing, and a caller would spin through empty
        rounds until the coarse clock ticks.
        """
        return seconds_until(self.next_wakeup(), self._now(), idle=idle)

    def backlog(self) -> Backlog:
        """Work in hand, for the progress line: pages pending a retry, and how late the oldest due work is."""
        wakeup = self.next_wakeup()
        lag = timedelta(0) if wakeup is None else max(timedelta(0), self._now() - wakeup)
        return Backlog(pending_pages=len(self._pending), lag=lag)

    @property
    def pending_pages(self) -> tuple[PendingPage, ...]:
        return tuple(self._pending)

    def step(self) -> StepResult:
        """Poll every due feed, then fetch the pages of their new and edited items (and due retries)."""
        now = self._now()
        result = StepResult()
        requests = self.poller.due(now)
        retries = [p for p in self._pending if p.due_at <= now]
        if not requests and not retries:
            return result
        self._pending = [p for p in self._pending if p.due_at > now]
        fetched = list(
            self._pool.map(
                lambda r: self._try_fetch(r.fetch_url, "feed", r.etag, r.last_modified),
                requests,
            )
        )
        items: list[tuple[FeedItem, str | None]] = []
        for request, outcome in zip(requests, fetched, strict=True):
            polled_at = self._now()
            if isinstance(outcome, BaseException):
                poll = self.poller.on_error(request.feed_url, outcome, polled_at)
            else:
                self._archive_result(outcome)
                poll = self.poller.on_result(request.feed_url, outcome, polled_at)
            self._collect(poll, result, items)
        attempts = [0] * len(items) + [p.failed_attempts for p in retries]
        items.extend((p.item, p.outlet) for p in retries)
        result.counts["pages.retried"] += len(retries)
        pages = list(self._pool.map(lambda pair: self._try_fetch(pair[0].link, "page", None, None), items))
        for (item, outlet), page, failed_before in zip(items, pages, attempts, strict=True):
            if isinstance(page, BaseException):
                self._page_failed(item, outlet, page, failed_before + 1, result)
                continue
            self._archive_result(page)
            result.counts["pages.fetched"] += 1
            result.tasks.append(PageTask(item=item, first_seen_at=item.seen_at, response=page.response, outlet=outlet))
        # The stream order replay sees (storywire.pipelines.core.revisions.order_key): first sighting, then article
        # id; story assignment depends on it.
        result.tasks.sort(key=lambda t: stream_order(t.first_seen_at, article_id_for(canonical_url(t.response.url))))
        return result

    def _page_failed(
        self, item: FeedItem, outlet: str | None, error: BaseException, failed: int, result: StepResult
    ) -> None:
        polling = self._config.polling
        if getattr(error, "retryable", False) and failed <= polling.page_retry_attempts:
            now = self._now()
            retry_after = _retry_after_s(error, now)
            delay = page_retry_delay(item.link, failed, retry_after, polling)
            if retry_after is not None and retry_after > delay:
                result.counts["pages.retry_after_capped"] += 1
            self._pending.append(PendingPage(item, outlet, failed, now + timedelta(seconds=delay)))
            result.counts["pages.retry_scheduled"] += 1
            return
        result.counts["pages.failed"] += 1
        result.failures.append(
            Failure.from_exception(Stage.FETCH_ARTICLE, item.link, error, item.seen_at, payload_ref=item.feed_url)
        )

    def _collect(self, poll: PollOutcome, result: StepResult, items: list[tuple[FeedItem, str | None]]) -> None:
        log_poll(poll)
        result.counts[f"polls.{poll.status}"] += 1
        if poll.failure is not None:
            result.failures.append(poll.failure)
        result.counts["items.new"] += len(poll.new_items)
        result.counts["items.updated"] += len(poll.updated_items)
        if poll.turnover:  # its list moved on completely since the last poll: items may have been missed
            result.counts["feeds.turnover"] += 1
        if poll.held_back:  # over polling.max_new_items_per_poll: they come out at the feed's next polls
            result.counts["items.held_back"] += poll.held_back
        outlet = self._outlets.get(poll.feed_url)
        items.extend((item, outlet) for item in (*poll.new_items, *poll.updated_items))

    def _try_fetch(
        self, url: str, kind: Kind, etag: str | None, last_modified: str | None
    ) -> FetchResult | BaseException:
        try:
            return self._fetcher.fetch(url, kind=kind, etag=etag, last_modified=last_modified)
        except Exception as exc:  # every fetch error is data for the poll core or a dead letter
            return exc

    def _archive_result(self, fetched: FetchResult) -> None:
        if self._archive is None or fetched.not_modified:
            return
        response = fetched.response
        source = fetched.requested_url
        for status, target in fetched.redirects:
            # The hop bodies are not kept; the hop itself is what a replay needs to join the item's link.
            self._archive.write(
                CapturedResponse(source, response.captured_at, status, (("Location", target),), b"", "live")
            )
            source = target
        self._archive.write(response)

    # -- durability -----------------------------------------------------------------------------------------

    def checkpoint(self, *, force: bool = False) -> bool:
        """Save the poll state (call only when everything emitted so far is durable in the sinks)."""
        now = self._now()
        if force:
            self._checkpointer.save(self.poller, now)
            saved = True
        else:
            saved = self._checkpointer.maybe_save(self.poller, now)
        if saved:
            self._pending_store.save(self._pending)
        if saved and self._publish_states is not None:
            # The compacted topic mirrors the file, for restarts on another machine.
            self._publish_states(self.poller.states())
        return saved

    def close(self) -> None:
        """Final checkpoint, archive closed, threads and connections released."""
        try:
            self.checkpoint(force=True)
        finally:
            self._pool.shutdown(wait=True)
            if self._archive is not None:
                self._archive.close()
            self._fetcher.close()


class PendingPagesStore:
    """Pages waiting for a retry, saved beside the poll state (their items are already marked seen there)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def load(self) -> list[PendingPage]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            return [_pending_from_dict(entry) for entry in orjson.loads(raw)["pages"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise StateFileError(
                f"pending-pages file {self.path} is unreadable ({exc}); move it aside to start without its retries"
            ) from exc

    def save(self, pages: Sequence[PendingPage]) -> None:
        body = orjson.dumps({"version": 1, "pages": [dataclasses.asdict(p) for p in pages]}, option=orjson.OPT_UTC_Z)
        write_atomically(self.path, body)


def _pending_from_dict(entry: dict[str, Any]) -> PendingPage:
    item = dict(entry["item"])
    item["authors"] = tuple(item["authors"])
    for name in ("published_at", "seen_at"):
        if item[name] is not None:
            item[name] = parse_time(item[name])
    return PendingPage(
        item=FeedItem(**item),
        outlet=entry["outlet"],
        failed_attempts=int(entry["failed_attempts"]),
        due_at=parse_time(entry["due_at"]),
    )


def page_retry_delay(link: str, failed: int, retry_after_s: float | None, polling: PollSettings) -> float:
    """Seconds to wait before fetching ``link`` again after its ``failed``-th failed attempt (>= 1).

    The server's ``Retry-After`` (``retry_after_s``; None when it sent none) is obeyed when it gave one, else
    ``polling.page_retry_base * 2**(failed - 1)`` with the poll schedule's deterministic jitter (a factor in
    [0.5, 1) fixed by the link and the attempt: the same in every run and replay, while pages failing together
    do not retry in lockstep). Either is at least :data:`PAGE_RETRY_FLOOR_S` and at most
    ``polling.page_retry_max_delay``.
    """
    cap = polling.page_retry_max_delay.total_seconds()
    floor = min(PAGE_RETRY_FLOOR_S, cap)
    if retry_after_s is not None:
        return min(max(retry_after_s, floor), cap)
    return min(backoff_delay(link, failed, polling.page_retry_base.total_seconds(), cap, floor), cap)


def _retry_after_s(error: BaseException, now: datetime) -> float | None:
    """The error's ``retry_after`` in seconds (a number, a timedelta, an HTTP date...); None without one."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):
            return None
        return max(float(value), 0.0)  # "Retry-After: 0" is an answer too: retry at the floor
    return retry_after_seconds(value, now)


def seconds_until(when: datetime | None, now: datetime, *, idle: timedelta = timedelta(seconds=60)) -> float:
    """How long a source may sleep before the next round (``idle`` when nothing is scheduled)."""
    if when is None:
        return idle.total_seconds()
    return max(0.0, (when - now).total_seconds())


def _shard_of(url: str, shards: int) -> int:
    """Feeds are sharded by host, so one host's politeness budget lives in one shard."""
    if shards <= 1:
        return 0
    host = canonical_url(url).split("/")[2]
    return zlib.crc32(host.encode()) % shards


def _shard_path(path: str, shard: int, shards: int) -> str:
    if shards <= 1:
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem}.shard{shard}.{ext}" if dot else f"{path}.shard{shard}"


def shard_ids(shards: int) -> Sequence[int]:
    return list(range(max(1, shards)))
