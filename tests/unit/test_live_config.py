"""Live config: YAML + environment, frozen and validated; errors name the file, line and key path."""

from __future__ import annotations

import dataclasses
import warnings
from datetime import timedelta
from pathlib import Path

import pytest

from storywire.connectors.errors import ConfigError, SourceUnavailableError
from storywire.connectors.http.config import HttpConfig
from storywire.pipelines.config.live import LiveConfig
from storywire.pipelines.config.loading import load_config, parse_config
from storywire.pipelines.config.units import format_duration, parse_duration, parse_size
from storywire.pipelines.stories import StoryConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "feeds.example.yaml"
AGENT = '"acme-monitor/1.0 (+https://acme.example/bot)"'
MINIMAL = f"""\
http:
  user_agent: {AGENT}
feeds:
  - https://harbour-times.example/rss
"""


def _parse(text: str, env: dict[str, str] | None = None, base_dir: Path | str = ".") -> LiveConfig:
    return parse_config(text, "live.yaml", env or {}, base_dir=base_dir)


def _error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        _parse(text, env)
    return str(caught.value)


def test_the_example_file_loads_with_its_documented_values() -> None:
    config = load_config(EXAMPLE, environ={})
    assert len(config.feeds) == 4 and [f.enabled for f in config.feeds] == [True, True, True, False]
    meridian = config.feeds[1]
    assert meridian.outlet == "daily-meridian.example" and meridian.language == "en"
    assert meridian.min_interval == timedelta(minutes=5) and meridian.max_interval == timedelta(hours=6)
    assert config.feeds[2].trust_validators is False and config.feeds[2].title == "Continental Post, world desk"
    assert config.http.user_agent.startswith("acme-news-monitor/1.0") and config.http.min_delay_s == 5.0
    assert config.http.max_body_bytes == 10 * 1024 * 1024 and config.http.allow_private_addresses is False
    assert config.polling.min_interval == timedelta(minutes=10) and config.polling.max_failures == 10
    assert config.state.checkpoint_interval == timedelta(seconds=60)
    assert config.sinks == ("kafka://127.0.0.1:19092", "file://out/live")
    assert config.archive.dir is None and config.archive.rotate_size == 10**9
    stories = config.stories
    assert stories.dormancy == timedelta(hours=48) and stories.trending_baseline == timedelta(hours=72)
    assert stories.trending_ratio == 3.0 and stories.trending_min_outlets == 3
    assert stories.merge_threshold == StoryConfig().merge_threshold is not None
    with warnings.catch_warnings():  # importing trafilatura first warns that urllib3 has no SOCKS support
        warnings.simplefilter("ignore")
        specs = config.sink_specs()
    assert [s.kind for s in specs] == ["kafka", "file"]


