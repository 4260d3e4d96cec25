"""The feed poll core: which feeds are due, and what one fetch result means. No network, no Beam, no clock.

A live source drives a :class:`FeedPoller`::

    poller = FeedPoller(config.feeds, config.polling, now, states=store.load(config.polling.seen_items))
    while running:
        for request in poller.due(now):                  # marks them in flight
            try:
                result = fetcher.fetch(request.fetch_url, kind="feed", etag=request.etag,
                                       last_modified=request.last_modified)
            except Exception as exc:                     # storywire.connectors.http's errors, and anything else
                outcome = poller.on_error(request.feed_url, exc, now)
            else:
                outcome = poller.on_result(request.feed_url, result, now)
            emit(outcome.new_items, outcome.updated_items, outcome.failure); count(outcome.status)
        checkpointer.maybe_save(poller, now)             # after the emitted records are durable
        sleep_until(poller.next_wakeup())                # never busy-waits; None: nothing scheduled

Rules (the numbers and their reasons are in :mod:`storywire.connectors.feeds.schedule` and :mod:`.feed_hints`):

- **Cheap when nothing changed.** A 304, or a 200 whose body digest equals the last one (new ETag, server
  ignoring validators, only ``lastBuildDate`` rewritten), costs a reschedule (and the body's hash): no parse,
  no items (``bench/poll_core.py`` measures it; ``docs/operations.md`` has the figures).
- **Validators.** ETag/Last-Modified are sent unless the feed has ``trust_validators: false``, and not when
  the last full body is older than the feed's max interval (one unconditional GET per max interval catches
  servers that answer 304 for a changed feed). A body that fails to parse clears them, so a 304 can never
  hide a broken feed behind a success.
- **Items.** New item keys are ``new_items``; a known key whose title/summary/link changed is an
  ``updated_items`` entry (an edit: re-fetch it, same article id, next revision). Seen keys are bounded per
  feed (``PollSettings.seen_items``).
- **At most a cap per poll.** When more items are new or edited than ``max_new_items_per_poll``, the oldest
  by the feed's own dates go out first (when every one of them has a date; otherwise the feed's order, since
  undated items cannot be placed among dated ones by anything but the publisher's order). Oldest first
  because the held-back items must still be listed at the next poll, and the oldest are the first to scroll
  off. The rest is *held back* (``PollOutcome.held_back``): not recorded as seen (an edit keeps its old
  fingerprint), the body hash and validators are forgotten so the next poll parses the body again, and that
  poll comes at the feed's minimum interval (still raised to its hints) instead of the adaptive one.
- **Turnover is counted, not silent.** When a parsed list shares no item with the previous parsed list of the
  feed (which listed some; 304s and unchanged bodies in between keep that list), the feed published more
  between the two polls than it lists, so items may have scrolled off unseen. Nothing can fetch them now; the
  poll counts it (``FeedState.turnovers``, checkpointed; ``PollOutcome.turnover``), logs one WARNING naming
  the feed, and halves the feed's interval after adaptation (on top of the overflow guard of
  :func:`~.schedule.adapt_interval`, never below the feed's minimum), so a feed that outruns us is polled
  sooner.
- **Next poll.** Success: the adaptive interval, raised to the largest hint (``ttl``, ``sy:updatePeriod``,
  ``Cache-Control: max-age``, ``Expires``), hints capped at the feed's max interval. Failure: exponential
  backoff with deterministic jitter, raised to ``Retry-After`` (same cap).
- **Broken.** After the threshold of consecutive failures (:func:`~.schedule.failure_threshold`) a feed is
  broken: reported once (status ``broken``, a ``FeedBrokenError`` dead letter), then polled at its max
  interval (so it recovers by itself when fixed; ``enabled: false`` in the config stops it). The next success
  clears it (``recovered``).
- **Dead letters.** A failure is written when a failure streak starts or its error changes, and when the feed
  becomes broken; repeats of the same error are counted (status), not re-written. A feed that parsed with
  recoverable errors writes a ``MalformedFeedError`` dead letter once per distinct body.
- **Deferred.** ``HostBackoffError`` (the fetcher's politeness slot for the host is too far away) is not a
  failure: the poll moves to the slot's time (``Retry-After``), nothing else changes (status ``deferred``).
- **Redirects.** A permanent redirect (301/308) changes the URL fetched from then on; state, metrics and
  dead letters keep the configured URL as the feed's identity.

Not thread-safe: one poller per source instance, called from one thread. Times are timezone-aware UTC.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from storywire.connectors.errors import ConfigError, HttpStatusError, InputError, MalformedFeedError
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.feed_hints import (
    body_digest,
    body_min_delay,
    header_min_delay,
    lower_headers,
    retry_after_seconds,
)
from storywire.connectors.feeds.parse import FeedItem, parse_feed
from storywire.connectors.feeds.schedule import (
    ErrorKind,
    adapt_interval,
    backoff_delay,
    classify_error,
    decay_rate,
    failure_threshold,
    unit_hash,
)
from storywire.connectors.feeds.settings import FeedSpec, PollSettings, check_feed_url
from storywire.connectors.feeds.state import (
    NEW,
    SAME,
    FeedState,
    SeenItems,
    Sighting,
    item_fingerprint,
    item_key_hash,
)
from storywire.connectors.http_types import CapturedResponse

SuccessStatus = Literal[
    "not_modified", "unchanged_body", "new_items", "updated_items", "no_new_items", "malformed_with_entries"
]
PollStatus = SuccessStatus | ErrorKind | Literal["broken"]
"""The outcome's status, also its metric name: a success, the kind of error, or ``broken`` (once)."""
log = logging.getLogger(__name__)
SUCCESS_STATUSES: frozenset[str] = frozenset(
    {"not_modified", "unchanged_body", "new_items", "updated_items", "no_new_items", "malformed_with_entries"}
)


