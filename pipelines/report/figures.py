"""The report's plots, made with Plotly (``plotly.graph_objects``): an overview of the top stories over time and
one timeline per story (its articles, one row per outlet, and its notable events).

Times go to Plotly as naive UTC strings (``2023-05-03 11:50:00``): plotly.js does not read UTC offsets, and the
axes say UTC. Plotly escapes ``<``, ``>`` and ``/`` in the figure JSON, so a headline cannot close the script
tag; hover texts are HTML-escaped as well, since Plotly reads a few tags in them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import plotly.graph_objects as go

from storywire.pipelines.report.model import StoryView, article_time, when

__all__ = ["figure_html", "overview_figure", "timeline_figure"]

_EVENT_SYMBOLS = {
    "created": "circle-open",
    "resurfaced": "star",
    "merged": "diamond",
    "trending": "triangle-up",
    "expired": "x",
}
_EVENT_COLOURS = {
    "created": "#555555",
    "resurfaced": "#d62728",
    "merged": "#9467bd",
    "trending": "#ff7f0e",
    "expired": "#7f7f7f",
}
_MARKED_WITH_A_LINE = ("resurfaced", "merged")
_EVENTS_ROW = "story events"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def _x(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: str, limit: int = 120) -> str:
    cut = value if len(value) <= limit else value[: limit - 1] + "\u2026"
    return html.escape(cut, quote=False)


def _layout(figure: Any, height: int) -> None:
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.25},
        xaxis={"title": {"text": "time (UTC)"}, "type": "date"},
        yaxis={"automargin": True},
    )


def overview_figure(views: Sequence[StoryView]) -> Any:
    """Each story a row: a line from its first to its last article, a dot per article (hover: title, outlet)."""
    labels = {view.story.story_id: f"{_text(view.story.headline, 60)} ({view.story.article_count})" for view in views}
    span_x: list[str | None] = []
    span_y: list[str | None] = []
    dots_x, dots_y, dots_text = [], [], []
    for view in views:
        label = labels[view.story.story_id]
        span_x += [_x(view.story.first_seen_at), _x(view.story.last_seen_at), None]
        span_y += [label, label, None]
        for article in view.articles:
            dots_x.append(_x(article_time(article)))
            dots_y.append(label)
            dots_text.append(f"{_text(article.title)}<br>{_text(article.outlet)}, {when(article_time(article))}")
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=span_x, y=span_y, mode="lines", line={"color": "#9ecae1", "width": 6}, name="span", hoverinfo="skip"
        )
    )
    figure.add_trace(
        go.Scatter(
            x=dots_x,
            y=dots_y,
            mode="markers",
            marker={"color": "#1f77b4", "size": 8},
            name="article",
            hovertext=dots_text,
            hoverinfo="text",
        )
    )
    _layout(figure, height=120 + 28 * len(views))
    figure.update_layout(showlegend=False, yaxis={"autorange": "reversed", "automargin": True})
    return figure


def timeline_figure(view: StoryView) -> Any:
    """A story's articles over time, one row per outlet, and its notable events on a row of their own (resurfacings
    and merges also as dotted lines across the plot)."""
    figure = go.Figure()
    outlets = list(view.articles_per_outlet())
    for outlet in outlets:
        articles = [a for a in view.articles if a.outlet == outlet]
        figure.add_trace(
            go.Scatter(
                x=[_x(article_time(a)) for a in articles],
                y=[outlet] * len(articles),
                mode="markers",
                marker={"size": 10, "symbol": ["circle-open" if a.duplicate_of else "circle" for a in articles]},
                name=f"{outlet} ({len(articles)})",
                hovertext=[f"{_text(a.title)}<br>{when(article_time(a))}, revision {a.revision}" for a in articles],
                hoverinfo="text",
            )
        )
    by_type: dict[str, list[Any]] = {}
    for event in view.notable_events:
        by_type.setdefault(event.event_type, []).append(event)
    for event_type, events in by_type.items():
        figure.add_trace(
            go.Scatter(
                x=[_x(e.event_time) for e in events],
                y=[_EVENTS_ROW] * len(events),
                mode="markers",
                marker={"size": 13, "symbol": _EVENT_SYMBOLS[event_type], "color": _EVENT_COLOURS[event_type]},
                name=event_type,
                hovertext=[f"{event_type} {when(e.event_time)}<br>{_text(e.detail)}" for e in events],
                hoverinfo="text",
            )
        )
        if event_type in _MARKED_WITH_A_LINE:
            for event in events:
                figure.add_shape(
                    type="line",
                    xref="x",
                    yref="paper",
                    x0=_x(event.event_time),
                    x1=_x(event.event_time),
                    y0=0,
                    y1=1,
                    line={"color": _EVENT_COLOURS[event_type], "dash": "dot", "width": 1.5},
                )
    rows = len(outlets) + (1 if by_type else 0)
    _layout(figure, height=150 + 30 * rows)
    figure.update_layout(yaxis={"categoryorder": "array", "categoryarray": [_EVENTS_ROW, *reversed(outlets)]})
    return figure


def figure_html(figure: Any, *, div_id: str, include_plotlyjs: bool) -> str:
    """The figure as an HTML fragment; plotly.js is inlined only when asked (once per page), never a CDN link."""
    fragment: str = figure.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        include_mathjax=False,
        div_id=div_id,
        config=_PLOT_CONFIG,
    )
    return fragment
