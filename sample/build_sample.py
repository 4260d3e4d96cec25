"""Build the storywire demo sample: a small WARC archive of feed polls and article fetches.

Sources (all in this folder, see README.md):
  outlets.yaml      the outlets, their feeds and page templates
  captures.yaml     when feeds were polled and pages fetched, and which poll returned a broken feed
  articles/*.md     one article per file: YAML front matter + paragraphs (``## `` starts a subheading)
  wire/*.md         wire-agency copy carried verbatim by several outlets

Outputs:
  storywire-sample.warc.gz         what ``storywire replay`` reads
  storywire-sample.expected.json   facts about the sample (gold stories, odd records, counts) for tests

The build is deterministic: record ids are hashes of (type, URL, capture time), every date comes from the
sources, and records are written in (capture time, URL) order, so two runs give byte-identical files.

Usage: python sample/build_sample.py [--out PATH] [--expected PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import itertools
import json
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import yaml
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SAMPLE_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = SAMPLE_DIR.parent / "pipelines" / "bundled" / "storywire-sample.warc.gz"
WARC_FILENAME = "storywire-sample.warc.gz"
USER_AGENT = "storywire-sample/1.0 (+https://storywire.example/about)"
SERVER = "nginx"
# Namespace for the record ids: any fixed UUID works, it only has to never change.
RECORD_ID_NAMESPACE = uuid.UUID("6f1c2a0e-5b7d-4c3e-9a61-0d2f4e8b7c15")
FEED_CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
HTTP_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}
ARTICLE_KINDS = ("article", "no-text", "http-404")
ArticleKind = Literal["article", "no-text", "http-404"]
FeedFormat = Literal["rss", "atom"]


class SampleError(Exception):
    """The sample sources are inconsistent (bad field, article never listed in a feed, ...)."""


# --------------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Outlet:
    key: str
    domain: str
    name: str
    feed_url: str
    feed_format: FeedFormat
    utc_offset: int
    tz_label: str
    link_query: str
    capture_minute: int
    first_capture: datetime | None
    sections: tuple[str, ...]
    footer: str
    fictional: bool

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=self.utc_offset))

    @property
    def home(self) -> str:
        return f"https://{self.domain}/"


@dataclass(frozen=True)
class Block:
    """One paragraph, or a subheading when ``heading`` is set."""

    text: str
    heading: bool = False


@dataclass(frozen=True)
class Revision:
    """A correction published after the first version; the page is fetched again at ``captured``."""

    updated: datetime
    captured: datetime
    title: str
    summary: str | None
    replacements: tuple[tuple[str, str], ...]
    note: str | None


@dataclass(frozen=True)
class Version:
    """What an article looked like at some moment."""

    title: str
    summary: str
    blocks: tuple[Block, ...]
    modified: datetime
    number: int


@dataclass(frozen=True)
class Article:
    source: str
    outlet: Outlet
    url: str
    fetched_url: str
    section: str
    title: str
    summary: str
    published: datetime
    author: str | None
    story: str
    development: str | None
    kind: ArticleKind
    wire: str | None
    blocks: tuple[Block, ...]
    revision: Revision | None

    def version_at(self, when: datetime) -> Version:
        first = Version(self.title, self.summary, self.blocks, self.published, 1)
        rev = self.revision
        if rev is None or when < rev.updated:
            return first
        blocks = list(self.blocks)
        for old, new in rev.replacements:
            blocks = [Block(b.text.replace(old, new), b.heading) for b in blocks]
        if rev.note:
            blocks.append(Block(rev.note))
        return Version(rev.title, rev.summary or self.summary, tuple(blocks), rev.updated, 2)


@dataclass(frozen=True)
class Schedule:
    start: datetime
    end: datetime
    every: timedelta
    feed_items: int
    page_delay_minutes: tuple[int, int]
    malformed: dict[tuple[str, datetime], float]


@dataclass(frozen=True)
class Capture:
    """One HTTP exchange to archive: a feed poll or a page fetch."""

    at: datetime
    url: str
    kind: Literal["feed", "page"]
    status: int
    content_type: str
    body: bytes
    last_modified: datetime | None
    outlet: str
    malformed: bool = False
    article: Article | None = None
    version: int = 0
    listed: tuple[str, ...] = field(default_factory=tuple)


# -------------------------------------------------------------------------------------------------- loading


def parse_time(value: object, where: str) -> datetime:
    """Read a UTC time from YAML (PyYAML turns unquoted timestamps into datetimes, quoted ones stay str)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise SampleError(f"{where}: not an ISO-8601 time: {value!r}") from exc
    else:
        raise SampleError(f"{where}: expected a time, got {value!r}")
    if parsed.tzinfo is None:
        raise SampleError(f"{where}: time without a timezone: {value!r}")
    return parsed.astimezone(timezone.utc)


