"""OPML parsing and ``storywire feeds import``: nested outlines, duplicates, bad entries, safe merging."""

from __future__ import annotations

from pathlib import Path

import pytest

from storywire.connectors.errors import ConfigError, SourceUnavailableError
from storywire.connectors.feeds.opml import parse_opml
from storywire.pipelines.cli.main import main
from storywire.pipelines.config.feed_import import import_opml
from storywire.pipelines.config.loading import load_config, parse_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opml"
SUBSCRIPTIONS = FIXTURES / "subscriptions.opml"
AGENT = '"acme-monitor/1.0 (+https://acme.example/bot)"'
EXPECTED_URLS = [
    "https://harbour-times.example/rss",
    "https://continental-post.example/feeds/world.atom",
    "https://northern-ledger.example/business/rss.xml?utm_source=opml",
    "http://eastgate-observer.example/rss",
    "https://daily-meridian.example/rss.xml",
    "https://daily-meridian.example/sport/rss.xml",
]


def test_nested_outlines_titles_languages_and_folders() -> None:
    document = parse_opml(SUBSCRIPTIONS.read_bytes(), "subscriptions.opml")
    assert [f.url for f in document.feeds] == EXPECTED_URLS
    harbour, continental, ledger, eastgate, meridian, sport = document.feeds
    assert (harbour.title, harbour.language, harbour.folders) == ("Harbour Times", "en", ("World",))
    assert continental.language == "de" and ledger.title == "Northern Ledger: business"
    assert ledger.folders == ("World", "Europe") and eastgate.language is None
    assert meridian.folders == ("Local",) and sport.folders == ("Local", "Daily Meridian")
    reasons = {s.label: s.reason for s in document.skipped}
    assert reasons == {
        "Local / Harbour Times again, with a trailing slash": "duplicate of https://harbour-times.example/rss",
        "Local / Riverside Chronicle homepage": (
            "no xmlUrl (a web page link https://riverside-chronicle.example/, not a feed)"
        ),
        "Local / Gopher feed": (
            "bad xmlUrl 'gopher://old.example/feed': "
            "feed URL 'gopher://old.example/feed' must start with http:// or https://"
        ),
        "Local / Empty url": "no xmlUrl: not a feed",
    }
    assert document.notes == (
        "World / Europe / Eastgate Observer: language 'english' is not an ISO 639-1 code; left out",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((FIXTURES / "entity_bomb.opml").read_bytes(), "refused: the OPML declares entities"),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "the root element is <rss>, not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "has no <body> element"),
    ],
)
def test_bad_opml_files_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_opml(data, "list.opml")


def test_import_creates_a_feed_file_that_the_config_can_include(tmp_path: Path) -> None:
    target = tmp_path / "feeds.yaml"
    report = import_opml(SUBSCRIPTIONS, target, create=True)
    assert list(report.added) == EXPECTED_URLS and report.already_present == () and len(report.skipped) == 4
    config_path = tmp_path / "live.yaml"
    config_path.write_text(f"http:\n  user_agent: {AGENT}\nfeed_files: [feeds.yaml]\n")
    config = load_config(config_path, environ={})
    assert [f.url for f in config.feeds] == EXPECTED_URLS
    assert config.feeds[0].title == "Harbour Times" and config.feeds[1].language == "de"


def test_importing_twice_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "feeds.yaml"
    import_opml(SUBSCRIPTIONS, target, create=True)
    before = target.read_bytes()
    report = import_opml(SUBSCRIPTIONS, target, create=True)
    assert report.added == () and list(report.already_present) == EXPECTED_URLS
    assert target.read_bytes() == before


