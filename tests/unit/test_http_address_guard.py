"""SSRF guard: which URLs pass, which addresses are refused, and that every resolved address is checked."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from storywire.connectors.errors import ConfigError, InputError
from storywire.connectors.http import AddressGuard, BlockedAddressError, DnsError, HttpConfig, InvalidUrlError
from storywire.connectors.http.address_guard import is_metadata_address, special_purpose_reason

UA = "storywire/0.1 (+https://example.org/bot)"


def answers(*addresses: str) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr: tuple[Any, ...] = (address, 80, 0, 0) if family == socket.AF_INET6 else (address, 80)
        out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
    return out


class FakeResolver:
    """getaddrinfo stand-in: a fixed table, counting calls."""

    def __init__(self, table: dict[str, list[str] | BaseException]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        entry = self.table.get(host)
        if entry is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(entry, BaseException):
            raise entry
        return answers(*entry)


def guard(resolver: FakeResolver | None = None, **overrides: Any) -> AddressGuard:
    config = HttpConfig(user_agent=UA, **overrides)
    return AddressGuard(config, resolver=resolver or FakeResolver({}), clock=lambda: 0.0)


REFUSED = [
    ("0.0.0.0", "unspecified"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:10.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),  # mapped forms are refused outright: no DNS answer needs them
    ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible form
    ("2002:7f00:1::1", "6to4"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "6to4"),  # 6to4 of 10.0.0.1
    ("64:ff9b::a00:1", "NAT64"),  # NAT64 of 10.0.0.1
    ("64:ff9b::7f00:1", "NAT64"),
    ("2001:0:4136:e378::1", "Teredo"),
]

ALLOWED = ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e", "2002:808:808::1"]

METADATA = ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "::ffff:169.254.169.254"]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_special_purpose_addresses_are_refused_by_default(address: str, why: str) -> None:
    reason = guard().refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert why.lower() in reason.lower()


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert guard().refusal(ipaddress.ip_address(address)) is None
    assert special_purpose_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", METADATA)
def test_metadata_endpoints_are_refused_even_when_private_addresses_are_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert is_metadata_address(ip)
    assert guard(allow_private_addresses=True).refusal(ip) == "cloud metadata endpoint"
    assert guard(allowed_networks=("169.254.0.0/16", "fd00::/8", "0.0.0.0/0")).refusal(ip) is not None


def test_allowed_networks_open_only_the_listed_range() -> None:
    g = guard(allowed_networks=("127.0.0.0/8",))
    assert g.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert g.refusal(ipaddress.ip_address("127.9.9.9")) is None
    assert g.refusal(ipaddress.ip_address("10.0.0.1")) is not None
    assert g.refusal(ipaddress.ip_address("::1")) is not None
    assert g.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is not None


def test_allow_private_addresses_opens_everything_but_metadata() -> None:
    g = guard(allow_private_addresses=True)
    for address in ("10.0.0.1", "127.0.0.1", "::1", "fc00::1"):
        assert g.refusal(ipaddress.ip_address(address)) is None


def test_every_resolved_address_is_checked_one_private_address_refuses_the_host() -> None:
    resolver = FakeResolver({"mixed.example": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(BlockedAddressError, match=r"10\.0\.0\.7.*private") as info:
        guard(resolver).check_url("https://mixed.example/feed")
    assert isinstance(info.value, InputError)
    assert not info.value.retryable


def test_check_url_returns_the_checked_addresses_and_normalised_host() -> None:
    resolver = FakeResolver({"news.example": ["93.184.216.34", "2606:2800:220:1::1", "93.184.216.34"]})
    target = guard(resolver).check_url("HTTPS://News.Example/a?b=1")
    assert target.host == "news.example"
    assert target.port == 443
    assert target.scheme == "https"
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1::1")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0:80/",
    ],
)
def test_ip_literals_are_checked_without_dns(url: str) -> None:
    resolver = FakeResolver({})
    with pytest.raises(BlockedAddressError):
        guard(resolver).check_url(url)
    assert resolver.calls == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "017700000001"])
def test_odd_ipv4_spellings_are_judged_by_what_they_resolve_to(host: str) -> None:
    # the system resolver turns these into 127.0.0.1; the guard checks the answer, not the spelling
    with pytest.raises(BlockedAddressError, match="loopback"):
        guard(resolver=socket.getaddrinfo).check_url(f"http://{host}/")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "javascript:alert(1)", "data:,hi"],
)
def test_only_http_and_https_are_allowed(url: str) -> None:
    with pytest.raises(BlockedAddressError, match="scheme"):
        guard().check_url(url)


@pytest.mark.parametrize(
    "url", ["http://", "http://user:secret@example.com/", "http://example.com:0/", "http://example.com:70000/"]
)
def test_unusable_urls_are_invalid(url: str) -> None:
    with pytest.raises(InvalidUrlError):
        guard(FakeResolver({"example.com": ["93.184.216.34"]})).check_url(url)


def test_dns_failures_map_to_dns_error_with_retryable_only_for_try_again() -> None:
    resolver = FakeResolver({"flaky.example": socket.gaierror(socket.EAI_AGAIN, "Temporary failure")})
    with pytest.raises(DnsError) as missing:
        guard(resolver).check_url("http://missing.example/")
    assert not missing.value.retryable
    assert isinstance(missing.value.__cause__, socket.gaierror)
    with pytest.raises(DnsError) as flaky:
        guard(resolver).check_url("http://flaky.example/")
    assert flaky.value.retryable


def test_resolutions_are_cached_for_the_ttl_and_checked_again_on_refresh() -> None:
    now = [0.0]
    resolver = FakeResolver({"rebind.example": ["93.184.216.34"]})
    g = AddressGuard(HttpConfig(user_agent=UA, dns_cache_ttl_s=60), resolver=resolver, clock=lambda: now[0])
    assert g.resolve("rebind.example", 80) == ("93.184.216.34",)
    resolver.table["rebind.example"] = ["127.0.0.1"]  # the attacker's DNS now answers loopback
    now[0] = 59.0
    assert g.resolve("rebind.example", 80) == ("93.184.216.34",)  # the answer that was checked
    assert resolver.calls == ["rebind.example"]
    now[0] = 61.0
    with pytest.raises(BlockedAddressError, match="loopback"):
        g.resolve("rebind.example", 80)


def test_a_zero_ttl_resolves_every_time() -> None:
    resolver = FakeResolver({"a.example": ["93.184.216.34"]})
    g = AddressGuard(HttpConfig(user_agent=UA, dns_cache_ttl_s=0), resolver=resolver, clock=lambda: 0.0)
    g.resolve("a.example", 80)
    g.resolve("a.example", 80)
    assert resolver.calls == ["a.example", "a.example"]


def test_bad_allowed_network_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="allowed_networks"):
        HttpConfig(user_agent=UA, allowed_networks=("127.0.0.1/8",))  # host bits set
    with pytest.raises(ConfigError, match="allowed_networks"):
        HttpConfig(user_agent=UA, allowed_networks=("localhost",))