def test_minimal_config_gets_the_defaults_and_is_frozen() -> None:
    config = _parse(MINIMAL)
    assert config.feeds[0].url == "https://harbour-times.example/rss" and config.feeds[0].min_interval is None
    assert config.topic_prefix == "news" and config.sinks == () and config.state.path == "state/feed-state.json"
    assert config.http == HttpConfig(user_agent="acme-monitor/1.0 (+https://acme.example/bot)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.topic_prefix = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            MINIMAL + "polling:\n  min_intervall: 5m\n",
            "live.yaml line 6: polling.min_intervall: unknown key; did you mean 'min_interval'?",
        ),
        (MINIMAL + "poling: {}\n", "live.yaml line 5: poling: unknown key; did you mean 'polling'?"),
        (
            MINIMAL + "polling:\n  min_interval: 5 minutes\n",
            "live.yaml line 6: polling.min_interval: '5 minutes' is not a duration; "
            "write a number and a unit, e.g. 90s, 5m, 6h or 1d",
        ),
        (MINIMAL + "polling:\n  max_interval: 3600\n", "live.yaml line 6: polling.max_interval: 3600 has no unit"),
        (
            MINIMAL + "polling:\n  max_failures: lots\n",
            "live.yaml line 6: polling.max_failures: 'lots' must be a whole number",
        ),
        (MINIMAL + "polling:\n  seen_items: 3\n", "live.yaml line 6: polling.seen_items: 3 must be >= 10"),
        (
            MINIMAL + "polling:\n  max_new_items_per_poll: 0\n",
            "live.yaml line 6: polling.max_new_items_per_poll: 0 must be >= 1",
        ),
        (
            MINIMAL + "polling:\n  min_interval: 2d\n  max_interval: 1d\n",
            "live.yaml line 6: polling: min_interval (2 days, 0:00:00) is longer than max_interval",
        ),
        (
            MINIMAL + "  - url: ftp://files.example/rss\n",
            "live.yaml line 5: feeds[1]: feed URL 'ftp://files.example/rss' must start with http:// or https://",
        ),
        (
            MINIMAL + "  - url: https://a.example/rss\n    langauge: en\n",
            "live.yaml line 6: feeds[1].langauge: unknown key; did you mean 'language'?",
        ),
        (
            MINIMAL + "  - url: https://a.example/rss\n    language: english\n",
            "live.yaml line 5: feeds[1]: language 'english' is not an ISO 639-1 code",
        ),
        (
            MINIMAL + "  - url: https://a.example/rss\n    language: no\n",
            "live.yaml line 6: feeds[1].language: False must be text; put it in quotes",
        ),
        (
            MINIMAL + "  - url: https://a.example/rss\n    enabled: maybe\n",
            "live.yaml line 6: feeds[1].enabled: 'maybe' must be true or false",
        ),
        (MINIMAL + "  - title: no url\n", "live.yaml line 5: feeds[1]: no url; every feed needs url: https://..."),
        (
            MINIMAL + "  - url: https://a.example/rss\n    max_interval: 5m\n",
            "live.yaml line 5: feeds[1]: max_interval (5m) is shorter than the minimum (10m)",
        ),
        (
            MINIMAL + "  - https://HARBOUR-TIMES.example/rss/\n",
            "live.yaml line 5: feeds[1]: feed https://HARBOUR-TIMES.example/rss/ "
            "is already listed at live.yaml line 4: feeds[0]",
        ),
        (MINIMAL + "http:\n  read_timeout: 5s\n", "live.yaml line 5: http: given twice (first on line 1); keep one"),
        (
            'http:\n  user_agent: "-acme (+https://acme.example)"\nfeeds: [https://a.example/rss]\n',
            "live.yaml line 2: http.user_agent must start with a product token",
        ),
        (
            "http:\n  user_agent: acme/1.0\nfeeds: [https://a.example/rss]\n",
            "live.yaml line 2: http.user_agent must include a contact URL",
        ),
        (MINIMAL + "http2: {}\n", "live.yaml line 5: http2: unknown key; did you mean 'http'?"),
        ("feeds: [https://a.example/rss]\n", "live.yaml: http.user_agent is required"),
        (MINIMAL + "polling:\n  min_interval: [5m\n", "live.yaml line 7: YAML syntax error"),
        (MINIMAL + "  url: https://a.example/rss\n", "live.yaml line 5: YAML syntax error"),
        (MINIMAL + "http_x:\n", "unknown key"),
        (
            f"http:\n  user_agent: {AGENT}\n  connect_timeout: 0s\nfeeds: [https://a.example/rss]\n",
            "live.yaml line 3: http.connect_timeout must be more than 0 seconds",
        ),
        (
            f"http:\n  user_agent: {AGENT}\n  allowed_networks: [10.0.0.0/33]\nfeeds: [https://a.example/rss]\n",
            "live.yaml line 3: http.allowed_networks: '10.0.0.0/33' is not a network",
        ),
        (f"http:\n  user_agent: {AGENT}\n", "live.yaml line 1: no feeds"),
        (MINIMAL + "sinks:\n  - file://out\n  - kafka://\n", "live.yaml line 7: sinks[1]:"),
        (MINIMAL + "sinks: [out/dir]\n", "live.yaml line 5: sinks[0]: sink 'out/dir' needs a scheme"),
        (MINIMAL + "topic_prefix: News\n", "live.yaml line 5: topic_prefix: 'News' is invalid"),
        (
            MINIMAL + "stories:\n  dormancy: 40d\n",
            "live.yaml line 6: stories: horizon (30 days, 0:00:00) must not be shorter than dormancy "
            "(40 days, 0:00:00)",
        ),
        (
            MINIMAL + "stories:\n  trending_ratio: 0.5\n",
            "live.yaml line 6: stories.trending_ratio: 0.5 must be between 1 and 1000",
        ),
        (MINIMAL + "stories:\n  trending_window: 6\n", "live.yaml line 6: stories.trending_window: 6 has no unit"),
        (
            MINIMAL + "stories:\n  horizon: 30d\n  trending_baseline: 0s\n",
            "live.yaml line 7: stories: trending_baseline must be positive, got 0:00:00",
        ),
        (
            MINIMAL + "stories:\n  horizn: 2d\n",
            "live.yaml line 6: stories.horizn: unknown key; did you mean 'horizon'?",
        ),
        (MINIMAL + "archive:\n  rotate_size: huge\n", "live.yaml line 6: archive.rotate_size: 'huge' is not a size"),
        (MINIMAL + "feeds_file: x.yaml\n", "did you mean 'feed_files'?"),
        ("- just\n- a list\n", "live.yaml line 1: expected a mapping"),
        ("", "live.yaml: the file is empty"),
    ],
)
def test_config_errors_name_the_line_the_key_and_the_fix(text: str, expected: str) -> None:
    assert expected in _error(text)


