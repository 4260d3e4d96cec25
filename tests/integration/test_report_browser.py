"""The report of the bundled sample, opened in headless Chromium (Debian's ``chromium``, driven by Playwright;
``make install`` installs it when it can): the title, the story list, rendered plots, the filter box filtering,
a silent console and no request but the page itself (it must open offline). Skipped only when chromium is
absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.report_screenshot import build_sample_report, chromium_path, open_browser
from storywire.connectors.kafka import KafkaConfig
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.bundled import SAMPLE_ARCHIVE
from storywire.pipelines.cli.main import main
from storywire.pipelines.core.summary import read_sink
from storywire.pipelines.report.source import read_topics

pytestmark = pytest.mark.integration
needs_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="Debian's chromium is not installed (make install installs it as root: apt-get install chromium)",
)


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_report(tmp_path_factory.mktemp("report"))


@pytest.fixture
def page(sample_report: Path) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The report loaded, with the console messages and page errors seen, and every request but file:// refused
    (and noted)."""
    with open_browser() as browser:
        tab = browser.new_page()
        console: list[str] = []
        requests: list[str] = []
        tab.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        tab.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

        def refuse_the_network(route: Any) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                requests.append(route.request.url)
                route.abort()

        tab.route("**/*", refuse_the_network)
        tab.goto(sample_report.as_uri())
        tab.wait_for_selector(".plot-container svg.main-svg")
        yield tab, console, requests


@needs_chromium
def test_the_sample_report_renders_offline_with_plots_and_a_silent_console(
    sample_report: Path, page: tuple[Any, list[str], list[str]]
) -> None:
    tab, console, requests = page
    stories = read_sink(str(sample_report.parent / "out"), TopicNames()).stories
    assert tab.title() == "storywire report: the bundled sample"
    assert tab.locator("#story-list tbody tr").count() == len(stories) == 13
    assert tab.locator("#story-count").text_content() == "13 of 13 stories"
    plots = tab.locator(".plotly-graph-div")
    assert plots.count() == 1 + 13  # the overview and a timeline per story
    tab.wait_for_function("document.querySelectorAll('.plot-container svg.main-svg').length >= 14")
    assert tab.locator("#plot-overview .plot-container svg.main-svg").count() >= 1
    assert tab.locator("#plot-overview .scatterlayer .point").count() >= 43  # a dot per article
    assert tab.get_by_text("Russia accuses Ukraine of drone attack on the Kremlin").count() >= 2
    assert tab.locator('a[href^="https://"]').count() >= 43
    tab.wait_for_timeout(300)  # late errors (a resize, a deferred plot) would show by now
    assert console == []
    assert requests == []


@needs_chromium
def test_the_filter_box_filters_the_story_list_and_the_sections(page: tuple[Any, list[str], list[str]]) -> None:
    tab, console, _ = page
    visible_rows = tab.locator("#story-list tbody tr:visible")
    tab.fill("#story-filter", "kremlin drone")
    assert visible_rows.count() == 1
    assert "Kremlin" in (visible_rows.first.text_content() or "")
    assert tab.locator("#story-count").text_content() == "1 of 13 stories"
    assert tab.locator("section.story:visible").count() == 1
    tab.fill("#story-filter", "harbour-times.example")  # an outlet
    assert 1 < visible_rows.count() < 13
    tab.fill("#story-filter", "no story says this")
    assert visible_rows.count() == 0 and tab.locator("#story-count").text_content() == "0 of 13 stories"
    tab.fill("#story-filter", "")
    assert visible_rows.count() == 13 and tab.locator("section.story:visible").count() == 13
    assert console == []


def test_the_report_from_the_topics_holds_what_the_file_sink_holds(
    kafka_config: KafkaConfig, topic_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    bootstrap = kafka_config.bootstrap_servers
    sinks = ["--sink", f"kafka://{bootstrap}", "--sink", f"file://{out}", "--topic-prefix", topic_prefix]
    assert main(["replay", str(SAMPLE_ARCHIVE), *sinks]) == 0
    files = read_sink(str(out), TopicNames(topic_prefix))
    topics = read_topics(kafka_config, TopicNames(topic_prefix), idle_timeout_s=3.0)
    assert topics.contents == files and topics.undecodable == {}
    page = tmp_path / "report.html"
    argv = ["report", "--from-kafka", f"kafka://{bootstrap}", "--topic-prefix", topic_prefix, "-o", str(page)]
    assert main(argv) == 0
    assert "13 stories, 43 articles" in capsys.readouterr().out
    assert page.read_text(encoding="utf-8").count("<tr data-search=") == len(files.stories) == 13
