"""A realistic synthetic article stream and the speed/memory benchmark of the story core.

The generator (:func:`generate`) is deterministic for a seed and lazy (articles are built on the fly, so the
stream itself costs no memory). Its shape:

- **Stories** with heavy-tailed sizes (Pareto, alpha 1.3, capped at 3,000 articles; most stories have one or two
  articles, a few have hundreds), started uniformly over ``days`` days. Each story is a burst of articles with
  exponential gaps scaled to its size; 20% of stories go quiet for 3-20 days and come back (resurfacing), a
  few twice. A story comes back with a new development: a share ``drift`` (default half) of its own keywords
  are new words from then on (its entities and topic words stay), so the returning articles are harder to
  recognise than the rest (``--drift 1`` replaces all its own keywords: a stress test of splits and merges).
- **Vocabulary**: pronounceable made-up words drawn from a Zipfian background distribution (40,000 words, plus
  real English function words), 400 topics of 120 words each shared by many stories (so stories of one topic
  look alike: half of a story's 12 keywords come from its topic), and per-story keywords and capitalised
  entity names.
- **Outlets**: 600 outlets with Zipfian activity. 5% of articles are exact wire copies (same ``content_hash``,
  another outlet), 3% lightly edited near-copies, 1% revisions of an earlier article (same id, revision 2).
- **Dates**: ``published_at`` is up to 3 hours before ``first_seen_at``; 3% missing, 0.5% at the 1970 epoch,
  0.5% days in the future. 1% of articles have no body, 0.2% are empty, 0.1% have a gigantic body (500 KB).

The benchmark (``python bench/synthetic_stream.py``) times :meth:`StoryAssigner.assign` over the stream next to a
plain loop that only tokenises the same fields with the same caps (the floor), and prints the rate of both, their
ratio, the peak RSS, and a table of live stories / resident memory over stream time, which must stay flat once
the stream is older than the horizon. ``--state`` adds the size and time of pickling the core at each row: what
the live transform's state coder encodes once per bundle.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import math
import pickle
import random
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clustering_metrics import follow_merges, gap_resurfacings, precision_recall, score
from bench.config_override import add_set_option, parsed_story_config
from storywire.pipelines.stories import StoryAssigner, StoryConfig, article_time
from storywire.pipelines.stories import text as textmod
from storywire.schemas.records import Article

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
_FUNCTION_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "by",
    "at",
    "from",
    "it",
    "his",
    "an",
    "be",
    "has",
    "are",
    "have",
    "but",
    "were",
    "which",
    "this",
    "after",
    "their",
    "who",
    "its",
    "been",
    "had",
    "said",
    "not",
    "or",
    "they",
    "will",
    "more",
    "about",
    "than",
    "also",
    "over",
    "would",
    "into",
    "one",
    "two",
]


def _word(rng: random.Random, lo: int = 2, hi: int = 4) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(lo, hi)))


@dataclass(frozen=True)
class _Story:
    index: int
    topic: int
    keywords: tuple[str, ...]
    entities: tuple[str, ...]


class SyntheticStream:
    """Deterministic generator of a news stream; iterate :meth:`articles` (it can be iterated again)."""

    def __init__(self, n_articles: int = 200_000, days: int = 120, seed: int = 7, drift: float = 0.5) -> None:
        if not 0.0 <= drift <= 1.0:
            raise ValueError(f"drift must be in [0, 1], got {drift}")
        self.n_articles = n_articles
        self.days = days
        self.seed = seed
        self.drift = drift  # share of a story's own keywords replaced by new words at each development
        rng = random.Random(seed)
        vocab = sorted({_word(rng) for _ in range(48_000)})
        rng.shuffle(vocab)
        self.background = vocab[:40_000]
        # Zipf weights over the background words, as cumulative weights for fast sampling
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(self.background))]
        self.cum = list(itertools.accumulate(weights))
        topic_pool = vocab[40_000:]
        self.topics = [tuple(rng.sample(topic_pool, 120)) for _ in range(400)]
        self.outlets = [f"{_word(rng, 2, 3)}-news{i}.example" for i in range(600)]
        self.outlet_cum = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(self.outlets))))
        self._returns: dict[int, tuple[int, ...]] = {}  # story -> article indices that end a quiet spell
        self._schedule = self._plan(rng)
        # generic sentences (Zipfian background words among function words), shared by all articles
        self._generic = [self._generic_sentence(rng) for _ in range(30_000)]

    def _generic_sentence(self, rng: random.Random) -> str:
        n = rng.randint(10, 28)
        background = rng.choices(self.background, cum_weights=self.cum, k=n)
        words = [w if rng.random() < 0.5 else rng.choice(_FUNCTION_WORDS) for w in background]
        return " ".join(words).capitalize() + "."

    def _plan(self, rng: random.Random) -> list[tuple[float, int, int]]:
        """(seconds since START, story index, article index within story), sorted by time."""
        span = self.days * 86400.0
        events: list[tuple[float, int, int]] = []
        story = 0
        while len(events) < self.n_articles:
            size = min(3000, int(rng.paretovariate(1.3)))
            start = rng.random() * span
            t = start
            mean_gap = 3600.0 * rng.uniform(0.3, 4.0) / math.log2(size + 1)
            quiet_at = {rng.randrange(1, size)} if size > 2 and rng.random() < 0.2 else set()
            if size > 20 and rng.random() < 0.3:
                quiet_at.add(rng.randrange(1, size))
            for k in range(size):
                if k:
                    t += rng.expovariate(1.0 / mean_gap)
                    if k in quiet_at:
                        t += rng.uniform(3, 20) * 86400.0
                if t >= span:
                    break
                events.append((t, story, k))
            if quiet_at:
                self._returns[story] = tuple(sorted(quiet_at))
            story += 1
        events.sort()
        del events[self.n_articles :]
        self.n_stories = story
        return events

    def _story(self, index: int, development: int = 0) -> _Story:
        rng = random.Random(self.seed * 1_000_003 + index)
        topic = rng.randrange(len(self.topics))
        # half of a story's keywords come from its topic (shared with other stories), half are its own (the
        # places, organisations and coinages that real stories have)
        keywords = tuple(rng.sample(self.topics[topic], 6)) + tuple(_word(rng, 3, 4) for _ in range(6))
        entities = tuple(_word(rng, 2, 3).capitalize() for _ in range(rng.randint(2, 4)))
        replaced = round(6 * self.drift)
        if development and replaced:
            # a story that comes back after a quiet spell comes back with a new development: some of its own
            # keywords are new words (its entities and topic stay), as a drone attack is followed days later by
            # accusations and denials
            fresh = random.Random(self.seed * 1_000_003 + index + development * 7_919_000_017)
            keywords = keywords[: 12 - replaced] + tuple(_word(fresh, 3, 4) for _ in range(replaced))
        return _Story(index, topic, keywords, entities)

    def _story_sentence(self, rng: random.Random, story: _Story, n: int) -> str:
        """A sentence about the story: its keywords, entities and topic words among function words."""
        topic = self.topics[story.topic]
        words: list[str] = []
        for _ in range(n):
            r = rng.random()
            if r < 0.35:
                words.append(rng.choice(story.keywords))
            elif r < 0.45:
                words.append(rng.choice(story.entities))
            elif r < 0.65:
                words.append(rng.choice(topic))
            else:
                words.append(rng.choice(_FUNCTION_WORDS))
        return " ".join(words).capitalize() + "."

    def _body(self, rng: random.Random, story: _Story, n: int) -> str:
        """About ``n`` words: story sentences (30%) among generic sentences from the shared pool."""
        parts: list[str] = []
        left = n
        pool = self._generic
        while left > 0:
            if rng.random() < 0.3:
                k = rng.randint(10, 24)
                parts.append(self._story_sentence(rng, story, k))
            else:
                sentence = pool[rng.randrange(len(pool))]
                k = sentence.count(" ") + 1
                parts.append(sentence)
            left -= k
        return " ".join(parts)

    def articles(self) -> Iterator[Article]:
        """The stream, in event-time order."""
        cache: dict[tuple[int, int], _Story] = {}
        recent: dict[int, list[Article]] = {}  # recent originals per story, for wire copies and revisions
        returns = self._returns
        for seconds, story_index, k in self._schedule:
            development = sum(1 for at in returns.get(story_index, ()) if at <= k)
            story = cache.get((story_index, development))
            if story is None:
                story = self._story(story_index, development)
                cache[story_index, development] = story
                if len(cache) > 50_000:
                    cache.pop(next(iter(cache)))
            rng = random.Random(hash((self.seed, story_index, k)) & 0xFFFFFFFF)
            seen = START + timedelta(seconds=seconds)
            outlet = self.outlets[bisect.bisect_left(self.outlet_cum, rng.random() * self.outlet_cum[-1])]
            article_id = "a_" + hashlib.sha256(f"{self.seed}/{story_index}/{k}".encode()).hexdigest()[:32]
            roll = rng.random()
            same_story = recent.get(story_index, [])
            if same_story and roll < 0.05:
                original = rng.choice(same_story)
                article = original.replace(article_id=article_id, outlet=outlet, first_seen_at=seen)
            elif same_story and roll < 0.08:
                original = rng.choice(same_story)
                article = original.replace(
                    article_id=article_id,
                    outlet=outlet,
                    first_seen_at=seen,
                    title=original.title + " " + rng.choice(story.keywords),
                    text=original.text[:-40] + " " + self._story_sentence(rng, story, 6),
                    content_hash="",
                )
            elif same_story and roll < 0.09:
                original = rng.choice(same_story)
                article = original.replace(first_seen_at=seen, revision=original.revision + 1, content_hash="")
            else:
                article = self._original(rng, story, article_id, outlet, seen)
            article = article.replace(
                url=f"https://{article.outlet}/{article.article_id}",
                canonical_url=f"https://{article.outlet}/{article.article_id}",
                captured_at=seen,
            )
            if not article.content_hash:
                digest = hashlib.sha256((article.title + "\n" + article.text).encode()).hexdigest()
                article = article.replace(content_hash=digest)
            if article.revision == 1 and article.article_id == article_id and roll >= 0.05:
                originals = recent.pop(story_index, [])
                recent[story_index] = [*originals[-4:], article]  # re-inserted: most recent story last
                if len(recent) > 20_000:
                    del recent[next(iter(recent))]
            yield article.replace(story_id=None)  # story_id carried the gold label internally only

    def gold(self) -> Iterator[int]:
        """The gold story index of every article of :meth:`articles`, in the same order."""
        for _, story_index, _ in self._schedule:
            yield story_index

    def _original(self, rng: random.Random, story: _Story, article_id: str, outlet: str, seen: datetime) -> Article:
        roll = rng.random()
        published: datetime | None = seen - timedelta(seconds=rng.uniform(0, 3 * 3600))
        if roll < 0.03:
            published = None
        elif roll < 0.035:
            published = datetime(1970, 1, 1, tzinfo=timezone.utc)
        elif roll < 0.04:
            published = seen + timedelta(days=rng.uniform(1, 30))
        title = " ".join(
            [*rng.sample(story.keywords, 3), rng.choice(story.entities), *rng.sample(self.topics[story.topic], 2)]
        )
        rng.shuffle(title_words := title.split())
        title = " ".join(title_words).capitalize()
        summary = self._story_sentence(rng, story, rng.randint(15, 35))
        body_roll = rng.random()
        if body_roll < 0.002:
            title, summary, body = "", "", ""
        elif body_roll < 0.012:
            body = ""
        elif body_roll < 0.013:
            body = self._body(rng, story, 600) * 150
        else:
            body = self._body(rng, story, int(rng.lognormvariate(math.log(350), 0.5)))
        return Article(
            article_id=article_id,
            url="",
            canonical_url="",
            outlet=outlet,
            feed_url=None,
            title=title,
            summary=summary,
            text=body,
            authors=(),
            language="en",
            published_at=published,
            first_seen_at=seen,
            captured_at=seen,
            revision=1,
            extraction_method="synthetic",
            content_hash="",
            story_id=str(story.index),
        )


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc), or the peak where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _state_cost(assigner: StoryAssigner) -> str:
    """Size and wall time of pickling the core as the live transform's state coder does (outside the timing)."""
    start = time.perf_counter()
    size = len(pickle.dumps(assigner, protocol=pickle.HIGHEST_PROTOCOL))
    ms = (time.perf_counter() - start) * 1000
    return f" {size / 2**20:>8.1f} {ms:>9.0f} {size / max(assigner.indexed_articles, 1):>6.0f}"


