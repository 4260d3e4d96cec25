"""The four result streams every storywire graph ends in, replay and live alike."""

from __future__ import annotations

from dataclasses import dataclass

from apache_beam.pvalue import PCollection


@dataclass(frozen=True)
class StoryStreams:
    """What a graph hands its sinks: articles, story snapshots, story events and the dead letters."""

    articles: PCollection
    stories: PCollection
    events: PCollection
    dead_letters: tuple[PCollection, ...]
    """One PCollection per stage: a live graph must not Flatten them (see :func:`~.sinks.write_sinks`)."""
