"""Fetched page -> extracted Article (shared by replay and live).

Each DoFn instance owns its extraction worker processes (``setup`` to ``teardown``): trafilatura runs there under
the per-page time limit, and a page it spins on is stopped and dead-lettered (``ExtractionTimeoutError``);
trafilatura is not thread-safe, and processes keep it apart.

- ``workers`` > 1 (the default: one per core, :data:`DEFAULT_WORKERS`): an
  :class:`~storywire.connectors.articles.pool.ExtractionPool`. ``process`` hands each page to the pool and emits
  the answers that are ready, in the order the pages came in; ``finish_bundle`` waits for the rest, so a bundle
  emits all its pages before it ends (live bundles are small; nothing is held across bundles) and at most
  ``workers x 16`` pages wait in the pool. The output is the same, element for element and in the same order, as
  with one worker: a replay's files are byte-identical whatever the number of workers
  (``tests/beam/test_parallel_extraction.py``).
- ``workers`` 0 or 1: one :class:`~storywire.connectors.articles.worker.IsolatedWorker`, one page at a time, as
  before the pool. ``timeout_s=None``: in this process, no time limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection
from apache_beam.utils.windowed_value import WindowedValue

from storywire.connectors.articles.extract import ExtractedPage, extract_page
from storywire.connectors.articles.pool import ExtractionPool, RaisedError, default_workers, extract_isolated
from storywire.connectors.articles.settings import (
    DEFAULT_MAX_HTML_BYTES,
    DEFAULT_MAX_MESS_RATIO,
    DEFAULT_MAX_REPLACEMENT_RATIO,
    DEFAULT_MAX_TEXT_CHARS,
    DEFAULT_MIN_CHARS,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKER_RECYCLE_BYTES,
    ExtractionLimits,
)
from storywire.connectors.articles.worker import IsolatedWorker
from storywire.connectors.errors import InputError
from storywire.connectors.failures import Failure, Stage
from storywire.pipelines.beam.common import DEAD_LETTERS, counter, dead_letter
from storywire.pipelines.core.normalise import PageTask, build_article

DEFAULT_WORKERS: int | None = None
"""Extraction processes when ``ExtractArticles(workers=None)``; None: one per core
(:func:`~storywire.connectors.articles.pool.default_workers`) of the machine that runs the step, counted there
in ``setup``. Read when the transform is built; ``ParseFeeds`` follows it too."""


class _ExtractFn(beam.DoFn):
    """``workers`` <= 1: one page at a time, on one worker process (or in-process without a time limit).
    ``workers`` > 1: an :class:`~storywire.connectors.articles.pool.ExtractionPool` of that many processes."""

    def __init__(self, limits: ExtractionLimits, workers: int | None = 1) -> None:
        """``workers`` None: one per core of the machine that runs the DoFn (resolved in ``setup``)."""
        self._limits = limits
        self._workers = workers if limits.timeout_s else 1  # no time limit: in-process, one page at a time
        self._worker: IsolatedWorker | None = None
        self._pool: ExtractionPool | None = None
        self._held: list[Any] = []  # outputs waiting for the bundle's end (pool only)

    def setup(self) -> None:
        if not self._limits.timeout_s:
            return
        workers = self._workers if self._workers is not None else default_workers()
        if workers > 1:
            self._pool = ExtractionPool(
                workers, timeout_s=self._limits.timeout_s, recycle_bytes=self._limits.worker_recycle_bytes
            )
            self._pool.start()
        else:
            self._worker = IsolatedWorker(
                timeout_s=self._limits.timeout_s, recycle_bytes=self._limits.worker_recycle_bytes
            )
            self._worker.start()

    def teardown(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def process(
        self, task: PageTask, timestamp: Any = beam.DoFn.TimestampParam, window: Any = beam.DoFn.WindowParam
    ) -> Iterator[Any]:
        pool = self._pool
        if pool is None:
            yield from self._serial(task)
            return
        # Pages go to the pool; the answers come back in the order the pages came in. Those ready now leave
        # here, the others at the latest in finish_bundle: nothing is held across bundles. An answer for an
        # element of another timestamp or window (live bundles carry several) waits for finish_bundle, and every
        # answer after it too, so the order holds.
        response = task.response
        pool.submit(
            (task, timestamp, window), extract_isolated, response, self._limits, what=f"extracting {response.url}"
        )
        answers = list(pool.ready())
        while pool.full():
            answers.append(pool.next())
        for (done, stamp, place), ok, value in answers:
            for output in self._outputs(done, ok, value):
                if not self._held and stamp == timestamp and place == window:
                    yield output
                else:
                    self._held.append(windowed(output, stamp, place))

    def start_bundle(self) -> None:
        self._held = []

    def finish_bundle(self) -> Iterator[Any]:
        held, self._held = self._held, []
        yield from held
        if self._pool is not None:
            for (done, stamp, place), ok, value in self._pool.drain():
                for output in self._outputs(done, ok, value):
                    yield windowed(output, stamp, place)

    def _serial(self, task: PageTask) -> Iterator[Any]:
        response = task.response
        try:
            page = extract_page(response, limits=self._limits, worker=self._worker)
            article = build_article(task, page)
        except Exception as exc:  # InputErrors and library surprises alike become dead letters
            payload = None if isinstance(exc, InputError) and response.status >= 300 else response.body
            yield dead_letter(
                Failure.from_exception(
                    Stage.EXTRACT_ARTICLE, response.url, exc, response.captured_at, response.source_ref, payload
                )
            )
            return
        yield from _counted(article, page)

    def _outputs(self, task: PageTask, ok: bool, value: Any) -> Iterator[Any]:
        """The article or dead letter of one pool answer, exactly as :meth:`_serial` gives them."""
        response = task.response
        if ok and isinstance(value, ExtractedPage):
            try:
                article = build_article(task, value)
            except Exception as exc:
                ok, value = False, exc
            else:
                yield from _counted(article, value)
                return
        if ok and isinstance(value, RaisedError):
            failure = Failure(
                stage=Stage.EXTRACT_ARTICLE,
                identity=response.url,
                error_type=value.error_type,
                message=value.message,
                occurred_at=response.captured_at,
                payload_ref=response.source_ref,
                payload=None if value.input_error and response.status >= 300 else response.body,
            )
        else:  # the time limit, a crashed worker, check_response, or a surprise
            payload = None if isinstance(value, InputError) and response.status >= 300 else response.body
            failure = Failure.from_exception(
                Stage.EXTRACT_ARTICLE, response.url, value, response.captured_at, response.source_ref, payload
            )
        yield dead_letter(failure)


def _counted(article: Any, page: ExtractedPage) -> Iterator[Any]:
    if page.text_truncated:
        article = article.replace(text_truncated=True)
        counter("articles.text_truncated").inc()
    if page.charset_corrected:
        counter("articles.charset_corrected").inc()
    counter(f"articles.extracted.{page.method}").inc()
    yield article


def windowed(output: Any, timestamp: Any, window: Any) -> Any:
    """An output of an earlier element, re-stamped with that element's timestamp and window."""
    if isinstance(output, beam.pvalue.TaggedOutput):
        return beam.pvalue.TaggedOutput(output.tag, WindowedValue(output.value, timestamp, (window,)))
    return WindowedValue(output, timestamp, (window,))


