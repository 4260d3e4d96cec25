"""The analysts' outputs, built from the records a replay wrote (pure Python, no Beam): the static HTML report
(``html``, its Plotly figures in ``figures``), the story view shared with ``storywire stories`` (``model``), the
CSV/Parquet tables of ``storywire export`` (``tables``) and reading the records from the Kafka topics
(``source``)."""

from storywire.pipelines.report.html import DEFAULT_TOP, build_report
from storywire.pipelines.report.model import StoryFilter, StoryView, contents_from_records, story_views

__all__ = ["DEFAULT_TOP", "StoryFilter", "StoryView", "build_report", "contents_from_records", "story_views"]
