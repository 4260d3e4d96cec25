"""``storywire replay --config LIVE.yaml`` credits each page to the outlet configured for the feed that listed it.

The archive: four outlets' feeds and pages all served by one syndication host (``wire-cdn.example``), so the
pages' own host names one outlet only. The live config names an outlet for three feeds (one of them configured as
``http://`` and archived behind a redirect hop to ``https://``, as the live fetcher archives it) and none for
the fourth, and sets trending thresholds that three outlets reach and one does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.cli.main import main
from storywire.pipelines.core.summary import SinkContents, read_sink
from tests.support.warc import RSS, Capture, page, rss, write_warc

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
HOST = "https://wire-cdn.example"
AGENT = '"storywire-test/1.0 (+https://storywire.example/test)"'

STORY = {
    "harbour": [
        "Moscow said two drones targeted the Kremlin overnight and were disabled by air defence systems.",
        "The Kremlin called it a planned terrorist act and an attempt on the life of President Vladimir Putin.",
        "Officials said debris fell on the grounds of the Kremlin but nobody was hurt in the drone incident.",
    ],
    "meridian": [
        "Russia accused Ukraine of a drone attack on the Kremlin and promised to respond when it chose.",
        "Kyiv denied involvement, and President Volodymyr Zelenskyy said Ukraine was defending its own territory.",
        "Videos shared online showed a drone exploding above the Senate Palace dome inside the Kremlin walls.",
    ],
    "ledger": [
        "Markets in Moscow slipped after the Kremlin said drones had been shot down above the Senate Palace.",
        "Kremlin spokesman Dmitry Peskov said Putin was not in the building during the drone attack.",
        "Ukraine rejected the accusation and said Moscow could use the Kremlin incident to justify escalation.",
    ],
    "plain": [
        "Analysts questioned how two drones could reach the Kremlin through layers of Moscow air defence.",
        "Russia said the drone attack on the Kremlin was an attempt to kill Putin ahead of the Victory Day parade.",
        "Ukraine denied launching the drones, and officials in Kyiv suggested the incident was staged by Moscow.",
    ],
}
TITLES = {
    "harbour": "Kremlin says drones shot down over Moscow",
    "meridian": "Russia accuses Ukraine of Kremlin drone attack",
    "ledger": "Moscow markets slip after Kremlin drone attack",
    "plain": "How did drones reach the Kremlin?",
}
CONFIGURED = {
    "harbour": "harbour-times.example",
    "meridian": "daily-meridian.example",
    "ledger": "northern-ledger.example",
}


def _date(at: datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _archive(path: Path) -> Path:
    captures = []
    for n, name in enumerate(STORY):
        at = T0 + timedelta(minutes=20 * n)
        link = f"{HOST}/{name}/2023/05/03/kremlin-drones"
        item = {"title": TITLES[name], "link": link, "date": _date(at)}
        if name == "ledger":  # the live fetcher archives the hop, then the feed under its final URL
            captures.append(
                Capture(f"http://wire-cdn.example/{name}/rss.xml", at, b"", "text/html", 301, f"{HOST}/{name}/rss.xml")
            )
        captures.append(Capture(f"{HOST}/{name}/rss.xml", at, rss(name, HOST, [item]), RSS))
        captures.append(Capture(link, at + timedelta(minutes=2), page(TITLES[name], STORY[name])))
    return write_warc(path, captures)


def _live_config(path: Path) -> Path:
    lines = ["http:", f"  user_agent: {AGENT}", "feeds:"]
    for name in STORY:
        scheme = "http://wire-cdn.example" if name == "ledger" else HOST
        lines.append(f"  - url: {scheme}/{name}/rss.xml")
        if name in CONFIGURED:
            lines.append(f"    outlet: {CONFIGURED[name]}")
    lines += ["stories:", "  trending_min_articles: 3", "  trending_min_outlets: 3"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _replay(archive: Path, out: Path, *extra: str) -> SinkContents:
    assert main(["replay", str(archive), "--sink", f"file://{out}", "--no-summary", *extra]) == 0
    return read_sink(str(out), TopicNames())


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> tuple[SinkContents, SinkContents]:
    """(without --config, with --config)"""
    directory = tmp_path_factory.mktemp("outlets")
    archive = _archive(directory / "wire.warc.gz")
    live = _live_config(directory / "live.yaml")
    # The same thresholds without the outlets: only the outlets differ between the two replays.
    thresholds = directory / "thresholds.yaml"
    thresholds.write_text(
        f"http:\n  user_agent: {AGENT}\nfeeds: [{HOST}/other/rss.xml]\n"
        "stories: {trending_min_articles: 3, trending_min_outlets: 3}\n",
        encoding="utf-8",
    )
    without = _replay(archive, directory / "without", "--config", str(thresholds))
    configured = _replay(archive, directory / "with", "--config", str(live))
    return without, configured


def _outlets(contents: SinkContents) -> dict[str, str]:
    return {a.canonical_url.split("/")[3]: a.outlet for a in contents.articles}


def test_articles_carry_the_outlets_configured_for_their_feeds(replays: tuple[SinkContents, SinkContents]) -> None:
    without, configured = replays
    assert set(_outlets(without).values()) == {"wire-cdn.example"}  # the pages' host: one outlet for all
    outlets = _outlets(configured)
    assert {name: outlets[name] for name in CONFIGURED} == CONFIGURED  # "ledger" through its feed's redirect
    assert [a.article_id for a in configured.articles] == [a.article_id for a in without.articles]


def test_a_feed_configured_without_an_outlet_keeps_the_derived_one(
    replays: tuple[SinkContents, SinkContents],
) -> None:
    _, configured = replays
    assert _outlets(configured)["plain"] == "wire-cdn.example"


def test_outlet_counts_and_trending_follow_the_configured_outlets(
    replays: tuple[SinkContents, SinkContents],
) -> None:
    without, configured = replays
    for contents in replays:
        assert len({a.story_id for a in contents.articles}) == 1  # one story, in both replays
    last_without = max(without.stories, key=lambda s: s.version)
    last_configured = max(configured.stories, key=lambda s: s.version)
    assert (last_without.outlet_count, last_without.outlets) == (1, ("wire-cdn.example",))
    assert last_configured.outlet_count == 4
    assert set(last_configured.outlets) == {*CONFIGURED.values(), "wire-cdn.example"}
    assert "trending" not in {e.event_type for e in without.events}
    assert [e.event_type for e in configured.events].count("trending") == 1