def test_import_into_a_config_keeps_comments_and_skips_known_feeds(tmp_path: Path) -> None:
    config_path = tmp_path / "live.yaml"
    original = f"""\
# our production config
http:
  user_agent: {AGENT}   # who we are
feeds:
  # the first outlet we followed
  - url: https://harbour-times.example/rss/?utm_campaign=x
    language: en   # keep this comment
  - https://northern-ledger.example/business/rss.xml

# polling left at defaults
polling:
  min_interval: 15m
"""
    config_path.write_text(original)
    report = import_opml(SUBSCRIPTIONS, config_path, create=False)
    assert "https://harbour-times.example/rss" in report.already_present
    assert "https://northern-ledger.example/business/rss.xml?utm_source=opml" in report.already_present
    assert len(report.added) == 4
    text = config_path.read_text()
    assert text.startswith(original.split("\n# polling", maxsplit=1)[0])  # everything up to the list's end is untouched
    assert text.endswith("# polling left at defaults\npolling:\n  min_interval: 15m\n")
    for keep in ("# who we are", "# keep this comment", "# the first outlet we followed"):
        assert keep in text
    config = load_config(config_path, environ={})
    assert len(config.feeds) == 6 and config.polling.min_interval.total_seconds() == 900
    assert config.feeds[2].url == "https://continental-post.example/feeds/world.atom"


@pytest.mark.parametrize(
    "feeds_block",
    [
        "feeds:\n- https://harbour-times.example/rss\n",  # list at the key's indentation
        "feeds: []\n",
        "feeds:\n",
        "",  # no feeds key at all
    ],
)
def test_import_handles_every_list_shape(tmp_path: Path, feeds_block: str) -> None:
    config_path = tmp_path / "live.yaml"
    config_path.write_text(f"http:\n  user_agent: {AGENT}\n{feeds_block}")
    import_opml(SUBSCRIPTIONS, config_path, create=False)
    config = parse_config(config_path.read_text(), "live.yaml", {})
    assert [f.url for f in config.feeds] == EXPECTED_URLS


def test_import_keeps_the_permissions_of_the_file_it_rewrites(tmp_path: Path) -> None:
    config_path = tmp_path / "live.yaml"
    config_path.write_text(f"http:\n  user_agent: {AGENT}\nfeeds:\n")
    config_path.chmod(0o640)
    import_opml(SUBSCRIPTIONS, config_path, create=False)
    assert config_path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["live.yaml"]  # no temporary file left behind


def test_import_refuses_shapes_it_cannot_append_to(tmp_path: Path) -> None:
    config_path = tmp_path / "live.yaml"
    original = f"http:\n  user_agent: {AGENT}\nfeeds: [https://a.example/rss]\n"
    config_path.write_text(original)
    with pytest.raises(ConfigError, match=r"live\.yaml line 3: feeds: is a flow list"):
        import_opml(SUBSCRIPTIONS, config_path, create=False)
    assert config_path.read_text() == original
    with pytest.raises(SourceUnavailableError, match="config file not found"):
        import_opml(SUBSCRIPTIONS, tmp_path / "missing.yaml", create=False)


