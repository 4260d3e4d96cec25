"""The static HTML report of a replay's (or the topics') records: one self-contained page that opens offline.

Layout: a header with the totals and the time covered; an overview plot of the top stories; the story list (all
stories, most covered first: headline, outlets, articles, first and last seen, status), filtered as you type by a
small inline script; then a section per top story with its timeline (articles per outlet over time, resurfacings
and merges marked), its events and its articles with links. plotly.js is inlined once, in the first plot; the
page loads nothing from the network. Every text from the records is HTML-escaped; links are kept only for
``http``/``https`` URLs.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from storywire.pipelines.core.summary import SinkContents
from storywire.pipelines.report.figures import figure_html, overview_figure, timeline_figure
from storywire.pipelines.report.model import StoryView, article_time, latest_articles, short_id, story_views, when

__all__ = ["DEFAULT_TOP", "build_report"]

DEFAULT_TOP = 30
"""Stories that get a section with a timeline (the story list has them all)."""
OVERVIEW_STORIES = 15

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 1.5rem 3rem; color: #1d2330; }
h1 { margin: 1.2rem 0 0.2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d9dde5; }
.meta, .small { color: #5b6475; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eceff4; vertical-align: top; }
th { background: #f5f7fa; position: sticky; top: 0; }
#story-list td:first-child { width: 30%; }
td.num, th.num { text-align: right; white-space: nowrap; } td.when { white-space: nowrap; }
#story-filter { font-size: 1rem; padding: 0.4rem 0.6rem; width: 24rem; max-width: 100%;
                margin: 0.5rem 0.8rem 0.8rem 0; }
.story { margin-top: 2.2rem; } .story h3 { margin-bottom: 0.2rem; }
.status { font-size: 0.8rem; padding: 0.05rem 0.4rem; border-radius: 0.6rem; background: #e8eef8; }
.status-merged, .status-expired { background: #eee; color: #666; } .status-dormant { background: #fff3d6; }
.event-resurfaced { color: #d62728; } .event-merged { color: #9467bd; } .event-trending { color: #ff7f0e; }
ul.events, ul.articles { margin: 0.3rem 0; padding-left: 1.2rem; } ul.articles li { margin: 0.15rem 0; }
"""

