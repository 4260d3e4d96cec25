"""Story clustering, pure Python: each article, in event-time order, joins a story or opens one.

The public surface, what the Beam transforms, the configuration, benchmarks and tests use::

    from storywire.pipelines.stories import StoryAssigner, StoryConfig

    assigner = StoryAssigner(StoryConfig())
    for article in articles_in_event_time_order:
        assignment = assigner.assign(article)  # the article with its story_id, the story's snapshot, events

To look inside without changing anything: :meth:`StoryAssigner.score` (how an article scores against live
stories: one :class:`Match` per story), :meth:`StoryAssigner.live_stories` and :meth:`StoryAssigner.story`
(read-only copies: :class:`StoryView`). :meth:`StoryAssigner.assign_to` assigns with the similarity decision
given (teacher forcing). How it works and how the defaults were set: ``docs/stories.md``. The modules, by
concern: ``config``, ``text``, ``vectors`` (and ``idf_prior``), ``index``, ``similarity``, ``neardup``,
``story``, ``lifecycle``, ``merging``, ``events``, ``state`` and ``assigner``.

The Beam adapters (batch and live) are in :mod:`storywire.pipelines.beam.stories`.
"""

from __future__ import annotations

from storywire.pipelines.core.event_time import article_time
from storywire.pipelines.stories.assigner import StoryAssigner
from storywire.pipelines.stories.config import FIELD_WEIGHT_RANGE, TRENDING_RATIO_RANGE, StoryConfig
from storywire.pipelines.stories.events import Assignment, event_id_for, story_id_for
from storywire.pipelines.stories.similarity import Match
from storywire.pipelines.stories.state import STATE_FORMAT, StoryStateError
from storywire.pipelines.stories.story import StoryView

__all__ = [
    "FIELD_WEIGHT_RANGE",
    "STATE_FORMAT",
    "TRENDING_RATIO_RANGE",
    "Assignment",
    "Match",
    "StoryAssigner",
    "StoryConfig",
    "StoryStateError",
    "StoryView",
    "article_time",
    "event_id_for",
    "story_id_for",
]