def _str(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SampleError(f"{where}: field {key!r} must be a string, got {value!r}")
    return value


def _opt_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SampleError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SampleError(f"{path.name}: expected a mapping at the top level")
    return data


def load_outlets(path: Path) -> dict[str, Outlet]:
    outlets: dict[str, Outlet] = {}
    for raw in _load_yaml(path).get("outlets", []):
        where = f"{path.name}:{raw.get('key')}"
        fmt = _str(raw, "feed_format", where)
        if fmt not in FEED_CONTENT_TYPES:
            raise SampleError(f"{where}: feed_format must be rss or atom")
        first = raw.get("first_capture")
        outlet = Outlet(
            key=_str(raw, "key", where),
            domain=_str(raw, "domain", where),
            name=_str(raw, "name", where),
            feed_url=_str(raw, "feed_url", where),
            feed_format="rss" if fmt == "rss" else "atom",
            utc_offset=int(raw["utc_offset"]),
            tz_label=_str(raw, "tz_label", where),
            link_query=_str(raw, "link_query", where, ""),
            capture_minute=int(raw["capture_minute"]),
            first_capture=None if first is None else parse_time(first, where),
            sections=tuple(str(s) for s in raw["sections"]),
            footer=_str(raw, "footer", where),
            fictional=bool(raw["fictional"]),
        )
        if outlet.fictional and not outlet.domain.endswith(".example"):
            raise SampleError(f"{where}: fictional outlets must use a .example domain")
        if outlet.key in outlets:
            raise SampleError(f"{where}: duplicate outlet key")
        outlets[outlet.key] = outlet
    return outlets


def load_schedule(path: Path, outlets: dict[str, Outlet]) -> Schedule:
    raw = _load_yaml(path)
    where = path.name
    malformed: dict[tuple[str, datetime], float] = {}
    for item in raw.get("malformed_feeds", []):
        if item["outlet"] not in outlets:
            raise SampleError(f"{where}: unknown outlet {item['outlet']!r}")
        keep = float(item["keep_fraction"])
        if not 0.0 < keep < 1.0:
            raise SampleError(f"{where}: keep_fraction must be between 0 and 1 (exclusive)")
        malformed[(item["outlet"], parse_time(item["at"], where))] = keep
    low, high = (int(v) for v in raw["page_delay_minutes"])
    return Schedule(
        start=parse_time(raw["start"], where),
        end=parse_time(raw["end"], where),
        every=timedelta(hours=int(raw["every_hours"])),
        feed_items=int(raw["feed_items"]),
        page_delay_minutes=(low, high),
        malformed=malformed,
    )


def read_markdown(path: Path) -> tuple[dict[str, Any], tuple[Block, ...]]:
    """Split a source file into its YAML front matter and its blocks (blank-line separated)."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A---\n(.*?)\n---\n(.*)\Z", text, re.DOTALL)
    if match is None:
        raise SampleError(f"{path.name}: missing '---' front matter")
    front = yaml.safe_load(match.group(1))
    if not isinstance(front, dict):
        raise SampleError(f"{path.name}: front matter must be a mapping")
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", match.group(2).strip()):
        line = " ".join(chunk.split())
        if not line:
            continue
        if line.startswith("## "):
            blocks.append(Block(line[3:], heading=True))
        else:
            blocks.append(Block(line))
    return front, tuple(blocks)


def load_wires(directory: Path) -> dict[str, tuple[str, tuple[Block, ...]]]:
    """Wire stories by id: (agency, blocks)."""
    wires: dict[str, tuple[str, tuple[Block, ...]]] = {}
    for path in sorted(directory.glob("*.md")):
        front, blocks = read_markdown(path)
        wires[path.stem] = (_str(front, "agency", path.name), blocks)
    return wires


def _load_revision(raw: object, where: str) -> Revision | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise SampleError(f"{where}: revision must be a mapping")
    pairs: list[tuple[str, str]] = []
    for item in raw.get("replace", []):
        pairs.append((_str(item, "old", where), _str(item, "new", where)))
    return Revision(
        updated=parse_time(raw["updated"], where),
        captured=parse_time(raw["captured"], where),
        title=_str(raw, "title", where),
        summary=_opt_str(raw, "summary", where),
        replacements=tuple(pairs),
        note=_opt_str(raw, "note", where),
    )


def load_articles(
    directory: Path, outlets: dict[str, Outlet], wires: dict[str, tuple[str, tuple[Block, ...]]]
) -> list[Article]:
    articles: list[Article] = []
    for path in sorted(directory.glob("*.md")):
        where = path.name
        front, blocks = read_markdown(path)
        outlet_key = _str(front, "outlet", where)
        if outlet_key not in outlets:
            raise SampleError(f"{where}: unknown outlet {outlet_key!r}")
        outlet = outlets[outlet_key]
        kind = _str(front, "kind", where, "article")
        if kind not in ARTICLE_KINDS:
            raise SampleError(f"{where}: kind must be one of {ARTICLE_KINDS}")
        article_path = _str(front, "path", where)
        if not article_path.startswith("/") or "?" in article_path:
            raise SampleError(f"{where}: path must start with '/' and carry no query")
        url = f"https://{outlet.domain}{article_path}"
        wire = _opt_str(front, "wire", where)
        if wire is not None:
            if blocks:
                raise SampleError(f"{where}: a wire copy takes its body from wire/{wire}.md")
            if wire not in wires:
                raise SampleError(f"{where}: unknown wire story {wire!r}")
            blocks = wires[wire][1]
        if kind != "article" and blocks:
            raise SampleError(f"{where}: a {kind} page has no body text")
        if kind == "article" and not 4 <= len([b for b in blocks if not b.heading]) <= 40:
            raise SampleError(f"{where}: an article needs at least 4 paragraphs")
        revision = _load_revision(front.get("revision"), where)
        article = Article(
            source=path.name,
            outlet=outlet,
            url=url,
            fetched_url=f"{url}?{outlet.link_query}" if outlet.link_query else url,
            section=_str(front, "section", where),
            title=_str(front, "title", where),
            summary=_str(front, "summary", where),
            published=parse_time(front["published"], where),
            author=_opt_str(front, "author", where),
            story=_str(front, "story", where),
            development=_opt_str(front, "development", where),
            kind="article" if kind == "article" else "no-text" if kind == "no-text" else "http-404",
            wire=wire,
            blocks=blocks,
            revision=revision,
        )
        if revision is not None:
            _check_revision(article, revision, where)
        articles.append(article)
    urls = [a.url for a in articles]
    duplicates = sorted({u for u in urls if urls.count(u) > 1})
    if duplicates:
        raise SampleError(f"duplicate article URLs: {duplicates}")
    return articles


def _check_revision(article: Article, rev: Revision, where: str) -> None:
    if not article.published < rev.updated < rev.captured:
        raise SampleError(f"{where}: need published < revision.updated < revision.captured")
    text = "\n".join(b.text for b in article.blocks)
    for old, _new in rev.replacements:
        if old not in text:
            raise SampleError(f"{where}: revision text to replace not found: {old!r}")


# ------------------------------------------------------------------------------------------------ rendering


def _local(when: datetime, outlet: Outlet) -> datetime:
    return when.astimezone(outlet.tz)


def iso_time(when: datetime, outlet: Outlet) -> str:
    text = _local(when, outlet).isoformat()
    return text.replace("+00:00", "Z")


def rfc822_time(when: datetime, outlet: Outlet) -> str:
    if outlet.tz_label == "GMT" and outlet.utc_offset == 0:
        return format_datetime(when.astimezone(timezone.utc), usegmt=True)
    return format_datetime(_local(when, outlet))


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


def human_time(when: datetime, outlet: Outlet) -> str:
    local = _local(when, outlet)
    return f"{local.day} {local:%B %Y}, {local:%H:%M} {outlet.tz_label}"


def warc_date(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _feed_item_id(article: Article) -> str:
    # Outlets disagree on ids: some use the URL as a permalink guid, others an opaque tag.
    digest = hashlib.sha256(article.url.encode()).hexdigest()[:8]
    if article.outlet.feed_format == "atom":
        day = article.published.strftime("%Y-%m-%d")
        return f"tag:{article.outlet.domain},{day}:{urlsplit(article.url).path}"
    if article.outlet.link_query:
        return f"{article.outlet.key}:article:{digest}"
    return article.url


def render_rss(outlet: Outlet, items: Sequence[tuple[Article, Version]], built: datetime) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{xml_escape(outlet.name)}</title>",
        f"<link>{xml_escape(outlet.home)}</link>",
        f"<description>{xml_escape(_feed_description(outlet))}</description>",
        "<language>en</language>",
        f'<atom:link href={quoteattr(outlet.feed_url)} rel="self" type="application/rss+xml"/>',
        f"<lastBuildDate>{rfc822_time(built, outlet)}</lastBuildDate>",
        "<ttl>30</ttl>",
    ]
    for article, version in items:
        guid = _feed_item_id(article)
        permalink = "true" if guid == article.url else "false"
        lines += [
            "<item>",
            f"<title>{xml_escape(version.title)}</title>",
            f"<link>{xml_escape(article.fetched_url)}</link>",
            f'<guid isPermaLink="{permalink}">{xml_escape(guid)}</guid>',
            f"<pubDate>{rfc822_time(article.published, outlet)}</pubDate>",
        ]
        if article.author:
            lines.append(f"<dc:creator>{xml_escape(article.author)}</dc:creator>")
        lines += [
            f"<category>{xml_escape(article.section)}</category>",
            f"<description>{xml_escape(version.summary)}</description>",
            "</item>",
        ]
    lines += ["</channel>", "</rss>", ""]
    return "\n".join(lines).encode("utf-8")


def render_atom(outlet: Outlet, items: Sequence[tuple[Article, Version]], built: datetime) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"<id>tag:{outlet.domain},2023:feed</id>",
        f"<title>{xml_escape(outlet.name)}</title>",
        f"<subtitle>{xml_escape(_feed_description(outlet))}</subtitle>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(outlet.feed_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(outlet.home)}/>',
        f"<updated>{iso_time(built, outlet)}</updated>",
    ]
    for article, version in items:
        author = article.author or outlet.name
        lines += [
            "<entry>",
            f"<id>{xml_escape(_feed_item_id(article))}</id>",
            f"<title>{xml_escape(version.title)}</title>",
            f'<link rel="alternate" type="text/html" href={quoteattr(article.fetched_url)}/>',
            f"<published>{iso_time(article.published, outlet)}</published>",
            f"<updated>{iso_time(version.modified, outlet)}</updated>",
            f"<author><name>{xml_escape(author)}</name></author>",
            f"<category term={quoteattr(article.section)}/>",
            f"<summary>{xml_escape(version.summary)}</summary>",
            "</entry>",
        ]
    lines += ["</feed>", ""]
    return "\n".join(lines).encode("utf-8")


def _feed_description(outlet: Outlet) -> str:
    if outlet.fictional:
        return f"Latest stories from {outlet.name}. A fictional outlet: storywire sample data."
    return f"Latest stories from {outlet.name} (feed reconstructed for the storywire sample)."


def _page_head(outlet: Outlet, title: str, canonical: str, extra_meta: Iterable[tuple[str, str, str]]) -> str:
    esc = html.escape
    meta = "\n".join(f'<meta {attr}="{esc(name)}" content="{esc(value)}">' for attr, name, value in extra_meta)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} | {esc(outlet.name)}</title>\n"
        f'<link rel="canonical" href="{esc(canonical)}">\n'
        f"{meta}\n"
        '<link rel="stylesheet" href="/static/site.css">\n'
        "</head>\n"
    )


def _slug(section: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")


def _site_header(outlet: Outlet, static_menu: bool = True) -> str:
    esc = html.escape
    if static_menu:
        links = "".join(f'<li><a href="/{_slug(s)}/">{esc(s)}</a></li>' for s in outlet.sections)
        account = '<a class="subscribe" href="/subscribe">Subscribe</a> <a class="login" href="/account">Sign in</a>\n'
        nav = f'<nav class="main-nav" aria-label="Sections"><ul>{links}</ul></nav>\n'
    else:
        account = ""
        nav = (
            '<nav class="main-nav" aria-label="Sections" data-menu-src="/api/menu.json"></nav>\n'
            '<script src="/static/menu.js" defer></script>\n'
        )
    return f'<header class="site-header">\n<a class="logo" href="/">{esc(outlet.name)}</a>\n{account}{nav}</header>\n'


def _site_footer(outlet: Outlet) -> str:
    esc = html.escape
    return (
        '<footer class="site-footer">\n'
        '<nav aria-label="About"><ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>'
        '<li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li></ul></nav>\n'
        f"<p>{esc(outlet.footer)}</p>\n"
        "</footer>\n</body>\n</html>\n"
    )


def render_page(article: Article, version: Version) -> bytes:
    outlet = article.outlet
    esc = html.escape
    meta: list[tuple[str, str, str]] = [("name", "description", version.summary)]
    if article.author:
        meta.append(("name", "author", article.author))
    meta += [
        ("property", "og:type", "video.other" if article.kind == "no-text" else "article"),
        ("property", "og:title", version.title),
        ("property", "og:description", version.summary),
        ("property", "og:url", article.url),
        ("property", "og:site_name", outlet.name),
        ("property", "article:published_time", iso_time(article.published, outlet)),
    ]
    if version.number > 1:
        meta.append(("property", "article:modified_time", iso_time(version.modified, outlet)))
    meta.append(("property", "article:section", article.section))

    # The video template is a script-driven shell: its section menu is filled in by JavaScript.
    header = _site_header(outlet, static_menu=article.kind != "no-text")
    parts = [_page_head(outlet, version.title, article.url, meta), "<body>\n", header]
    parts.append('<main id="content">\n<article class="story">\n')
    parts.append(f"<h1>{esc(version.title)}</h1>\n")
    if article.kind != "no-text":  # video pages carry no byline, only the player
        byline = f'By <span class="author">{esc(article.author)}</span> · ' if article.author else ""
        parts.append(
            f'<p class="byline">{byline}<time datetime="{iso_time(article.published, outlet)}">'
            f"{esc(human_time(article.published, outlet))}</time></p>\n"
        )
    if version.number > 1:
        parts.append(
            f'<p class="updated">Updated <time datetime="{iso_time(version.modified, outlet)}">'
            f"{esc(human_time(version.modified, outlet))}</time></p>\n"
        )
    if article.kind == "no-text":
        poster = f"{urlsplit(article.url).path}/poster.jpg"
        parts.append(
            '<figure class="video">\n'
            f'<video controls preload="none" poster="{esc(poster)}">'
            f'<source src="{esc(urlsplit(article.url).path)}/video.mp4" type="video/mp4"></video>\n'
            "</figure>\n"
        )
    else:
        parts.append(f'<p class="standfirst"><strong>{esc(version.summary)}</strong></p>\n')
        if article.wire:
            parts.append('<p class="credit">This story was supplied by a news agency.</p>\n')
        parts.append('<div class="story-body">\n')
        for block in version.blocks:
            tag = "h2" if block.heading else "p"
            parts.append(f"<{tag}>{esc(block.text)}</{tag}>\n")
        parts.append("</div>\n")
    parts.append("</article>\n")
    parts.append(
        '<aside class="related"><h2>Most read</h2><ul>'
        '<li><a href="/newsletters">Sign up to our morning briefing</a></li>'
        '<li><a href="/puzzles">Today\u2019s crossword</a></li>'
        '<li><a href="/weather">Weather forecast</a></li></ul></aside>\n'
    )
    parts.append("</main>\n")
    parts.append(_site_footer(outlet))
    return "".join(parts).encode("utf-8")


def render_not_found(outlet: Outlet) -> bytes:
    parts = [
        _page_head(outlet, "Page not found", outlet.home, [("name", "robots", "noindex")]),
        "<body>\n",
        _site_header(outlet),
        '<main id="content">\n<h1>Page not found</h1>\n'
        "<p>Sorry, we could not find that page. It may have been moved or removed.</p>\n</main>\n",
        _site_footer(outlet),
    ]
    return "".join(parts).encode("utf-8")


def truncate(body: bytes, keep_fraction: float) -> bytes:
    """Cut a body mid-document, as a server that dies while sending would (never inside a UTF-8 char)."""
    cut = int(len(body) * keep_fraction)
    while cut > 0 and body[cut] & 0xC0 == 0x80:
        cut -= 1
    return body[:cut]


# ------------------------------------------------------------------------------------------------- planning


def feed_poll_times(outlet: Outlet, schedule: Schedule) -> list[datetime]:
    times: list[datetime] = []
    slot = schedule.start
    while slot <= schedule.end:
        at = slot + timedelta(minutes=outlet.capture_minute)
        if outlet.first_capture is None or at >= outlet.first_capture:
            times.append(at)
        slot += schedule.every
    return times


def _page_delay(url: str, schedule: Schedule) -> timedelta:
    low, high = schedule.page_delay_minutes
    spread = int(hashlib.sha256(url.encode()).hexdigest()[:8], 16) % (high - low + 1)
    return timedelta(minutes=low + spread)


def plan_captures(outlets: dict[str, Outlet], articles: Sequence[Article], schedule: Schedule) -> list[Capture]:
    captures: list[Capture] = []
    first_listed: dict[str, datetime] = {}
    used_malformed: set[tuple[str, datetime]] = set()
    for outlet in outlets.values():
        own = sorted((a for a in articles if a.outlet.key == outlet.key), key=lambda a: (a.published, a.url))
        for at in feed_poll_times(outlet, schedule):
            shown = [a for a in own if a.published < at][-schedule.feed_items :][::-1]
            items = [(a, a.version_at(at)) for a in shown]
            built = max((v.modified for _a, v in items), default=schedule.start)
            render = render_rss if outlet.feed_format == "rss" else render_atom
            body = render(outlet, items, built)
            keep = schedule.malformed.get((outlet.key, at))
            if keep is not None:
                used_malformed.add((outlet.key, at))
                body = truncate(body, keep)
            else:
                for article in shown:
                    first_listed.setdefault(article.url, at)
            captures.append(
                Capture(
                    at=at,
                    url=outlet.feed_url,
                    kind="feed",
                    status=200,
                    content_type=FEED_CONTENT_TYPES[outlet.feed_format],
                    body=body,
                    last_modified=built,
                    outlet=outlet.key,
                    malformed=keep is not None,
                    listed=tuple(a.url for a in shown),
                )
            )
    unused = set(schedule.malformed) - used_malformed
    if unused:
        raise SampleError(f"malformed_feeds entries match no poll: {sorted(unused)}")

    for article in articles:
        if article.url not in first_listed:
            raise SampleError(f"{article.source}: never listed by a well-formed feed poll")
        fetch_times = [first_listed[article.url] + _page_delay(article.url, schedule)]
        if article.revision is not None:
            if article.revision.updated <= fetch_times[0]:
                # otherwise both fetches would see the corrected text and the edit would be invisible
                raise SampleError(f"{article.source}: revision.updated must come after the first fetch")
            fetch_times.append(article.revision.captured)
        for at in fetch_times:
            version = article.version_at(at)
            if article.kind == "http-404":
                status, body, modified = 404, render_not_found(article.outlet), None
            else:
                status, body, modified = 200, render_page(article, version), version.modified
            captures.append(
                Capture(
                    at=at,
                    url=article.fetched_url,
                    kind="page",
                    status=status,
                    content_type=HTML_CONTENT_TYPE,
                    body=body,
                    last_modified=modified,
                    outlet=article.outlet.key,
                    article=article,
                    version=version.number,
                )
            )
    captures.sort(key=lambda c: (c.at, c.url))
    return captures


# -------------------------------------------------------------------------------------------------- writing


def record_id(record_type: str, url: str, at: datetime) -> str:
    return f"<urn:uuid:{uuid.uuid5(RECORD_ID_NAMESPACE, f'{record_type} {url} {warc_date(at)}')}>"


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def write_warc(captures: Sequence[Capture], out: BinaryIO, outlets: dict[str, Outlet]) -> None:
    writer = WARCWriter(out, gzip=True, warc_version="1.0")
    first = captures[0].at
    info_fields = [
        ("software", "storywire sample/build_sample.py (warcio)"),
        ("format", "WARC File Format 1.0"),
        ("isPartOf", "storywire-sample"),
        (
            "description",
            "storywire sample data: polls of RSS/Atom feeds and fetches of article pages, 28 April - 8 May 2023. "
            "All outlets under the .example TLD and their articles are invented. The euronews.com article text "
            "belongs to euronews and is included as a research sample; its feed and page markup are reconstructed.",
        ),
        ("outlets", " ".join(o.domain for o in outlets.values())),
        ("http-header-user-agent", USER_AGENT),
    ]
    info = "".join(f"{k}: {v}\r\n" for k, v in info_fields).encode("utf-8")
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(info),
            length=len(info),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Date": warc_date(first),
                "WARC-Record-ID": record_id("warcinfo", WARC_FILENAME, first),
                "WARC-Filename": WARC_FILENAME,
            },
        )
    )
    for capture in captures:
        split = urlsplit(capture.url)
        target = split.path + (f"?{split.query}" if split.query else "")
        response_id = record_id("response", capture.url, capture.at)
        request_headers = StatusAndHeaders(
            f"GET {target} HTTP/1.1",
            [
                ("Host", split.netloc),
                ("User-Agent", USER_AGENT),
                (
                    "Accept",
                    "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
                    if capture.kind == "feed"
                    else "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
                ),
                ("Connection", "close"),
            ],
            is_http_request=True,
        )
        writer.write_record(
            writer.create_warc_record(
                capture.url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=request_headers,
                warc_headers_dict={
                    "WARC-Date": warc_date(capture.at),
                    "WARC-Record-ID": record_id("request", capture.url, capture.at),
                    "WARC-Concurrent-To": response_id,
                },
            )
        )
        headers = [
            ("Date", http_date(capture.at)),
            ("Server", SERVER),
            ("Content-Type", capture.content_type),
            ("Content-Length", str(len(capture.body))),
        ]
        if capture.status == 200 and capture.last_modified is not None:
            headers += [("Last-Modified", http_date(capture.last_modified)), ("ETag", _etag(capture.body))]
        headers.append(("Cache-Control", "max-age=300" if capture.status == 200 else "no-cache"))
        status_line = f"{capture.status} {HTTP_REASONS[capture.status]}"
        writer.write_record(
            writer.create_warc_record(
                capture.url,
                "response",
                payload=io.BytesIO(capture.body),
                length=len(capture.body),
                http_headers=StatusAndHeaders(status_line, headers, protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": warc_date(capture.at), "WARC-Record-ID": response_id},
            )
        )


# ------------------------------------------------------------------------------------------------ expected


def expected_facts(
    outlets: dict[str, Outlet], articles: Sequence[Article], captures: Sequence[Capture], schedule: Schedule
) -> dict[str, Any]:
    feeds = [c for c in captures if c.kind == "feed"]
    pages = [c for c in captures if c.kind == "page"]
    listed = {url for c in feeds if not c.malformed for url in c.listed}
    by_url = {a.url: a for a in articles}
    fetched_links = sorted({by_url[u].fetched_url for u in listed})

    article_facts: list[dict[str, Any]] = []
    for article in sorted(articles, key=lambda a: (a.published, a.url)):
        own_pages = [c for c in pages if c.article is article]
        article_facts.append(
            {
                "url": article.url,
                "fetched_url": article.fetched_url,
                "outlet": article.outlet.key,
                "story": article.story,
                "development": article.development,
                "published": warc_date(article.published),
                "title": article.title,
                "titles": sorted({article.version_at(c.at).title for c in own_pages}),
                "page_captures": [warc_date(c.at) for c in own_pages],
                "http_status": own_pages[0].status,
                "wire": article.wire,
                "edited": article.revision is not None,
                "no_text": article.kind == "no-text",
                "http_error": own_pages[0].status >= 400,
                "fictional": article.outlet.fictional,
                "source": f"articles/{article.source}",
            }
        )

    stories: dict[str, dict[str, Any]] = {}
    for fact in article_facts:
        story = stories.setdefault(fact["story"], {"outlets": set(), "urls": []})
        story["outlets"].add(fact["outlet"])
        story["urls"].append(fact["url"])
    story_facts = {k: {"outlets": sorted(v["outlets"]), "urls": v["urls"]} for k, v in sorted(stories.items())}

    kremlin = [a for a in articles if a.story == "kremlin-drone"]
    by_day: dict[str, list[str]] = {}
    for a in sorted(kremlin, key=lambda a: (a.published, a.url)):
        by_day.setdefault(a.published.strftime("%Y-%m-%d"), []).append(a.url)
    initial = [a.published for a in kremlin if a.development == "initial"]
    follow_up = [a.published for a in kremlin if a.development == "follow-up"]
    kremlin_pages = sorted(c.at for c in pages if c.article is not None and c.article.story == "kremlin-drone")
    gaps = [later - earlier for earlier, later in itertools.pairwise(kremlin_pages)]

    wire_groups: dict[str, list[str]] = {}
    for a in articles:
        if a.wire:
            wire_groups.setdefault(a.wire, []).append(a.url)

    return {
        "warc": WARC_FILENAME,
        "note": "Facts about the storywire sample for tests. Gold story tags live here, never in the WARC.",
        "window": {"start": warc_date(schedule.start), "end": warc_date(schedule.end)},
        "counts": {
            "outlets": len(outlets),
            "fictional_outlets": sum(o.fictional for o in outlets.values()),
            "records": 1 + 2 * len(captures),
            "response_records": len(captures),
            "request_records": len(captures),
            "feed_captures": len(feeds),
            "malformed_feed_captures": sum(c.malformed for c in feeds),
            "page_captures": len(pages),
            "page_captures_ok": sum(c.status == 200 for c in pages),
            "page_captures_error": sum(c.status != 200 for c in pages),
            "articles": len(articles),
            "distinct_feed_item_urls": len(fetched_links),
            "distinct_canonical_article_urls": len(listed),
            "stories": len(story_facts),
            "wire_copies": sum(a.wire is not None for a in articles),
            "edited_articles": sum(a.revision is not None for a in articles),
            "no_text_pages": sum(a.kind == "no-text" for a in articles),
        },
        "outlets": [
            {
                "key": o.key,
                "domain": o.domain,
                "name": o.name,
                "feed_url": o.feed_url,
                "feed_format": o.feed_format,
                "fictional": o.fictional,
                "feed_captures": sum(c.outlet == o.key for c in feeds),
                "articles": sum(a.outlet.key == o.key for a in articles),
            }
            for o in outlets.values()
        ],
        "malformed_feed_captures": [
            {"url": c.url, "captured_at": warc_date(c.at), "outlet": c.outlet} for c in feeds if c.malformed
        ],
        "empty_feed_captures": [
            {"url": c.url, "captured_at": warc_date(c.at)} for c in feeds if not c.listed and not c.malformed
        ],
        "feed_item_urls": fetched_links,
        "articles": article_facts,
        "stories": story_facts,
        "wire_groups": wire_groups,
        "kremlin_story": {
            "story": "kremlin-drone",
            "urls_by_published_day": by_day,
            "last_initial_published": warc_date(max(initial)),
            "first_follow_up_published": warc_date(min(follow_up)),
            "publication_gap_hours": round((min(follow_up) - max(initial)).total_seconds() / 3600, 2),
            "longest_capture_gap_hours": round(max(gaps).total_seconds() / 3600, 2),
        },
    }


# ---------------------------------------------------------------------------------------------------- main


def build(out: Path, expected: Path, source_dir: Path = SAMPLE_DIR) -> dict[str, Any]:
    outlets = load_outlets(source_dir / "outlets.yaml")
    schedule = load_schedule(source_dir / "captures.yaml", outlets)
    wires = load_wires(source_dir / "wire")
    articles = load_articles(source_dir / "articles", outlets, wires)
    captures = plan_captures(outlets, articles, schedule)
    buffer = io.BytesIO()
    write_warc(captures, buffer, outlets)
    facts = expected_facts(outlets, articles, captures, schedule)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    expected.parent.mkdir(parents=True, exist_ok=True)
    expected.write_text(json.dumps(facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return facts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="WARC file to write (.warc.gz)")
    parser.add_argument(
        "--expected", type=Path, default=None, help="facts JSON to write (default: next to --out, .expected.json)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    expected: Path = args.expected or out.with_name(out.name.removesuffix(".warc.gz") + ".expected.json")
    try:
        facts = build(out, expected)
    except SampleError as exc:
        print(f"build_sample: {exc}", file=sys.stderr)
        return 1
    counts = facts["counts"]
    print(
        f"wrote {out} ({out.stat().st_size} bytes: {counts['feed_captures']} feed captures, "
        f"{counts['page_captures']} page captures) and {expected}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
