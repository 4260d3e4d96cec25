"""`storywire run` against real loopback HTTP servers and the real broker: new items stream to Kafka and files,
an edited article becomes a revision, a restart re-emits nothing, SIGTERM drains with exit 0, and the WARC
archive written while polling replays to the same article ids and stories."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storywire.connectors.kafka import KafkaConfig
from storywire.connectors.kafka.consumer import read_topic
from storywire.connectors.kafka.topics import TopicNames
from storywire.pipelines.core.summary import SinkContents, read_sink
from storywire.schemas.validation import validate
from tests.support.http_server import LoopbackHttpServer, Reply
from tests.support.replay_archive import KREMLIN, RATES
from tests.support.warc import page, rss

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RSS = (("Content-Type", "application/rss+xml; charset=utf-8"),)
HTML = (("Content-Type", "text/html; charset=utf-8"),)
DATE = "Wed, 03 May 2023 07:00:00 GMT"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


@dataclass
class Site:
    """Two outlets on two loopback addresses, with feeds that change between the first and second poll."""

    alpha: LoopbackHttpServer
    beta: LoopbackHttpServer
    gamma: LoopbackHttpServer

    def url(self, server: LoopbackHttpServer, path: str) -> str:
        return server.url(path)


def _item(title: str, link: str) -> dict[str, str]:
    return {"title": title, "link": link, "date": DATE, "guid": link}


@pytest.fixture
def site() -> Iterator[Site]:
    with (
        LoopbackHttpServer("127.0.0.2") as alpha,
        LoopbackHttpServer("127.0.0.3") as beta,
        LoopbackHttpServer("127.0.0.4") as gamma,
    ):
        # Gamma moved its feed (301) and also lists a feed that is broken beyond repair.
        gamma.redirect("/old-feed.xml", gamma.url("/rss.xml"))
        gamma_page = gamma.url("/local/bridge-reopens")
        gamma.serve("/rss.xml", rss("Gamma", gamma.url("/"), [_item("Bridge reopens", gamma_page)]))
        gamma.serve("/broken.xml", b"<rss><channel><title>Gamma (broken", content_type=RSS[0][1])
        gamma.serve(
            "/local/bridge-reopens",
            page("Bridge reopens", [f"The old swing bridge reopened on {d} after a two-year repair." for d in DAYS]),
            content_type=HTML[0][1],
        )
        a_kremlin = alpha.url("/world/kremlin-drones?utm_source=rss")
        a_rates = alpha.url("/economy/rates")
        b_kremlin = beta.url("/news/drones-over-kremlin")
        b_rates = beta.url("/money/rate-rise")
        alpha.sequence(
            "/rss.xml",
            [
                Reply(200, RSS, rss("Alpha", alpha.url("/"), [_item("Kremlin drones", a_kremlin)])),
                Reply(
                    200,
                    RSS,
                    rss(
                        "Alpha",
                        alpha.url("/"),
                        [_item("Kremlin drones (updated)", a_kremlin), _item("Rates up", a_rates)],
                    ),
                ),
            ],
        )
        beta.sequence(
            "/feed.xml",
            [
                Reply(200, RSS, rss("Beta", beta.url("/"), [_item("Drones over the Kremlin", b_kremlin)])),
                Reply(
                    200,
                    RSS,
                    rss(
                        "Beta",
                        beta.url("/"),
                        [_item("Drones over the Kremlin", b_kremlin), _item("Rate rise", b_rates)],
                    ),
                ),
            ],
        )
        alpha.sequence(
            "/world/kremlin-drones",
            [
                Reply(200, HTML, page("Kremlin drones", KREMLIN)),
                Reply(200, HTML, page("Kremlin drones (updated)", [*KREMLIN, "Officials gave no more detail."])),
            ],
        )
        alpha.serve("/economy/rates", page("Rates up", RATES), content_type=HTML[0][1])
        beta.serve("/news/drones-over-kremlin", page("Drones over the Kremlin", KREMLIN[::-1]), content_type=HTML[0][1])
        beta.serve("/money/rate-rise", page("Rate rise", RATES[::-1]), content_type=HTML[0][1])
        yield Site(alpha, beta, gamma)


def _config(tmp_path: Path, site: Site, kafka: KafkaConfig) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(
        f"""