def tokenise_only(article: Article, config: StoryConfig) -> int:
    """The floor: what the core must do anyway, tokenise the fields it reads with the same caps."""
    head = config.head_chars
    return (
        len(textmod.tokens(article.title[:head]))
        + len(textmod.tokens(article.summary[:head]))
        + len(textmod.tokens(article.text[: config.body_chars]))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Speed and memory of the story core on a synthetic stream.")
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--every", type=int, default=20_000, help="print a memory row every N articles")
    parser.add_argument("--quality", action="store_true", help="also score the clustering against the plan")
    parser.add_argument(
        "--drift", type=float, default=0.5, help="share of a story's own keywords that change when it comes back"
    )
    parser.add_argument(
        "--state",
        action="store_true",
        help="also pickle the core at every memory row (what the live transform commits per bundle): size and time",
    )
    add_set_option(parser)
    args = parser.parse_args(argv)
    config = parsed_story_config(parser, args)

    t0 = time.perf_counter()
    stream = SyntheticStream(args.articles, args.days, args.seed, args.drift)
    print(
        f"synthetic stream: {args.articles} articles, {stream.n_stories} planned stories over {args.days} days "
        f"(planned in {time.perf_counter() - t0:.1f}s); horizon {config.horizon.days}d, "
        f"dormancy {config.dormancy.total_seconds() / 3600:.0f}h; drift {args.drift:g} (share of a story's own "
        "keywords new when it comes back)" + (f"; defaults replaced: {', '.join(args.set)}" if args.set else "")
    )
    print("times are CPU seconds of this process (time.process_time), spent inside assign() / tokens() only")
    rss_start = _rss_mb()
    assigner = StoryAssigner(config)
    elapsed = 0.0
    n = 0
    counts: dict[str, int] = {}
    pred: list[str] = []
    timeline: list[tuple[str, datetime]] = []  # (article id, article time) of every assigned article
    resurfaced: set[str] = set()
    merged_into: dict[str, str] = {}
    state_columns = f" {'state MB':>8} {'pickle ms':>9} {'B/id':>6}" if args.state else ""
    print(
        f"{'articles':>9} {'day':>5} {'live stories':>12} {'indexed ids':>11} {'rss MB':>7} {'art/s':>7}{state_columns}"
    )
    window_core = 0.0
    floor = 0.0
    clock = time.process_time
    for article in stream.articles():
        start = clock()
        result = assigner.assign(article)
        spent = clock() - start
        # the floor runs after the core on the same article, so it gets the warmer word memo: conservative
        start = clock()
        tokenise_only(article, config)
        floor += clock() - start
        elapsed += spent
        window_core += spent
        n += 1
        for event in result.events:
            counts[event.event_type] = counts.get(event.event_type, 0) + 1
        if args.quality:
            pred.append(result.article.story_id or "")
            merged_into.update((s.story_id, s.merged_into) for s in result.stories if s.merged_into)
            timeline.append((article.article_id, article_time(article)))
            resurfaced.update(e.article_id or "" for e in result.events if e.event_type == "resurfaced")
        if n % args.every == 0:
            day = (article.first_seen_at - START).total_seconds() / 86400
            print(
                f"{n:>9} {day:>5.0f} {len(assigner):>12} {assigner.indexed_articles:>11} {_rss_mb():>7.0f} "
                f"{args.every / window_core:>7.0f}" + (_state_cost(assigner) if args.state else "")
            )
            window_core = 0.0
    core_rate = n / elapsed
    print(f"events: {dict(sorted(counts.items()))}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: peak RSS {peak:.0f} MB (RSS before the assigner: {rss_start:.0f} MB)")
    fl_rate = n / floor
    print(f"core:  {core_rate:,.0f} articles/s")
    print(f"floor: {fl_rate:,.0f} articles/s (tokenising only); core/floor = {core_rate / fl_rate:.2f}")
    if args.quality:
        gold = [str(g) for g in stream.gold()][: len(pred)]
        pred = follow_merges(pred, merged_into)
        print(f"quality vs the generator's plan (all articles): {score(gold, pred, with_ami=False).line()}")
        expected = gap_resurfacings(gold, timeline, config.dormancy, config.horizon)
        p, r, f = precision_recall(resurfaced, expected)
        print(
            f"resurfaced vs the plan: predicted={len(resurfaced)} gold={len(expected)} P/R/F1={p:.3f}/{r:.3f}/{f:.3f}"
            f" (gold: a planned story's article >= {config.dormancy.total_seconds() / 3600:.0f}h after its previous"
            " one, within the horizon; revisions excluded)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
