"""The live run's core: which fetch starts when, what each result becomes, what a checkpoint keeps (pure Python).

There are no polling rounds: every feed poll and page fetch is a :class:`~storywire.pipelines.live.lanes.FetchJob`
in its host's lane (:mod:`storywire.pipelines.live.lanes`), started as soon as its host may be asked and a worker
is free, and its result is handled the moment it returns. :class:`~storywire.pipelines.live.runner.LaneRunner`
drives the engine on threads; tests and simple drivers call :meth:`LiveEngine.step`, which does the same work
synchronously. Under the runner the engine is guarded by one lock; it is not thread-safe by itself.

What happens to a job:

1. A feed poll goes through the poll core (``FeedPoller``): failures become dead letters, and every new or
   edited item becomes a page job at the back of its host's lane (at most ``polling.max_new_items_per_poll``
   per poll; the rest waits for the feed's next poll).
2. A fetched page becomes a :class:`~storywire.pipelines.core.normalise.PageTask` (the shape replay builds from
   an archive, so extraction, revisions and stories are shared) in the output buffer. A retryable failure (429,
   5xx, timeout, connection, host busy) waits as a :class:`~storywire.pipelines.live.pending.PendingPage` until
   the server's ``Retry-After`` or an exponential backoff (:func:`page_retry_delay`), up to
   ``polling.page_retry_attempts`` times; any other failure, and the last retry's, is a dead letter of stage
   ``fetch-article``.
3. Every response, redirect hops included, is written to the WARC archive when one is configured, so the run
   replays later with ``storywire replay`` to the same article ids.

Back-pressure: when the output buffer holds ``run.max_buffered_pages`` entries, no job starts until the
pipeline takes some (a stalled sink, a broker outage): intake pauses, nothing is dropped; both changes are
logged in one line.

Durability: :meth:`checkpoint` saves the poll state with every page not yet emitted (retries, queued, running,
buffered) as pending; the source calls it only when everything it emitted before has been flushed by the
sinks, so a crash re-does at most the work since (at-least-once) and a stop (:meth:`abandon`) loses nothing.
"""

from __future__ import annotations

import itertools
import logging
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from storywire.connectors.archives.warc_writer import RotatingWarcWriter
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.feeds.poll import FeedPoller, PollOutcome
from storywire.connectors.feeds.state import FeedState
from storywire.connectors.feeds.state_store import Checkpointer, CheckpointStore
from storywire.connectors.http.fetcher import FetchResult, Kind
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.urls import article_id_for, canonical_url
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.core.normalise import PageTask
from storywire.pipelines.core.revisions import stream_order
from storywire.pipelines.live.lanes import FetchJob, HostLanes, host_of
from storywire.pipelines.live.pending import (
    PAGE_RETRY_FLOOR_S,
    PendingPage,
    PendingPagesStore,
    page_retry_delay,
    retry_after_s,
)
from storywire.pipelines.live.progress import Backlog, log_poll

__all__ = [
    "PAGE_RETRY_FLOOR_S",
    "Fetcher",
    "LiveEngine",
    "PendingPage",
    "PendingPagesStore",
    "StepResult",
    "page_retry_delay",
    "seconds_until",
    "shard_ids",
]

log = logging.getLogger("storywire.live")

REORDER_HOLD_S = 1.0
"""The longest a fetched page waits for pages first seen before it (so assignment follows the stream order)."""


