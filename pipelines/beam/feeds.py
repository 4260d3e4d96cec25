"""Parse feed responses into feed items, at most ``max_items_per_feed`` per feed document.

Counters for the run report's balances: ``feeds.parsed`` (usable feeds; a malformed one with recovered entries
is both parsed and a ``parse-feed`` dead letter, counted in ``feeds.malformed_with_entries``),
``feeds.items`` (items taken), ``feeds.items_over_cap`` (listed beyond the cap, skipped) and
``feeds.entries_without_link`` (entries no page can be fetched for).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from storywire.connectors.articles.pool import ExtractionPool, RaisedError, default_workers, parse_feed_isolated
from storywire.connectors.errors import HttpStatusError, MalformedFeedError
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.feeds.parse import ParsedFeed, parse_feed
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.beam import articles
from storywire.pipelines.beam.articles import windowed
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter

DEFAULT_MAX_ITEMS_PER_FEED = 5000
"""Items taken from one feed document in a replay; the rest are counted (``feeds.items_over_cap``), not joined.

A news feed lists tens to a few hundred items; a feed listing 100,000 (a whole site dumped into one document)
would otherwise give one ``join-archive`` dead letter per item whose page the archive lacks. The first items in
document order are kept: feeds list the newest first."""

FEED_TIMEOUT_S = 60.0
"""A feed a parsing worker spends longer on is dead-lettered (``ExtractionTimeoutError``) and the worker replaced.
A news feed parses in a few milliseconds; 5000 items take about a second."""


_ANSWERS: dict[int, tuple[bool, Any]] = {}
"""Answers of the parsing pool, by ``id(response)``, for :func:`_parse` to use instead of parsing (set just before
the call, removed just after it, by the thread that makes it)."""


def _parse(response: CapturedResponse, max_items: int) -> Iterator[Any]:
    """The outputs of one feed capture: parsed here, or from the answer a worker process gave for it."""
    answer = _ANSWERS.pop(id(response), None)
    if answer is not None:
        ok, value = answer
        if ok and isinstance(value, ParsedFeed):
            yield from _taken(response, value, max_items)
        else:  # a RaisedError, a refused status, the time limit or a crashed worker
            yield _refused(response, value)
        return
    try:
        if not 200 <= response.status < 300:
            raise HttpStatusError(response.status, response.url)
        parsed = parse_feed(response.body, response.url, response.captured_at, response.header("Content-Type"))
    except Exception as exc:  # InputErrors and feedparser surprises alike become dead letters
        yield _refused(response, exc)
        return
    yield from _taken(response, parsed, max_items)


def _refused(response: CapturedResponse, exc: BaseException | RaisedError) -> Any:
    if isinstance(exc, RaisedError):  # raised in a worker process: its type name and message
        failure = Failure(
            stage=Stage.PARSE_FEED,
            identity=response.url,
            error_type=exc.error_type,
            message=exc.message,
            occurred_at=response.captured_at,
            payload_ref=response.source_ref,
            payload=response.body,
        )
    else:
        failure = Failure.from_exception(
            Stage.PARSE_FEED, response.url, exc, response.captured_at, response.source_ref, response.body
        )
    return dead_letter(failure)


def _taken(response: CapturedResponse, parsed: ParsedFeed, max_items: int) -> Iterator[Any]:
    counter("feeds.parsed").inc()
    if parsed.warning:
        # The recovered items are used, and the feed is reported: entries after the break may be lost.
        counter("feeds.malformed_with_entries").inc()
        error = MalformedFeedError(
            f"malformed feed, {len(parsed.items)} entries recovered, later ones may be lost: {parsed.warning}"
        )
        yield dead_letter(
            Failure.from_exception(
                Stage.PARSE_FEED, response.url, error, response.captured_at, response.source_ref, response.body
            )
        )
    counter("feeds.entries_without_link").inc(parsed.skipped_entries)
    taken = parsed.items[:max_items]
    counter("feeds.items_over_cap").inc(len(parsed.items) - len(taken))
    counter("feeds.items").inc(len(taken))
    yield from taken


def _answered(response: CapturedResponse, ok: bool, value: Any, max_items: int) -> list[Any]:
    """The items or dead letters of one pool answer, through :func:`_parse` as a feed parsed here."""
    _ANSWERS[id(response)] = (ok, value)
    try:
        return list(_parse(response, max_items))
    finally:
        _ANSWERS.pop(id(response), None)


class _ParseFeedFn(beam.DoFn):
    """``workers`` <= 1: each feed parsed here, as it comes. ``workers`` > 1: on a pool of worker processes
    (:class:`~storywire.connectors.articles.pool.ExtractionPool`), the answers emitted in the order the feeds came
    in (those ready in ``process``, the rest in ``finish_bundle``), so the items and dead letters are the same, in
    the same order, as with one; this DoFn's process is left to read the archive meanwhile."""

    def __init__(self, max_items: int, workers: int | None = 1) -> None:
        self._max_items = max_items
        self._workers = workers
        self._pool: ExtractionPool | None = None
        self._held: list[Any] = []

    def setup(self) -> None:
        workers = self._workers if self._workers is not None else default_workers()
        if workers > 1:
            self._pool = ExtractionPool(workers, timeout_s=FEED_TIMEOUT_S)
            self._pool.start()

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def start_bundle(self) -> None:
        self._held = []

    def process(
        self, response: CapturedResponse, timestamp: Any = beam.DoFn.TimestampParam, window: Any = beam.DoFn.WindowParam
    ) -> Iterator[Any]:
        pool = self._pool
        if pool is None:
            yield from _parse(response, self._max_items)
            return
        tag = (response, timestamp, window)
        if not 200 <= response.status < 300:
            pool.put_done(tag, False, HttpStatusError(response.status, response.url))
        else:
            args = (response.body, response.url, response.captured_at, response.header("Content-Type"))
            pool.submit(tag, parse_feed_isolated, *args, what=f"parsing the feed {response.url}")
        answers = list(pool.ready())
        while pool.full():
            answers.append(pool.next())
        for (done, stamp, place), ok, value in answers:
            for output in _answered(done, ok, value, self._max_items):
                if not self._held and stamp == timestamp and place == window:
                    yield output
                else:
                    self._held.append(windowed(output, stamp, place))

    def finish_bundle(self) -> Iterator[Any]:
        held, self._held = self._held, []
        yield from held
        if self._pool is not None:
            for (done, stamp, place), ok, value in self._pool.drain():
                for output in _answered(done, ok, value, self._max_items):
                    yield windowed(output, stamp, place)


class ParseFeeds(beam.PTransform):
    """CapturedResponse (feed) -> FeedItem, plus ``dead_letters`` for unusable feeds."""

    def __init__(self, max_items_per_feed: int = DEFAULT_MAX_ITEMS_PER_FEED, workers: int | None = None) -> None:
        """``workers``: parsing processes (None: as many as the extraction's, by default one per core of the
        machine running the step; 0 or 1: parsed in the DoFn's own process)."""
        super().__init__()
        if max_items_per_feed < 1:
            raise ValueError(f"max_items_per_feed must be >= 1, got {max_items_per_feed}")
        self._max_items = max_items_per_feed
        if workers is None:
            workers = articles.DEFAULT_WORKERS
        if workers is not None and workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self._workers = None if workers is None else max(workers, 1)

    def expand(self, responses: PCollection) -> beam.pvalue.DoOutputsTuple:
        parse = _ParseFeedFn(self._max_items, self._workers)
        return responses | "ParseFeed" >> beam.ParDo(parse).with_outputs(DEAD_LETTERS, main="items")
