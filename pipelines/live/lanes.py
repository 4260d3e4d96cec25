"""Per-host lanes: the fetches waiting for each host, at most one of them running (pure Python).

Why lanes: politeness is per host (``http.min_delay``, crawl-delay, a 429's Retry-After), so a fetch is only
handed to a worker when its host may be asked *now* and has nothing else in flight. A host that is waiting,
throttled or stalling then holds its own lane and at most one worker, never the workers other hosts could use,
and never another host's output.

Use: :meth:`HostLanes.add` a :class:`FetchJob`; :meth:`HostLanes.take` the jobs that may start (given how long
each host must still wait and how many workers are free); :meth:`HostLanes.done` when a job's fetch returned.
Feed polls go to the front of their lane (they are few and find the work), pages to the back, in the order their
items were found.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.feeds.poll import PollRequest


@dataclass(frozen=True, slots=True)
class FetchJob:
    """One fetch to do: a feed poll (``request``), an item's page (``item``, ``failed_attempts`` so far), or a
    site's robots.txt fetched ahead of its pages (``robots``)."""

    job_id: int
    kind: Literal["feed", "page", "robots"]
    url: str
    host: str
    request: PollRequest | None = None
    item: FeedItem | None = None
    outlet: str | None = None
    failed_attempts: int = 0
    queued_at: datetime | None = None
    order: tuple[str, str, int, str] | None = None
    """A page's place in the stream order (first seen, article id), for the engine's reordering."""


def host_of(url: str) -> str:
    """The politeness key of ``url``: its host name, lower case (the fetcher's guard keys on the same)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host:
        return url
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


class HostLanes:
    """Jobs queued per host; not thread-safe (the engine's lock guards it)."""

    def __init__(self) -> None:
        self._lanes: OrderedDict[str, deque[FetchJob]] = OrderedDict()
        self._busy: set[str] = set()

    def add(self, job: FetchJob, *, front: bool = False) -> None:
        lane = self._lanes.get(job.host)
        if lane is None:
            lane = self._lanes[job.host] = deque()
        if front:
            lane.appendleft(job)
        else:
            lane.append(job)

    def take(self, free_workers: int, host_wait: Callable[[str], float]) -> list[FetchJob]:
        """Jobs to start now: the head of each idle lane whose host may be asked, at most ``free_workers``.

        Lanes are served round-robin (a served lane moves to the back), so many busy hosts share the workers.
        """
        started: list[FetchJob] = []
        if free_workers <= 0:
            return started
        for host in list(self._lanes):
            if len(started) >= free_workers:
                break
            if host in self._busy or host_wait(host) > 0:
                continue
            lane = self._lanes[host]
            started.append(lane.popleft())
            self._busy.add(host)
            if lane:
                self._lanes.move_to_end(host)
            else:
                del self._lanes[host]
        return started

    def done(self, host: str) -> None:
        """The host's running job returned: its next job may start."""
        self._busy.discard(host)

    def next_ready_in(self, host_wait: Callable[[str], float]) -> float | None:
        """Seconds until some idle lane's host may be asked (0: now); None when every lane is busy or empty."""
        waits = [host_wait(host) for host in self._lanes if host not in self._busy]
        return max(0.0, min(waits)) if waits else None

    def drain(self) -> list[FetchJob]:
        """Remove and return every queued job (a stop); running jobs are the caller's to account for."""
        jobs = [job for lane in self._lanes.values() for job in lane]
        self._lanes.clear()
        return jobs

    def queued(self) -> Iterator[FetchJob]:
        for lane in self._lanes.values():
            yield from lane

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())