_SCRIPT = """
(function () {
  var box = document.getElementById("story-filter");
  var count = document.getElementById("story-count");
  var items = document.querySelectorAll("[data-search]");
  var rows = document.querySelectorAll("#story-list tbody tr");
  function apply() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(function (w) { return w.length > 0; });
    items.forEach(function (item) {
      var text = item.getAttribute("data-search");
      item.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
    });
    var shown = 0;
    rows.forEach(function (row) { if (!row.hidden) { shown += 1; } });
    count.textContent = shown + " of " + rows.length + " stories";
  }
  box.addEventListener("input", apply);
  apply();
})();
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _link(url: str, text: str) -> str:
    if url.lower().startswith(("http://", "https://")):
        return f'<a href="{_e(url)}" rel="noopener noreferrer" target="_blank">{_e(text)}</a>'
    return _e(text)


def _status(view: StoryView) -> str:
    story = view.story
    label: str = story.status
    if story.status == "merged" and story.merged_into:
        label = f"merged into {short_id(story.merged_into)}"
    return f'<span class="status status-{_e(story.status)}">{_e(label)}</span>'


def _header(contents: SinkContents, views: Sequence[StoryView], title: str, source: str) -> str:
    articles = latest_articles(contents.articles)
    outlets = {a.outlet for a in articles}
    span = ""
    if views:
        first = min(v.story.first_seen_at for v in views)
        last = max(v.story.last_seen_at for v in views)
        span = f", from {when(first)} to {when(last)} UTC"
    multi = sum(1 for v in views if v.story.outlet_count >= 2)
    return (
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="meta">{len(articles)} articles from {len(outlets)} outlets in {len(views)} stories '
        f"({multi} covered by two or more outlets); {len(contents.dead_letters)} dead letters{_e(span)}. "
        f"Source: <code>{_e(source)}</code>.</p></header>"
    )


def _story_list(views: Sequence[StoryView], detailed: set[str]) -> str:
    rows = []
    for view in views:
        story = view.story
        headline = _e(story.headline or "(no headline)")
        if story.story_id in detailed:
            headline = f'<a href="#{_e(story.story_id)}">{headline}</a>'
        rows.append(
            f'<tr data-search="{_e(view.search_text)}">'
            f"<td>{headline}<div class='small'>{_e(short_id(story.story_id))}</div></td>"
            f'<td class="num">{story.article_count}</td>'
            f'<td class="num">{story.outlet_count}</td><td class="small">{_e(", ".join(story.outlets))}</td>'
            f'<td class="when">{when(story.first_seen_at)}</td><td class="when">{when(story.last_seen_at)}</td>'
            f"<td>{_status(view)}</td></tr>"
        )
    return (
        '<section id="stories"><h2>Stories</h2>'
        '<input id="story-filter" type="search" placeholder="Filter stories: words in headlines, titles, outlets" '
        'aria-label="Filter stories" autocomplete="off"><span id="story-count" class="small"></span>'
        '<table id="story-list"><thead><tr><th>Headline</th><th class="num">Articles</th>'
        '<th class="num">Outlets</th><th></th><th>First seen (UTC)</th><th>Last seen (UTC)</th><th>Status</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _story_section(view: StoryView, plot: str) -> str:
    story = view.story
    events = "".join(
        f'<li class="event-{_e(e.event_type)}"><b>{_e(e.event_type)}</b> {when(e.event_time)}: {_e(e.detail)}'
        + ("" if e.score is None else f" (score {e.score:.2f})")
        + (
            f' (<a href="#{_e(e.related_story_id)}">{_e(short_id(e.related_story_id))}</a>)'
            if e.related_story_id
            else ""
        )
        + "</li>"
        for e in view.notable_events
    )
    articles = "".join(
        f"<li>{_link(a.url, a.title or a.url)} <span class='small'>{_e(a.outlet)}, {when(article_time(a))}"
        + (f", revision {a.revision}" if a.revision > 1 else "")
        + (f", copy of {_e(a.duplicate_of)}" if a.duplicate_of else "")
        + "</span></li>"
        for a in view.articles
    )
    terms = ", ".join(story.top_terms[:8])
    return (
        f'<section class="story" id="{_e(story.story_id)}" data-search="{_e(view.search_text)}">'
        f"<h3>{_e(story.headline or '(no headline)')} {_status(view)}</h3>"
        f'<p class="meta">{_e(story.story_id)}: {story.article_count} articles from {story.outlet_count} outlets, '
        f"first seen {when(story.first_seen_at)}, last seen {when(story.last_seen_at)} UTC"
        + (f"; terms: {_e(terms)}" if terms else "")
        + f"</p>{plot}"
        + (f'<ul class="events">{events}</ul>' if events else "")
        + f'<ul class="articles">{articles}</ul></section>'
    )


def build_report(
    contents: SinkContents, *, source: str, title: str = "storywire report", top: int = DEFAULT_TOP
) -> str:
    """The whole page. ``top`` stories (most covered first) get a section with a timeline; ``source`` names where
    the records came from (a directory or a broker)."""
    views = story_views(contents)
    detailed = views[: max(0, top)]
    plots: list[str] = []

    def plot(figure: object, div_id: str) -> str:
        fragment = figure_html(figure, div_id=div_id, include_plotlyjs=not plots)
        plots.append(div_id)
        return fragment

    overview = ""
    if views:
        shown = views[:OVERVIEW_STORIES]
        overview = (
            f'<section id="overview"><h2>Top stories over time</h2><p class="small">The {len(shown)} most covered '
            "stories: a dot per article, the bar spans first to last article; hover for titles.</p>"
            f'<div class="plot">{plot(overview_figure(shown), "plot-overview")}</div></section>'
        )
    sections = "".join(
        _story_section(view, f'<div class="plot">{plot(timeline_figure(view), f"plot-{view.story.story_id}")}</div>')
        for view in detailed
    )
    details = ""
    if detailed:
        details = (
            f'<section id="details"><h2>Top {len(detailed)} stories in detail</h2><p class="small">Articles per '
            "outlet over time (hollow: a copy of another outlet's article), and the story's events: created, "
            "resurfaced (red star, dotted line), merged (purple diamond, dotted line), trending, expired.</p>"
            f"{sections}</section>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"{_header(contents, views, title, source)}{overview}{_story_list(views, {v.story.story_id for v in detailed})}"
        f"{details}<script>{_SCRIPT}</script></body></html>\n"
    )
