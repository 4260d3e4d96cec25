"""`storywire demo` end to end on the bundled sample: the real broker, the CLI as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from storywire.connectors.kafka.topics import TopicNames
from storywire.connectors.urls import canonical_url
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.schemas.validation import validate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = json.loads((ROOT / "sample" / "storywire-sample.expected.json").read_text())


@pytest.fixture(scope="module")
def demo(kafka_broker: object, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SinkContents]:
    out = tmp_path_factory.mktemp("demo")
    bootstrap = kafka_broker.bootstrap  # type: ignore[attr-defined]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "storywire",
            "demo",
            "--sink",
            f"kafka://{bootstrap}?prefix=demo",
            "--sink",
            f"file://{out}",
            "--topic-prefix",
            "demo",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, read_sink(str(out), TopicNames("demo"))


def test_demo_proves_kafka_holds_the_same_article_ids_as_the_files(demo: tuple[str, SinkContents]) -> None:
    stdout, contents = demo
    ids = {a.article_id for a in contents.articles}
    assert f"{len(ids)} article ids, identical to the JSONL sink's {len(ids)}" in stdout
    assert "MISMATCH" not in stdout


def test_every_listed_article_is_emitted_or_dead_lettered(demo: tuple[str, SinkContents]) -> None:
    _, contents = demo
    listed = {canonical_url(u) for u in EXPECTED["feed_item_urls"]}
    emitted = {a.canonical_url for a in contents.articles}
    dead = {canonical_url(d.identity) for d in contents.dead_letters if d.stage != "parse-feed"}
    assert emitted | dead == listed and not emitted & dead
    assert len(emitted) + len(dead) == EXPECTED["counts"]["distinct_feed_item_urls"]
    stages = sorted((d.stage, d.error_type) for d in contents.dead_letters)
    assert stages == [
        ("extract-article", "EmptyExtractionError"),
        ("extract-article", "HttpStatusError"),
        ("parse-feed", "MalformedFeedError"),
    ]


def test_kremlin_story_spans_outlets_and_resurfaces(demo: tuple[str, SinkContents]) -> None:
    output, contents = demo
    story_of = {a.canonical_url: a.story_id for a in contents.articles}
    kremlin_urls = [
        canonical_url(u) for day in EXPECTED["kremlin_story"]["urls_by_published_day"].values() for u in day
    ]
    story_ids = {story_of[u] for u in kremlin_urls if u in story_of}
    assert len(story_ids) == 1
    (story_id,) = story_ids
    story = next(s for s in contents.stories if s.story_id == story_id)
    assert story.outlet_count >= 4 and "euronews.com" in story.outlets
    resurfaced = [e for e in contents.events if e.story_id == story_id and e.event_type == "resurfaced"]
    assert [e.event_time.date().isoformat() for e in resurfaced] == ["2023-05-07"]
    score = resurfaced[0].score  # it joined by similarity: the summary shows how well
    assert score is not None and score >= 0.27
    assert f"{resurfaced[0].detail} (score {score:.2f})" in output


def test_stories_match_the_sample_gold_labels(demo: tuple[str, SinkContents]) -> None:
    _, contents = demo
    gold = {canonical_url(a["url"]): a["story"] for a in EXPECTED["articles"]}
    predicted: dict[str, set[str]] = defaultdict(set)
    for article in contents.articles:
        predicted[article.story_id or ""].add(gold[article.canonical_url])
    # No story mixes two gold stories, and no gold story is split.
    assert all(len(labels) == 1 for labels in predicted.values()), predicted
    assert len(predicted) == len({g for g in (next(iter(v)) for v in predicted.values())})


def test_every_demo_message_validates(demo: tuple[str, SinkContents]) -> None:
    _, contents = demo
    for kind, records in (
        ("article", contents.articles),
        ("story", contents.stories),
        ("story_event", contents.events),
        ("dead_letter", contents.dead_letters),
    ):
        for record in records:
            validate(kind, record)
