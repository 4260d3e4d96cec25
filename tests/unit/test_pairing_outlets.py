"""Replay pairing gives each page the outlet configured for the feed that listed it (the live run's rule)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storywire.connectors.errors import ConfigError
from storywire.connectors.feeds.parse import FeedItem
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.config.replay import ReplayConfig
from storywire.pipelines.config.sinks import SinkSpec
from storywire.pipelines.core.normalise import PageTask
from storywire.pipelines.core.pairing import outlets_through_redirects, pair_captures

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
PAGE = "https://wire-cdn.example/harbour/kremlin"


def _item(feed_url: str, minutes: int = 0) -> FeedItem:
    return FeedItem(
        item_key=PAGE, link=PAGE, title="t", summary="", authors=(), published_at=None, feed_url=feed_url,
        feed_title="f", feed_language="en", seen_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


def _outlets(sightings: list[FeedItem], feed_outlets: dict[str, str] | None) -> list[str | None]:
    capture = CapturedResponse(PAGE, T0 + timedelta(hours=1), 200, (), b"<html></html>", "x.warc.gz#offset=0")
    tasks = list(pair_captures(PAGE, sightings, [capture], feed_outlets))
    assert all(isinstance(t, PageTask) for t in tasks)
    return [t.outlet for t in tasks if isinstance(t, PageTask)]


def test_the_earliest_sightings_feed_gives_the_outlet_matched_on_the_canonical_url() -> None:
    outlets = dict(ReplayConfig.outlets_by_feed({"https://WIRE-CDN.example/harbour/rss.xml/": "harbour-times.example"}))
    assert outlets == {"https://wire-cdn.example/harbour/rss.xml": "harbour-times.example"}
    sightings = [_item("https://wire-cdn.example/plain/rss.xml", 5), _item("https://wire-cdn.example/harbour/rss.xml")]
    assert _outlets(sightings, outlets) == ["harbour-times.example"]
    # The earliest sighting is of a feed without a configured outlet: the outlet stays derived (None).
    later = [_item("https://wire-cdn.example/plain/rss.xml"), _item("https://wire-cdn.example/harbour/rss.xml", 5)]
    assert _outlets(later, outlets) == [None]
    assert _outlets(sightings, None) == [None] and _outlets(sightings, {}) == [None]
    assert _outlets([], outlets) == [None]  # an unlisted page


def test_a_redirected_feed_matches_at_its_final_url_and_a_configured_url_keeps_its_own() -> None:
    redirects = {"http://a.example/rss": "https://a.example/rss", "https://b.example/old": "https://b.example/rss"}
    feed_outlets = {"http://a.example/rss": "a-news.example", "https://b.example/rss": "b-news.example"}
    feed_outlets["https://b.example/old"] = "old-b.example"
    assert outlets_through_redirects(feed_outlets, redirects) == {
        "http://a.example/rss": "a-news.example",
        "https://a.example/rss": "a-news.example",
        "https://b.example/old": "old-b.example",
        "https://b.example/rss": "b-news.example",
    }


def test_replay_config_keeps_the_outlets_canonical_sorted_and_valid() -> None:
    sinks = (SinkSpec.parse("file:///tmp/out"),)
    config = ReplayConfig(archives=("a.warc.gz",), sinks=sinks, feed_outlets=(("https://B.example/rss/", "b.example"),))
    assert config.feed_outlets == (("https://b.example/rss", "b.example"),)
    assert ReplayConfig(archives=("a.warc.gz",), sinks=sinks).feed_outlets == ()
    with pytest.raises(ConfigError, match="outlet must be a non-empty string"):
        ReplayConfig.outlets_by_feed({"https://a.example/rss": " "})
    with pytest.raises(ConfigError, match="two outlets for one feed"):
        ReplayConfig.outlets_by_feed({"https://a.example/rss": "a", "https://A.example/rss/": "b"})
