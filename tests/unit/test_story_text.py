"""Tokenisation for story clustering (pipelines/stories/text.py)."""

from __future__ import annotations

from storywire.pipelines.stories import text as textmod
from storywire.pipelines.stories.neardup import sketch, sketch_jaccard


def test_tokens_lowercase_drop_stop_words_and_fold_plurals() -> None:
    toks = textmod.tokens("The North Korean missiles flew over Hokkaido's coast, officials said in 2017.")
    assert toks == ["north", "korean", "missile", "flew", "hokkaido", "coast", "official", "2017"]


def test_tokens_limit_and_empty() -> None:
    assert textmod.tokens("") == []
    assert textmod.tokens("alpha beta gamma delta", limit=2) == ["alpha", "beta"]
    assert textmod.tokens("!!! ... ---") == []


def test_tokens_split_scripts_without_spaces_into_bigrams() -> None:
    assert textmod.tokens("北海道地震") == ["北海", "海道", "道地", "地震"]
    assert textmod.tokens("Землетрясение на Хоккайдо") == ["землетрясение", "на", "хоккайдо"]


def test_overlong_words_are_dropped() -> None:
    assert textmod.tokens("x" * 41 + " quake") == ["quake"]


def test_memo_clearing_does_not_change_results() -> None:
    sample = "Voters in Chile chose a president; 北海道 results came later."
    first = textmod.tokens(sample)
    textmod._CACHE.clear()
    textmod._MULTI_TERMS.clear()
    assert textmod.tokens(sample) == first


def test_stem() -> None:
    assert [textmod.stem(w) for w in ("stories", "classes", "bus", "news", "thesis", "missiles")] == [
        "story",
        "class",
        "bus",
        "new",
        "thesis",
        "missile",
    ]


def test_sketch_similarity() -> None:
    words = [f"w{i}" for i in range(80)]
    a = sketch(words, 16)
    assert len(a) == 16 and list(a) == sorted(a)
    assert sketch_jaccard(a, a, 16) == 1.0
    edited = sketch([*words[:30], "x1", "x2", *words[32:]], 16)
    assert 0.6 <= sketch_jaccard(a, edited, 16) <= 1.0
    other = sketch([f"v{i}" for i in range(80)], 16)
    assert sketch_jaccard(a, other, 16) == 0.0
    assert sketch(words[:5], 16) == ()  # too short to shingle


def test_sketch_covers_the_whole_text_so_a_different_lead_still_matches() -> None:
    body = [f"w{i % 170}x{i // 170}" for i in range(400)]  # long enough for the anchored shingles
    a = sketch(["lead", "one", "says", "this", "first", *body], 32)
    b = sketch(["another", "outlet", "opens", "with", "its", "own", "standfirst", *body[:200], "edit", *body[201:]], 32)
    assert len(a) == len(b) == 32 and list(a) == sorted(a)
    assert sketch_jaccard(a, b, 32) >= 0.8
    assert sketch_jaccard(a, sketch([f"v{i}" for i in range(400)], 32), 32) == 0.0
    # the same text always gives the same sketch (no salted hashing)
    assert sketch(["lead", "one", "says", "this", "first", *body], 32) == a