feeds:
  - {site.alpha.url("/rss.xml")}
  - url: {site.beta.url("/feed.xml")}
    language: en
    outlet: beta-news.example
  - url: {site.gamma.url("/old-feed.xml")}
    outlet: gamma-news.example
  - {site.gamma.url("/broken.xml")}
http:
  user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)"
  min_delay: 0s
  allowed_networks: [127.0.0.0/8]
  read_timeout: 5s
polling:
  min_interval: 1s
  initial_interval: 1s
  startup_spread: 0s
state:
  path: {tmp_path / "state" / "feeds.json"}
  checkpoint_interval: 1s
sinks: [kafka://{kafka.bootstrap_servers}, file://{tmp_path / "out"}]
archive:
  dir: {tmp_path / "archive"}
progress:
  interval: 1s
topic_prefix: {kafka.topic_prefix}
"""
    )
    return path


def _run(config: Path, *extra: str, timeout: float = 120, verbose: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storywire", *(["-v"] if verbose else []), "run", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def _log_lines(stderr: str) -> list[dict[str, Any]]:
    """The JSON log lines of a run's stderr (not a terminal: JSON is the default), other lines skipped."""
    entries = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"timestamp", "level", "logger", "message"} <= set(entry), line
            entries.append(entry)
    return entries


def _articles(out: Path, prefix: str) -> SinkContents:
    return read_sink(str(out), TopicNames(prefix))


