"""``storywire config check|show``: every mistake with file, line and key; the effective config, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from storywire.pipelines.cli.main import main
from storywire.pipelines.config.loading import check_config, load_config

GOOD = """\
feeds:
  - https://a.example/rss
  - url: https://b.example/rss
    min_interval: 15m
    enabled: false
http: {user_agent: "acme/1.0 (+https://acme.example/bot)", connect_timeout: 5s}
sinks: [kafka://127.0.0.1:19092, file://out/live]
"""

BAD = """\
feeds:
  - https://a.example/rss
  - url: https://b.example/rss
    min_interval: 5 minutes
    colour: red
http:
  user_agent: "acme/1.0 (+https://acme.example/bot)"
  connect_timout: 10s
polling:
  max_failures: lots
metrics: {port: "9464"}
sinks: [s3://bucket/x]
bogus: 1
"""


def _write(tmp_path: Path, text: str, name: str = "live.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_reports_every_problem_with_file_line_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, BAD)
    problems = check_config(path, environ={})
    assert [p.split(": ", 2)[:2] for p in problems] == [
        [f"{path} line 4", "feeds[1].min_interval"],
        [f"{path} line 5", "feeds[1].colour"],
        [f"{path} line 8", "http.connect_timout"],
        [f"{path} line 10", "polling.max_failures"],
        [f"{path} line 11", "metrics.port"],
        [f"{path} line 12", "sinks[0]"],
        [f"{path} line 13", "bogus"],
    ]
    assert "did you mean 'connect_timeout'?" in problems[2]
    assert "'lots' must be a whole number" in problems[3]
    with pytest.raises(Exception, match="line 13: bogus: unknown key"):  # loading stops at the first it meets
        load_config(path, environ={})


def test_check_names_bad_environment_overrides_too(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    problems = check_config(path, environ={"STORYWIRE__POLLING__MIN_INTERVL": "3m", "STORYWIRE__HTTP__MIN_DELAY": "x"})
    assert problems[0].startswith("environment variable STORYWIRE__POLLING__MIN_INTERVL: no setting")
    assert "did you mean STORYWIRE__POLLING__MIN_INTERVAL?" in problems[0]
    assert check_config(path, environ={"STORYWIRE__HTTP__MIN_DELAY": "x"}) == [
        "environment variable STORYWIRE__HTTP__MIN_DELAY: http.min_delay: 'x' is not a duration; write a number "
        "and a unit, e.g. 90s, 5m, 6h or 1d"
    ]


def test_check_of_whole_file_mistakes(tmp_path: Path) -> None:
    assert check_config(tmp_path / "missing.yaml") == [
        f"config file not found: {tmp_path / 'missing.yaml'} (give the path of a YAML file)"
    ]
    (syntax,) = check_config(_write(tmp_path, "feeds: [a\n"), environ={})
    assert "YAML syntax error" in syntax
    (no_feeds,) = check_config(_write(tmp_path, 'http: {user_agent: "a/1 (+https://a.example)"}\n'), environ={})
    assert "no feeds" in no_feeds
    (missing_file,) = check_config(_write(tmp_path, GOOD + "feed_files: [more.yaml]\n"), environ={})
    assert "feed file not found" in missing_file and "more.yaml" in missing_file


def test_cli_check_prints_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, BAD)
    assert main(["config", "check", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 8 and lines[-1] == f"{path}: 7 problem(s)"
    assert all(line.startswith(f"storywire: error: {path} line ") for line in lines[:-1])
    assert captured.out == ""


def test_cli_check_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok (2 feeds, 1 enabled)"


def test_show_prints_the_effective_config_with_overrides_and_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, GOOD)
    monkeypatch.setenv("STORYWIRE__POLLING__MIN_INTERVAL", "20m")
    assert main(["config", "show", str(path)]) == 0
    text = capsys.readouterr().out
    shown = yaml.safe_load(text)
    assert text.startswith(f"# {path} as it takes effect")
    assert shown["feeds"] == [
        {"url": "https://a.example/rss"},
        {"url": "https://b.example/rss", "min_interval": "15m", "enabled": False},
    ]
    assert shown["polling"]["min_interval"] == "20m"  # the override
    assert shown["polling"]["max_failures"] == 10  # a default
    assert shown["http"]["connect_timeout"] == "5s"  # seconds written back as a duration
    assert shown["stories"]["merging"] is True
    assert shown["sinks"] == ["kafka://127.0.0.1:19092", "file://out/live"]
    # What it shows is a config that loads to the same settings.
    again = _write(tmp_path, text, "shown.yaml")
    assert load_config(again, environ={}) == load_config(path)


def test_show_masks_every_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "hunter2-very-secret"
    monkeypatch.setenv("KAFKA_PASSWORD", password)
    path = _write(
        tmp_path,
        GOOD + "kafka: {security_protocol: SASL_PLAINTEXT, sasl_mechanism: PLAIN, sasl_username: svc,\n"
        "        sasl_password_env: KAFKA_PASSWORD}\n",
    )
    assert main(["config", "show", str(path)]) == 0
    text = capsys.readouterr().out
    assert password not in text and "KAFKA_PASSWORD" not in text
    kafka = yaml.safe_load(text)["kafka"]
    assert kafka["sasl_password_env"] == "***" and kafka["sasl_password_file"] is None
    assert kafka["sasl_username"] == "svc" and kafka["security_protocol"] == "SASL_PLAINTEXT"


def test_show_masks_settings_named_like_secrets() -> None:
    from storywire.pipelines.cli.config import _plain

    assert _plain("api_token", "abc") == "***"
    assert _plain("client_secret", "abc") == "***"
    assert _plain("ssl_password_file", "/run/secrets/x") == "***"
    assert _plain("api_token", None) is None
    assert _plain("user_agent", "a/1") == "a/1"


def test_show_of_a_bad_config_is_check_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", str(_write(tmp_path, BAD))]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("storywire: error: ") == 7
