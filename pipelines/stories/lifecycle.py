"""Story lifecycle over stream time: active, dormant, archived, expired; and trending.

- ``created``: an article starts a story (snapshot version 1).
- ``updated``: an article (new, duplicate or revision) joins a story; ``detail`` says which, and names the
  outlet when it is new to the story (as does a ``resurfaced`` detail). An article joined by similarity
  carries its joining score in ``score`` (on ``updated`` and ``resurfaced``; null on every other event), so a
  consumer can ask more of a resurfacing than the joining threshold before it alerts.
- ``resurfaced``: *instead of* ``updated``, when the joining article's time is at least ``dormancy`` after
  the story's latest article time (the story's own articles were silent that long). A story marked dormant by
  the stream clock that is joined by an article within ``dormancy`` of its latest article time (a late-found
  or back-dated article) gets ``updated``; an article older than the story's latest one never resurfaces it.
- ``trending``: after ``updated``/``resurfaced``, when the story's article rate is well above its own recent
  rate (:class:`TrendingRule`).
- ``merged``: see :mod:`storywire.pipelines.stories.merging`.
- dormant: when no article joined for ``dormancy`` of stream time, the story gets a snapshot with status
  ``dormant`` (the schema has no event type for it, so no event).
- archived: after ``horizon`` of stream time without an article, the story is kept in a compact form
  (:meth:`LiveStories.compact <storywire.pipelines.stories.story.LiveStories.compact>`: its centroids, index
  terms, dates, counts, outlets and its few latest article ids; no sketches, content hashes or older ids). It
  stays joinable like a dormant story (its status stays ``dormant``; no snapshot or event marks the move): an
  article that joins it resurfaces it, and it is active again.
- ``expired``: the story leaves memory for good, with a final snapshot (status ``expired``) and an ``expired``
  event: after ``memory`` of stream time without an article, or earlier when more than
  ``max_archived_stories`` are archived (the longest idle first; the event's detail says so). Nothing can join
  it again. With ``memory`` equal to ``horizon`` no story stays archived: it expires after ``horizon``.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.events import duration
from storywire.pipelines.stories.story import LiveStories, LiveStory

__all__ = ["Lifecycle", "TrendingRule"]


class Lifecycle:
    """The live stories ordered by last activity (stream clock): active ones, dormant ones, archived ones. State:
    pickled with the assigner (``archived`` since state format 4)."""

    def __init__(self) -> None:
        self.active: OrderedDict[int, None] = OrderedDict()
        self.dormant: OrderedDict[int, None] = OrderedDict()
        self.archived: OrderedDict[int, None] = OrderedDict()

    def is_archived(self, story: LiveStory) -> bool:
        return story.seq in self.archived

    def start(self, story: LiveStory) -> None:
        """A new story, active as of its ``last_clock``."""
        self.active[story.seq] = None

    def touch(self, story: LiveStory, clock: datetime) -> None:
        """Mark the story active as of ``clock``."""
        self.dormant.pop(story.seq, None)
        self.archived.pop(story.seq, None)
        self.active.pop(story.seq, None)
        self.active[story.seq] = None
        story.status = "active"
        story.last_clock = clock

    def leave(self, story: LiveStory) -> None:
        """Forget a story that left without expiring (merged into another)."""
        self.active.pop(story.seq, None)
        self.dormant.pop(story.seq, None)
        self.archived.pop(story.seq, None)

    def make_dormant(self, now: datetime, stories: LiveStories, dormancy: timedelta) -> list[LiveStory]:
        """The active stories idle past ``dormancy`` by ``now``, now dormant (in order of last activity)."""
        went = _move_idle(self.active, self.dormant, stories, now - dormancy)
        for story in went:
            story.status = "dormant"
        return went

    def archive(self, now: datetime, stories: LiveStories, horizon: timedelta) -> list[LiveStory]:
        """The dormant stories idle past ``horizon`` by ``now``, now archived (in order of last activity; the caller
        compacts them)."""
        return _move_idle(self.dormant, self.archived, stories, now - horizon)

    def expire(self, now: datetime, stories: LiveStories, memory: timedelta, cap: int) -> list[tuple[LiveStory, bool]]:
        """The archived stories idle past ``memory`` by ``now``, then the longest idle beyond ``cap`` archived
        ones, now expired: (story, whether the cap expired it), in order of last activity (the caller reports and
        forgets them)."""
        by_seq = stories.by_seq
        archived = self.archived
        expired: list[tuple[LiveStory, bool]] = []
        expire_before = now - memory
        while archived:
            seq = next(iter(archived))
            story = by_seq[seq]
            over_cap = len(archived) > cap
            if story.last_clock > expire_before and not over_cap:
                break
            del archived[seq]
            story.status = "expired"
            expired.append((story, story.last_clock > expire_before))
        return expired


def _move_idle(
    source: OrderedDict[int, None], target: OrderedDict[int, None], stories: LiveStories, idle_before: datetime
) -> list[LiveStory]:
    """Move the stories of ``source`` (ordered by last activity) whose last activity is not after ``idle_before``
    to the end of ``target``; return them in that order."""
    moved: list[LiveStory] = []
    while source:
        seq = next(iter(source))
        story = stories.by_seq[seq]
        if story.last_clock > idle_before:
            break
        del source[seq]
        target[seq] = None
        moved.append(story)
    return moved


class TrendingRule:
    """When a story trends: its last ``trending_window`` (article time) holds at least ``trending_min_articles``
    new-coverage articles from at least ``trending_min_outlets`` outlets, and that window's rate is at least
    ``trending_ratio`` times the story's rate over the ``trending_baseline`` before the window (a story with no
    earlier articles has rate 0, so a young story's first burst trends). Once per episode: re-armed when the
    window holds fewer than ``trending_min_articles`` again or its rate falls below the ratio, so a story
    covered at a steady high rate does not trend again until its rate jumps again. Duplicates are not new
    coverage: they do not count.

    Derived from a config (rebuilt, never pickled); the per-story counts live in :class:`LiveStory`."""

    def __init__(self, config: StoryConfig) -> None:
        self._window = config.trending_window
        self._baseline = config.trending_baseline
        self._window_seconds = config.trending_window.total_seconds()
        self._baseline_seconds = config.trending_baseline.total_seconds()
        self._ratio = config.trending_ratio
        self._min_articles = config.trending_min_articles
        self._min_outlets = config.trending_min_outlets

    def add(self, story: LiveStory, t: datetime, outlet: str) -> bool:
        """Count a new-coverage article of time ``t``; True when the story starts trending with it."""
        recent = story.recent
        earlier = story.earlier
        recent.append((t, outlet))
        start = t - self._window
        while recent and recent[0][0] < start:
            earlier.append(recent.popleft()[0])
        baseline_start = start - self._baseline
        while earlier and earlier[0] < baseline_start:
            earlier.popleft()
        # rate in the window >= ratio x rate over the baseline span, without dividing
        above = len(recent) * self._baseline_seconds >= self._ratio * len(earlier) * self._window_seconds
        if len(recent) < self._min_articles or not above:
            story.trending = False
            return False
        if story.trending or len({outlet for _, outlet in recent}) < self._min_outlets:
            return False
        story.trending = True
        return True

    def detail(self, story: LiveStory) -> str:
        """The ``trending`` event's detail."""
        outlets = len({outlet for _, outlet in story.recent})
        return (
            f"{len(story.recent)} articles from {outlets} outlets in {duration(self._window)}"
            f" ({len(story.earlier)} in the {duration(self._baseline)} before)"
        )
