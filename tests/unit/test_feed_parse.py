from __future__ import annotations

from datetime import datetime, timezone

import pytest

from storywire.connectors.errors import FeedParseError, UnsafeXmlError
from storywire.connectors.feeds.parse import parse_feed
from tests.support.warc import rss

SEEN = datetime(2023, 5, 3, 9, 0, tzinfo=timezone.utc)

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Outlet</title>
<entry><id>tag:atom.example,2023:1</id><title>First &amp; foremost</title>
<link href="https://atom.example/first"/><updated>2023-05-03T07:15:00+02:00</updated>
<author><name>Ana Lopes</name></author>
<summary type="html">&lt;p&gt;Some &lt;b&gt;bold&lt;/b&gt; words&lt;/p&gt;</summary></entry>
<entry><id>tag:atom.example,2023:2</id><title>No link</title><updated>2023-05-03T07:15:00Z</updated></entry>
</feed>"""


def test_rss_items_carry_link_dates_and_feed_language() -> None:
    body = rss(
        "Outlet",
        "https://o.example",
        [
            {
                "title": "T1",
                "link": "https://o.example/1",
                "date": "Wed, 03 May 2023 07:00:00 GMT",
                "summary": "S",
            }
        ],
    )
    parsed = parse_feed(body, "https://o.example/rss.xml", SEEN)
    assert parsed.warning is None and parsed.skipped_entries == 0
    (item,) = parsed.items
    assert item.link == "https://o.example/1" and item.item_key == "https://o.example/1"
    assert item.published_at == datetime(2023, 5, 3, 7, 0, tzinfo=timezone.utc)
    assert item.feed_language == "en" and item.feed_title == "Outlet" and item.seen_at == SEEN


def test_atom_entries_html_summary_is_text_and_linkless_entries_are_counted() -> None:
    parsed = parse_feed(ATOM, "https://atom.example/feed", SEEN, "application/atom+xml")
    (item,) = parsed.items
    assert parsed.skipped_entries == 1
    assert item.item_key == "tag:atom.example,2023:1" and item.title == "First & foremost"
    assert item.summary == "Some bold words" and item.authors == ("Ana Lopes",)
    assert item.published_at == datetime(2023, 5, 3, 5, 15, tzinfo=timezone.utc)


def test_malformed_feed_with_entries_is_a_warning_not_an_error() -> None:
    body = rss("O", "https://o.example", [{"title": "T", "link": "https://o.example/1", "date": "x"}])
    broken = body.replace(b"</channel></rss>", b"<item><title>cut off")
    parsed = parse_feed(broken, "https://o.example/rss.xml", SEEN)
    assert parsed.warning and [i.link for i in parsed.items] == ["https://o.example/1"]


def test_feed_without_entries_and_bad_xml_is_an_error() -> None:
    with pytest.raises(FeedParseError, match="no readable entries"):
        parse_feed(b"<rss><channel><title>broken", "https://o.example/rss.xml", SEEN)


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError):
        parse_feed(b"<html><body><p>hello</p></body></html>", "https://o.example/", SEEN)


def test_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b"<rss version='2.0'><channel><title>&b;</title><item><title>x</title>"
        b"<link>https://o.example/1</link></item></channel></rss>"
    )
    with pytest.raises(UnsafeXmlError, match="declares entities"):
        parse_feed(bomb, "https://o.example/rss.xml", SEEN)


def test_item_without_guid_is_keyed_by_canonical_link() -> None:
    body = (
        b"<rss version='2.0'><channel><title>O</title><item><title>x</title>"
        b"<link>https://WWW.o.example/a/?utm_source=rss#top</link></item></channel></rss>"
    )
    (item,) = parse_feed(body, "https://o.example/rss.xml", SEEN).items
    assert item.item_key == "https://www.o.example/a"
