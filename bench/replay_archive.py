"""Build a synthetic crawl archive for replay benchmarks: feeds and article pages of realistic size and structure.

``articles`` pages from ``outlets`` outlets (default 40), written as one .warc.gz, streamed (memory stays flat at
any size)::

    python bench/replay_archive.py --articles 100000 --out /tmp/replay-100k.warc.gz

- **Pages** look like a news site's: a ``<head>`` with meta, Open Graph and JSON-LD ``NewsArticle`` tags and
  stylesheet links, an inline analytics script, a header with a navigation menu, the article (headline, byline,
  time, 6-14 paragraphs, a figure with a caption, a pull quote), a "related" list, a comments teaser, a footer
  with link columns. About 25-35 KB of HTML each (news pages weigh 50-600 KB with their inline scripts and JSON,
  most of which is not article markup; the structure here is what trafilatura walks).
- **Stories**: each article covers one of ``articles / 6`` events; an event has its own place and actor names and
  a topic's vocabulary, and is covered by about six outlets within a day, so story clustering has real work:
  joining, near duplicates (one page in 25 is a wire copy another outlet republished), new stories every hour.
- **Feeds**: each outlet's RSS feed is captured after every 10 new articles, listing its latest 20 items (so an
  item is seen in two captures, as in a real crawl); one page in 50 has a second capture with an edited headline
  (a revision), one in 200 is a 404, one in 200 a video page without article text (dead letters).
- Deterministic: the same arguments give the same captures (the WARC record ids are random).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

T0 = datetime(2024, 3, 1, 6, 0, tzinfo=timezone.utc)
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ARTICLES_PER_EVENT = 6
FEED_EVERY = 10
FEED_ITEMS = 20

TOPICS = {
    "floods": "river levee rainfall evacuation sandbags floodwater embankment downpour rescue boats dam overflow",
    "election": "ballot candidate turnout polling coalition parliament campaign voters count manifesto seats runoff",
    "rates": "inflation interest bank mortgage currency bonds lending governor prices borrowing yields economists",
    "strike": "union walkout wages dockers picket negotiations employers pay dispute shifts port cranes",
    "wildfire": "blaze firefighters hectares smoke drought containment flames embers forest aircraft heatwave",
    "space": "launch orbit rocket payload telescope countdown booster spacecraft mission engineers antenna",
    "health": "trial dose regulator clinic antibodies rollout volunteers pharmacists injections immunity hospital",
    "quake": "magnitude tremor aftershock epicentre rubble seismic collapsed buildings quake shaking survivors",
    "football": "striker goalkeeper league transfer penalty stadium coach season fixtures midfielder derby",
    "courts": "judge verdict appeal prosecutors testimony jury sentencing defendant hearing lawyers ruling",
    "energy": "pipeline turbines grid tariffs refinery emissions solar reactor outage utilities gas",
    "tech": "chipmaker smartphone startup software outage regulators antitrust cloud processors users platform",
}
_COMMON_WORDS = (
    "the a of to and in said on for with that was as by at from it has have were after their its been about "
    "more than officials other over would could also into some local two new last week year people month told"
)
COMMON = _COMMON_WORDS.split()
SYLLABLES = "ka lo ren vi sta mar tel dun bro qui za pel or an es ith vol mon"


def _name(rng: random.Random, parts: int = 2) -> str:
    syllables = SYLLABLES.split()
    return "".join(rng.choice(syllables) for _ in range(parts + rng.randrange(2))).capitalize()


class _Event:
    def __init__(self, number: int, rng: random.Random) -> None:
        self.topic = rng.choice(sorted(TOPICS))
        self.words = TOPICS[self.topic].split()
        self.place = f"{_name(rng)} {rng.choice(['City', 'Valley', 'Bay', 'Heights', 'Province', 'Port'])}"
        self.actors = [f"{_name(rng)} {_name(rng, 3)}" for _ in range(3)]
        self.organisation = f"{_name(rng, 3)} {rng.choice(['Group', 'Council', 'Agency', 'Union', 'Ministry'])}"
        self.number = number

    def sentence(self, rng: random.Random) -> str:
        words = [rng.choice(self.words) if rng.random() < 0.35 else rng.choice(COMMON) for _ in range(14)]
        subject = rng.choice([self.place, *self.actors, self.organisation])
        return f"{subject} {' '.join(words[:7])}, {' '.join(words[7:])}."

    def headline(self, rng: random.Random) -> str:
        return f"{rng.choice(self.actors)} {rng.choice(self.words)} {rng.choice(self.words)} in {self.place}"


def _nav(host: str) -> str:
    sections = ["World", "Politics", "Business", "Tech", "Science", "Health", "Sport", "Culture", "Opinion"]
    links = "".join(f'<li class="menu-item"><a href="{host}/{s.lower()}/">{s}</a></li>' for s in sections * 3)
    logo = f'<div class="logo"><a href="{host}/">Home</a></div>'
    return f'<header class="site-header">{logo}<nav><ul>{links}</ul></nav></header>'


def _footer(host: str) -> str:
    columns = "".join(
        f'<div class="col"><h4>{title}</h4><ul>'
        + "".join(f'<li><a href="{host}/{title.lower()}/{n}">{title} link {n}</a></li>' for n in range(8))
        + "</ul></div>"
        for title in ("About", "Services", "Legal", "Follow")
    )
    return f'<footer class="site-footer">{columns}<p class="copyright">Copyright 2024 Example Media Ltd.</p></footer>'


_SCRIPT = (
    "<script>window.dataLayer=window.dataLayer||[];"
    + "".join(f"function t{n}(e){{dataLayer.push({{event:'e{n}',value:e,ts:Date.now()}});}}" for n in range(60))
    + "</script>"
)


def _state(title: str, url: str) -> str:
    """The page state a JavaScript front end embeds (``__NEXT_DATA__``): ~10 KB of JSON no reader wants."""
    teasers = ",".join(
        f'{{"id":{n},"title":"{title} teaser {n}","url":"{url}?t={n}","image":"/img/{n}.jpg","tags":["a","b","c"]}}'
        for n in range(80)
    )
    return f'<script id="__NEXT_DATA__" type="application/json">{{"props":{{"teasers":[{teasers}]}}}}</script>'


def article_page(host: str, url: str, title: str, paragraphs: list[str], published: datetime, author: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    middle = len(paragraphs) // 2
    quote = f'<blockquote class="pull-quote">{paragraphs[middle][:160]}</blockquote>'
    related = "".join(f'<li><a href="{host}/news/related-{n}">Related story number {n}</a></li>' for n in range(10))
    iso = published.isoformat()
    head = (
        f'<meta charset="utf-8"><title>{title} | Example Media</title>'
        f'<meta name="description" content="{paragraphs[0][:150]}">'
        f'<meta property="og:title" content="{title}"><meta property="og:type" content="article">'
        f'<meta property="og:url" content="{url}"><meta name="author" content="{author}">'
        f'<meta property="article:published_time" content="{iso}">'
        f'<link rel="canonical" href="{url}">'
        + "".join(f'<link rel="stylesheet" href="{host}/static/css/{n}.css">' for n in range(6))
        + '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
        f'"headline":"{title}","datePublished":"{iso}","author":{{"@type":"Person","name":"{author}"}}}}</script>'
        + _SCRIPT
        + _state(title, url)
    )
    article = (
        f'<article class="story"><h1 class="headline">{title}</h1>'
        f'<div class="byline">By <span class="author">{author}</span> <time datetime="{iso}">'
        f"{published:%d %B %Y, %H:%M}</time></div>"
        f"{body[: len(body) // 2]}"
        f'<figure><img src="{host}/img/{zlib.crc32(url.encode()) % 10**6}.jpg" alt="photo"><figcaption>'
        f"A view of the scene. Photo: agency.</figcaption></figure>{quote}{body[len(body) // 2 :]}</article>"
    )
    aside = f'<aside class="related"><h3>Related</h3><ul>{related}</ul></aside>'
    comments = '<section class="comments"><h3>Comments</h3><p>Sign in to join the conversation.</p></section>'
    return (
        f'<!doctype html><html lang="en"><head>{head}</head><body>{_nav(host)}<main>{article}{aside}{comments}'
        f"</main>{_footer(host)}</body></html>"
    ).encode()


def video_page(host: str, title: str) -> bytes:
    """A video page: a player and a headline, no article text (extraction dead-letters it)."""
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>'
        f'<main><h1>{title}</h1><div class="player"><video src="{host}/v.mp4"></video></div></main></body></html>'
    ).encode()


def feed(title: str, host: str, items: list[tuple[str, str, datetime, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{summary}</description></item>"
        for t, link, when, summary in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{host}/</link><language>en</language>{entries}</channel></rss>"
    ).encode()


def captures(articles: int, outlets: int = 40, seed: int = 11) -> Iterator[tuple[str, datetime, bytes, str, int]]:
    """(url, captured_at, body, content type, status), in capture order (roughly: an hour's pages, then feeds)."""
    rng = random.Random(seed)
    spacing = timedelta(days=60) / max(articles, 1)  # the whole archive spans about two months
    latest: dict[int, list[tuple[str, str, datetime, str]]] = {n: [] for n in range(outlets)}
    active: list[_Event] = []
    wire: list[tuple[str, list[str]]] = []
    for number in range(articles):
        if not active or rng.random() < 1 / ARTICLES_PER_EVENT:
            active.append(_Event(len(active) + number, rng))
            active = active[-12:]  # a dozen events in the news at once
        event = rng.choice(active)
        outlet = rng.randrange(outlets)
        host = f"https://www.outlet{outlet}.example"
        url = f"{host}/news/{event.topic}/{number:07d}-story"
        published = T0 + spacing * number
        if wire and rng.random() < 0.04:  # a wire copy republished
            title, paragraphs = rng.choice(wire)
        else:
            title = event.headline(rng)
            paragraphs = [
                " ".join(event.sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(rng.randint(6, 14))
            ]
            if rng.random() < 0.1:
                wire = [*wire, (title, paragraphs)][-50:]
        author = f"{_name(rng)} {_name(rng, 3)}"
        roll = rng.random()
        if roll < 0.005:
            yield url, published + timedelta(minutes=3), b"<html><body>Not found</body></html>", HTML, 404
        elif roll < 0.01:
            yield url, published + timedelta(minutes=3), video_page(host, title), HTML, 200
        else:
            yield (
                url,
                published + timedelta(minutes=3),
                article_page(host, url, title, paragraphs, published, author),
                HTML,
                200,
            )
            if roll > 0.98:  # an edited headline an hour later: a revision
                edited = article_page(host, url, f"{title} (updated)", paragraphs, published, author)
                yield url, published + timedelta(hours=1), edited, HTML, 200
        items = latest[outlet]
        items.append((title, url, published, paragraphs[0][:200]))
        del items[:-FEED_ITEMS]
        if number % FEED_EVERY == outlet % FEED_EVERY or number == articles - 1:
            body = feed(f"Outlet {outlet}", host, list(reversed(items)))
            yield f"{host}/rss.xml", published + timedelta(minutes=5), body, RSS, 200
    for outlet, items in latest.items():  # every feed once more at the end, so every page is listed
        if items:
            host = f"https://www.outlet{outlet}.example"
            body = feed(f"Outlet {outlet}", host, list(reversed(items)))
            yield f"{host}/rss.xml", T0 + spacing * articles + timedelta(hours=1), body, RSS, 200


def write_archive(path: Path, articles: int, outlets: int = 40, seed: int = 11) -> tuple[int, int]:
    """Write the archive; (records, bytes of HTTP bodies)."""
    records = body_bytes = 0
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, at, body, content_type, status in captures(articles, outlets, seed):
            reason = "OK" if status == 200 else "Not Found"
            headers = StatusAndHeaders(
                f"{status} {reason}",
                [("Content-Type", content_type), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
            )
            writer.write_record(record)
            records += 1
            body_bytes += len(body)
    return records, body_bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--outlets", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, required=True, help="the .warc.gz to write")
    args = parser.parse_args(argv)
    records, body_bytes = write_archive(args.out, args.articles, args.outlets, args.seed)
    print(
        f"wrote {args.out}: {records} records, {body_bytes / 1e6:.0f} MB of bodies "
        f"({args.out.stat().st_size / 1e6:.0f} MB on disk)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
