"""Feeds: an item's identity does not depend on where it is listed, and the parser never raises anything but an
InputError on any body (random bytes, and the real samples of tests/fixtures/feeds, damaged)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from storywire.connectors.errors import InputError
from storywire.connectors.feeds.parse import ParsedFeed, parse_feed
from storywire.connectors.feeds.state import item_key_hash
from tests.fuzz.support import examples, mutated

pytestmark = pytest.mark.fuzz

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
SAMPLES = {path.name: path.read_bytes() for path in sorted(FEEDS.iterdir()) if path.is_file()}
SEEN = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
FEED_URL = "https://news.example/feed.xml"
CONTENT_TYPES = [
    None,
    "application/rss+xml",
    "application/atom+xml; charset=utf-16",
    "text/html",
    "text/xml; charset=x",
]
DATES = ["Fri, 01 Mar 2024 08:00:00 GMT", "2024-03-01T08:00:00Z", "", "nonsense"]

# -- identity ---------------------------------------------------------------------------------------------------

_guid = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9:/._?=&#-]{0,40}", fullmatch=True)
_title = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30)


@st.composite
def entries(draw: st.DrawFn) -> list[dict[str, str | None]]:
    """1-12 entries with distinct guids (some left out: the link is then the identity) and distinct links."""
    guids = draw(st.lists(_guid, min_size=1, max_size=12, unique=True))
    result: list[dict[str, str | None]] = []
    for n, guid in enumerate(guids):
        keep_guid = draw(st.booleans()) or n == 0
        result.append(
            {
                "guid": guid if keep_guid else None,
                "link": f"https://news.example/{draw(st.sampled_from(['a', 'world', 'A/b']))}/{n}?utm_source=rss",
                "title": draw(_title),
                "date": draw(st.sampled_from(DATES)),
            }
        )
    return result


def render(kind: str, items: list[dict[str, str | None]]) -> bytes:
    def text(value: str | None) -> str:
        return escape(value or "")

    if kind == "rss":
        body = "".join(
            "<item>"
            + f"<title>{text(i['title'])}</title><link>{text(i['link'])}</link>"
            + (f'<guid isPermaLink="false">{text(i["guid"])}</guid>' if i["guid"] else "")
            + f"<pubDate>{text(i['date'])}</pubDate></item>"
            for i in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
            f"<link>https://news.example/</link>{body}</channel></rss>"
        ).encode()
    body = "".join(
        "<entry>"
        + f"<title>{text(i['title'])}</title><link href={_attr(i['link'])}/>"
        + (f"<id>{text(i['guid'])}</id>" if i["guid"] else "")
        + f"<updated>{text(i['date'])}</updated></entry>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        f"<id>urn:feed</id>{body}</feed>"
    ).encode()


def _attr(value: str | None) -> str:
    return '"' + escape(value or "", {'"': "&quot;"}) + '"'


def keys_by_link(kind: str, items: list[dict[str, str | None]]) -> dict[str, int]:
    parsed = parse_feed(render(kind, items), FEED_URL, SEEN)
    assert len(parsed.items) == len(items)
    return {item.link: item_key_hash(item) for item in parsed.items}


@settings(max_examples=examples(100))
@given(st.sampled_from(["rss", "atom"]), entries(), st.data())
def test_item_key_does_not_depend_on_position_or_neighbours(
    kind: str, items: list[dict[str, str | None]], data: st.DataObject
) -> None:
    full = keys_by_link(kind, items)
    shuffled = data.draw(st.permutations(items), label="reordered")
    assert keys_by_link(kind, shuffled) == full
    # A later poll of the same feed: some entries gone, the rest in another order; each keeps its key.
    window = data.draw(st.lists(st.sampled_from(items), min_size=1, unique_by=lambda i: i["link"]), label="window")
    listed = {i["link"] for i in window}
    assert keys_by_link(kind, window) == {link: key for link, key in full.items() if link in listed}


@settings(max_examples=examples(100))
@given(st.sampled_from(["rss", "atom"]), entries())
def test_distinct_guids_give_distinct_keys(kind: str, items: list[dict[str, str | None]]) -> None:
    keys = keys_by_link(kind, items)
    with_guid = [keys[str(i["link"])] for i in items if i["guid"]]
    assert len(set(with_guid)) == len(with_guid)
    # Entries without a guid are known by their canonical link: distinct links here, distinct keys too.
    assert len(set(keys.values())) == len(items)


# -- the parser on any body -------------------------------------------------------------------------------------


def _parse_anything(body: bytes, content_type: str | None) -> None:
    try:
        result = parse_feed(body, FEED_URL, SEEN, content_type)
    except InputError:  # FeedParseError, UnsafeXmlError (MalformedFeedError comes from the poll core)
        return
    assert isinstance(result, ParsedFeed)
    for item in result.items:
        assert item.link.startswith(("http://", "https://"))
        item_key_hash(item)  # the identity of anything the parser returns can be taken


@settings(max_examples=examples(150))
@given(mutated(st.sampled_from(list(SAMPLES.values())), max_steps=6), st.sampled_from(CONTENT_TYPES))
@example(SAMPLES["rss_basic.xml"].replace(b"?>", b"?><!DOCTYPE r [<!ENTITY e 'x'>]>", 1), None)
@example(SAMPLES["rss_basic.xml"].decode().encode("utf-16"), "application/rss+xml")
@example(b"<?xml version='1.0' encoding='utf-32'?><rss/>", None)
@example(SAMPLES["atom_basic.xml"].replace(b'encoding="utf-8"', b'encoding="\x00tf-8"', 1), None)  # fixed in 42b7121
@example(SAMPLES["atom_basic.xml"].replace(b'encoding="utf-8"', b'encoding="\xf5tf-8"', 1), None)
@example(
    SAMPLES["rss_basic.xml"].replace(b"</channel>", b"<item><link>https://x.example/a</link></item></channel>"), None
)
def test_parser_on_damaged_real_feeds(body: bytes, content_type: str | None) -> None:
    _parse_anything(body, content_type)


@settings(max_examples=examples(100))
@given(st.binary(max_size=512), st.sampled_from(CONTENT_TYPES))
def test_parser_on_random_bytes(body: bytes, content_type: str | None) -> None:
    _parse_anything(body, content_type)


@settings(max_examples=examples(100))
@given(
    st.lists(
        st.sampled_from(list(SAMPLES.values())).flatmap(
            lambda sample: st.tuples(st.integers(0, len(sample)), st.integers(0, len(sample))).map(
                lambda span: sample[min(span) : max(span)]
            )
        ),
        min_size=1,
        max_size=5,
    ).map(b"".join),
    st.sampled_from(CONTENT_TYPES),
)
def test_parser_on_spliced_real_feeds(body: bytes, content_type: str | None) -> None:
    """Slices of the real feeds glued together: well-formed pieces in the wrong places."""
    _parse_anything(body, content_type)