def test_environment_overrides_win_over_the_file() -> None:
    env = {
        "STORYWIRE__HTTP__USER_AGENT": "other/2.0 (+https://other.example/contact)",
        "STORYWIRE__HTTP__READ_TIMEOUT": "45s",
        "storywire__polling__min_interval": "15m",
        "STORYWIRE__POLLING__MAX_FAILURES": "3",
        "STORYWIRE__HTTP__ALLOW_PRIVATE_ADDRESSES": "yes",
        "STORYWIRE__HTTP__ALLOWED_NETWORKS": "127.0.0.0/8, 10.1.0.0/16",
        "STORYWIRE__SINKS": "[kafka://broker:9092, file://out/live]",
        "STORYWIRE__TOPIC_PREFIX": "staging.news",
        "STORYWIRE__ARCHIVE__DIR": "/var/lib/storywire/warc",
        "STORYWIRE__STATE__PATH": "/var/lib/storywire/state.json",
        "UNRELATED": "ignored",
        "STORYWIRE_CONFIG": "single underscore: not ours",
    }
    config = _parse(MINIMAL + "polling:\n  min_interval: 5m\n", env)
    assert config.http.user_agent == "other/2.0 (+https://other.example/contact)" and config.http.read_timeout_s == 45
    assert config.polling.min_interval == timedelta(minutes=15) and config.polling.max_failures == 3
    assert config.http.allow_private_addresses is True
    assert config.http.allowed_networks == ("127.0.0.0/8", "10.1.0.0/16")
    assert config.sinks == ("kafka://broker:9092", "file://out/live") and config.topic_prefix == "staging.news"
    assert config.archive.dir == "/var/lib/storywire/warc" and config.state.path == "/var/lib/storywire/state.json"


def test_trending_settings_come_from_the_environment_too() -> None:
    env = {"STORYWIRE__STORIES__TRENDING_RATIO": " 2.5 ", "STORYWIRE__STORIES__TRENDING_BASELINE": "24h"}
    stories = _parse(MINIMAL, env).stories
    assert stories.trending_ratio == 2.5 and stories.trending_baseline == timedelta(hours=24)


def test_the_stories_section_is_the_story_cores_own_config() -> None:
    assert _parse(MINIMAL).stories == StoryConfig()
    stories = _parse(MINIMAL + "stories:\n  dormancy: 72h\n  horizon: 10d\n").stories
    assert stories == StoryConfig(dormancy=timedelta(hours=72), horizon=timedelta(days=10))
    env = {"STORYWIRE__STORIES__DORMANCY": "31d"}
    assert _error(MINIMAL, env) == (
        "environment variable STORYWIRE__STORIES__DORMANCY: stories: horizon (30 days, 0:00:00) must not be "
        "shorter than dormancy (31 days, 0:00:00)"
    )


def test_merging_can_be_switched_off_in_the_file_or_the_environment() -> None:
    assert _parse(MINIMAL + "stories:\n  merging: false\n").stories.merge_threshold is None
    env = {"STORYWIRE__STORIES__MERGING": "false"}
    assert _parse(MINIMAL, env).stories.merge_threshold is None
    with pytest.raises(ConfigError, match=r"stories\.merging: 'sometimes' must be true or false"):
        _parse(MINIMAL + "stories:\n  merging: sometimes\n")


