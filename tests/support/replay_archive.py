"""A small synthetic archive with known contents, for pipeline tests (the demo sample is bigger)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.support.warc import RSS, Capture, page, rss, write_warc

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)

KREMLIN = [
    "Moscow said two drones targeted the Kremlin overnight and were disabled by air defence systems.",
    "The Kremlin called it a planned terrorist act and an attempt on the life of President Vladimir Putin.",
    "Ukraine denied any involvement, and President Volodymyr Zelenskyy said Kyiv was defending its own territory.",
    "Footage showed a flash above the Senate Palace dome as a small object exploded near the flagpole.",
]
RATES = [
    "The central bank raised its key interest rate by a quarter point on Thursday, citing stubborn inflation.",
    "Analysts had expected the move after figures showed consumer prices rising faster than forecast.",
    "The governor said further increases could not be ruled out if wage growth remained strong this summer.",
    "Markets reacted calmly, with the currency edging higher against the dollar and bond yields unchanged.",
]


def _date(at: datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S GMT")


def feed_captures() -> list[Capture]:
    a_items = [
        {"title": "Kremlin drone attack", "link": "https://a.example/kremlin?utm_source=rss", "date": _date(T0)},
        {"title": "Rates up", "link": "https://a.example/rates", "date": _date(T0 - timedelta(hours=1))},
        {"title": "Missing page", "link": "https://a.example/missing", "date": _date(T0 - timedelta(hours=1))},
    ]
    d_items = [{"title": "Rate rise", "link": "https://d.example/rates", "date": _date(T0)}]
    b_items = [{"title": "Drones over the Kremlin", "link": "https://b.example/drones", "date": _date(T0)}]
    return [
        Capture("https://a.example/rss.xml", T0, rss("A", "https://a.example", a_items), RSS),
        Capture("https://b.example/rss.xml", T0 + timedelta(minutes=5), rss("B", "https://b.example", b_items), RSS),
        Capture("https://c.example/rss.xml", T0 + timedelta(minutes=6), b"<rss><channel><title>broken", RSS),
        # Truncated after its first item: the item is used and the feed reported.
        Capture(
            "https://d.example/rss.xml",
            T0 + timedelta(minutes=7),
            rss("D", "https://d.example", d_items).replace(b"</channel></rss>", b"<item><title>cut"),
            RSS,
        ),
        Capture("https://a.example/rss.xml", T0 + timedelta(hours=6), rss("A", "https://a.example", a_items), RSS),
    ]


def page_captures() -> list[Capture]:
    return [
        Capture("https://a.example/kremlin", T0 + timedelta(minutes=20), page("Kremlin drone attack", KREMLIN)),
        Capture("https://a.example/rates", T0 + timedelta(minutes=21), page("Rates up", RATES)),
        Capture("https://b.example/drones", T0 + timedelta(minutes=22), page("Drones over the Kremlin", KREMLIN[::-1])),
        # The same page again: an exact repeat.
        Capture("https://b.example/drones", T0 + timedelta(minutes=52), page("Drones over the Kremlin", KREMLIN[::-1])),
        # Edited later: a revision of the same article.
        Capture("https://a.example/rates", T0 + timedelta(hours=3), page("Rates up by a quarter point", RATES)),
        Capture("https://d.example/rates", T0 + timedelta(minutes=30), page("Rate rise", RATES[1:] + RATES[:1])),
        Capture("https://a.example/video", T0 + timedelta(minutes=25), b"<html><body><nav>Video</nav></body></html>"),
        Capture("https://a.example/gone", T0 + timedelta(minutes=26), b"Not found", "text/html", status=404),
    ]


def write_fixture_archives(directory: Path) -> tuple[Path, Path]:
    """Feeds and pages in two archives, so tests can also check that archive order does not matter."""
    return (
        write_warc(directory / "feeds.warc.gz", feed_captures()),
        write_warc(directory / "pages.warc.gz", page_captures()),
    )
