"""Defects the property-based tests (tests/fuzz) found, kept as plain regression tests until they are fixed.

A defect still open is ``xfail(strict=True)``: the day the code is fixed the test passes, strict makes that a
failure, and the fix removes the mark (and the matching exclusion in tests/fuzz). Both found so far are fixed.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from storywire.connectors.errors import FeedParseError
from storywire.connectors.feeds.parse import parse_feed
from storywire.connectors.urls import article_id_for, canonical_url


@pytest.mark.parametrize(
    "url",
    ["https://0.xn--p1ai:443/", "https://example.xn--p1ai:443/a", "http://xn--bcher-kva.xn--p1ai:80/story/1"],
)
def test_default_port_with_a_punycode_last_label(url: str) -> None:
    # courlan 1.4 decodes punycode host labels before it strips the default port, so 'xn--p1ai:443' stayed
    # encoded and a second pass decoded it: canonical_url was not idempotent, and the URL with and without :443
    # had two article ids. canonical_url now drops a default port first.
    once = canonical_url(url)
    assert canonical_url(once) == once
    without_port = url.replace(":443/", "/").replace(":80/", "/")
    assert article_id_for(once) == article_id_for(canonical_url(without_port))


@pytest.mark.parametrize("encoding", [b"\x00tf-8", b"\xf5tf-8"])
def test_damaged_encoding_name_in_the_xml_declaration(encoding: bytes) -> None:
    body = (
        b'<?xml version="1.0" encoding="' + encoding + b'"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>x</title><link>https://a.example/1</link></item></channel></rss>"
    )
    # A damaged encoding name in the XML declaration (a NUL byte, a byte that is not UTF-8) escaped parse_feed as
    # a plain ValueError; it is a FeedParseError now, a dead letter with a public error type.
    with pytest.raises(FeedParseError, match="cannot decode the feed"):
        parse_feed(body, "https://a.example/feed.xml", datetime(2024, 3, 1, tzinfo=timezone.utc))
