"""Long memory (stories archived after the horizon, still joinable, expired after ``memory`` or by the cap) and
the stricter test for joining a quiet story (a resurfacing claim: ``resurface_threshold``, names new to the
story, recency in candidate retrieval)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from storywire.connectors.errors import ConfigError, InvalidSettingError
from storywire.pipelines.stories import StoryAssigner, StoryConfig, story_id_for
from storywire.pipelines.stories.entities import entity_terms
from storywire.pipelines.stories.story import ARCHIVED_IDS
from storywire.schemas.records import Article
from tests.support.articles import ELECTION, FOOTBALL, QUAKE, T0, make_article

DEFEAT = (
    "Senator Harlan Whitcombe lost the Democratic primary in Ohio on Tuesday to challenger Rosa Delgado, ending a "
    "Senate career of three decades. Whitcombe conceded the primary race late in the evening in Columbus. The "
    "defeat shakes the Democratic leadership in the Senate, where Whitcombe led the party caucus. Delgado "
    "campaigned on healthcare and wages."
)
DEFEAT_2 = (
    "Ohio Democrats chose challenger Rosa Delgado over Senator Harlan Whitcombe in the Senate primary on Tuesday. "
    "The defeat of Whitcombe, who led the Democratic caucus, leaves the party leadership in the Senate open. "
    "Delgado thanked voters in Columbus."
)
RACE = (
    "Senators Marcus Ellery and Priya Natarajan announced bids on Friday to lead the caucus in the Senate. Ellery, "
    "of Vermont, and Natarajan, of Oregon, are seeking votes from colleagues before the party leadership election "
    "in December."
)
FOLLOW_UP = (
    "Senator Harlan Whitcombe spoke in Columbus on Sunday about his primary defeat to Rosa Delgado. Whitcombe "
    "thanked Ohio voters, said Delgado ran a strong race in the Democratic primary and would not seek a recount. "
    "He will leave the Senate and the party caucus leadership in January."
)


def _defeat(assigner: StoryAssigner) -> str:
    assigner.assign(make_article("p1", "Senator Whitcombe loses Democratic primary in Ohio to Delgado", DEFEAT))
    second = make_article(
        "p2", "Ohio Democrats pick Delgado over Whitcombe in Senate primary", DEFEAT_2, at=T0 + timedelta(hours=2)
    )
    story_id = assigner.assign(second).article.story_id
    assert story_id == story_id_for("p1")
    return story_id


def _race(at: timedelta) -> Article:
    title = "Ellery and Natarajan enter race to lead Senate caucus after Whitcombe defeat"
    return make_article("r1", title, RACE, at=T0 + at, outlet="c.com")


def _follow_up(at: timedelta) -> Article:
    title = "Whitcombe concedes Ohio primary defeat to Delgado, thanks voters"
    return make_article("f1", title, FOLLOW_UP, at=T0 + at, outlet="d.com")


def test_a_new_event_with_new_names_after_a_silence_opens_a_story() -> None:
    """The leadership race opened by a primary defeat, three days later: same protagonist and topic words, new
    names. It would join the story if it were live, or without the names; quiet, it opens a story of its own."""
    assigner = StoryAssigner()
    story_id = _defeat(assigner)
    race = _race(timedelta(days=3))
    assigner.advance(race.first_seen_at)
    (quiet,) = assigner.score(race)
    assert quiet.story_id == story_id and quiet.quiet and quiet.required == StoryConfig().resurface_threshold
    assert quiet.novelty > 0.5  # Ellery, Natarajan, Marcus, Priya, Vermont, Oregon: never in the story
    assert quiet.score < quiet.required
    result = assigner.assign(race)
    assert result.article.story_id == story_id_for("r1")
    assert [e.event_type for e in result.events] == ["created"]
    # the same article joins without the names' evidence, and joins a live story (the live bar is lower)
    for config, at in ((StoryConfig(novelty_weight=0.0), timedelta(days=3)), (StoryConfig(), timedelta(hours=3))):
        other = StoryAssigner(config)
        _defeat(other)
        events = other.assign(_race(at)).events
        assert [e.event_type for e in events] == ["resurfaced" if at > timedelta(days=2) else "updated"]
        assert events[0].story_id == story_id


def test_a_follow_up_with_the_same_names_after_five_days_resurfaces() -> None:
    assigner = StoryAssigner()
    story_id = _defeat(assigner)
    result = assigner.assign(_follow_up(timedelta(days=5)))
    assert result.article.story_id == story_id
    (resurfaced,) = result.events
    assert resurfaced.event_type == "resurfaced" and resurfaced.detail == "dormant for 5d, new outlet d.com"
    assert resurfaced.score is not None and resurfaced.score > 0.6


def test_an_archived_story_200_days_old_still_joins_with_a_strong_match() -> None:
    assigner = StoryAssigner()
    story_id = _defeat(assigner)
    for i in range(8):  # more articles than an archived story keeps ids of
        at = T0 + timedelta(hours=3 + i)
        assigner.assign(make_article(f"p{i + 3}", "Whitcombe loses Ohio primary to Delgado", DEFEAT_2, at=at))
    assert [s.status for s in assigner.advance(T0 + timedelta(days=3))[0]] == ["dormant"]
    assert assigner.advance(T0 + timedelta(days=31)) == ((), ())  # archived: no snapshot, no event
    assert len(assigner) == 1 and assigner.archived_stories == 1
    view = assigner.story(story_id)
    assert view is not None and view.status == "dormant" and view.article_count == 10
    assert len(view.recent_article_ids) == ARCHIVED_IDS
    result = assigner.assign(_follow_up(timedelta(days=200)))
    assert result.article.story_id == story_id
    (resurfaced,) = result.events
    assert resurfaced.event_type == "resurfaced"
    assert resurfaced.detail == "dormant for 200d (archived), new outlet d.com"
    assert result.stories[-1].status == "active" and result.stories[-1].article_count == 11
    assert assigner.archived_stories == 0
    # a weak match to an archived story does not join it (the floor of the time factor is not a free pass)
    later = StoryAssigner()
    _defeat(later)
    weak = make_article("w1", "Ohio wages campaign", "Healthcare and wages in Ohio.", at=T0 + timedelta(days=200))
    assert later.assign(weak).article.story_id == story_id_for("w1")


def test_archived_stories_expire_after_memory() -> None:
    config = StoryConfig(dormancy=timedelta(days=1), horizon=timedelta(days=2), memory=timedelta(days=10))
    assigner = StoryAssigner(config)
    assigner.assign(make_article("a1", "Strong earthquake hits Hokkaido", QUAKE))
    assert [s.status for s in assigner.advance(T0 + timedelta(days=1))[0]] == ["dormant"]
    assert assigner.advance(T0 + timedelta(days=3)) == ((), ())
    assert assigner.archived_stories == 1
    stories, events = assigner.advance(T0 + timedelta(days=11))
    assert [s.status for s in stories] == ["expired"] and [e.event_type for e in events] == ["expired"]
    assert events[0].detail == "idle for 11d"
    assert len(assigner) == 0 and assigner.indexed_articles == 0
    again = assigner.assign(make_article("a2", "Strong earthquake hits Hokkaido", QUAKE, at=T0 + timedelta(days=12)))
    assert again.article.story_id == story_id_for("a2")


def test_the_cap_expires_the_longest_idle_archived_stories_first() -> None:
    config = StoryConfig(dormancy=timedelta(days=1), horizon=timedelta(days=2), max_archived_stories=2)
    assigner = StoryAssigner(config)
    texts = [("Hokkaido earthquake", QUAKE), ("Chile election runoff", ELECTION), ("Liverpool beat City", FOOTBALL)]
    for i, (title, text) in enumerate(texts):
        assigner.assign(make_article(f"a{i}", title, text, at=T0 + timedelta(hours=i)))
    stories, events = assigner.advance(T0 + timedelta(days=4))
    assert [s.story_id for s in stories if s.status == "expired"] == [story_id_for("a0")]
    assert [e.detail for e in events] == ["idle for 4d (more than 2 stories archived)"]
    assert len(assigner) == 2 and assigner.archived_stories == 2
    assigner.reconfigure(replace(config, max_archived_stories=0))
    _, events = assigner.advance(T0 + timedelta(days=4, hours=1))
    assert [e.story_id for e in events] == [story_id_for("a1"), story_id_for("a2")]
    assert len(assigner) == 0


def test_memory_equal_to_the_horizon_expires_at_the_horizon_with_a_whole_snapshot() -> None:
    config = StoryConfig(dormancy=timedelta(days=1), horizon=timedelta(days=2), memory=timedelta(days=2))
    assigner = StoryAssigner(config)
    for i in range(8):
        assigner.assign(make_article(f"a{i}", "Strong earthquake hits Hokkaido", QUAKE, at=T0 + timedelta(hours=i)))
    stories, events = assigner.advance(T0 + timedelta(days=3))
    assert [e.event_type for e in events] == ["expired"]
    assert [len(s.article_ids) for s in stories if s.status == "expired"] == [8]
    assert assigner.archived_stories == 0


def test_recent_stories_take_the_candidate_slots_before_old_look_alikes() -> None:
    """One slot, two stories sharing as much of the article's terms: the live one takes it, not the archived one
    (without the recency weight the older story, first in the index, would)."""
    live_at = T0 + timedelta(days=100)
    article = make_article("x", "Hokkaido earthquake tsunami warning", QUAKE, at=live_at + timedelta(hours=1))
    for slots in (1, 2):
        assigner = StoryAssigner(StoryConfig(max_candidates=slots))
        assigner.assign(make_article("old", "Hokkaido earthquake tsunami warning", QUAKE))
        assigner.assign_to(make_article("new", "Hokkaido earthquake tsunami warning", QUAKE, at=live_at), None)
        assert assigner.archived_stories == 1 and len(assigner) == 2
        found = [m.story_id for m in assigner.score(article)]
        assert found == ([story_id_for("new")] if slots == 1 else [story_id_for("old"), story_id_for("new")])


def test_names_are_capitalised_words_inside_sentences_that_are_not_common_words() -> None:
    assert entity_terms("Senate race", "Priya Natarajan said on Friday.", "", "en") == ("natarajan",)
    # the first word of a sentence; months, institutions and titles; a title in title case
    assert entity_terms("", "Ellery won. January Senate President.", "", "en") == ()
    assert entity_terms("Natarajan Wins The Vote In Oregon", "", "", "en") == ()
    assert entity_terms("", "", "We met Priya Natarajan in London.", "en") == ("priya", "natarajan")
    assert entity_terms("", "", "我们在东京见到了他。", "zh") == ()  # no case: no names, no novelty
    assert entity_terms("", "", "We met Ellery in Paris.", None) == ("ellery", "paris")  # no word list: all kept


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"memory": timedelta(days=10)}, "memory .* must not be shorter than horizon"),
        ({"max_archived_stories": -1}, "max_archived_stories must be an int >= 0"),
        ({"resurface_threshold": 0.0}, r"resurface_threshold must be in \(0, 1\]"),
        ({"novelty_weight": 1.5}, r"novelty_weight must be in \[0, 1\]"),
        ({"time_floor": -0.1}, r"time_floor must be in \[0, 1\]"),
    ],
)
def test_new_settings_are_validated(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSettingError, match=message):
        StoryConfig(**changes)  # type: ignore[arg-type]


def test_a_resurface_threshold_below_the_threshold_means_the_threshold() -> None:
    config = StoryConfig(threshold=0.9, resurface_threshold=0.35)
    assigner = StoryAssigner(config)
    _defeat_story = assigner.assign(make_article("p1", "Senator Whitcombe loses primary", DEFEAT)).article.story_id
    follow = _follow_up(timedelta(days=5))
    assigner.advance(follow.first_seen_at)
    (m,) = assigner.score(follow, [_defeat_story])
    assert m.quiet and m.required == 0.9


def test_the_new_settings_are_stories_keys_of_the_live_yaml() -> None:
    from storywire.pipelines.config.loading import parse_config

    feeds = "http:\n  user_agent: storywire-test/0.1 (+https://example.org/bot)\nfeeds:\n  - https://example.com/rss\n"
    keys = "  memory: 200d\n  max_archived_stories: 0\n  resurface_threshold: 0.4\n  novelty_weight: 0\n"
    text = feeds + "stories:\n" + keys
    stories = parse_config(text, "live.yaml", {}).stories
    assert stories == StoryConfig(
        memory=timedelta(days=200), max_archived_stories=0, resurface_threshold=0.4, novelty_weight=0.0
    )
    env = {"STORYWIRE__STORIES__NOVELTY_WEIGHT": "0.25"}
    assert parse_config(feeds, "live.yaml", env).stories.novelty_weight == 0.25
    with pytest.raises(ConfigError, match=r"stories\.novelty_weight: 2 must be a number from 0 to 1"):
        parse_config(feeds + "stories:\n  novelty_weight: 2\n", "live.yaml", {})