def test_an_environment_value_overrides_the_same_key_in_the_file() -> None:
    text = MINIMAL + "polling:\n  min_interval: 5m\n"
    assert _parse(text).polling.min_interval == timedelta(minutes=5)
    assert _parse(text, {"STORYWIRE__POLLING__MIN_INTERVAL": "20m"}).polling.min_interval == timedelta(minutes=20)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"STORYWIRE__HTTP__USER_AGNT": "x"},
            "environment variable STORYWIRE__HTTP__USER_AGNT: no setting 'http.user_agnt'; "
            "did you mean STORYWIRE__HTTP__USER_AGENT?",
        ),
        (
            {"STORYWIRE__POLLING__MIN_INTERVAL": "soon"},
            "environment variable STORYWIRE__POLLING__MIN_INTERVAL: polling.min_interval: 'soon' is not a duration",
        ),
        (
            {"STORYWIRE__POLLING__MAX_FAILURES": "many"},
            "environment variable STORYWIRE__POLLING__MAX_FAILURES: "
            "polling.max_failures: 'many' must be a whole number",
        ),
        (
            {"STORYWIRE__HTTP__ALLOW_PRIVATE_ADDRESSES": "sometimes"},
            "STORYWIRE__HTTP__ALLOW_PRIVATE_ADDRESSES: http.allow_private_addresses: 'sometimes' must be true or false",
        ),
        (
            {"STORYWIRE__STORIES__TRENDING_RATIO": "lots"},
            "environment variable STORYWIRE__STORIES__TRENDING_RATIO: stories.trending_ratio: 'lots' must be a number",
        ),
        ({"STORYWIRE__FEEDS": "https://a.example/rss"}, "feeds cannot be set from the environment"),
        ({"STORYWIRE__HTTP": "x"}, "no setting 'http'"),
        (
            {"STORYWIRE__SINKS": "file://a,nowhere"},
            "environment variable STORYWIRE__SINKS: sinks[1]: sink 'nowhere' needs a scheme",
        ),
        (
            {"STORYWIRE__HTTP__USER_AGENT": "bad agent"},
            "environment variable STORYWIRE__HTTP__USER_AGENT: http.user_agent must",
        ),
    ],
)
def test_environment_errors_name_the_variable(env: dict[str, str], expected: str) -> None:
    assert expected in _error(MINIMAL, env)


def test_load_config_reads_os_environ_when_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(MINIMAL)
    monkeypatch.setenv("STORYWIRE__TOPIC_PREFIX", "from.env")
    assert load_config(path).topic_prefix == "from.env"
    assert load_config(path, environ={}).topic_prefix == "news"


def test_feed_files_are_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "world.yaml").write_text(
        "feeds:\n  - url: https://continental-post.example/feeds/world.atom\n    language: de\n"
    )
    config = load_config_text(tmp_path, MINIMAL + "feed_files: [lists/world.yaml]\n")
    assert [f.url for f in config.feeds] == [
        "https://harbour-times.example/rss",
        "https://continental-post.example/feeds/world.atom",
    ]
    (tmp_path / "lists" / "world.yaml").write_text("feeds:\n  - https://harbour-times.example/rss?utm_source=x\n")
    with pytest.raises(
        ConfigError, match=r"lists/world.yaml line 2: feeds\[0\]: feed .* is already listed at .*live.yaml line 4"
    ):
        load_config_text(tmp_path, MINIMAL + "feed_files: [lists/world.yaml]\n")
    (tmp_path / "lists" / "world.yaml").write_text("feeds: []\nhttp: {}\n")
    with pytest.raises(ConfigError, match=r"world.yaml line 2: http: a feed file holds only a feeds: list"):
        load_config_text(tmp_path, MINIMAL + "feed_files: [lists/world.yaml]\n")
    with pytest.raises(SourceUnavailableError, match=r"feed file not found: .*missing\.yaml"):
        load_config_text(tmp_path, MINIMAL + "feed_files: [missing.yaml]\n")


def load_config_text(directory: Path, text: str) -> LiveConfig:
    path = directory / "live.yaml"
    path.write_text(text)
    return load_config(path, environ={})


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError, match=r"config file not found: .*nope\.yaml"):
        load_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("6h", 21600),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("250ms", 0.25),
        ("2h 15m", 8100),
        ("10M", 600),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "60", "5 minutes", "m5", "1y", "-5m", "5m30"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for text in ("10m", "1h30m", "1d6h", "45s", "250ms"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("5MB", 5_000_000),
        ("5mb", 5_000_000),
        ("512KiB", 524_288),
        ("1GB", 10**9),
        ("2GiB", 2 * 1024**3),
        ("100B", 100),
        ("100", 100),
        (4096, 4096),
        ("1.5MB", 1_500_000),
    ],
)
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "5 bytes", "MB", "-1", "1XB", -5])
def test_bad_sizes(text: str | int) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_the_cap_on_new_items_per_poll_is_read_from_yaml_and_environment() -> None:
    config = parse_config(MINIMAL + "polling:\n  max_new_items_per_poll: 25\n", "live.yaml", {})
    assert config.polling.max_new_items_per_poll == 25
    env = {"STORYWIRE__POLLING__MAX_NEW_ITEMS_PER_POLL": "7"}
    assert parse_config(MINIMAL, "live.yaml", env).polling.max_new_items_per_poll == 7


