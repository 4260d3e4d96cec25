"""A larger synthetic archive for delivery tests: many outlets covering several stories over a few days, with
revisions, so a replay produces a few hundred Kafka messages (articles, many story snapshots, events)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.support.warc import RSS, Capture, page, rss, write_warc

T0 = datetime(2023, 6, 1, 6, 0, tzinfo=timezone.utc)

TOPICS = {
    "flood": "river levee rainfall evacuation sandbags floodwater embankment downpour rescue boats dam overflow",
    "election": "ballot candidate turnout polling coalition parliament campaign voters count manifesto seats runoff",
    "rates": "inflation interest central bank mortgage currency bonds lending governor prices borrowing yields",
    "strike": "union walkout wages dockers picket negotiations employers pay dispute shifts port cranes",
    "wildfire": "blaze firefighters hectares smoke drought containment flames embers forest aircraft heatwave",
    "satellite": "launch orbit rocket payload telescope countdown booster spacecraft mission engineers antenna",
    "vaccine": "trial dose regulator clinic antibodies rollout volunteers pharmacists injections immunity",
    "earthquake": "magnitude tremor aftershock epicentre rubble seismic collapsed buildings quake shaking",
}
PLACES = ["Halvard", "Oskby", "Marren", "Tellis", "Vorna", "Quaybridge"]


def _paragraphs(topic: str, outlet: int, rng: random.Random) -> list[str]:
    words = TOPICS[topic].split()
    place = PLACES[(outlet + len(topic)) % len(PLACES)]
    paragraphs = []
    for _ in range(4):
        chosen = rng.sample(words, 8)
        paragraphs.append(
            f"In {place}, {chosen[0]} and {chosen[1]} {chosen[2]}: {chosen[3]} {chosen[4]}, "
            f"{chosen[5]} {chosen[6]} with {chosen[7]} {topic} {rng.choice(words)} {rng.choice(words)}."
        )
    return paragraphs


def synthetic_captures(outlets: int = 6, seed: int = 7) -> list[Capture]:
    """Feeds and pages: every outlet covers every topic once; some topics return days later; some pages
    are re-captured with an edited headline (a revision)."""
    rng = random.Random(seed)
    captures: list[Capture] = []
    for outlet in range(outlets):
        host = f"https://outlet{outlet}.example"
        items = []
        for index, topic in enumerate(TOPICS):
            listed = T0 + timedelta(hours=3 * index + outlet, days=(index % 3) * 2)
            link = f"{host}/{topic}-{outlet}"
            items.append({"title": f"{topic.title()} update from outlet {outlet}", "link": link, "date": _date(listed)})
            body = page(f"{topic.title()} update from outlet {outlet}", _paragraphs(topic, outlet, rng))
            captures.append(Capture(link, listed + timedelta(minutes=20), body))
            if (outlet + index) % 5 == 0:  # an edited headline later: a revision
                edited = page(f"{topic.title()} latest from outlet {outlet}", _paragraphs(topic, outlet, rng))
                captures.append(Capture(link, listed + timedelta(hours=5), edited))
        feed_at = T0 + timedelta(days=7)
        captures.append(Capture(f"{host}/rss.xml", feed_at, rss(f"Outlet {outlet}", host, items), RSS))
    return captures


def write_synthetic_archive(directory: Path, outlets: int = 6) -> Path:
    """One .warc.gz with feeds and pages of ``outlets`` outlets x 8 topics (48 articles at 6 outlets)."""
    return write_warc(directory / "synthetic.warc.gz", synthetic_captures(outlets))


def _date(at: datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S GMT")
