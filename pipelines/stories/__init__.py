"""Story clustering, pure Python: each article, in event-time order, joins a story or opens one.

The public surface, what the Beam transforms, the configuration, benchmarks and tests use::

    from storywire.pipelines.stories import StoryAssigner, StoryConfig

    assigner = StoryAssigner(StoryConfig())
    for article in articles_in_event_time_order:
        assignment = assigner.assign(article)  # the article with its story_id, the story's snapshot, events

The Beam adapters (batch and live) are in :mod:`storywire.pipelines.beam.stories`.
"""

from __future__ import annotations

from storywire.pipelines.stories.core import (
    STATE_FORMAT,
    TRENDING_RATIO_RANGE,
    Assignment,
    StoryAssigner,
    StoryConfig,
    StoryStateError,
    article_time,
    event_id_for,
    story_id_for,
)

__all__ = [
    "STATE_FORMAT",
    "TRENDING_RATIO_RANGE",
    "Assignment",
    "StoryAssigner",
    "StoryConfig",
    "StoryStateError",
    "article_time",
    "event_id_for",
    "story_id_for",
]