def test_live_run_streams_revisions_restarts_without_duplicates_and_replays(
    tmp_path: Path, site: Site, kafka_config: KafkaConfig
) -> None:
    config = _config(tmp_path, site, kafka_config)
    first = _run(config, "--max-rounds", "3")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"^balance live pages: (\d+) = \1 ok", first.stdout, re.MULTILINE), first.stdout
    # While it runs it says what it is doing, without -v: a progress line (progress.interval: 1s) on stderr, a
    # JSON line as stderr is not a terminal; the per-feed poll events only with -v (below).
    live = [e["message"] for e in _log_lines(first.stderr) if e["logger"] == "storywire.live"]
    progress = [message for message in live if message.startswith("live: ")]
    assert progress, first.stderr
    assert re.search(r"; since start \d+ polls \(\d+% unchanged", progress[-1]), progress
    assert "since start 0 polls" not in progress[-1] and " new items" in progress[-1], progress
    assert f"feed {site.beta.url('/feed.xml')}: " not in first.stderr

    contents = _articles(tmp_path / "out", kafka_config.topic_prefix)
    by_url = {(a.canonical_url.split("/", 3)[3], a.revision): a for a in contents.articles}
    assert sorted(by_url) == [
        ("economy/rates", 1),
        ("local/bridge-reopens", 1),
        ("money/rate-rise", 1),
        ("news/drones-over-kremlin", 1),
        ("world/kremlin-drones", 1),
        ("world/kremlin-drones", 2),
    ]
    edited = by_url[("world/kremlin-drones", 2)]
    assert edited.article_id == by_url[("world/kremlin-drones", 1)].article_id
    assert edited.title == "Kremlin drones (updated)"
    stories = {a.canonical_url.split("/", 3)[3]: a.story_id for a in contents.articles}
    assert stories["world/kremlin-drones"] == stories["news/drones-over-kremlin"]
    assert stories["economy/rates"] == stories["money/rate-rise"] != stories["world/kremlin-drones"]
    for article in contents.articles:
        validate("article", article)
    # The broken feed is a dead letter, once (repeats of the same failure are counted, not re-written).
    broken = [d for d in contents.dead_letters if d.identity == site.gamma.url("/broken.xml")]
    assert [d.error_type for d in broken] == ["FeedParseError"], contents.dead_letters
    # The moved feed is fetched at its new address from the second poll on.
    assert len(site.gamma.requests_for("/old-feed.xml")) == 1
    assert len(site.gamma.requests_for("/rss.xml")) >= 2

    # Kafka holds the same messages as the files.
    topics = TopicNames(kafka_config.topic_prefix)
    messages = read_topic(kafka_config, topics.articles, expected_count=len(contents.articles), timeout_s=20)
    assert sorted(m.key for m in messages) == sorted(a.article_id.encode() for a in contents.articles)

    # Checkpoints are mirrored to the compacted feed-state topic, keyed by the configured feed URL.
    states = read_topic(kafka_config, f"{kafka_config.topic_prefix}.feed-state.v1", expected_count=4, timeout_s=20)
    assert {m.key for m in states} >= {site.alpha.url("/rss.xml").encode(), site.beta.url("/feed.xml").encode()}

    # A restart polls again (the servers now repeat their last answer) and emits nothing new.
    second = _run(config, "--max-rounds", "2", verbose=True)
    assert second.returncode == 0, second.stdout + second.stderr
    polls = [e for e in _log_lines(second.stderr) if e.get("feed_url") == site.beta.url("/feed.xml")]
    assert polls and polls[0]["level"] == "INFO" and polls[0]["logger"] == "storywire.live.feeds", second.stderr[-3000:]
    assert re.fullmatch(r"feed \S+: \w+, \d+ new, \d+ edited, next poll \S+Z", polls[0]["message"]), polls[0]
    assert {"outcome", "new_items", "timestamp"} <= set(polls[0]), polls[0]
    assert _articles(tmp_path / "out", kafka_config.topic_prefix).articles == contents.articles
    assert len(site.alpha.requests_for("/rss.xml")) >= 4

    # The archive written while polling replays to the same article ids, revisions and stories.
    archives = sorted(str(p) for p in (tmp_path / "archive").iterdir())
    assert archives and all(a.endswith(".warc.gz") for a in archives)
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "storywire",
            "replay",
            *archives,
            "--sink",
            f"file://{tmp_path / 'replayed'}",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    replayed = read_sink(str(tmp_path / "replayed"), TopicNames())
    assert sorted((a.article_id, a.revision, a.story_id) for a in replayed.articles) == sorted(
        (a.article_id, a.revision, a.story_id) for a in contents.articles
    )
    # With --config the replay credits each page to its feed's configured outlet, as the live run did (gamma's
    # through the archived redirect of its moved feed); alpha names none, so its host is its outlet.
    outlets = {a.canonical_url.split("/", 3)[3]: a.outlet for a in contents.articles}
    assert outlets["news/drones-over-kremlin"] == "beta-news.example"
    assert outlets["local/bridge-reopens"] == "gamma-news.example" and outlets["economy/rates"] == "127.0.0.2"
    assert sorted((a.article_id, a.revision, a.outlet) for a in replayed.articles) == sorted(
        (a.article_id, a.revision, a.outlet) for a in contents.articles
    )


def test_sigterm_drains_and_exits_zero(tmp_path: Path, site: Site, kafka_config: KafkaConfig) -> None:
    config = _config(tmp_path, site, kafka_config)
    process = subprocess.Popen(
        [sys.executable, "-m", "storywire", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        articles_file = tmp_path / "out" / f"{TopicNames(kafka_config.topic_prefix).articles}.jsonl"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if articles_file.exists() and len(articles_file.read_bytes().splitlines()) >= 6:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        else:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
            lines = articles_file.read_bytes().splitlines() if articles_file.exists() else []
            pytest.fail(f"the live run emitted {len(lines)} article lines, not 6, in time:\n{out}\n{err[-3000:]}")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stdout + stderr
    assert "storywire run stopped" in stdout
    assert (tmp_path / "state" / "feeds.json").exists()
    assert all(p.name.endswith(".warc.gz") for p in (tmp_path / "archive").iterdir())