def test_page_retries_are_read_from_yaml_and_environment() -> None:
    assert (_parse(MINIMAL).polling.page_retry_attempts, _parse(MINIMAL).polling.page_retry_base) == (
        3,
        timedelta(seconds=30),
    )
    assert _parse(MINIMAL).polling.page_retry_max_delay == timedelta(minutes=30)
    yaml = MINIMAL + "polling:\n  page_retry_attempts: 5\n  page_retry_base: 10s\n  page_retry_max_delay: 1h\n"
    polling = _parse(yaml).polling
    assert (polling.page_retry_attempts, polling.page_retry_base, polling.page_retry_max_delay) == (
        5,
        timedelta(seconds=10),
        timedelta(hours=1),
    )
    env = {
        "STORYWIRE__POLLING__PAGE_RETRY_ATTEMPTS": "0",
        "STORYWIRE__POLLING__PAGE_RETRY_BASE": "2m",
        "STORYWIRE__POLLING__PAGE_RETRY_MAX_DELAY": "15m",
    }
    polling = _parse(yaml, env).polling
    assert (polling.page_retry_attempts, polling.page_retry_base, polling.page_retry_max_delay) == (
        0,
        timedelta(minutes=2),
        timedelta(minutes=15),
    )


@pytest.mark.parametrize(
    ("polling", "expected"),
    [
        ("  page_retry_attempts: -1\n", "live.yaml line 6: polling.page_retry_attempts: -1 must be >= 0"),
        ("  page_retry_base: 0s\n", "live.yaml line 6: polling: page_retry_base must be a positive duration"),
        (
            "  page_retry_base: 1h\n  page_retry_max_delay: 30m\n",
            "live.yaml line 6: polling: page_retry_base (1:00:00) is longer than page_retry_max_delay (0:30:00)",
        ),
    ],
)
def test_bad_page_retry_settings_are_refused_naming_the_key(polling: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(MINIMAL + "polling:\n" + polling)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_run_section_defaults_overrides_and_limits() -> None:
    base = MINIMAL
    run = _parse(base).run
    assert (run.stop_grace, run.max_parallel_fetches, run.max_buffered_pages, run.broker_outage_limit) == (
        timedelta(seconds=10),
        32,
        1000,
        timedelta(minutes=15),
    )
    custom = _parse(base + "run: {stop_grace: 5s, max_parallel_fetches: 8, max_buffered_pages: 50}\n").run
    assert (custom.stop_grace, custom.max_parallel_fetches, custom.max_buffered_pages) == (timedelta(seconds=5), 8, 50)
    assert _parse(base, {"STORYWIRE__RUN__STOP_GRACE": "3s"}).run.stop_grace == timedelta(seconds=3)
    assert "stop_grace" in _error(base + "run: {stop_grace: 1h}\n")
    assert "max_parallel_fetches" in _error(base + "run: {max_parallel_fetches: 0}\n")
    assert "run.stop_graze" in _error(base + "run: {stop_graze: 5s}\n")


def test_extraction_section_maps_onto_the_extraction_limits() -> None:
    default = _parse(MINIMAL).extraction
    assert default.timeout_s == 20.0 and default.max_text_chars == 200_000
    custom = _parse(
        MINIMAL + "extraction: {max_text_chars: 5000, max_html_bytes: 512KiB, timeout: 5s, max_mess_ratio: 0.5}\n"
    ).extraction
    assert (custom.max_text_chars, custom.max_html_bytes, custom.timeout_s, custom.max_mess_ratio) == (
        5000,
        512 * 1024,
        5.0,
        0.5,
    )
    assert _parse(MINIMAL + "extraction: {timeout: 0s}\n").extraction.timeout_s is None  # in-process, no limit
    assert "extraction: max_text_chars (10) is below min_chars (50)" in _error(
        MINIMAL + "extraction: {max_text_chars: 10, min_chars: 50}\n"
    )
