from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storywire.connectors.articles.extract import ExtractedPage
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http_types import CapturedResponse
from storywire.connectors.urls import article_id_for, canonical_url, outlet_of
from storywire.pipelines.core.event_time import plausible_time
from storywire.pipelines.core.normalise import PageTask, build_article, content_hash
from storywire.pipelines.core.revisions import number_revisions, order_key
from storywire.pipelines.stories import article_time

SEEN = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)


def _item(link: str = "https://www.o.example/a?utm_source=rss", published: datetime | None = None) -> FeedItem:
    return FeedItem(
        item_key=link,
        link=link,
        title="Feed title",
        summary="Feed summary",
        authors=("Feed Author",),
        published_at=published,
        feed_url="https://www.o.example/rss.xml",
        feed_title="O",
        feed_language="en",
        seen_at=SEEN,
    )


def _page(canonical: str | None, title: str = "Page title", text: str = "Body text " * 40) -> ExtractedPage:
    return ExtractedPage(title, text, (), None, None, canonical, "trafilatura")


def _task(
    url: str = "https://www.o.example/a?utm_source=rss", captured: datetime = SEEN, published: datetime | None = None
) -> PageTask:
    response = CapturedResponse(url, captured, 200, (), b"", "x#offset=0")
    return PageTask(item=_item(url, published), first_seen_at=SEEN, response=response)


def test_canonical_url_drops_tracking_fragment_and_case() -> None:
    assert canonical_url("HTTPS://WWW.O.example:443/a/?utm_source=rss&b=2&a=1#x") == "https://www.o.example/a?a=1&b=2"
    assert outlet_of("https://www.o.example/a") == "o.example"
    assert article_id_for("https://o.example/a") == article_id_for("https://o.example/a")
    assert article_id_for("https://o.example/a") != article_id_for("https://o.example/b")


def test_article_fields_follow_the_documented_precedence() -> None:
    article = build_article(_task(), _page("https://www.o.example/a"))
    assert article.canonical_url == "https://www.o.example/a" and article.outlet == "o.example"
    assert article.article_id == article_id_for("https://www.o.example/a")
    assert article.title == "Page title" and article.summary == "Feed summary"
    assert article.language == "en" and article.authors == ("Feed Author",)
    assert article.first_seen_at == SEEN and article.revision == 1


def test_canonical_link_to_another_site_is_ignored() -> None:
    article = build_article(_task(), _page("https://wire.example/original"))
    assert article.canonical_url == "https://www.o.example/a"


def test_implausible_dates_are_dropped() -> None:
    assert plausible_time(datetime(1970, 1, 1, tzinfo=timezone.utc), SEEN) is None
    assert plausible_time(SEEN + timedelta(days=3), SEEN) is None
    assert plausible_time(SEEN + timedelta(hours=2), SEEN) is None  # more than an hour after we saw it
    assert plausible_time(SEEN + timedelta(hours=1), SEEN) == SEEN + timedelta(hours=1)  # clock skew
    assert plausible_time(SEEN - timedelta(hours=2), SEEN) == SEEN - timedelta(hours=2)
    # kept as given (its own offset); naive times are compared as UTC
    tokyo = (SEEN + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=9)))
    assert plausible_time(tokyo, SEEN) is tokyo
    assert plausible_time(datetime(2023, 5, 3, 8, 30), SEEN) == datetime(2023, 5, 3, 8, 30)
    assert plausible_time(datetime(2023, 5, 3, 10, 0), SEEN) is None


@pytest.mark.parametrize("offset_minutes", [-600, 0, 30, 60, 61, 120, 23 * 60, 3 * 24 * 60])
def test_a_published_time_reaches_consumers_exactly_when_clustering_uses_it(offset_minutes: int) -> None:
    """One rule: the article's ``published_at`` is the time story clustering places it at, or it is null."""
    published = SEEN + timedelta(minutes=offset_minutes)
    article = build_article(_task(published=published), _page(None))
    assert (article.published_at is not None) == (offset_minutes <= 60)
    assert article_time(article) == (article.published_at or article.first_seen_at)


def test_content_hash_ignores_case_and_whitespace_only() -> None:
    assert content_hash("Title", "Some  text\n") == content_hash("title", "some text")
    assert content_hash("Title", "Some text") != content_hash("Title", "Some text!")


def test_revisions_drop_repeats_number_changes_and_ignore_input_order() -> None:
    first = build_article(_task(captured=SEEN), _page(None))
    repeat = build_article(_task(captured=SEEN + timedelta(hours=1)), _page(None))
    edited = build_article(_task(captured=SEEN + timedelta(hours=2)), _page(None, title="Corrected title"))
    for captures in ([first, repeat, edited], [edited, repeat, first]):
        out = list(number_revisions(captures))
        assert [a.revision if a else None for a in out] == [1, None, 2]
        kept = [a for a in out if a]
        assert kept[1].title == "Corrected title" and kept[1].article_id == kept[0].article_id
        assert order_key(kept[0]) < order_key(kept[1])
