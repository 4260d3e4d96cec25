"""Where pickled story state of formats 1 and 2 finds its classes. Nothing else should import from here.

Until state format 3 the whole story core was this module, so state pickled by those builds names its classes
``storywire.pipelines.stories.core.<name>`` (``pipelines.stories.core.<name>`` before the ``storywire``
namespace, which :mod:`storywire.pipelines.core.pickled_state` maps here). Unpickling looks each name up in this
module, so it keeps the names those pickles hold, bound to today's classes; the format-3 upgrade
(:mod:`storywire.pipelines.stories.state`) then regroups what was read. Remove a name only with the formats
that pickled it. Code imports from :mod:`storywire.pipelines.stories`.
"""

from __future__ import annotations

from storywire.pipelines.stories.assigner import StoryAssigner
from storywire.pipelines.stories.config import StoryConfig
from storywire.pipelines.stories.story import LiveStory as _StoryState
from storywire.pipelines.stories.vectors import ArticleVector as _Vec
from storywire.pipelines.stories.vectors import SublinearWeights as _Sublinear

__all__ = ["StoryAssigner", "StoryConfig", "_StoryState", "_Sublinear", "_Vec"]
