"""A readable report of a replay's results, read back from a JSONL sink directory::

    print(render(read_sink("out/demo", TopicNames("news"))))

Times are UTC, written ``2023-05-03 14:05`` (the year always shows)."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.core.event_time import article_time
from storywire.schemas.codec import decode
from storywire.schemas.records import Article, DeadLetter, Story, StoryEvent, _Record

_R = TypeVar("_R", bound=_Record)


@dataclass(frozen=True)
class SinkContents:
    articles: tuple[Article, ...]
    stories: tuple[Story, ...]  # latest snapshot per story
    events: tuple[StoryEvent, ...]
    dead_letters: tuple[DeadLetter, ...]


def _read(path: str, record_type: type[_R]) -> Iterator[_R]:
    if not os.path.exists(path):
        return
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield decode(line, record_type)


def read_sink(directory: str, topics: TopicNames) -> SinkContents:
    articles = [a for a in _read(os.path.join(directory, f"{topics.articles}.jsonl"), Article)]
    latest: dict[str, Story] = {}
    for story in _read(os.path.join(directory, f"{topics.stories}.jsonl"), Story):
        current = latest.get(story.story_id)
        if current is None or story.version > current.version:
            latest[story.story_id] = story
    events = [e for e in _read(os.path.join(directory, f"{topics.story_events}.jsonl"), StoryEvent)]
    dead = [d for d in _read(os.path.join(directory, f"{topics.dead_letters}.jsonl"), DeadLetter)]
    return SinkContents(
        articles=tuple(sorted(articles, key=lambda a: (a.first_seen_at, a.article_id, a.revision))),
        stories=tuple(sorted(latest.values(), key=lambda s: (s.first_seen_at, s.story_id))),
        events=tuple(sorted(events, key=lambda e: (e.event_time, e.event_id))),
        dead_letters=tuple(sorted(dead, key=lambda d: (d.occurred_at, d.dead_letter_id))),
    )


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def _articles_by_story(contents: SinkContents) -> dict[str, list[Article]]:
    """Story id -> the newest revision of each of its articles, by :func:`article_time`. A story's articles are
    those its snapshot lists (a merge's survivor lists the absorbed story's too) and those that name it, as in
    :func:`storywire.pipelines.report.model.story_views`."""
    latest: dict[str, Article] = {}
    for article in contents.articles:
        current = latest.get(article.article_id)
        if current is None or article.revision > current.revision:
            latest[article.article_id] = article
    chosen: dict[str, dict[str, Article]] = defaultdict(dict)
    for story in contents.stories:
        chosen[story.story_id].update((i, latest[i]) for i in story.article_ids if i in latest)
    for article in latest.values():
        if article.story_id:
            chosen[article.story_id][article.article_id] = article
    return {
        story_id: sorted(articles.values(), key=lambda a: (article_time(a), a.article_id))
        for story_id, articles in chosen.items()
    }


def _article_line(article: Article) -> str:
    title = " ".join(article.title.split()) or "(no title)"
    return f"        {_when(article_time(article))}  {article.outlet}  {title}  {article.url}"


def render(contents: SinkContents, *, max_singletons: int = 12, max_articles: int = 10) -> str:
    """Stories covered by several outlets first (with their events and up to ``max_articles`` of their articles:
    time, outlet, title, URL), then single-outlet ones (one line each, at most ``max_singletons``), then dead
    letters. Article times are the publication time when plausible, else the first feed sighting."""
    events_by_story: dict[str, list[StoryEvent]] = defaultdict(list)
    for event in contents.events:
        events_by_story[event.story_id].append(event)
    articles_by_story = _articles_by_story(contents)
    revisions = sum(1 for a in contents.articles if a.revision > 1)
    duplicates = sum(1 for a in contents.articles if a.duplicate_of)
    lines = [
        f"{len({a.article_id for a in contents.articles})} articles ({revisions} later revisions, "
        f"{duplicates} duplicates of another outlet's copy) in {len(contents.stories)} stories; "
        f"{len(contents.dead_letters)} dead letters",
        "",
    ]
    multi = [s for s in contents.stories if s.outlet_count >= 2]
    single = [s for s in contents.stories if s.outlet_count < 2]
    multi.sort(key=lambda s: (-s.outlet_count, -s.article_count, s.story_id))
    lines.append(f"Stories covered by two or more outlets ({len(multi)}):")
    for story in multi:
        lines.append(f"  * {story.headline}  [{story.story_id}]")
        lines.append(
            f"      {story.article_count} articles from {story.outlet_count} outlets: {', '.join(story.outlets)}"
        )
        lines.append(f"      first seen {_when(story.first_seen_at)}, last seen {_when(story.last_seen_at)} (UTC)")
        notable = [e for e in events_by_story[story.story_id] if e.event_type not in ("updated",)]
        for event in notable:
            score = "" if event.score is None else f" (score {event.score:.2f})"
            lines.append(f"      {event.event_type:<10} {_when(event.event_time)}  {event.detail}{score}")
        articles = articles_by_story.get(story.story_id, [])
        if articles:
            lines.append("      articles:")
            lines.extend(_article_line(article) for article in articles[:max_articles])
            if len(articles) > max_articles:
                lines.append(f"        ... and {len(articles) - max_articles} more")
    lines.append("")
    lines.append(f"Single-outlet stories ({len(single)}):")
    for story in single[:max_singletons]:
        lines.append(f"  - {story.headline} ({story.outlets[0] if story.outlets else '?'}, {story.article_count})")
    if len(single) > max_singletons:
        lines.append(f"  ... and {len(single) - max_singletons} more")
    lines.append("")
    lines.append(f"Dead letters ({len(contents.dead_letters)}):")
    kinds = Counter((d.stage, d.error_type) for d in contents.dead_letters)
    for dead in contents.dead_letters:
        lines.append(f"  - {dead.stage} / {dead.error_type}: {dead.identity}")
        lines.append(f"      {dead.message[:160]}")
    if kinds:
        lines.append("  by stage/type: " + ", ".join(f"{s}/{t}={n}" for (s, t), n in sorted(kinds.items())))
    return "\n".join(lines)
