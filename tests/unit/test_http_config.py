"""HttpConfig validation: a bad value stops start-up with a message that says what to write instead."""

from __future__ import annotations

import dataclasses

import pytest

from storywire.connectors.errors import ConfigError
from storywire.connectors.http import HttpConfig

UA = "storywire/0.1 (+https://example.org/bot)"


def test_defaults_are_safe_and_polite() -> None:
    config = HttpConfig(user_agent=UA)
    assert config.allow_private_addresses is False
    assert config.allowed_networks == ()
    assert config.min_delay_s == 5.0
    assert config.max_concurrency_per_host == 1
    assert config.robots_enabled is True
    assert config.robots_agent == "storywire"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.min_delay_s = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("user_agent", "message"),
    [
        ("", "required"),
        ("storywire/0.1", "contact URL"),
        ("storywire/0.1 (contact: ops@example.org)", "contact URL"),
        ("storywire/0.1 (+https://example.org/bot)\r\nX-Evil: 1", "printable ASCII"),
        ("(+https://example.org/bot)", "product token"),
        ("störywire/0.1 (+https://example.org/bot)", "printable ASCII"),
    ],
)
def test_user_agent_must_name_us_and_give_a_contact_url(user_agent: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HttpConfig(user_agent=user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        "storywire/0.1 (+https://example.org/bot)",
        "Storywire-News/2.3 (news monitoring; http://ops.example.com/crawler)",
        "storywire (+https://example.org)",
    ],
)
def test_usual_user_agents_pass(user_agent: str) -> None:
    assert HttpConfig(user_agent=user_agent).robots_agent.lower().startswith("storywire")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_delay_s", -1.0, "must not be negative"),
        ("read_timeout_s", 0.0, "more than 0"),
        ("total_timeout_s", float("inf"), "number of seconds"),
        ("connect_timeout_s", "5s", "number of seconds"),
        ("max_wait_s", True, "number of seconds"),
        ("max_body_bytes", 0, "positive integer"),
        ("max_concurrency_per_host", 1.5, "positive integer"),
        ("max_redirects", -1, ">= 0"),
    ],
)
def test_bad_numbers_are_config_errors(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HttpConfig(user_agent=UA, **{field: value})  # type: ignore[arg-type]


def test_zero_delays_are_allowed_for_benchmarks_and_tests() -> None:
    config = HttpConfig(user_agent=UA, min_delay_s=0.0, max_wait_s=0.0, max_redirects=0)
    assert config.min_delay_s == 0.0