def test_the_cli_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "feeds.yaml"
    assert main(["feeds", "import", str(SUBSCRIPTIONS), "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"6 feed(s) added to {target}, 0 already there, 4 outline(s) skipped")
    assert "skipped: Local / Gopher feed" in out and "note: World / Europe / Eastgate Observer" in out
    assert main(["feeds", "import", str(tmp_path / "none.opml"), "-o", str(target)]) == 2
    assert "storywire: error: cannot read OPML file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["feeds", "import", str(SUBSCRIPTIONS)])  # --config or -o is required


OUTLET_OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><body>
  <outline text="Harbour Times via FeedBurner" xmlUrl="https://feeds.feedburner.com/HarbourTimes"
           htmlUrl="https://WWW.Harbour-Times.example/news/"/>
  <outline text="Ledger" xmlUrl="https://www.northern-ledger.example/rss.xml"/>
  <outline text="Relative site link" xmlUrl="https://cdn.example/meridian/rss" htmlUrl="/meridian"/>
  <outline text="Broken site link" xmlUrl="https://cdn.example/post/rss" htmlUrl="http://[::1"/>
</body></opml>
"""


def test_each_feed_gets_its_sites_outlet_else_its_own_hosts() -> None:
    outlets = [f.outlet for f in parse_opml(OUTLET_OPML, "list.opml").feeds]
    assert outlets == ["harbour-times.example", "northern-ledger.example", "cdn.example", "cdn.example"]
    fixture = parse_opml(SUBSCRIPTIONS.read_bytes(), "subscriptions.opml").feeds
    assert [f.outlet for f in fixture] == [
        "harbour-times.example",  # its htmlUrl
        "continental-post.example",
        "northern-ledger.example",
        "eastgate-observer.example",
        "daily-meridian.example",
        "daily-meridian.example",
    ]


def test_import_writes_the_outlets_and_leaves_existing_feeds_as_they_are(tmp_path: Path) -> None:
    opml = tmp_path / "list.opml"
    opml.write_bytes(OUTLET_OPML)
    config_path = tmp_path / "live.yaml"
    original = f"http:\n  user_agent: {AGENT}\nfeeds:\n  - url: https://cdn.example/post/rss\n"
    config_path.write_text(original)
    report = import_opml(opml, config_path, create=False)
    assert report.already_present == ("https://cdn.example/post/rss",)
    assert config_path.read_text() == original + (
        '  - url: "https://feeds.feedburner.com/HarbourTimes"\n'
        '    title: "Harbour Times via FeedBurner"\n'
        "    outlet: harbour-times.example\n"
        '  - url: "https://www.northern-ledger.example/rss.xml"\n'
        '    title: "Ledger"\n'
        "    outlet: northern-ledger.example\n"
        '  - url: "https://cdn.example/meridian/rss"\n'
        '    title: "Relative site link"\n'
        "    outlet: cdn.example\n"
    )
    config = load_config(config_path, environ={})
    assert [f.outlet for f in config.feeds] == [
        None,  # the existing feed keeps what it had: no outlet
        "harbour-times.example",
        "northern-ledger.example",
        "cdn.example",
    ]


def test_outlets_yaml_would_misread_are_quoted(tmp_path: Path) -> None:
    opml = tmp_path / "list.opml"
    opml.write_bytes(
        b'<opml version="2.0"><body>'
        b'<outline text="a" xmlUrl="https://a.example/rss" htmlUrl="https://null/"/>'
        b'<outline text="b" xmlUrl="https://b.example/rss" htmlUrl="http://10.1.2.3/"/>'
        b'<outline text="c" xmlUrl="https://c.example/rss" htmlUrl="https://b\xc3\xbccher.example/"/>'
        b"</body></opml>"
    )
    config_path = tmp_path / "live.yaml"
    config_path.write_text(f"http:\n  user_agent: {AGENT}\nfeeds:\n")
    import_opml(opml, config_path, create=False)
    text = config_path.read_text()
    assert 'outlet: "null"' in text and 'outlet: "10.1.2.3"' in text and 'outlet: "b\u00fccher.example"' in text
    assert [f.outlet for f in load_config(config_path, environ={}).feeds] == ["null", "10.1.2.3", "b\u00fccher.example"]


def test_a_language_code_yaml_would_misread_is_quoted(tmp_path: Path) -> None:
    opml = tmp_path / "list.opml"
    opml.write_bytes(
        b'<opml version="2.0"><body>'
        b'<outline text="n" xmlUrl="https://n.example/rss" language="no"/>'
        b'<outline text="e" xmlUrl="https://e.example/rss" language="en"/>'
        b"</body></opml>"
    )
    config_path = tmp_path / "live.yaml"
    config_path.write_text(f"http:\n  user_agent: {AGENT}\nfeeds:\n")
    import_opml(opml, config_path, create=False)
    text = config_path.read_text()
    assert 'language: "no"' in text and "language: en" in text  # Norwegian, not YAML's false
    assert [f.language for f in load_config(config_path, environ={}).feeds] == ["no", "en"]
