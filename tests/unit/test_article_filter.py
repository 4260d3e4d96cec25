"""Which articles `storywire replay --since/--until/--outlet/--lang` keeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storywire.connectors.errors import ConfigError
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.core.filters import ArticleFilter, time_before_extraction
from storywire.pipelines.core.normalise import PageTask
from tests.support.articles import make_article

DAY = datetime(2023, 5, 3, tzinfo=timezone.utc)


def _at(when: datetime, **kwargs: object):  # type: ignore[no-untyped-def]
    return make_article("a", "t", "x", at=when, **kwargs)  # type: ignore[arg-type]


def test_the_default_keeps_everything() -> None:
    keep = ArticleFilter()
    assert not keep.active and keep.drop_reason(_at(DAY, language=None)) is None


def test_time_range_is_inclusive_on_the_article_time() -> None:
    keep = ArticleFilter(since=DAY, until=DAY + timedelta(days=1) - timedelta(microseconds=1))
    assert keep.drop_reason(_at(DAY)) is None
    assert keep.drop_reason(_at(DAY - timedelta(seconds=1))) == "time"
    assert keep.drop_reason(_at(DAY + timedelta(days=1))) == "time"
    # the article's time is its plausible publication time: first seen on the 4th, published on the 3rd
    assert keep.drop_reason(_at(DAY + timedelta(days=1, hours=2), published=DAY + timedelta(hours=9))) is None


def test_outlets_match_by_name_or_parent_domain() -> None:
    keep = ArticleFilter(outlets=("Reuters.com", "www.bbc.co.uk"))
    assert keep.outlets == ("bbc.co.uk", "reuters.com")
    assert keep.drop_reason(_at(DAY, outlet="uk.reuters.com")) is None
    assert keep.drop_reason(_at(DAY, outlet="bbc.co.uk")) is None
    assert keep.drop_reason(_at(DAY, outlet="notreuters.com")) == "outlet"


def test_languages_match_by_primary_subtag_unless_a_region_is_given() -> None:
    keep = ArticleFilter(languages=("EN", "pt_BR"))
    assert keep.drop_reason(_at(DAY, language="en-GB")) is None
    assert keep.drop_reason(_at(DAY, language="pt-br")) is None
    assert keep.drop_reason(_at(DAY, language="pt-PT")) == "language"
    assert keep.drop_reason(_at(DAY, language=None)) == "language"


def test_bad_filters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="is after --until"):
        ArticleFilter(since=DAY, until=DAY - timedelta(days=1))
    with pytest.raises(ConfigError, match="--outlet needs"):
        ArticleFilter(outlets=(" ",))


def _item(published: datetime | None) -> FeedItem:
    return FeedItem(
        item_key="k",
        link="https://a.example/x",
        title="t",
        summary="",
        authors=(),
        published_at=published,
        feed_url="https://a.example/rss",
        feed_title="A",
        feed_language=None,
        seen_at=DAY,
    )


def test_a_feed_item_s_date_fixes_the_time_before_extraction() -> None:
    response = CapturedResponse("https://a.example/x", DAY, 200, (), b"", "a.warc.gz#0")
    assert time_before_extraction(PageTask(_item(DAY - timedelta(hours=1)), DAY, response)) == DAY - timedelta(hours=1)
    assert time_before_extraction(PageTask(_item(None), DAY, response)) is None
    assert time_before_extraction(PageTask(None, DAY, response)) is None
    # implausible (days after it was first seen): extraction will look at the page
    assert time_before_extraction(PageTask(_item(DAY + timedelta(days=3)), DAY, response)) is None
