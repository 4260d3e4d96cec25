"""The pickled form of :class:`~storywire.pipelines.stories.StoryAssigner`: its format, the upgrades from older
formats, and the error for state this build cannot read.

Live story state is pickled (Beam state, so a Flink or Dataflow savepoint) and may be restored by a later
build, so what is pickled is a contract:

- The state is a dict of :data:`PICKLED` entries plus ``state_format`` (:data:`STATE_FORMAT`). Settings derived
  from the configuration (vector weights, trending spans) are not pickled: they are rebuilt on restore.
- The classes pickled are found again by module and name: ``StoryAssigner`` (``assigner``), ``StoryConfig``
  (``config``), ``LiveStories`` and ``LiveStory`` (``story``), ``DocumentFrequencies`` (``vectors``),
  ``CandidateIndex`` (``index``), ``Lifecycle`` (``lifecycle``), all in ``storywire.pipelines.stories``. Moving
  or renaming one needs an alias at its old place, as :mod:`storywire.pipelines.stories.core` keeps the names
  that formats 1 and 2 pickled (and :mod:`storywire.pipelines.core.pickled_state` maps the module names of
  builds before the ``storywire`` namespace).
- Changing what the state holds means raising :data:`STATE_FORMAT`, adding the upgrade from the previous
  format to :data:`_UPGRADES`, and keeping a pickle of the format being left under ``tests/fixtures/state/``.

State of an older format is upgraded on restore; state of a newer format is refused with
:class:`StoryStateError` rather than misread. The configuration is pickled with the state, and
:meth:`StoryAssigner.reconfigure <storywire.pipelines.stories.StoryAssigner.reconfigure>` applies the
deployment's configuration to restored state (the live transform does so on every restore).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import cast

from storywire.connectors.errors import StorywireError
from storywire.pipelines.stories.events import story_id_for
from storywire.pipelines.stories.index import CandidateIndex
from storywire.pipelines.stories.lifecycle import Lifecycle
from storywire.pipelines.stories.story import LiveStories, LiveStory
from storywire.pipelines.stories.vectors import DocumentFrequencies

__all__ = ["PICKLED", "STATE_FORMAT", "StoryStateError", "restore"]

STATE_FORMAT = 4
"""Version of the pickled form of the assigner: 1 (no ``LiveStory.first_article``), 2 (one flat dict of
attributes), 3 (the assigner's collaborators: :data:`PICKLED`), 4 (``Lifecycle.archived``: stories idle past
the horizon are kept, compacted, instead of dropped)."""

PICKLED = ("config", "clock", "stories", "frequencies", "index", "lifecycle")
"""What a format-3 state holds."""

_MARKS = {1: "_stories", 2: "_stories", 3: "stories", 4: "stories"}
"""An entry every state of the format holds (its absence: not story state)."""


class StoryStateError(StorywireError, ValueError):
    """Pickled story state this build cannot read (written by a newer build, or not story state at all)."""


def _upgrade_from_1(state: dict[str, object]) -> None:
    """Format 1 had no ``first_article``: use the story's opening article (the one whose id names the story;
    format 2 also moves it to an earlier-dated joiner, which format 1 did not track)."""
    stories = cast("dict[int, LiveStory]", state["_stories"])
    for story in stories.values():
        if not hasattr(story, "first_article"):
            opener = (a for a in story.article_ids if story_id_for(a) == story.story_id)
            story.first_article = next(opener, story.article_ids[0] if story.article_ids else story.headline_article)


def _upgrade_from_2(state: dict[str, object]) -> None:
    """Format 2 was the assigner's attributes in one flat dict (derived settings included): group them by
    collaborator and drop what is derived from the configuration."""
    stories = LiveStories()
    stories.last_seq = cast("int", state.pop("_seq"))
    stories.by_seq = cast("dict[int, LiveStory]", state.pop("_stories"))
    stories.article_story = cast("dict[str, tuple[int, int, str | None]]", state.pop("_article_story"))
    stories.hash_index = cast("dict[str, tuple[str, int]]", state.pop("_hash_index"))
    frequencies = DocumentFrequencies()
    frequencies.previous = cast("Counter[str]", state.pop("_df_prev"))
    frequencies.current = cast("Counter[str]", state.pop("_df_cur"))
    frequencies.previous_documents = cast("int", state.pop("_n_prev"))
    frequencies.current_documents = cast("int", state.pop("_n_cur"))
    frequencies.generation_start = cast("datetime | None", state.pop("_generation_start"))
    frequencies.memo = cast("dict[str, float]", state.pop("_idf_cache"))
    frequencies.memo_documents = cast("int", state.pop("_idf_n"))
    index = CandidateIndex()
    index.postings = cast("dict[str, dict[int, None]]", state.pop("_postings"))
    lifecycle = Lifecycle()
    lifecycle.active = cast("OrderedDict[int, None]", state.pop("_active"))
    lifecycle.dormant = cast("OrderedDict[int, None]", state.pop("_dormant"))
    for derived in ("_window_seconds", "_baseline_seconds", "_multipliers", "_sublinear"):
        state.pop(derived, None)
    state.update(clock=state.pop("_clock"), stories=stories, frequencies=frequencies, index=index, lifecycle=lifecycle)


def _upgrade_from_3(state: dict[str, object]) -> None:
    """Format 3 dropped stories at the horizon, so it held none archived: an empty archive (its stories idle past
    the horizon, if any, are archived by the next clock advance)."""
    lifecycle = cast("Lifecycle", state["lifecycle"])
    if not hasattr(lifecycle, "archived"):
        lifecycle.archived = OrderedDict()


_UPGRADES: dict[int, Callable[[dict[str, object]], None]] = {
    1: _upgrade_from_1,
    2: _upgrade_from_2,
    3: _upgrade_from_3,
}
"""Format N -> the function that turns a pickled state dict of format N into format N + 1 (in place)."""


def restore(pickled: Mapping[str, object]) -> dict[str, object]:
    """The :data:`PICKLED` entries of pickled state, upgraded to :data:`STATE_FORMAT` when older.

    Raises :class:`StoryStateError` for state of a newer format or not story state at all."""
    state = dict(pickled)
    found = state.pop("state_format", 1)  # format 1 did not say
    if not isinstance(found, int) or not 1 <= found <= STATE_FORMAT or _MARKS[found] not in state:
        raise StoryStateError(
            f"story state of format {found!r} cannot be read by this build (it reads formats 1 to "
            f"{STATE_FORMAT}); it was written by a newer storywire or is not story state: restore it with "
            "the build that wrote it, or start the job without the saved state"
        )
    try:
        for version in range(found, STATE_FORMAT):
            _UPGRADES[version](state)
        return {name: state[name] for name in PICKLED}
    except (KeyError, AttributeError, TypeError) as exc:
        raise StoryStateError(
            f"story state of format {found} is incomplete ({exc!r}): it is not story state this build can read; "
            "start the job without the saved state"
        ) from exc
