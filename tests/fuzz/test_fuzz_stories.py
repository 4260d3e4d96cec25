"""Story assignment invariants on random article streams (topics that overlap, duplicates, revisions,
redeliveries, gaps past the dormancy, other languages; all within the 30-day horizon), with merging on and made
likely:

- deterministic: the same articles in the same order give the same story ids, snapshots and events twice;
- every article gets exactly one story: a story id of the documented form, and every delivery of one article id
  resolves (following ``merged_into``) to the same story;
- a story's article count (its latest snapshot, and the assigner's live view) equals the distinct articles that
  resolve to it, and ``merged_into`` chains end in a story that was not merged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from storywire.pipelines.stories import Assignment, StoryAssigner, StoryConfig
from storywire.schemas.records import Article, Story
from tests.fuzz.support import examples
from tests.support.articles import T0, make_article

# A failing stream of 40 articles is a long repr; Hypothesis warns about it, and the warnings filter makes that fatal.
pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

STORY_ID = re.compile(r"s_[0-9a-f]{24}\Z")
TOPICS = [
    "earthquake hokkaido tsunami warning coast kushiro nemuro rescue ports fishing villages magnitude agency",
    "chile runoff election pinera guillier voters turnout pensions immigration copper president campaign",
    "liverpool manchester city anfield unbeaten premier league salah firmino goals champions half",
    "harbour strike crane operators roster union ships anchor breakwater exporters timber mediator",
    "wildfire evacuation firefighters drought heatwave villages smoke containment acres helicopters winds",
]
SPAN_END = T0 + timedelta(days=27)
SHARED = ["said", "officials", "week", "report", "monday", "tuesday", "government", "statement", "people", "city"]
CONFIGS = {
    "default": StoryConfig(),
    # Merges likely: a low merge threshold and a small index query, so stories split and get bridged.
    "bridging": StoryConfig(merge_threshold=0.05, query_terms=2, near_duplicate_jaccard=None),
    "loose": StoryConfig(threshold=0.12, merge_threshold=0.1),
}


@st.composite
def streams(draw: st.DrawFn) -> list[Article]:
    articles: list[Article] = []
    at = T0
    for n in range(draw(st.integers(1, 40))):
        gap = draw(
            st.one_of(
                st.integers(0, 720).map(lambda m: timedelta(minutes=m)),
                st.just(timedelta(days=3)),  # past the dormancy: stories go dormant, then resurface
            )
        )
        # Within the horizon (30 days): past it a story is compacted and forgets its older article ids, so a
        # revision or copy of them is assigned like a new article (stories/story.py, compact), by design.
        at = min(at + gap, SPAN_END)
        kind = draw(st.sampled_from(["new", "new", "new", "duplicate", "revision", "redelivery"]))
        if articles and kind != "new":
            earlier = draw(st.sampled_from(articles))
            if kind == "duplicate":  # another URL, the same content
                articles.append(replace(earlier, article_id=f"a_dup{n}", first_seen_at=at, captured_at=at))
            elif kind == "revision":
                articles.append(replace(earlier, revision=earlier.revision + 1, title=earlier.title + " (update)"))
            else:
                articles.append(earlier)
            continue
        topics = draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2, unique=True))  # two: a bridge
        words = [w for topic in topics for w in topic.split()] + SHARED
        body = draw(st.lists(st.sampled_from(words), min_size=0, max_size=60))
        title = draw(st.lists(st.sampled_from(words), min_size=0, max_size=8))
        articles.append(
            make_article(
                f"a_{n}",
                " ".join(title).capitalize(),
                " ".join(body),
                at=at,
                outlet=draw(st.sampled_from(["nhk.jp", "bbc.co.uk", "elpais.com", "reuters.com", "example.com"])),
                language=draw(st.sampled_from(["en", "en", "en", "de", None])),
            )
        )
    return articles


def run(articles: list[Article], config: StoryConfig) -> tuple[list[Assignment], StoryAssigner]:
    assigner = StoryAssigner(config)
    return [assigner.assign(article) for article in articles], assigner


@settings(max_examples=examples(60))
@given(streams(), st.sampled_from(sorted(CONFIGS)))
def test_assignment_is_deterministic(articles: list[Article], config: str) -> None:
    first, _ = run(articles, CONFIGS[config])
    second, _ = run(articles, CONFIGS[config])
    assert [a.article for a in first] == [a.article for a in second]
    assert [a.stories for a in first] == [a.stories for a in second]
    assert [[e.event_id for e in a.events] for a in first] == [[e.event_id for e in a.events] for a in second]


@settings(max_examples=examples(80))
@given(streams(), st.sampled_from(sorted(CONFIGS)))
def test_each_article_one_story_and_counts_add_up(articles: list[Article], config: str) -> None:
    assignments, assigner = run(articles, CONFIGS[config])
    kinds = {e.event_type for a in assignments for e in a.events}
    for kind in ("merged", "resurfaced", "trending"):
        event(f"{kind}: {'yes' if kind in kinds else 'no'}")  # coverage (pytest --hypothesis-show-statistics)
    latest: dict[str, Story] = {}
    for assignment in assignments:
        for story in assignment.stories:
            if story.story_id not in latest or story.version > latest[story.story_id].version:
                latest[story.story_id] = story

    def resolve(story_id: str) -> str:
        seen = {story_id}
        while (story := latest.get(story_id)) is not None and story.merged_into is not None:
            story_id = story.merged_into
            assert story_id not in seen, f"merged_into cycle through {story_id}"
            seen.add(story_id)
        return story_id

    home: dict[str, str] = {}
    for assignment in assignments:
        article = assignment.article
        assert article.story_id is not None and STORY_ID.match(article.story_id), article.story_id
        assert article.story_id in latest, "an article's story has a snapshot"
        story_id = resolve(article.story_id)
        assert latest[story_id].status != "merged"
        # Redeliveries, revisions: the same story (or the one it was merged into) every time.
        assert home.setdefault(article.article_id, story_id) == story_id, article.article_id
        # Each assignment leaves the article's current story at the one it names, or one that absorbed it.
        assert resolve(article.story_id) == resolve(home[article.article_id])

    final = {article_id: resolve(story_id) for article_id, story_id in home.items()}
    counted = Counter(final.values())
    for story_id, story in latest.items():
        if story.status != "merged":
            assert story.article_count == counted[story_id], (story_id, story.article_count, counted[story_id])
    for view in assigner.live_stories():
        assert view.article_count == counted[view.story_id]
    assert sum(s.article_count for s in latest.values() if s.status != "merged") == len(home)
