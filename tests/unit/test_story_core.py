"""Unit tests of the pure story-assignment core (no Beam)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from storywire.pipelines.stories import StoryAssigner, StoryConfig, article_time, story_id_for
from storywire.schemas.records import Article, Story, StoryEvent
from storywire.schemas.validation import validate
from tests.support.articles import FOOTBALL, QUAKE, QUAKE_LONG, T0, WIRE_BODY, make_article, run, stream


def test_groups_related_articles_and_separates_unrelated() -> None:
    result = run(stream())
    sid = {r.article.article_id: r.article.story_id for r in result}
    assert sid["a1"] == sid["a2"]
    assert sid["b1"] == sid["b2"]
    assert len({sid["a1"], sid["b1"], sid["c1"]}) == 3
    assert sid["a1"] == story_id_for("a1")
    assert all(re.fullmatch(r"s_[0-9a-f]{24}", s or "") for s in sid.values())


def test_events_and_snapshots_follow_the_lifecycle() -> None:
    result = run(stream())
    assert [e.event_type for e in result[0].events] == ["created"]
    assert [e.event_type for e in result[2].events] == ["updated"]
    snap = result[2].stories[-1]
    assert snap.story_id == story_id_for("a1")
    assert snap.article_count == 2
    assert snap.outlets == ("nhk.jp", "reuters.com")
    assert snap.outlet_count == 2
    assert snap.version == 2
    assert snap.status == "active"
    assert snap.headline == "Strong earthquake hits Hokkaido, tsunami warning issued"
    assert "hokkaido" in snap.top_terms
    assert snap.article_ids == ("a1", "a2")


def test_records_validate_against_published_schemas() -> None:
    for r in run(stream()):
        for story in r.stories:
            validate("story", story)
        for event in r.events:
            validate("story_event", event)


def test_same_input_gives_same_output() -> None:
    first = run(stream())
    second = run(stream())
    assert first == second
    ids = [e.event_id for r in first for e in r.events]
    assert len(ids) == len(set(ids))


def test_resurfacing_after_dormancy_gap() -> None:
    later = T0 + timedelta(hours=60)
    articles = [
        *stream(),
        make_article(
            "a3",
            "Hokkaido earthquake death toll rises as tsunami damage assessed",
            QUAKE,
            at=later,
            outlet="japantimes.co.jp",
        ),
    ]
    result = run(articles)
    last = result[-1]
    assert last.article.story_id == story_id_for("a1")
    types = [e.event_type for e in last.events]
    assert "resurfaced" in types
    assert "updated" not in [e.event_type for e in last.events if e.story_id == story_id_for("a1")]
    resurfaced = next(e for e in last.events if e.event_type == "resurfaced")
    assert "dormant for 60h" in resurfaced.detail
    # The idle stories were marked dormant on the way (snapshots only), then the quake story is active again.
    dormant = [s for s in last.stories if s.status == "dormant"]
    assert {s.story_id for s in dormant} >= {story_id_for("b1"), story_id_for("c1")}
    assert last.stories[-1].status == "active"


def test_similarity_joins_carry_their_joining_score_and_nothing_else_does() -> None:
    later = make_article(
        "a3", "Hokkaido earthquake death toll rises", QUAKE, at=T0 + timedelta(hours=60), outlet="jt.jp"
    )
    copy = make_article("a4", "Copy", QUAKE, at=T0 + timedelta(hours=61), content_hash=stream()[0].content_hash)
    result = run([*stream(), later, copy])
    config = StoryConfig()
    events = {(e.event_type, e.article_id): e.score for r in result for e in r.events}
    similar = {("updated", "a2"), ("updated", "b2"), ("resurfaced", "a3")}
    joined = {key: score for key, score in events.items() if key in similar}
    assert len(joined) == 3
    for score in joined.values():
        assert score is not None and config.threshold <= score <= 1 + config.title_similarity_weight
        assert score == round(score, 4)
    others = {key: score for key, score in events.items() if key not in joined}
    assert ("created", "a1") in others and ("updated", "a4") in others  # a new story; an exact copy
    assert set(others.values()) == {None}
    # the score is what the best story scored: recomputed here from the core's own parts, a2 against a1's story
    assigner = StoryAssigner(config)
    assigner.assign(stream()[0])
    a2 = stream()[2]
    (parts,) = assigner.score(a2, [story_id_for("a1")])
    expected = parts.content + config.title_similarity_weight * parts.title
    assert joined[("updated", "a2")] == round(expected * parts.time_factor, 4)


def test_no_resurfacing_within_dormancy() -> None:
    articles = [
        *stream(),
        make_article("a3", "Hokkaido earthquake aftershocks", QUAKE, at=T0 + timedelta(hours=20), outlet="x.jp"),
    ]
    last = run(articles)[-1]
    assert [e.event_type for e in last.events] == ["updated"]


def test_revision_keeps_its_story_and_redelivery_is_silent() -> None:
    assigner = StoryAssigner()
    for a in stream():
        assigner.assign(a)
    stories_before = len(assigner)
    revised = make_article(
        "a1",
        "Powerful earthquake hits Hokkaido",
        "Completely rewritten body about something else: " + FOOTBALL,
        at=T0 + timedelta(hours=4),
        outlet="nhk.jp",
        revision=2,
    )
    result = assigner.assign(revised)
    assert result.article.story_id == story_id_for("a1")
    assert [e.event_type for e in result.events] == ["updated"]
    assert result.events[0].detail == "revision 2"
    assert result.stories[-1].headline == "Powerful earthquake hits Hokkaido"
    assert result.stories[-1].article_count == 2
    assert len(assigner) == stories_before
    again = assigner.assign(replace(revised, first_seen_at=T0 + timedelta(hours=5)))
    assert again.article.story_id == story_id_for("a1")
    assert again.stories == () and again.events == ()


def test_wire_copy_is_duplicate_of_the_original() -> None:
    wire_hash = "f" * 64
    articles = [
        make_article("w1", "Earthquake strikes Hokkaido", QUAKE, outlet="apnews.com", content_hash=wire_hash),
        make_article("c1", "Liverpool end Manchester City unbeaten run", FOOTBALL, at=T0 + timedelta(minutes=1)),
        # different title and outlet but the same content hash: a syndicated copy
        make_article(
            "w2",
            "Syndicated: quake",
            QUAKE,
            at=T0 + timedelta(minutes=2),
            outlet="local-paper.com",
            content_hash=wire_hash,
        ),
        make_article(
            "w3",
            "Also syndicated",
            QUAKE,
            at=T0 + timedelta(minutes=3),
            outlet="apnews.com",
            content_hash=wire_hash,
        ),
    ]
    result = run(articles)
    w2, w3 = result[2], result[3]
    assert w2.article.story_id == story_id_for("w1")
    assert w2.article.duplicate_of == "w1"
    assert w3.article.duplicate_of == "w1"
    assert result[0].article.duplicate_of is None
    assert w2.stories[-1].outlets == ("apnews.com", "local-paper.com")
    assert w3.stories[-1].outlet_count == 2  # a copy from a known outlet adds no outlet
    assert w3.stories[-1].article_count == 3
    assert w2.events[-1].detail == "duplicate of w1, new outlet local-paper.com"  # (updated: new outlet)
    assert w3.events[-1].detail == "duplicate of w1"  # an outlet the story already had


def test_duplicates_do_not_make_a_story_trend() -> None:
    cfg = StoryConfig(trending_min_articles=3, trending_min_outlets=2)
    copies = [
        make_article(
            f"w{i}",
            "Earthquake strikes Hokkaido",
            QUAKE,
            at=T0 + timedelta(minutes=i),
            outlet=f"o{i}.com",
            content_hash="e" * 64,
        )
        for i in range(6)
    ]
    assert not any(e.event_type == "trending" for r in run(copies, cfg) for e in r.events)
    originals = [
        make_article(
            f"n{i}",
            "Earthquake strikes Hokkaido",
            " ".join(QUAKE.split()[i * 5 : i * 5 + 12]) + f" Update {i}.",
            at=T0 + timedelta(minutes=i),
            outlet=f"o{i % 2}.com",
        )
        for i in range(4)
    ]
    events = [e for r in run(originals, cfg) for e in r.events]
    trending = [e for e in events if e.event_type == "trending"]
    assert len(trending) == 1  # once per episode
    assert trending[0].article_id == "n2"


def test_expiry_bounds_memory() -> None:
    cfg = StoryConfig(dormancy=timedelta(days=1), horizon=timedelta(days=3), memory=timedelta(days=3))
    assigner = StoryAssigner(cfg)
    expired: list[StoryEvent] = []
    for day in range(30):
        for i in range(5):
            a = make_article(
                f"d{day}-{i}",
                f"Topic{day}x{i} headline{day}y{i}",
                f"unique{day}z{i} words{day}w{i}",
                at=T0 + timedelta(days=day, minutes=i),
            )
            expired.extend(e for e in assigner.assign(a).events if e.event_type == "expired")
        assert len(assigner) <= 5 * 4
    assert expired
    final_stories, final_events = assigner.advance(T0 + timedelta(days=60))
    assert len(assigner) == 0
    assert all(s.status == "expired" for s in final_stories if s.status != "dormant")
    assert {e.event_type for e in final_events} == {"expired"}
    # advancing backwards or to the same time does nothing
    assert assigner.advance(T0) == ((), ())


def test_expired_story_cannot_be_joined() -> None:
    cfg = StoryConfig(dormancy=timedelta(days=1), horizon=timedelta(days=2), memory=timedelta(days=2))
    result = run(
        [
            make_article("a1", "Strong earthquake hits Hokkaido", QUAKE),
            make_article("a2", "Strong earthquake hits Hokkaido again", QUAKE, at=T0 + timedelta(days=5)),
        ],
        cfg,
    )
    assert result[1].article.story_id == story_id_for("a2")
    expired = [s for s in result[1].stories if s.status == "expired"]
    assert [s.story_id for s in expired] == [story_id_for("a1")]
    assert [e.event_type for e in result[1].events] == ["expired", "created"]


def test_published_time_rule() -> None:
    seen = T0
    assert article_time(make_article("x", "t", at=seen, published=seen - timedelta(hours=3))) == seen - timedelta(
        hours=3
    )
    assert article_time(make_article("x", "t", at=seen, published=None)) == seen
    assert article_time(make_article("x", "t", at=seen, published=datetime(1970, 1, 1, tzinfo=timezone.utc))) == seen
    assert article_time(make_article("x", "t", at=seen, published=seen + timedelta(days=2))) == seen
    assert article_time(make_article("x", "t", at=seen, published=seen + timedelta(hours=2))) == seen
    assert article_time(make_article("x", "t", at=seen, published=seen + timedelta(hours=1))) == seen + timedelta(
        hours=1
    )
    assert article_time(make_article("x", "t", at=seen, published=seen + timedelta(minutes=30))) == seen + timedelta(
        minutes=30
    )
    naive = datetime(2024, 2, 29, 12, 0)
    assert article_time(make_article("x", "t", at=seen, published=naive)) == naive.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "article",
    [
        make_article("empty", "", ""),
        make_article("punct", "!!! ...", "--- ***"),
        make_article("tiny", "Hi", "ok"),
        make_article("nohash", "Earthquake", "", content_hash=""),
        make_article("epoch", "Earthquake in Hokkaido", QUAKE, published=datetime(1970, 1, 1, tzinfo=timezone.utc)),
        make_article("future", "Earthquake in Hokkaido", QUAKE, published=datetime(2099, 1, 1, tzinfo=timezone.utc)),
        make_article("naive", "Earthquake in Hokkaido", QUAKE, published=datetime(2024, 3, 1, 7, 0)),
        make_article("zh", "北海道发生强烈地震", "日本北海道周五发生7.1级地震，气象厅发布海啸警报。", language="zh"),  # noqa: RUF001
        make_article(
            "ru",
            "Землетрясение на Хоккайдо",
            "Сильное землетрясение произошло у побережья Хоккайдо.",  # noqa: RUF001
            language="ru",
        ),
        make_article("huge", "Earthquake in Hokkaido", QUAKE * 20_000),
        make_article("junk", "x" * 500, "a" * 100_000 + " " + "é" * 5000),
        make_article("nolang", "Earthquake in Hokkaido", QUAKE, language=None),
    ],
    ids=lambda a: a.article_id,
)
def test_bad_input_never_crashes_and_gets_a_story(article: Article) -> None:
    assigner = StoryAssigner()
    for a in stream():
        assigner.assign(a)
    result = assigner.assign(article)
    assert result.article.story_id is not None
    assert re.fullmatch(r"s_[0-9a-f]{24}", result.article.story_id)
    for story in result.stories:
        validate("story", story)


def test_unusable_text_gets_its_own_story_and_attracts_nothing() -> None:
    result = run([make_article("e1", "", "", content_hash=""), make_article("e2", "", "", content_hash="")])
    assert result[0].article.story_id == story_id_for("e1")
    assert result[1].article.story_id == story_id_for("e2")


def test_gigantic_body_is_truncated() -> None:
    assigner = StoryAssigner(StoryConfig(body_chars=400, article_terms=1000))
    huge = make_article("h", "Earthquake in Hokkaido", QUAKE * 100_000, published=T0)
    result = assigner.assign(huge)
    assert result.article.story_id == story_id_for("h")
    story = assigner.story(story_id_for("h"))
    assert story is not None and len(story.centroid) <= 60


def test_languages_are_not_mixed() -> None:
    result = run(
        [
            make_article("en", "Strong earthquake hits Hokkaido", QUAKE, language="en"),
            make_article("de", "Strong earthquake hits Hokkaido", QUAKE, at=T0 + timedelta(minutes=1), language="de"),
        ]
    )
    assert result[0].article.story_id != result[1].article.story_id


def test_out_of_order_article_is_assigned_without_moving_the_clock_back() -> None:
    assigner = StoryAssigner()
    for a in stream():
        assigner.assign(a)
    clock = assigner.clock
    late = make_article(
        "a0", "Hokkaido earthquake tsunami warning", QUAKE, at=T0 - timedelta(hours=2), outlet="late.jp"
    )
    result = assigner.assign(late)
    assert result.article.story_id == story_id_for("a1")
    assert assigner.clock == clock
    assert result.stories[-1].updated_at == clock
    assert result.stories[-1].first_seen_at == T0 - timedelta(hours=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dormancy": timedelta(0)},
        {"horizon": timedelta(hours=1)},
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"max_article_ids": 0},
        {"title_weight": -1.0},
        {"body_chars": 0},
        {"merge_threshold": 0.0},
        {"near_duplicate_jaccard": 2.0},
        {"dormancy": 48},
    ],
)
def test_config_is_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        StoryConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-0.5, float("nan"), float("inf"), 1_000.5, True, "2"])
def test_field_weights_are_validated(value: object) -> None:
    with pytest.raises(ValueError, match="title_weight must be a number in"):
        StoryConfig(title_weight=value)  # type: ignore[arg-type]


def test_a_field_weight_is_any_number_and_multiplies_each_occurrence() -> None:
    """Weighting counts each occurrence of a term at its field's weight: a title at weight 2 is the title written
    twice at weight 1, and weights need not be multiples of anything."""

    def centroid(config: StoryConfig, title: str) -> dict[str, float]:
        assigner = StoryAssigner(config)
        assigner.assign(make_article("w1", title, QUAKE))
        return dict(assigner.live_stories()[0].centroid)

    assert centroid(StoryConfig(title_weight=2.0), "Hokkaido quake") == centroid(
        StoryConfig(title_weight=1.0), "Hokkaido quake Hokkaido quake"
    )
    odd = centroid(StoryConfig(title_weight=0.7), "Hokkaido quake")
    assert odd == pytest.approx(centroid(StoryConfig(title_weight=0.35), "Hokkaido quake Hokkaido quake"))
    assert odd != centroid(StoryConfig(title_weight=0.75), "Hokkaido quake")
    # and such weights cluster the stream as the defaults do
    uneven = StoryConfig(title_weight=2.7, summary_weight=1.3, lead_weight=0.9, body_weight=0.35)
    sid = {r.article.article_id: r.article.story_id for r in run(stream(), uneven)}
    assert sid["a1"] == sid["a2"] != sid["b1"] == sid["b2"] != sid["c1"]


def test_article_ids_are_capped() -> None:
    cfg = StoryConfig(max_article_ids=3)
    articles = [
        make_article(f"q{i}", "Strong earthquake hits Hokkaido", QUAKE + f" Update {i}.", at=T0 + timedelta(minutes=i))
        for i in range(6)
    ]
    snap: Story = run(articles, cfg)[-1].stories[-1]
    assert snap.article_count == 6
    assert snap.article_ids == ("q3", "q4", "q5")


def test_near_duplicate_joins_with_duplicate_of() -> None:
    edited = QUAKE_LONG.replace("rescue teams", "emergency crews") + " More to follow."
    result = run(
        [
            make_article("o1", "Strong earthquake hits Hokkaido", QUAKE_LONG, outlet="a.jp"),
            make_article("c1", "Liverpool end Manchester City unbeaten run", FOOTBALL, at=T0 + timedelta(minutes=1)),
            make_article("o2", "Quake off Hokkaido", edited, at=T0 + timedelta(minutes=2), outlet="b.jp"),
        ]
    )
    assert result[2].article.story_id == story_id_for("o1")
    assert result[2].article.duplicate_of == "o1"
    assert result[2].events[-1].detail == "duplicate of o1, new outlet b.jp"
    assert result[2].stories[-1].outlet_count == 2


def test_near_duplicate_detection_can_be_switched_off() -> None:
    edited = QUAKE_LONG.replace("rescue teams", "emergency crews")
    cfg = StoryConfig(near_duplicate_jaccard=None)
    result = run(
        [
            make_article("o1", "Earthquake", QUAKE_LONG),
            make_article("o2", "Quake", edited, at=T0 + timedelta(minutes=2)),
        ],
        cfg,
    )
    assert result[1].article.duplicate_of is None
    assert result[1].article.story_id == story_id_for("o1")  # still the same story, by similarity


def test_revision_of_a_duplicate_stays_a_duplicate() -> None:
    assigner = StoryAssigner()
    assigner.assign(make_article("w1", "Earthquake strikes Hokkaido", QUAKE, content_hash="f" * 64))
    assigner.assign(make_article("w2", "Copy", QUAKE, at=T0 + timedelta(minutes=1), content_hash="f" * 64))
    revised = assigner.assign(make_article("w2", "Copy, corrected", QUAKE, at=T0 + timedelta(minutes=5), revision=2))
    assert revised.article.duplicate_of == "w1"
    assert revised.article.story_id == story_id_for("w1")


def test_two_stories_bridged_by_an_article_are_merged() -> None:
    cfg = StoryConfig(merge_threshold=0.3, query_terms=2, near_duplicate_jaccard=None)
    a = make_article("m1", "Hokkaido earthquake", QUAKE, outlet="a.jp")
    # very similar body, but its two most specific terms (from the title) are not indexed by the first story
    b = make_article("m2", "Tsunami warning tsunami alert", QUAKE, at=T0 + timedelta(minutes=5), outlet="b.jp")
    c = make_article("m3", "Hokkaido tsunami", QUAKE, at=T0 + timedelta(minutes=10), outlet="c.jp")
    result = run([a, b, c], cfg)
    assert result[1].article.story_id == story_id_for("m2")  # not found through the index: a story of its own
    last = result[2]
    assert last.article.story_id == story_id_for("m1")  # the survivor: older of two equal-sized stories
    merged = [s for s in last.stories if s.status == "merged"]
    assert [(s.story_id, s.merged_into) for s in merged] == [(story_id_for("m2"), story_id_for("m1"))]
    assert [e.event_type for e in last.events] == ["merged", "updated"]
    assert last.events[0].related_story_id == story_id_for("m2")
    assert last.stories[-1].article_count == 3
    assert last.stories[-1].outlets == ("a.jp", "b.jp", "c.jp")
    # the absorbed story's articles now resolve to the survivor
    assigner = StoryAssigner(cfg)
    for article in (a, b, c):
        assigner.assign(article)
    again = assigner.assign(replace(b, revision=2, first_seen_at=T0 + timedelta(minutes=20)))
    assert again.article.story_id == story_id_for("m1")
    assert len(assigner) == 1


def test_state_survives_pickling_mid_stream() -> None:
    import pickle

    articles = [
        *stream(),
        make_article("a3", "Hokkaido earthquake toll rises", QUAKE, at=T0 + timedelta(hours=60), outlet="x.jp"),
        make_article("c2", "City react to Liverpool defeat", FOOTBALL, at=T0 + timedelta(hours=61)),
    ]
    straight = run(articles)
    assigner = StoryAssigner()
    first = [assigner.assign(a) for a in articles[:4]]
    restored: StoryAssigner = pickle.loads(pickle.dumps(assigner))
    rest = [restored.assign(a) for a in articles[4:]]
    assert first + rest == straight


def test_vocabulary_is_bounded_by_generations() -> None:
    cfg = StoryConfig(dormancy=timedelta(hours=12), horizon=timedelta(days=1), max_archived_stories=0)
    assigner = StoryAssigner(cfg)
    for i in range(200):
        assigner.assign(
            make_article(f"v{i}", f"uniqueword{i}a headline{i}b", f"body{i}c text{i}d", at=T0 + timedelta(hours=i))
        )
    # two generations of one day hold at most ~48 articles' terms (4 terms each)
    assert assigner.counted_terms <= 48 * 4 + 8
    assert len(assigner) <= 25


def test_dormant_snapshot_then_resurfaced() -> None:
    assigner = StoryAssigner()
    assigner.assign(make_article("a1", "Strong earthquake hits Hokkaido", QUAKE))
    stories, events = assigner.advance(T0 + timedelta(hours=49))
    assert [(s.status, s.version) for s in stories] == [("dormant", 2)]
    assert events == ()
    again = assigner.advance(T0 + timedelta(hours=50))
    assert again == ((), ())  # marked once
    result = assigner.assign(
        make_article("a2", "Hokkaido earthquake aftershock", QUAKE, at=T0 + timedelta(hours=51), outlet="y.jp")
    )
    assert [e.event_type for e in result.events] == ["resurfaced"]
    assert result.stories[-1].status == "active"


def test_exact_duplicate_in_another_language_is_not_joined() -> None:
    result = run(
        [
            make_article("en", "Earthquake", QUAKE, content_hash="d" * 64, language="en"),
            make_article("fr", "Séisme", QUAKE, at=T0 + timedelta(minutes=1), content_hash="d" * 64, language="fr"),
        ]
    )
    assert result[1].article.story_id == story_id_for("fr")
    assert result[1].article.duplicate_of is None


_DIGEST_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from tests.support.articles import QUAKE_LONG, T0, make_article, stream
from datetime import timedelta
from storywire.pipelines.stories import StoryAssigner, StoryConfig
from storywire.schemas.codec import encode
digest = hashlib.sha256()
from tests.support.articles import WIRE_BODY
articles = [
    *stream(),
    make_article("o9", "Quake off Hokkaido", QUAKE_LONG, at=T0 + timedelta(hours=70)),
    make_article("g1", "Karvik port strike", "Ships queue. " + WIRE_BODY * 2, at=T0 + timedelta(hours=71)),
    make_article("g2", "Karvik cranes idle", "Union and port argue. " + WIRE_BODY * 2, at=T0 + timedelta(hours=72)),
]
for config in (StoryConfig(), StoryConfig(merge_threshold=0.2, query_terms=2)):
    assigner = StoryAssigner(config)
    for article in articles:
        result = assigner.assign(article)
        for record in (result.article, *result.stories, *result.events):
            digest.update(encode(record))
print(digest.hexdigest())
"""


