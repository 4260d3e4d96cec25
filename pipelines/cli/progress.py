"""``storywire replay``'s progress while the pipeline runs: a live display on a terminal, a log line otherwise.

Use: around the blocking run of a pipeline whose graph bumps the progress counts
(:class:`~storywire.pipelines.beam.progress_tap.ProgressTap`)::

    with show_progress(sys.stderr, interval_s=30.0, enabled=True):
        pipeline.run().wait_until_finish()

On a terminal (``stream.isatty()``) a rich display on ``stream``, refreshed 4 times a second and cleared at the
end: records read, articles extracted, stories, with the rate and ETA of the phase in progress. Otherwise one
line every ``interval_s`` seconds on the ``storywire.replay`` logger at INFO (the text of
:meth:`~storywire.pipelines.core.progress.ProgressView.line`, the counts also as ``extra`` fields for JSON logs).
Both read the counts from a daemon thread, which stops when the block ends, also by an exception (Ctrl-C).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, TextIO

from storywire.pipelines.core import progress

if TYPE_CHECKING:
    from rich.progress import Progress, Task

__all__ = ["LOGGER", "REFRESH_S", "show_progress"]

LOGGER: Final = "storywire.replay"
REFRESH_S: Final = 0.25
"""The terminal display's refresh period."""
RATE_WINDOW_S: Final = 5.0
"""The terminal display's rate is over this many seconds: steady enough to read, quick to follow a new phase."""

log = logging.getLogger(LOGGER)


@contextmanager
def show_progress(
    stream: TextIO,
    *,
    interval_s: float,
    enabled: bool,
    totals: Mapping[str, int] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Show the progress counts while the block runs (see the module's docstring); reset them first.

    ``totals`` are known totals by count name (e.g. ``{progress.RECORDS: 50_000}``), added to those the graph
    declares with :func:`~storywire.pipelines.core.progress.set_total`. ``enabled=False`` (or ``interval_s <= 0``
    off a terminal) shows nothing."""
    progress.reset()
    tty = _isatty(stream)
    if not enabled or (not tty and interval_s <= 0):
        yield
        return
    known = dict(totals or {})
    poller = _TerminalDisplay(stream, known, clock) if tty else _LogLines(interval_s, known, clock)
    poller.start()
    try:
        yield
    finally:
        poller.stop()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class _Poller:
    """A daemon thread calling :meth:`tick` every ``period_s`` until :meth:`stop`."""

    def __init__(self, period_s: float, totals: dict[str, int], clock: Callable[[], float]) -> None:
        self._period_s = period_s
        self._totals = totals
        self._clock = clock
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storywire-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5.0)

    def totals(self) -> dict[str, int]:
        return {**progress.totals(), **self._totals}

    def _run(self) -> None:
        while not self._done.wait(self._period_s):
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError


class _LogLines(_Poller):
    def __init__(self, interval_s: float, totals: dict[str, int], clock: Callable[[], float]) -> None:
        super().__init__(interval_s, totals, clock)
        self._since = clock()
        self._previous: dict[str, int] = {}

    def tick(self) -> None:
        now, current = self._clock(), progress.snapshot()
        seen = progress.view(self._previous, current, now - self._since, self.totals())
        self._since, self._previous = now, current
        eta = seen.phase.eta_s
        fields = {
            "phase": seen.phase.name,
            "rate": round(seen.phase.rate, 1),
            "eta_s": None if eta is None else round(eta),
        }
        # one field: a count's name can never clash with a LogRecord attribute
        log.info("%s", seen.line(), extra={"progress": {**current, **fields}})


class _TerminalDisplay(_Poller):
    """Three rows (records, articles, stories): done rows full, the active row with its rate and ETA."""

    ROWS: Final = ("records", "articles", "stories")
    PHASES: Final = ("reading", "extracting", "assigning")

    def __init__(self, stream: TextIO, totals: dict[str, int], clock: Callable[[], float]) -> None:
        super().__init__(REFRESH_S, totals, clock)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        console = Console(file=stream, force_terminal=True)
        # auto_refresh off: our thread refreshes after each update, one thread instead of two
        self._display: Progress = Progress(
            TextColumn("{task.description:<8}"),
            # plain colour names: a 16-colour terminal turns the default greens and pinks into grey
            BarColumn(complete_style="magenta", finished_style="green", pulse_style="cyan"),
            TextColumn("{task.fields[detail]}"),
            console=console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        for row in self.ROWS:
            self._display.add_task(row, total=1, detail="")
        self._tasks: dict[str, Task] = {task.description: task for task in self._display.tasks}
        self._samples: deque[tuple[float, dict[str, int]]] = deque([(clock(), {})])

    def start(self) -> None:
        self._display.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        self._display.stop()

    def tick(self) -> None:
        now, current = self._clock(), progress.snapshot()
        while len(self._samples) > 1 and now - self._samples[1][0] >= RATE_WINDOW_S:
            self._samples.popleft()
        since, previous = self._samples[0]
        self._samples.append((now, current))
        seen = progress.view(previous, current, now - since, self.totals())
        active = self.PHASES.index(seen.phase.name) if seen.phase.name in self.PHASES else -1
        done = {"records": seen.count(progress.RECORDS), "articles": seen.count(progress.ARTICLES)}
        done["stories"] = seen.count(progress.STORIES_ASSIGNED)
        for number, row in enumerate(self.ROWS):
            total: int | None
            if number < active:  # a finished phase: its count is final
                total = max(done[row], 1)
            elif number == active:
                total = seen.phase.total
            else:  # not started: an empty bar
                total = 1
            task = self._tasks[row]
            task.total = total  # set here: update() reads total=None as "unchanged"; None makes the bar pulse
            self._display.update(task.id, completed=done[row], detail=_detail(row, seen))
        self._display.refresh()


def _detail(row: str, seen: progress.ProgressView) -> str:
    phase = seen.phase
    if row == "records":
        text = f"{progress.format_count(seen.count(progress.RECORDS), seen.totals.get(progress.RECORDS))} read"
        mine = phase.name == "reading"
    elif row == "articles":
        articles, pages = seen.count(progress.ARTICLES), seen.count(progress.PAGES)
        if progress.PAGES in seen.totals:
            text = f"{articles:,}/{seen.totals[progress.PAGES]:,} extracted"
        elif pages and phase.name == "extracting":
            text = f"{articles:,} extracted ({pages:,} pages so far)"
        elif pages:
            text = f"{articles:,} extracted from {pages:,} pages"
        else:
            text = f"{articles:,}"
        if dead := seen.count(progress.DEAD):
            text += f", {dead:,} dead letters"
        mine = phase.name == "extracting"
    else:
        text = f"{seen.count(progress.STORIES):,} stories"
        if phase.name == "assigning":
            text += f", {progress.format_count(phase.done, phase.total)} articles assigned"
        mine = phase.name == "assigning"
    if mine:
        eta = phase.eta_s
        text += f"  {phase.rate:,.0f} {phase.unit}/s  ETA {'unknown' if eta is None else progress.format_duration(eta)}"
    return text
