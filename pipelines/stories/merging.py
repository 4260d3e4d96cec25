"""Merging two stories that one article bridges: this repairs a split.

A story whose later article opened a story of its own (a new development with new words) is joined again by
the first article that resembles both: when that article scores at least ``threshold`` for two candidate
stories and their centroids have a cosine of at least ``merge_threshold``
(:func:`storywire.pipelines.stories.similarity.choose`), the smaller story (fewer articles; ties: the
younger) is merged into the larger one, which the article then joins. The absorbed story gets a last snapshot
with status ``merged`` and ``merged_into``; the survivor gets a ``merged`` event whose ``related_story_id`` is
the absorbed story. Later revisions and duplicates of the absorbed story's articles go to the survivor.

When the two stories' time spans follow each other with at least ``dormancy`` between them (the split-off
story began after the other had gone quiet), the merged story resurfaced at the later story's first article:
the survivor also gets a ``resurfaced`` event for that article, after the ``merged`` event, with ``detail``
saying that a merge found it. (That article had opened a story of its own, so it got ``created``, never
``resurfaced``: nothing is reported twice.) The article that triggered the merge then joins as usual, against
the merged span.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from operator import itemgetter

from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.events import duration, event, merged_event, snapshot
from storywire.pipelines.stories.index import CandidateIndex
from storywire.pipelines.stories.lifecycle import Lifecycle
from storywire.pipelines.stories.neardup import merge_indexes
from storywire.pipelines.stories.story import LiveStories, LiveStory
from storywire.pipelines.stories.vectors import add_pruned
from storywire.schemas.records import Story, StoryEvent

__all__ = ["merge"]

_FIRST = itemgetter(0)


def merge(
    a: LiveStory,
    b: LiveStory,
    *,
    stories: LiveStories,
    index: CandidateIndex,
    lifecycle: Lifecycle,
    config: StoryConfig,
    clock: datetime,
    snapshots: list[Story],
    events: list[StoryEvent],
) -> LiveStory:
    """Merge the smaller of two live stories into the larger; returns the survivor. The absorbed story's last
    snapshot is appended to ``snapshots``, the ``merged`` (and a found ``resurfaced``) event to ``events``."""
    if (b.article_count, -b.seq) > (a.article_count, -a.seq):
        a, b = b, a
    survivor, absorbed = a, b
    # absorbed story: final snapshot
    lifecycle.leave(absorbed)
    absorbed.status = "merged"
    absorbed.merged_into = survivor.story_id
    snapshots.append(snapshot(absorbed, clock))
    # survivor takes everything over
    index.hand_over(absorbed, survivor, config.index_terms)
    survivor.centroid, survivor.norm2 = add_pruned(survivor.centroid, absorbed.centroid, config.centroid_terms)
    survivor.titles, survivor.titles_norm2 = add_pruned(survivor.titles, absorbed.titles, config.title_terms)
    survivor.top_terms = None
    stories.hand_over(absorbed, survivor)
    merge_indexes(survivor.sketches, absorbed.sketches)
    survivor.article_ids.extend(absorbed.article_ids)
    survivor.hashes.extend(absorbed.hashes)
    survivor.article_count += absorbed.article_count
    for outlet in absorbed.outlets:
        survivor.outlets[outlet] = None
    survivor.outlets_sorted = tuple(sorted(survivor.outlets))
    # the two time spans, one after the other with a dormancy gap between: the merged story resurfaced
    earlier, later = (survivor, absorbed) if survivor.first_time <= absorbed.first_time else (absorbed, survivor)
    gap = later.first_time - earlier.last_time
    resurfacing = later.first_article if gap >= config.dormancy else None
    if absorbed.first_time < survivor.first_time:
        survivor.first_time, survivor.first_article = absorbed.first_time, absorbed.first_article
    survivor.last_time = max(survivor.last_time, absorbed.last_time)
    survivor.recent = deque(sorted([*survivor.recent, *absorbed.recent], key=_FIRST))
    survivor.earlier = deque(sorted([*survivor.earlier, *absorbed.earlier]))
    recent_ids = list(absorbed.recent_ids) + list(survivor.recent_ids)
    survivor.recent_ids = deque(recent_ids, maxlen=config.max_article_ids)
    if not survivor.headline and absorbed.headline:
        survivor.headline, survivor.headline_article = absorbed.headline, absorbed.headline_article
    lifecycle.touch(survivor, clock)
    events.append(merged_event(survivor, absorbed, clock))
    if resurfacing is not None:
        detail = f"dormant for {duration(gap)} (found by merging {absorbed.story_id})"
        events.append(event(survivor, "resurfaced", resurfacing, detail, clock))
    return survivor