class Fetcher(Protocol):
    """What the engine needs of :class:`storywire.connectors.http.HttpFetcher` (tests pass a fake)."""

    def fetch(
        self, url: str, *, kind: Kind, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...

    def close(self) -> None: ...


Outcome = FetchResult | BaseException | None


@dataclass
class StepResult:
    """What the engine handed out: page tasks in stream order, dead letters, and counts for metrics."""

    tasks: list[PageTask] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    fetch_seconds: list[tuple[str, float]] = field(default_factory=list)
    """How long each fetch took, by kind (``feed``, ``page``), for the latency histogram."""

    @property
    def empty(self) -> bool:
        return not self.tasks and not self.failures


@dataclass(frozen=True, slots=True)
class _Buffered:
    """An output waiting for the pipeline, and the pending page it becomes if a checkpoint or stop comes first."""

    record: PageTask | Failure
    pending: PendingPage | None
    done_at: float = 0.0
    """When it was buffered (monotonic seconds): a page is held at most :data:`REORDER_HOLD_S` for earlier ones."""


class LiveEngine:
    """The live run's state machine; see the module docstring. One per source instance (shard)."""

    def __init__(
        self,
        config: LiveConfig,
        fetcher: Fetcher,
        *,
        now: Callable[[], datetime],
        shard: int = 0,
        shards: int = 1,
        workers: int | None = None,
        publish_states: Callable[[Iterable[FeedState]], object] | None = None,
        host_wait: Callable[[str], float] | None = None,
        max_polls: int | None = None,
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
        self._archive: RotatingWarcWriter | None = None
        if config.archive.dir:
            prefix = "storywire" if shards == 1 else f"storywire-shard{shard}"
            self._archive = RotatingWarcWriter(config.archive.dir, prefix=prefix, max_bytes=config.archive.rotate_size)
        self.max_parallel = max(1, workers if workers is not None else config.run.max_parallel_fetches)
        self._max_buffered = config.run.max_buffered_pages
        self._host_wait = host_wait or politeness_wait(fetcher)
        self._warm_robots: Callable[[str], object] = getattr(fetcher, "warm_robots", lambda url: None)
        self._robots_warmed: set[str] = set()
        self._max_polls = max_polls
        self._polls: Counter[str] = Counter()
        # Feeds failing at the start (from the saved state) wait on a backoff: max_polls does not wait for them.
        self._failing: set[str] = {s.feed_url for s in self.poller.states() if s.failures or s.broken}
        self._enabled = {f.url for f in feeds if f.enabled}
        self._lanes = HostLanes()
        self._running: dict[int, FetchJob] = {}
        self._job_ids = itertools.count(1)
        self._buffer: list[_Buffered] = []
        self._counts: Counter[str] = Counter()
        self._fetch_seconds: list[tuple[str, float]] = []
        self._intake = True
        self._paused_at: float | None = None
        self._work_changes = 0
        self._pending_store = PendingPagesStore(_shard_path(config.state.path, shard, shards) + ".pages")
        # A file from an earlier run (or build, or a larger page_retry_max_delay) may hold retries due later than
        # the cap allows now: they are brought forward to it, never dropped.
        latest = started + config.polling.page_retry_max_delay
        self._retries: list[PendingPage] = [
            p if p.due_at <= latest else _due(p, latest) for p in self._pending_store.load()
        ]
        self._counts["pages.pending_at_start"] = len(self._retries)

    # -- starting work ----------------------------------------------------------------------------------------

    def start_jobs(self) -> list[FetchJob]:
        """Queue what has come due and take the jobs that may start now (the caller runs them, then
        :meth:`complete`). Nothing starts while intake is stopped or paused by a full buffer."""
        if not self._intake or self._buffer_full():
            return []
        now = self._now()
        self._queue_due(now)
        jobs = self._lanes.take(self.max_parallel - len(self._running), self._host_wait)
        for job in jobs:
            self._running[job.job_id] = job
        return jobs

    def next_event_in(self) -> float | None:
        """Seconds until :meth:`start_jobs` may start something; None: only a finished job or a drained buffer
        can change that (wait to be woken). Measured on the engine's own clock, so a due time between two of its
        ticks gives a positive wait, never a spin."""
        if not self._intake or self._buffer_full() or len(self._running) >= self.max_parallel:
            return None
        now = self._now()
        waits = [seconds_until(self.poller.next_wakeup(), now)]
        waits += [max(0.0, (p.due_at - now).total_seconds()) for p in self._retries]
        waits.append(self._lanes.next_ready_in(self._host_wait))
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    def fetch(self, job: FetchJob) -> Outcome:
        """Run one job's fetch (thread-safe: call it without the engine's lock); errors are returned, not raised."""
        etag = job.request.etag if job.request is not None else None
        modified = job.request.last_modified if job.request is not None else None
        try:
            if job.kind == "robots":
                self._warm_robots(job.url)
                return None
            kind: Kind = job.kind
            return self._fetcher.fetch(job.url, kind=kind, etag=etag, last_modified=modified)
        except Exception as exc:  # every fetch error is data for the poll core or a dead letter
            return exc

    def complete(self, job: FetchJob, outcome: Outcome) -> None:
        """Handle a job's result; a job given up by :meth:`abandon` is ignored (it is pending already)."""
        if self._running.pop(job.job_id, None) is None:
            return
        self._lanes.done(job.host)
        self._work_changes += 1
        if job.kind == "robots":
            return  # the fetcher's robots policy keeps what it learnt, errors included
        if isinstance(outcome, FetchResult):
            self._fetch_seconds.append((job.kind, outcome.elapsed_s))
        try:
            if job.request is not None:
                self._feed_done(job, outcome)
            else:
                self._page_done(job, outcome)
        except Exception as exc:  # a surprise in handling one result is that input's dead letter, not a dead run
            log.exception("live: handling the result of %s failed", job.url)
            stage = Stage.POLL_FEED if job.request is not None else Stage.FETCH_ARTICLE
            pending = None if job.item is None else PendingPage(job.item, job.outlet, job.failed_attempts, self._now())
            self._output(Failure.from_exception(stage, job.url, exc, self._now()), pending)

    def step(self) -> StepResult:
        """Do every job that may start now, one after the other, and hand out the results (tests, simple drivers)."""
        while jobs := self.start_jobs():
            for job in jobs:
                self.complete(job, self.fetch(job))
        return self.take_output()

    # -- handing results out ----------------------------------------------------------------------------------

    def has_output(self) -> bool:
        """Whether :meth:`take_output` would hand something out now."""
        return any(self._releasable(time.monotonic()))

    def take_output(self, limit: int | None = None) -> StepResult:
        """Up to ``limit`` buffered results (page tasks sorted in stream order) and the counts since the last call.

        A fetched page waits (at most :data:`REORDER_HOLD_S`) while a page first seen earlier, or at the same
        time with a smaller article id, is still queued or being fetched: story assignment then sees the pages
        in the stream order a replay of the archive uses, so both give the same story ids.
        """
        ready = self._releasable(time.monotonic())
        taken = [entry for entry, release in zip(self._buffer, ready, strict=True) if release]
        if limit is not None:
            taken = taken[:limit]
        chosen = {id(entry) for entry in taken}
        self._buffer = [entry for entry in self._buffer if id(entry) not in chosen]
        result = StepResult(counts=self._counts, fetch_seconds=self._fetch_seconds)
        self._counts = Counter()
        self._fetch_seconds = []
        for entry in taken:
            if isinstance(entry.record, PageTask):
                result.tasks.append(entry.record)
            else:
                result.failures.append(entry.record)
            if entry.pending is not None:  # an item's page leaves for good: the live balance counts it here
                result.counts["pages.emitted" if isinstance(entry.record, PageTask) else "pages.dead_lettered"] += 1
        # The stream order replay sees (storywire.pipelines.core.revisions.order_key): first sighting, then article
        # id; story assignment depends on it.
        result.tasks.sort(key=lambda t: stream_order(t.first_seen_at, article_id_for(canonical_url(t.response.url))))
        if self._paused_at is not None and not self._buffer_full():
            log.warning("live: intake resumed after %.0fs: the pipeline caught up", time.monotonic() - self._paused_at)
            self._paused_at = None
        return result

    # -- stopping ---------------------------------------------------------------------------------------------

    def stop_intake(self) -> None:
        """Start no more jobs (a stop): running ones may still complete."""
        self._intake = False

    @property
    def running(self) -> int:
        return len(self._running)

    def finished(self) -> bool:
        """With ``max_polls``: every feed polled that often (or failing: it waits on a backoff) and nothing left
        to do now (retries may wait)."""
        if self._max_polls is None:
            return False
        now = self._now()
        return (
            all(self._polls[url] >= self._max_polls or url in self._failing for url in self._enabled)
            and not self._running
            and not len(self._lanes)
            and not self._buffer
            and all(p.due_at > now for p in self._retries)
        )

    def abandon(self) -> int:
        """Turn every page not emitted yet (running, queued, buffered) into a pending page due now, for the
        restart; polls in flight are simply not recorded (the feed is due again). Returns how many pages."""
        self._intake = False
        now = self._now()
        jobs = [*self._running.values(), *self._lanes.drain()]
        self._running.clear()
        pages = [PendingPage(j.item, j.outlet, j.failed_attempts, now) for j in jobs if j.item is not None]
        pages += [entry.pending for entry in self._buffer if entry.pending is not None]
        self._buffer = []
        self._retries.extend(pages)
        self._work_changes += 1
        return len(pages)

    # -- gauges -----------------------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        times = [t for t in (self.poller.next_wakeup(), *(p.due_at for p in self._retries)) if t is not None]
        return min(times) if times else None

    def backlog(self) -> Backlog:
        """Work in hand, for the progress line: retries waiting, pages queued or running, and how late the oldest
        due work is (a poll past its time, or the page queued longest)."""
        now = self._now()
        oldest = [self.poller.next_wakeup(), *(j.queued_at for j in self._lanes.queued())]
        started = [t for t in oldest if t is not None]
        lag = max(timedelta(0), now - min(started)) if started else timedelta(0)
        queued = sum(1 for j in (*self._lanes.queued(), *self._running.values()) if j.item is not None)
        return Backlog(
            pending_pages=len(self._retries),
            lag=lag,
            queued_pages=queued,
            paused=self._buffer_full(),
            buffered_pages=len(self._buffer),
            feeds_broken=self.poller.broken_count(),
        )

    @property
    def pending_pages(self) -> tuple[PendingPage, ...]:
        """Every page not emitted yet, as a checkpoint would save it."""
        return tuple(self._pending_snapshot())

    # -- durability -------------------------------------------------------------------------------------------

    @property
    def changes(self) -> int:
        return self.poller.changes + self._work_changes

    def states(self) -> Iterator[FeedState]:
        return self.poller.states()

    def checkpoint(self, *, force: bool = False) -> bool:
        """Save the poll state and the pending pages (call only when everything emitted so far is flushed)."""
        now = self._now()
        if force:
            self._checkpointer.save(self, now)
            saved = True
        else:
            saved = self._checkpointer.maybe_save(self, now)
        if saved:
            self._pending_store.save(self._pending_snapshot())
        if saved and self._publish_states is not None:
            # The compacted topic mirrors the file, for restarts on another machine.
            self._publish_states(self.poller.states())
        return saved

    def close(self) -> None:
        """Final checkpoint, archive closed, connections released (stop the runner's threads first)."""
        try:
            self.checkpoint(force=True)
        finally:
            if self._archive is not None:
                self._archive.close()
            self._fetcher.close()

    # -- internals --------------------------------------------------------------------------------------------

    def _queue_due(self, now: datetime) -> None:
        for request in self.poller.due(now):
            if self._max_polls is not None and self._polls[request.feed_url] >= self._max_polls:
                continue  # left in flight in the poller: never due again in this run
            self._polls[request.feed_url] += 1
            job = FetchJob(next(self._job_ids), "feed", request.fetch_url, host_of(request.fetch_url), request)
            self._lanes.add(job, front=True)
        due = [p for p in self._retries if p.due_at <= now]
        if due:
            self._retries = [p for p in self._retries if p.due_at > now]
            # Retries go to the front of their lane, ahead of the feed polls queued above: they are the oldest
            # work, and a throttled host said when to come back for them (a poll taking that turn could meet the
            # same throttle, and the page would never get through).
            for page in reversed(due):
                self._queue_page(page.item, page.outlet, page.failed_attempts, now, front=True)
            self._counts["pages.retried"] += sum(1 for p in due if p.failed_attempts)

    def _queue_page(
        self, item: FeedItem, outlet: str | None, failed: int, now: datetime, *, front: bool = False
    ) -> None:
        job = FetchJob(
            next(self._job_ids),
            "page",
            item.link,
            host_of(item.link),
            item=item,
            outlet=outlet,
            failed_attempts=failed,
            queued_at=now,
            order=_page_order(item),
        )
        self._lanes.add(job, front=front)

    def _feed_done(self, job: FetchJob, outcome: Outcome) -> None:
        assert job.request is not None
        polled_at = self._now()
        if isinstance(outcome, BaseException) or outcome is None:
            poll = self.poller.on_error(job.request.feed_url, outcome or RuntimeError("no result"), polled_at)
        else:
            self._archive_result(outcome)
            poll = self.poller.on_result(job.request.feed_url, outcome, polled_at)
        self._collect(poll, polled_at)
        if poll.ok and job.host not in self._robots_warmed:
            self._robots_warmed.add(job.host)
            if not any(j.host == job.host for j in self._lanes.queued()):
                # Nothing new to fetch from this site yet: get its robots.txt now, so its first new article
                # does not wait for it (and for the politeness gap after it).
                self._lanes.add(FetchJob(next(self._job_ids), "robots", job.url, job.host))

    def _collect(self, poll: PollOutcome, now: datetime) -> None:
        log_poll(poll)
        self._counts[f"polls.{poll.status}"] += 1
        if poll.ok:
            self._failing.discard(poll.feed_url)
        else:
            self._failing.add(poll.feed_url)
        if poll.failure is not None:
            self._output(poll.failure, None)
        self._counts["items.new"] += len(poll.new_items)
        self._counts["items.updated"] += len(poll.updated_items)
        if poll.turnover:  # its list moved on completely since the last poll: items may have been missed
            self._counts["feeds.turnover"] += 1
        if poll.held_back:  # over polling.max_new_items_per_poll: they come out at the feed's next polls
            self._counts["items.held_back"] += poll.held_back
        outlet = self._outlets.get(poll.feed_url)
        for item in (*poll.new_items, *poll.updated_items):
            self._queue_page(item, outlet, 0, now)

    def _page_done(self, job: FetchJob, outcome: Outcome) -> None:
        item = job.item
        assert item is not None
        pending = PendingPage(item, job.outlet, job.failed_attempts, self._now())
        if isinstance(outcome, BaseException) or outcome is None:
            error = outcome or RuntimeError("no result")
            self._page_failed(item, job.outlet, error, job.failed_attempts + 1, pending)
            return
        self._archive_result(outcome)
        self._counts["pages.fetched"] += 1
        task = PageTask(item=item, first_seen_at=item.seen_at, response=outcome.response, outlet=job.outlet)
        self._output(task, pending)

    def _page_failed(
        self, item: FeedItem, outlet: str | None, error: BaseException, failed: int, pending: PendingPage
    ) -> None:
        polling = self._config.polling
        if getattr(error, "retryable", False) and failed <= polling.page_retry_attempts:
            now = self._now()
            after = retry_after_s(error, now)
            delay = page_retry_delay(item.link, failed, after, polling)
            if after is not None and after > delay:
                self._counts["pages.retry_after_capped"] += 1
            self._retries.append(PendingPage(item, outlet, failed, now + timedelta(seconds=delay)))
            self._counts["pages.retry_scheduled"] += 1
            return
        self._counts["pages.failed"] += 1
        failure = Failure.from_exception(Stage.FETCH_ARTICLE, item.link, error, item.seen_at, payload_ref=item.feed_url)
        self._output(failure, pending)

    def _releasable(self, now: float) -> list[bool]:
        """For each buffered entry, whether it may leave now (see :meth:`take_output`)."""
        unfinished = [j.order for j in (*self._lanes.queued(), *self._running.values()) if j.order is not None]
        earliest = min(unfinished) if unfinished else None
        ready = []
        for entry in self._buffer:
            record = entry.record
            if earliest is None or not isinstance(record, PageTask) or now - entry.done_at >= REORDER_HOLD_S:
                ready.append(True)
                continue
            order = stream_order(record.first_seen_at, article_id_for(canonical_url(record.response.url)))
            ready.append(order < earliest)
        return ready

    def _output(self, record: PageTask | Failure, pending: PendingPage | None) -> None:
        self._buffer.append(_Buffered(record, pending, time.monotonic()))
        if self._paused_at is None and self._buffer_full():
            self._paused_at = time.monotonic()
            log.warning(
                "live: intake paused: %d fetched pages wait for the pipeline (run.max_buffered_pages); "
                "fetching resumes when the sinks catch up",
                len(self._buffer),
            )

    def _buffer_full(self) -> bool:
        return len(self._buffer) >= self._max_buffered

    def _pending_snapshot(self) -> list[PendingPage]:
        now = self._now()
        jobs = [*self._lanes.queued(), *self._running.values()]
        pages = [*self._retries]
        pages += [PendingPage(j.item, j.outlet, j.failed_attempts, now) for j in jobs if j.item is not None]
        pages += [entry.pending for entry in self._buffer if entry.pending is not None]
        return pages

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


def _page_order(item: FeedItem) -> tuple[str, str, int, str] | None:
    """Where the item's page falls in the stream order (None: not placeable, never waited for)."""
    try:
        return stream_order(item.seen_at, article_id_for(canonical_url(item.link)))
    except Exception:  # a link canonicalisation refuses fails its fetch anyway; it holds nothing back
        return None


def politeness_wait(fetcher: object) -> Callable[[str], float]:
    """Seconds until a host may be asked, from the fetcher's politeness scheduler (0 when it has none)."""
    scheduler = getattr(fetcher, "scheduler", None)
    next_allowed = getattr(scheduler, "next_allowed_at", None)
    if next_allowed is None:
        return lambda host: 0.0

    def wait(host: str) -> float:
        now = time.monotonic()
        return max(0.0, float(next_allowed(host, now)) - now)

    return wait


def _due(page: PendingPage, when: datetime) -> PendingPage:
    return PendingPage(page.item, page.outlet, page.failed_attempts, when)


def seconds_until(when: datetime | None, now: datetime) -> float | None:
    """How long until ``when`` (0 when past); None when nothing is scheduled."""
    return None if when is None else max(0.0, (when - now).total_seconds())


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