def test_output_does_not_depend_on_the_hash_seed() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT, root], env=env, capture_output=True, text=True, check=True
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


# A syndicated wire body (invented) that each outlet prefixes with its own standfirst line.
WIRE_REWRITE = (
    "Dockside cranes at Karvik stood idle for a second day as the row over night-shift rosters dragged on. "
    "Union leaders accused the harbour authority of ignoring safety advice on fatigue, while the authority "
    "insisted the new roster matched what other northern ports already run. Ship captains waiting offshore "
    "described dwindling supplies of fresh water, and the fisheries association asked the government to step "
    "in before the catch spoiled. A mediator from the labour ministry is due to meet both sides this week."
)


def test_wire_copies_with_their_own_standfirst_are_near_duplicates() -> None:
    copies = [
        make_article(
            "g1",
            "Karvik port frozen as crane operators strike",
            "Container ships queue outside Karvik as a roster dispute halts the cranes.\n" + WIRE_BODY,
            outlet="one.example",
        ),
        make_article("c1", "Liverpool end Manchester City unbeaten run", FOOTBALL, at=T0 + timedelta(minutes=1)),
        make_article(
            "g2",
            "Strike by crane crews paralyses Karvik harbour",
            "Forty vessels wait at anchor while the union and the harbour authority argue over rest periods.\n"
            + WIRE_BODY.replace("several million crowns", "millions of crowns"),
            at=T0 + timedelta(minutes=20),
            outlet="two.example",
        ),
        make_article(
            "g3",
            "Karvik dock strike enters second day",
            WIRE_REWRITE,
            at=T0 + timedelta(minutes=40),
            outlet="three.example",
        ),
    ]
    result = run(copies)
    assert result[2].article.duplicate_of == "g1"
    assert result[2].article.story_id == story_id_for("g1")
    assert result[2].events[-1].detail == "duplicate of g1, new outlet two.example"
    # same event and vocabulary, but written independently: the same story, not a copy
    assert result[3].article.duplicate_of is None
    assert result[3].article.story_id == story_id_for("g1")


def test_back_dated_article_does_not_resurface_a_dormant_story() -> None:
    assigner = StoryAssigner()
    assigner.assign(make_article("a1", "Strong earthquake hits Hokkaido", QUAKE, published=T0))
    stories, _ = assigner.advance(T0 + timedelta(hours=50))
    assert [s.status for s in stories] == ["dormant"]
    # found late, but published 10h after the story's latest article: the story did not sleep 48h
    late = make_article(
        "a2",
        "Hokkaido earthquake: first damage reports",
        QUAKE,
        at=T0 + timedelta(hours=50),
        published=T0 + timedelta(hours=10),
        outlet="y.jp",
    )
    result = assigner.assign(late)
    assert result.article.story_id == story_id_for("a1")
    assert [e.event_type for e in result.events] == ["updated"]
    assert result.stories[-1].status == "active"
    # an article published 49h after the story's latest one does resurface it
    again = assigner.assign(
        make_article(
            "a3",
            "Hokkaido quake: rebuilding begins",
            QUAKE,
            at=T0 + timedelta(hours=60),
            published=T0 + timedelta(hours=59),
            outlet="z.jp",
        )
    )
    assert [e.event_type for e in again.events] == ["resurfaced"]
