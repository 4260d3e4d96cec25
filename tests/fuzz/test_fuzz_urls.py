"""URL canonicalisation (connectors/urls.py): idempotent, total on text except ValueError, and article ids of one
form that do not depend on how often a URL was canonicalised."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from storywire.connectors.urls import article_id_for, canonical_url
from tests.fuzz.support import examples

pytestmark = pytest.mark.fuzz

ARTICLE_ID = re.compile(r"a_[0-9a-f]{24}\Z")

_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
_host = st.one_of(
    st.builds(
        lambda www, labels, tld: ("www." if www else "") + ".".join([*labels, tld]),
        st.booleans(),
        st.lists(_label, min_size=1, max_size=3),
        st.sampled_from(["com", "org", "CO.UK", "de", "xn--p1ai", "example"]),
    ),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)
# Path and query characters, escapes, non-ASCII and the odd space or bracket that real feeds do contain.
_piece = st.one_of(
    st.sampled_from([*"abcXYZ019-._~!$&'()*+,;=:@%/ []|\"<>^`{}", "%20", "%2F", "%7e", "%E2%82%AC", "%zz"]),
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
)
_segment = st.lists(_piece, max_size=8).map("".join)
_param = st.tuples(
    st.one_of(st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "id", "page", "q", "ref"]), _segment),
    _segment,
)


@st.composite
def news_urls(draw: st.DrawFn) -> str:
    """URLs as feeds and pages give them: any case of scheme and host, ports, odd paths, tracking parameters."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(_host)
    port = draw(st.one_of(st.just(""), st.sampled_from([":80", ":443", ":8080", ":0", ":65535"])))
    path = "/".join(draw(st.lists(_segment, max_size=5)))
    trailing = draw(st.sampled_from(["", "/", "//"]))
    params = draw(st.lists(_param, max_size=4))
    query = ("?" + "&".join(f"{k}={v}" for k, v in params)) if params or draw(st.booleans()) else ""
    fragment = "#" + draw(_segment) if draw(st.booleans()) else ""
    space = draw(st.sampled_from(["", " ", "\t", "\n"]))
    return f"{space}{scheme}://{host}{port}/{path}{trailing}{query}{fragment}{space}"


def _canonical_or_value_error(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:  # the documented refusal of a string that is not a URL (e.g. http://[::1/x)
        return None


@settings(max_examples=examples(200))
@given(st.one_of(news_urls(), urls()))
@example("HTTP://WWW.Example.COM:80/a/b/?utm_source=x&b=2&a=1#frag")
@example("https://example.com/%7euser/")
@example("http://example.com/a%2Fb//")
@example("http://[::1]:80/")
def test_canonical_url_is_idempotent(url: str) -> None:
    once = _canonical_or_value_error(url)
    if once is None:
        return
    assert canonical_url(once) == once


@settings(max_examples=examples(200))
@given(st.one_of(st.text(max_size=80), news_urls().map(lambda u: u[: len(u) // 2]), st.binary().map(repr)))
@example("http://[::1/x")
@example("")
@example("\x00")
@example("//")
def test_canonical_url_raises_only_value_error(text: str) -> None:
    """Any text: a string back, or ValueError (what callers catch: warc_reader, the live engine)."""
    result = _canonical_or_value_error(text)
    assert result is None or isinstance(result, str)


@settings(max_examples=examples(150))
@given(news_urls())
def test_article_id_is_stable_and_of_the_documented_form(url: str) -> None:
    canonical = _canonical_or_value_error(url)
    if canonical is None:
        return
    article_id = article_id_for(canonical)
    assert ARTICLE_ID.match(article_id), article_id
    assert article_id_for(canonical) == article_id  # pure
    assert article_id_for(canonical_url(canonical)) == article_id  # and the same however often canonicalised


@settings(max_examples=examples(100))
@given(st.text(max_size=60))
def test_article_id_for_any_text(text: str) -> None:
    """article_id_for takes any string (surrogates aside, which no URL holds after decoding)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert ARTICLE_ID.match(article_id_for(text))
