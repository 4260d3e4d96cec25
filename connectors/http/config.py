"""The one frozen, validated configuration of the HTTP layer (durations in seconds; YAML parsing is elsewhere)."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass

from storywire.connectors.errors import ConfigError

_CONTACT_URL = re.compile(r"https?://[^\s;()]+\.[^\s;()]+")
_PRODUCT_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """How live fetches behave: identity, limits, SSRF policy, politeness and robots.txt.

    ``user_agent`` must start with a product token (``storywire/0.1``, also the robots.txt agent name) and hold
    a contact URL, so site operators can reach us instead of banning us.
    """

    user_agent: str
    # Timeouts. ``total_timeout_s`` is a hard bound on the network time of one fetch: connect, TLS, request,
    # response headers, body and chunk framing of every redirect hop (politeness waits and robots.txt excluded).
    # Every socket operation waits at most the time left, so a server trickling bytes cannot stretch a fetch past
    # it; connect and read timeouts bound each single connect and read within it.
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    # Size caps, applied while streaming to both the compressed and the decoded bytes.
    max_body_bytes: int = 10 * 1024 * 1024
    robots_max_bytes: int = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB
    max_redirects: int = 5
    # SSRF guard: special-purpose addresses (private, loopback, link-local, CGNAT...) are refused unless
    # ``allow_private_addresses`` or the address lies in one of ``allowed_networks`` (e.g. "127.0.0.0/8" for
    # tests). Cloud metadata endpoints are refused whatever these say.
    allow_private_addresses: bool = False
    allowed_networks: tuple[str, ...] = ()
    dns_cache_ttl_s: float = 60.0
    # DNS lookups: each waits at most ``dns_timeout_s`` (a resolver that hangs cannot hold a poll longer), and
    # a name that does not resolve (no such name, no address, timed out) is not asked again for
    # ``dns_negative_ttl_s`` (0: failures are not remembered), so a dead host name costs one lookup per
    # window however many of its URLs are due.
    dns_timeout_s: float = 5.0
    dns_negative_ttl_s: float = 60.0
    # Politeness, per host name, shared by feed, page and robots requests.
    min_delay_s: float = 5.0
    max_concurrency_per_host: int = 1
    default_backoff_s: float = 30.0  # after a 429/503 without a usable Retry-After
    max_retry_after_s: float = 6 * 3600.0
    max_wait_s: float = 60.0  # a longer politeness wait raises HostBackoffError instead of sleeping
    # robots.txt (applied to article pages only).
    robots_enabled: bool = True
    robots_ttl_s: float = 24 * 3600.0
    robots_error_ttl_s: float = 600.0
    robots_unreachable_allow_after_s: float = 30 * 24 * 3600.0
    max_crawl_delay_s: float = 60.0
    # Connection pool and TLS.
    max_connections: int = 100
    keepalive_expiry_s: float = 30.0
    ca_bundle: str | None = None  # PEM file of trusted CAs; None = certifi's bundle

    def __post_init__(self) -> None:
        _check_user_agent(self.user_agent)
        for name in (
            "connect_timeout_s",
            "read_timeout_s",
            "total_timeout_s",
            "dns_cache_ttl_s",
            "dns_timeout_s",
            "dns_negative_ttl_s",
            "min_delay_s",
            "default_backoff_s",
            "max_retry_after_s",
            "max_wait_s",
            "robots_ttl_s",
            "robots_error_ttl_s",
            "robots_unreachable_allow_after_s",
            "max_crawl_delay_s",
            "keepalive_expiry_s",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"http.{name} must be a number of seconds, got {value!r}")
            if value < 0:
                raise ConfigError(f"http.{name} must not be negative, got {value!r}")
        for name in ("connect_timeout_s", "read_timeout_s", "total_timeout_s", "dns_timeout_s"):
            if getattr(self, name) == 0:
                raise ConfigError(f"http.{name} must be more than 0 seconds")
        for name in ("max_body_bytes", "robots_max_bytes", "max_concurrency_per_host", "max_connections"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"http.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.max_redirects, int) or isinstance(self.max_redirects, bool) or self.max_redirects < 0:
            raise ConfigError(f"http.max_redirects must be an integer >= 0, got {self.max_redirects!r}")
        self.networks()  # validates allowed_networks

    def networks(self) -> tuple[IpNetwork, ...]:
        """``allowed_networks`` parsed; a ConfigError names the bad entry."""
        parsed: list[IpNetwork] = []
        for entry in self.allowed_networks:
            try:
                parsed.append(ipaddress.ip_network(entry, strict=True))
            except ValueError as exc:
                raise ConfigError(f"http.allowed_networks: {entry!r} is not a network such as 127.0.0.0/8") from exc
        return tuple(parsed)

    @property
    def robots_agent(self) -> str:
        """The product token robots.txt groups are matched against (``storywire`` for ``storywire/0.1 ...``)."""
        return self.user_agent.split("/", 1)[0].split(None, 1)[0]


def _check_user_agent(user_agent: str) -> None:
    if not isinstance(user_agent, str) or not user_agent.strip():
        raise ConfigError("http.user_agent is required, e.g. 'storywire/0.1 (+https://example.org/bot)'")
    if any(not (" " <= ch <= "~") for ch in user_agent):
        raise ConfigError("http.user_agent must be printable ASCII on one line")
    if not _PRODUCT_TOKEN.fullmatch(user_agent.split("/", 1)[0].split(None, 1)[0]):
        raise ConfigError(f"http.user_agent must start with a product token like 'storywire/0.1', got {user_agent!r}")
    if not _CONTACT_URL.search(user_agent):
        raise ConfigError(
            "http.user_agent must include a contact URL so site operators can reach you, "
            f"e.g. 'storywire/0.1 (+https://example.org/bot)'; got {user_agent!r}"
        )
