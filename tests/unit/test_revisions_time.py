"""A revision first seen earlier than its own capture keeps a published_at only if it is plausible for that
earliest sighting: the one publication-time rule holds for revisions too."""

from __future__ import annotations

from datetime import timedelta

from storywire.pipelines.core.revisions import RevisionTracker, number_revisions
from storywire.pipelines.stories import article_time
from tests.support.articles import T0, make_article


def _revisions() -> tuple:  # type: ignore[type-arg]
    first = make_article("a", "Quake hits", "first text", at=T0)
    # listed again two hours later with an edit, claiming publication 90 minutes after the first sighting
    later = make_article("a", "Quake hits, toll rises", "edited text", at=T0 + timedelta(hours=2)).replace(
        published_at=T0 + timedelta(minutes=90), captured_at=T0 + timedelta(hours=2)
    )
    return first, later


def test_batch_numbering_drops_a_published_time_implausible_for_the_earliest_sighting() -> None:
    first, later = _revisions()
    numbered = [a for a in number_revisions([later, first]) if a is not None]
    assert [a.revision for a in numbered] == [1, 2]
    second = numbered[1]
    assert second.first_seen_at == T0 and second.published_at is None
    assert article_time(second) == second.first_seen_at


def test_live_tracker_drops_it_too_and_keeps_a_plausible_one() -> None:
    first, later = _revisions()
    tracker = RevisionTracker(timedelta(days=30))
    assert tracker.observe(first) is not None
    second = tracker.observe(later)
    assert second is not None and second.first_seen_at == T0 and second.published_at is None
    plausible = later.replace(content_hash="c" * 64, published_at=T0 + timedelta(minutes=30))
    third = tracker.observe(plausible)
    assert third is not None and third.published_at == T0 + timedelta(minutes=30)