class FeedBrokenError(InputError):
    """A feed failed so many consecutive polls that it is now polled only at its max interval."""


class FetchResultLike(Protocol):
    """What :meth:`FeedPoller.on_result` reads from the HTTP layer's ``FetchResult``."""

    @property
    def response(self) -> CapturedResponse: ...

    @property
    def not_modified(self) -> bool: ...

    @property
    def permanent_redirect(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PollRequest:
    """One fetch to make: ``feed_url`` is the identity to report back with, ``fetch_url`` the URL to GET."""

    feed_url: str
    fetch_url: str
    etag: str | None
    last_modified: str | None
    due_at: datetime


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll meant. ``status`` doubles as the metric name; ``error_kind`` keeps the cause of ``broken``.

    ``failure`` goes to the dead-letter stream when set. ``new_items`` are first sightings; ``updated_items``
    are edits of items seen before (re-fetch; same article id, next revision).
    """

    feed_url: str
    fetch_url: str
    status: PollStatus
    next_poll_at: datetime
    interval: timedelta
    new_items: tuple[FeedItem, ...] = ()
    updated_items: tuple[FeedItem, ...] = ()
    failure: Failure | None = None
    error_kind: str | None = None
    http_status: int | None = None
    broken: bool = False
    became_broken: bool = False
    recovered: bool = False
    skipped_entries: int = 0
    held_back: int = 0
    """New or edited items over ``max_new_items_per_poll``: not emitted now, they come out at the next polls."""
    turnover: bool = False
    """The list shared no item with the previous one: items may have been missed (counted in the feed state)."""

    @property
    def ok(self) -> bool:
        """True when the feed answered usefully (items may still be empty)."""
        return self.status in SUCCESS_STATUSES


class FeedPoller:
    """The poll state machine of a set of feeds; see the module docstring for the rules."""

    def __init__(
        self,
        feeds: Iterable[FeedSpec],
        settings: PollSettings,
        now: datetime,
        states: Mapping[str, FeedState] | None = None,
    ) -> None:
        self._settings = settings
        self._specs: dict[str, FeedSpec] = {}
        self._bounds: dict[str, tuple[float, float]] = {}
        for spec in feeds:
            if spec.url in self._specs:
                raise ConfigError(f"feed {spec.url} is listed twice; keep one entry")
            self._specs[spec.url] = spec
            self._bounds[spec.url] = settings.bounds_for(spec)
        self._states: dict[str, FeedState] = {}
        self._heap: list[tuple[float, str, int]] = []
        self._in_flight: set[str] = set()
        self._changes = 0
        loaded = dict(states or {})
        self.dropped_states: tuple[str, ...] = tuple(sorted(set(loaded) - set(self._specs)))
        """Feeds whose saved state was discarded because they are no longer configured."""
        spread = settings.startup_spread.total_seconds()
        for url, spec in self._specs.items():
            low, high = self._bounds[url]
            state = loaded.get(url)
            if state is None:
                if not spec.enabled:
                    continue
                first = now + timedelta(seconds=spread * unit_hash(url, "start"))
                state = FeedState(
                    feed_url=url,
                    current_url=url,
                    next_poll_at=first,
                    interval_s=min(max(settings.initial_interval.total_seconds(), low), high),
                    seen=SeenItems(settings.seen_items),
                )
            else:
                state.seen.capacity = settings.seen_items
                state.seen.trim(keep_at_least=state.listed)
                state.interval_s = min(max(state.interval_s, low), high)
            self._states[url] = state
            if not spec.enabled:
                continue
            when = state.next_poll_at
            if when < now:  # overdue after a pause: spread, do not stampede
                when = now + timedelta(seconds=spread * unit_hash(url, "restart"))
            when = min(when, now + timedelta(seconds=high))
            self._schedule(state, when)
        self._changes = 0

    # -- scheduling -------------------------------------------------------------------------------------

    def due(self, now: datetime) -> list[PollRequest]:
        """Feeds whose poll time has come, oldest first, now marked in flight until their result is given."""
        limit = now.timestamp()
        requests: list[PollRequest] = []
        heap = self._heap
        while heap and heap[0][0] <= limit:
            _, url, generation = heapq.heappop(heap)
            state = self._states.get(url)
            if state is None or state.generation != generation or url in self._in_flight:
                continue
            self._in_flight.add(url)
            spec = self._specs[url]
            send = spec.trust_validators and state.body_at is not None
            if send and state.body_at is not None:
                send = (now - state.body_at).total_seconds() < self._bounds[url][1]
            requests.append(
                PollRequest(
                    feed_url=url,
                    fetch_url=state.current_url,
                    etag=state.etag if send else None,
                    last_modified=state.last_modified if send else None,
                    due_at=state.next_poll_at,
                )
            )
        return requests

    def next_wakeup(self) -> datetime | None:
        """When the next feed becomes due (may be in the past), or None when nothing is scheduled."""
        heap = self._heap
        while heap:
            _, url, generation = heap[0]
            state = self._states.get(url)
            if state is not None and state.generation == generation and url not in self._in_flight:
                return state.next_poll_at
            heapq.heappop(heap)
        return None

    # -- results ----------------------------------------------------------------------------------------

    def on_result(self, feed_url: str, result: FetchResultLike, now: datetime) -> PollOutcome:
        """Account for a response (304, or a body) from the HTTP layer."""
        state = self._take(feed_url)
        response = result.response
        headers = lower_headers(response)
        redirect = result.permanent_redirect
        if redirect and redirect != state.current_url:
            # A redirect to a non-http(s) URL is not followed next time either.
            with contextlib.suppress(ConfigError):
                state.current_url = check_feed_url(redirect)
        status = response.status
        if result.not_modified or status == 304:
            etag = headers.get("etag")
            if etag:
                state.etag = etag
            modified = headers.get("last-modified")
            if modified:
                state.last_modified = modified
            return self._success(state, now, "not_modified", headers)
        if not 200 <= status < 300:
            retry = retry_after_seconds(headers.get("retry-after"), now)
            return self._failure(state, now, HttpStatusError(status, response.url), retry_after_s=retry)
        body = response.body
        digest = body_digest(body)
        if digest == state.body_hash:
            self._keep_validators(state, headers, now)
            return self._success(state, now, "unchanged_body", headers)
        try:
            parsed = parse_feed(body, response.url, response.captured_at, headers.get("content-type"))
        except Exception as exc:  # FeedParseError, UnsafeXmlError, feedparser surprises: all become data
            state.etag = state.last_modified = state.body_hash = None
            return self._failure(state, now, exc, stage=Stage.PARSE_FEED, payload=body, payload_ref=response.source_ref)
        turnover = self._turnover(state, parsed.items)
        new_items, updated_items, held_back = self._sight(state, parsed.items)
        state.body_hash = digest
        state.hint_s = body_min_delay(body)
        self._keep_validators(state, headers, now)
        if held_back:  # the same body must be parsed again next time: no "unchanged body", no 304
            state.body_hash = state.etag = state.last_modified = None
        failure = None
        if parsed.warning:
            status_name: PollStatus = "malformed_with_entries"
            warning = MalformedFeedError(
                f"malformed feed, {len(parsed.items)} entries recovered, later ones may be lost: {parsed.warning}"
            )
            failure = Failure.from_exception(
                Stage.PARSE_FEED, feed_url, warning, now, payload_ref=response.source_ref, payload=body
            )
        elif new_items:
            status_name = "new_items"
        elif updated_items:
            status_name = "updated_items"
        else:
            status_name = "no_new_items"
        return self._success(
            state,
            now,
            status_name,
            headers,
            new_items=new_items,
            updated_items=updated_items,
            listed=len(parsed.items),
            failure=failure,
            skipped=parsed.skipped_entries,
            held_back=held_back,
            turnover=turnover,
        )

    def on_error(self, feed_url: str, error: BaseException, now: datetime) -> PollOutcome:
        """Account for a fetch that raised (timeout, DNS, TLS, HTTP status...); ``Retry-After`` is honoured."""
        state = self._take(feed_url)
        retry = retry_after_seconds(getattr(error, "retry_after", None), now)
        kind, _, _ = classify_error(error)
        if kind == "deferred":
            return self._defer(state, now, retry)
        return self._failure(state, now, error, retry_after_s=retry)

    # -- reading ----------------------------------------------------------------------------------------

    def state(self, feed_url: str) -> FeedState:
        """The live state of one configured feed (read it, do not change it)."""
        return self._states[feed_url]

    def states(self) -> Iterator[FeedState]:
        """Every feed's state, for checkpoints (feeds disabled in the config keep theirs)."""
        return iter(self._states.values())

    @property
    def changes(self) -> int:
        """How many times any state changed since the start: a checkpoint is due only when this moved."""
        return self._changes

    @property
    def in_flight(self) -> frozenset[str]:
        return frozenset(self._in_flight)

    def broken_count(self) -> int:
        """Feeds currently marked broken (a gauge)."""
        return sum(1 for s in self._states.values() if s.broken)

    # -- internals --------------------------------------------------------------------------------------

    def _take(self, feed_url: str) -> FeedState:
        state = self._states.get(feed_url)
        spec = self._specs.get(feed_url)
        if state is None or spec is None or not spec.enabled:
            raise KeyError(f"{feed_url} is not an enabled configured feed (give PollRequest.feed_url back)")
        self._in_flight.discard(feed_url)
        return state

    def _schedule(self, state: FeedState, when: datetime) -> None:
        state.generation += 1
        state.next_poll_at = when
        heapq.heappush(self._heap, (when.timestamp(), state.feed_url, state.generation))
        self._changes += 1

    @staticmethod
    def _keep_validators(state: FeedState, headers: dict[str, str], now: datetime) -> None:
        # A full 200 replaces both: a validator the server no longer sends is stale.
        state.etag = headers.get("etag")
        state.last_modified = headers.get("last-modified")
        state.body_at = now

    @staticmethod
    def _turnover(state: FeedState, items: tuple[FeedItem, ...]) -> bool:
        """Whether this list shares no item with the previous parsed list (which listed some); counts and logs it."""
        if state.listed <= 0 or not items:
            return False
        previous = state.seen.recent(state.listed)
        if any(item_key_hash(item) in previous for item in items):
            return False
        state.turnovers += 1
        log.warning(
            "feed %s: none of the %d items of its previous poll is listed any more, items may have been missed "
            "(turnover %d of this feed); polling it sooner",
            state.feed_url,
            state.listed,
            state.turnovers,
        )
        return True

    def _sight(self, state: FeedState, items: tuple[FeedItem, ...]) -> tuple[list[FeedItem], list[FeedItem], int]:
        """(new, edited, held back) of one parsed list; records in ``seen`` only what is not held back."""
        seen = state.seen
        listed: dict[int, tuple[FeedItem, int, Sighting]] = {}
        for item in items:
            key = item_key_hash(item)
            if key in listed:
                continue  # the same item twice in one feed: the first listing counts
            fingerprint = item_fingerprint(item)
            listed[key] = (item, fingerprint, seen.peek(key, fingerprint))
        changed = [key for key, (_, _, sighting) in listed.items() if sighting != SAME]
        cap = self._settings.max_new_items_per_poll
        held: set[int] = set()
        if len(changed) > cap:
            dates = [listed[key][0].published_at for key in changed]
            stamps = [when.timestamp() for when in dates if when is not None]
            if len(stamps) == len(changed):  # stable: equal dates keep the feed's order
                changed = [key for _, key in sorted(zip(stamps, changed, strict=True), key=lambda pair: pair[0])]
            held = set(changed[cap:])
        new_items: list[FeedItem] = []
        updated_items: list[FeedItem] = []
        language = self._specs[state.feed_url].language
        emitted = set(changed) - held  # in the feed's order below, as without a cap
        for key, (item, fingerprint, sighting) in listed.items():
            if key in held:
                continue
            seen.sight(key, fingerprint)
            if key not in emitted:
                continue
            out = replace(item, feed_language=language) if language else item
            (new_items if sighting == NEW else updated_items).append(out)
        state.listed = len(listed) - len(held)
        seen.trim(keep_at_least=len(listed))
        return new_items, updated_items, len(held)

    def _success(
        self,
        state: FeedState,
        now: datetime,
        status: PollStatus,
        headers: dict[str, str],
        *,
        new_items: list[FeedItem] | None = None,
        updated_items: list[FeedItem] | None = None,
        listed: int = 0,
        failure: Failure | None = None,
        skipped: int = 0,
        held_back: int = 0,
        turnover: bool = False,
    ) -> PollOutcome:
        low, high = self._bounds[state.feed_url]
        recovered = state.broken
        state.broken = False
        state.failures = 0
        state.last_error = None
        new_count = len(new_items) if new_items else 0
        previous = state.last_success_at
        if previous is not None:
            elapsed = (now - previous).total_seconds()
            state.rate_items, state.rate_seconds = decay_rate(state.rate_items, state.rate_seconds, new_count, elapsed)
            state.interval_s = adapt_interval(
                state.interval_s, state.rate_items, state.rate_seconds, new_count, listed, low, high
            )
        if turnover:
            state.interval_s = max(state.interval_s / 2.0, low)
        state.last_success_at = now
        delay = low if held_back else state.interval_s  # a backlog waits: come back soon for the rest
        hint = header_min_delay(headers, now) if headers else None
        if state.hint_s is not None and (hint is None or state.hint_s > hint):
            hint = state.hint_s
        if hint is not None and hint > delay:
            delay = min(hint, high)
        next_poll = now + timedelta(seconds=delay)
        # Keep the cadence: a poll that started a little late (its host was busy with a page, politeness) counts
        # its interval from when it was due, so the delays do not add up poll after poll. A poll far behind
        # (a pause, a long queue) starts afresh from now.
        on_cadence = state.next_poll_at + timedelta(seconds=delay)
        if now < on_cadence < next_poll and (now - state.next_poll_at).total_seconds() <= delay / 2:
            next_poll = on_cadence
        self._schedule(state, next_poll)
        return PollOutcome(
            feed_url=state.feed_url,
            fetch_url=state.current_url,
            status=status,
            next_poll_at=next_poll,
            interval=timedelta(seconds=state.interval_s),
            new_items=tuple(new_items) if new_items else (),
            updated_items=tuple(updated_items) if updated_items else (),
            failure=failure,
            recovered=recovered,
            skipped_entries=skipped,
            held_back=held_back,
            turnover=turnover,
        )

    def _defer(self, state: FeedState, now: datetime, retry_after_s: float | None) -> PollOutcome:
        high = self._bounds[state.feed_url][1]
        delay = min(max(retry_after_s or 0.0, 1.0), high)
        next_poll = now + timedelta(seconds=delay)
        self._schedule(state, next_poll)
        return PollOutcome(
            feed_url=state.feed_url,
            fetch_url=state.current_url,
            status="deferred",
            next_poll_at=next_poll,
            interval=timedelta(seconds=state.interval_s),
            error_kind="deferred",
            broken=state.broken,
        )

    def _failure(
        self,
        state: FeedState,
        now: datetime,
        error: BaseException,
        *,
        stage: Stage = Stage.POLL_FEED,
        retry_after_s: float | None = None,
        payload: bytes | None = None,
        payload_ref: str | None = None,
    ) -> PollOutcome:
        low, high = self._bounds[state.feed_url]
        kind, permanence, http_status = classify_error(error)
        state.failures += 1
        became_broken = False
        if not state.broken and state.failures >= failure_threshold(permanence, self._settings.max_failures):
            state.broken = became_broken = True
        signature = f"{type(error).__name__}:{http_status or ''}:{kind}"
        failure = None
        if became_broken:
            message = (
                f"feed marked broken after {state.failures} consecutive failed polls "
                f"(last: {kind}: {error or type(error).__name__}); polled every {timedelta(seconds=high)} "
                "until it answers again"
            )
            failure = Failure.from_exception(stage, state.feed_url, FeedBrokenError(message), now, payload_ref, payload)
        elif signature != state.last_error and not _throttled(kind, http_status, retry_after_s):
            failure = Failure.from_exception(stage, state.feed_url, error, now, payload_ref, payload)
        state.last_error = signature
        if state.broken:
            delay = high
        else:
            delay = backoff_delay(
                state.feed_url,
                state.failures,
                self._settings.backoff_base.total_seconds(),
                self._settings.backoff_cap.total_seconds(),
                low,
            )
        if retry_after_s is not None and retry_after_s > delay:
            delay = min(retry_after_s, high)
        next_poll = now + timedelta(seconds=delay)
        self._schedule(state, next_poll)
        status: PollStatus = "broken" if became_broken else kind
        return PollOutcome(
            feed_url=state.feed_url,
            fetch_url=state.current_url,
            status=status,
            next_poll_at=next_poll,
            interval=timedelta(seconds=state.interval_s),
            failure=failure,
            error_kind=kind,
            http_status=http_status,
            broken=state.broken,
            became_broken=became_broken,
        )


def _throttled(kind: str, http_status: int | None, retry_after_s: float | None) -> bool:
    """The server asked us to come back later (429, or 503 with Retry-After): nothing is wrong with the feed,
    so no dead letter; the poll is rescheduled after Retry-After and still counts towards ``broken``, whose
    dead letter reports a feed that never stops throttling."""
    return kind == "rate_limited" or (http_status == 503 and retry_after_s is not None)