class ExtractArticles(beam.PTransform):
    """PageTask -> Article (revision 1, no story yet), plus ``dead_letters``.

    The limits (:mod:`storywire.connectors.articles.settings`, which documents each): ``max_text_chars``,
    ``max_html_bytes``, ``timeout_s`` (``None`` or 0: extraction in the DoFn's own process, without a time limit),
    ``max_replacement_ratio`` and ``max_mess_ratio`` (garbled text), ``worker_recycle_bytes``.
    """

    def __init__(
        self,
        min_chars: int = DEFAULT_MIN_CHARS,
        *,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        max_replacement_ratio: float = DEFAULT_MAX_REPLACEMENT_RATIO,
        max_mess_ratio: float = DEFAULT_MAX_MESS_RATIO,
        worker_recycle_bytes: int = DEFAULT_WORKER_RECYCLE_BYTES,
        limits: ExtractionLimits | None = None,
        workers: int | None = None,
    ) -> None:
        """``limits`` (the live config's ``extraction:``) replaces the keyword arguments when given. ``workers``:
        extraction processes per DoFn instance (None: :data:`DEFAULT_WORKERS`, else one per core of the machine
        running the step; 0 or 1: one, pages one at a time). On a distributed runner that runs several DoFn
        instances per machine, set 1 and let the runner's parallelism use the cores."""
        super().__init__()
        if workers is None:
            workers = DEFAULT_WORKERS
        if workers is not None and workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self._workers = None if workers is None else max(workers, 1)
        self._limits = limits or ExtractionLimits(
            min_chars=min_chars,
            max_text_chars=max_text_chars,
            max_html_bytes=max_html_bytes,
            timeout_s=timeout_s,
            max_replacement_ratio=max_replacement_ratio,
            max_mess_ratio=max_mess_ratio,
            worker_recycle_bytes=worker_recycle_bytes,
        )

    def expand(self, tasks: PCollection) -> beam.pvalue.DoOutputsTuple:
        return tasks | "Extract" >> beam.ParDo(_ExtractFn(self._limits, self._workers)).with_outputs(
            DEAD_LETTERS, main="articles"
        )
