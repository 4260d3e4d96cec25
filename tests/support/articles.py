"""Builders shared by the tests: articles, and a small stream of real-looking news for the story core."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from storywire.pipelines.stories import Assignment, StoryAssigner, StoryConfig
from storywire.schemas.records import Article

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
KREMLIN_T = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)

QUAKE = (
    "A magnitude 7.1 earthquake struck off the coast of Hokkaido early on Friday, the Japan Meteorological "
    "Agency said, triggering tsunami warnings along the Pacific coast. Residents of Kushiro and Nemuro were "
    "told to move to higher ground while rescue teams assessed damage to ports and fishing villages."
)
ELECTION = (
    "Voters in Chile went to the polls to choose a new president in a runoff between conservative "
    "Sebastian Pinera and leftist Alejandro Guillier, with turnout expected to be low after a bitter "
    "campaign focused on pensions, immigration and the slowing copper economy."
)
FOOTBALL = (
    "Liverpool beat Manchester City 4-3 at Anfield, ending the champions' unbeaten run in the Premier League "
    "with goals from Oxlade-Chamberlain, Firmino, Mane and Salah in a frantic second half."
)


def make_article(
    article_id: str,
    title: str,
    text: str = "",
    *,
    at: datetime = T0,
    outlet: str = "example.com",
    summary: str = "",
    published: datetime | None = None,
    content_hash: str | None = None,
    revision: int = 1,
    language: str | None = "en",
    url: str | None = None,
    extraction_method: str = "test",
) -> Article:
    """An article as extraction makes it; ``url`` (default ``https://OUTLET/ID``) is its canonical URL too."""
    url = url or f"https://{outlet}/{article_id}"
    return Article(
        article_id=article_id,
        url=url,
        canonical_url=url,
        outlet=outlet,
        feed_url=None,
        title=title,
        summary=summary,
        text=text,
        authors=(),
        language=language,
        published_at=published,
        first_seen_at=at,
        captured_at=at,
        revision=revision,
        extraction_method=extraction_method,
        content_hash=content_hash
        if content_hash is not None
        else hashlib.sha256(f"{article_id}|{title}|{text}".encode()).hexdigest(),
    )


def stream() -> list[Article]:
    return [
        make_article("a1", "Strong earthquake hits Hokkaido, tsunami warning issued", QUAKE, at=T0, outlet="nhk.jp"),
        make_article(
            "b1",
            "Chile votes in presidential runoff",
            ELECTION,
            at=T0 + timedelta(minutes=5),
            outlet="bbc.co.uk",
        ),
        make_article(
            "a2",
            "Hokkaido earthquake: tsunami warning for Pacific coast",
            QUAKE.replace("Friday", "Friday morning"),
            at=T0 + timedelta(minutes=30),
            outlet="reuters.com",
        ),
        make_article("c1", "Liverpool end Manchester City unbeaten run", FOOTBALL, at=T0 + timedelta(hours=1)),
        make_article(
            "b2",
            "Pinera wins Chile runoff against Guillier",
            ELECTION + " Pinera won with 54 percent.",
            at=T0 + timedelta(hours=3),
            outlet="elpais.com",
        ),
    ]


def run(articles: list[Article], config: StoryConfig | None = None) -> list[Assignment]:
    assigner = StoryAssigner(config)
    return [assigner.assign(a) for a in articles]


QUAKE_LONG = QUAKE + (
    " Power was cut to about 30,000 homes in eastern Hokkaido, the regional utility said, and bullet train "
    "services were suspended while engineers inspected tracks and bridges. The quake was felt as far away as "
    "Sapporo and Aomori. Officials at the Tomari nuclear plant reported no abnormalities. Authorities warned "
    "of aftershocks over the coming week and urged residents to stay away from the shore."
)

WIRE_BODY = (
    "Freight traffic through the port of Karvik came to a standstill on Tuesday after crane operators walked out "
    "over a new shift roster, the harbour authority said.\n"
    "About forty container ships were waiting at anchor outside the breakwater by the evening, and the authority "
    "warned that the queue could double by the weekend if the stoppage continued.\n"
    "The crane operators' union said the roster would cut rest periods between night shifts to nine hours and "
    "that members had voted by a large majority to stop work until it was withdrawn.\n"
    "Exporters of timber and frozen fish said their warehouses were filling up and that some buyers had already "
    "diverted orders to rival ports along the coast.\n"
    "The harbour authority said talks with the union would resume on Wednesday morning with a mediator appointed "
    "by the labour ministry, and that perishable cargo would be given priority once work restarted.\n"
    "Shipping analysts estimated that each day of the stoppage delays goods worth several million crowns."
)


# query_terms=2 keeps the index small enough that the second article below (whose two most specific terms
# come from its own title) does not find the first story: it opens a story of its own, the split to repair
BRIDGING = StoryConfig(merge_threshold=0.05, query_terms=2, near_duplicate_jaccard=None)


def split_then_bridge(second_at: timedelta, bridge_at: timedelta) -> list[Article]:
    return [
        make_article("m1", "Hokkaido earthquake", QUAKE, outlet="a.jp"),
        make_article("m2", "Tsunami warning tsunami alert", QUAKE, at=T0 + second_at, outlet="b.jp"),
        make_article("m3", "Hokkaido tsunami", QUAKE, at=T0 + bridge_at, outlet="c.jp"),
    ]


def kremlin_article(text: str, title: str = "Kremlin drone attack") -> Article:
    """A valid article with a known id, for the sink and message tests (``text`` sets its size)."""
    return make_article(
        "a_" + "1" * 24,
        title,
        text,
        at=KREMLIN_T,
        outlet="a.example",
        summary="Two drones",
        content_hash="f" * 32,
        revision=2,
        url="https://a.example/kremlin",
        extraction_method="trafilatura",
    )
