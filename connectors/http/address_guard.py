"""SSRF guard: which URLs we may request, and which addresses their hosts may resolve to.

A feed list or a redirect is input from the outside; without a guard a hostile feed could make the pipeline
request ``http://169.254.169.254/`` (cloud credentials) or an internal admin page. The guard:

1. accepts only ``http``/``https`` URLs with a host, a valid port and no credentials, parsed with httpx's own
   URL parser (the one that builds the request, so the guard and the client cannot disagree on the host);
2. resolves the host with the injected resolver (``socket.getaddrinfo`` by default) and checks **every**
   address: one refused address refuses the host, so a DNS answer cannot mix a public and a private address;
3. hands the checked addresses to the connection layer (``transport.PinnedNetworkBackend``), which connects
   only to them: the address checked is the address connected to, whatever DNS answers a second later
   (DNS rebinding). Answers are cached ``dns_cache_ttl_s`` per host, so one lookup serves the check and the
   connection.

Every lookup is bounded: the resolver runs on a small pool of daemon threads shared by the process
(``DNS_LOOKUP_THREADS``) and the caller waits at most ``dns_timeout_s``; a lookup that does not answer in time
is a ``DnsError`` (retryable, like the resolver's own "try again", which is how a system resolver reports a
DNS server that timed out). ``getaddrinfo`` cannot be interrupted, so the abandoned lookup finishes on its
thread later and its answer is dropped; while the pool is busy a new lookup queues and its wait counts towards
its timeout, so a hanging resolver delays a fetch by at most ``dns_timeout_s`` and never grows threads.
Failed lookups (no such name, no address, timed out, resolver errors) are remembered per host for
``dns_negative_ttl_s`` in a least-recently-used table of at most ``DNS_NEGATIVE_CACHE_HOSTS`` names: within
that window the same ``DnsError`` comes back without asking the resolver, so a dead name listed by many feeds
or pages costs one lookup (and at most one timeout) per window.

Refused by default: unspecified, loopback, private (RFC 1918, IPv6 ULA), link-local, CGNAT 100.64/10,
multicast, reserved, documentation/benchmark ranges, any address Python does not consider globally reachable,
IPv4-mapped IPv6 (``::ffff:a.b.c.d``), and 6to4/NAT64 addresses that embed a refused IPv4 address. Cloud
metadata endpoints are refused even when private addresses are allowed.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from typing import Any, Final

import httpx

from storywire.connectors.http.config import HttpConfig, IpNetwork
from storywire.connectors.http.errors import BlockedAddressError, DnsError, InvalidUrlError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# socket.getaddrinfo-compatible: resolver(host, port, type=socket.SOCK_STREAM) -> [(family, type, proto,
# canonname, sockaddr), ...] where sockaddr[0] is the address text.
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DNS_CACHE_MAX = 4096
DNS_LOOKUP_THREADS: Final = 8
"""Threads running lookups for the whole process: enough for a polling round's parallel fetches."""
DNS_NEGATIVE_CACHE_HOSTS: Final = 1024
"""Host names whose failed lookup is remembered (least recently used beyond this are forgotten)."""

# Instance metadata services (AWS, AWS ECS/EKS, Alibaba, Azure wire server). Never reachable, whatever the config.
METADATA_ADDRESSES: frozenset[IpAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "100.100.100.200",
        "168.63.129.16",
        "fd00:ec2::254",
        "fd00:ec2::23",
    )
)

# Special-purpose ranges (IANA registries), most specific first; checked before Python's ``is_global`` so the
# result does not depend on the Python patch release.
_SPECIAL_NETWORKS: tuple[tuple[IpNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/8", "reserved (incl. IPv4-compatible)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments (incl. Teredo)"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing SIDs"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: IpAddress) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), with the form's name."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped IPv6"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    return None


def special_purpose_reason(address: IpAddress) -> str | None:
    """Why ``address`` is not a public internet address, or None when it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner, form = embedded
        if form == "IPv4-mapped IPv6":
            return f"IPv4-mapped IPv6 address (of {inner})"
        inner_reason = special_purpose_reason(inner)
        if inner_reason is not None:
            return f"{form} address embedding a {inner_reason} address ({inner})"
        return None
    for network, reason in _SPECIAL_NETWORKS:
        if address.version == network.version and address in network:
            return reason
    if address.is_multicast:
        return "multicast"
    if not address.is_global:
        return "not globally reachable"
    return None


def is_metadata_address(address: IpAddress) -> bool:
    """Whether ``address`` (or the IPv4 address it embeds) is a cloud metadata endpoint."""
    if address in METADATA_ADDRESSES:
        return True
    embedded = _embedded_ipv4(address)
    return embedded is not None and embedded[0] in METADATA_ADDRESSES


def parse_address(text: str) -> IpAddress:
    """An address from a resolver answer or a URL host; IPv6 zone ids (``fe80::1%eth0``) are kept."""
    return ipaddress.ip_address(text)


class LookupPool:
    """A fixed number of daemon threads running blocking calls (``getaddrinfo``) for callers that wait on a
    :class:`~concurrent.futures.Future` with a timeout.

    Threads start on demand up to ``size`` and never exit (they are daemons, so a lookup stuck in the resolver
    never holds up interpreter exit). A call whose caller gave up before it started is skipped
    (``Future.cancel``).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        """Queue ``call``; its result or exception arrives on the returned future."""
        future: Future[Any] = Future()
        self._jobs.put((future, call))
        with self._lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"storywire-dns-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    @property
    def threads(self) -> int:
        """Threads started so far (never more than ``size``)."""
        return len(self._threads)

    def _work(self) -> None:
        while True:
            future, call = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue  # the caller timed out before the lookup started
            try:
                result = call()
            except BaseException as exc:  # handed to the waiting caller, who maps it
                future.set_exception(exc)
            else:
                future.set_result(result)


_LOOKUPS = LookupPool(DNS_LOOKUP_THREADS)


@dataclass(frozen=True, slots=True)
class _Failure:
    """A remembered failed lookup: until when, and the DnsError to raise again."""

    until: float
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed the guard: where to connect (``addresses``, all checked) and what to ask for."""

    url: httpx.URL
    scheme: str
    host: str  # ASCII (IDNA) and lower case; IPv6 without brackets. Politeness and robots key on it.
    port: int
    addresses: tuple[str, ...]


class AddressGuard:
    """Checks URLs and resolves hosts to addresses we may connect to. Thread-safe; one per fetcher."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        resolver: Resolver = socket.getaddrinfo,
        clock: Callable[[], float] = time.monotonic,
        lookups: LookupPool | None = None,
        negative_cache_hosts: int = DNS_NEGATIVE_CACHE_HOSTS,
    ) -> None:
        self._allow_private = config.allow_private_addresses
        self._allowed_networks = config.networks()
        self._ttl = config.dns_cache_ttl_s
        self._timeout = config.dns_timeout_s
        self._negative_ttl = config.dns_negative_ttl_s
        self._negative_max = negative_cache_hosts
        self._resolver = resolver
        self._clock = clock
        self._lookups = lookups if lookups is not None else _LOOKUPS
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._failures: OrderedDict[str, _Failure] = OrderedDict()

    def refusal(self, address: IpAddress) -> str | None:
        """Why we must not connect to ``address``, or None when we may."""
        if is_metadata_address(address):
            return "cloud metadata endpoint"
        if any(address.version == net.version and address in net for net in self._allowed_networks):
            return None
        reason = special_purpose_reason(address)
        if reason is None or self._allow_private:
            return None
        return reason

    def check_url(self, url: str | httpx.URL) -> Target:
        """Parse, validate and resolve ``url``; raise unless every address of its host may be contacted."""
        text = str(url)
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidUrlError(f"not a valid URL ({exc})", text) from exc
        scheme = parsed.scheme
        if scheme not in ALLOWED_SCHEMES:
            raise BlockedAddressError(f"scheme {scheme or '(none)'!r} is not allowed, only http and https", text)
        if parsed.userinfo:
            raise InvalidUrlError("URLs with credentials are not fetched", text)
        try:
            host = parsed.raw_host.decode("ascii").lower()
        except UnicodeDecodeError as exc:  # pragma: no cover - httpx encodes hosts to IDNA ASCII
            raise InvalidUrlError("host is not ASCII after IDNA encoding", text) from exc
        if not host:
            raise InvalidUrlError("URL has no host", text)
        port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[scheme]
        if not 0 < port < 65536:
            raise InvalidUrlError(f"port {port} is out of range", text)
        addresses = self.resolve(host, port, url=text)
        return Target(url=parsed, scheme=scheme, host=host, port=port, addresses=addresses)

    def resolve(self, host: str, port: int, *, url: str | None = None) -> tuple[str, ...]:
        """The addresses of ``host``, every one checked; cached for ``dns_cache_ttl_s``.

        The connection layer calls this too, at connect time: both see the same cached answer, and a fresh
        answer is checked again before it is used.
        """
        where = url or f"{host}:{port}"
        now = self._clock()
        with self._lock:
            cached = self._cache.get(host)
        if cached is not None and cached[0] > now:
            addresses = cached[1]
        else:
            addresses = self._lookup_or_remember(host, port, where, now)
            if self._ttl > 0:
                with self._lock:
                    if len(self._cache) >= _DNS_CACHE_MAX:
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[host] = (now + self._ttl, addresses)
        for text in addresses:
            reason = self.refusal(parse_address(text))
            if reason is not None:
                raise BlockedAddressError(f"{host} resolves to {text}, a {reason} address", where)
        return addresses

    @property
    def remembered_failures(self) -> int:
        """Host names whose failed lookup is currently remembered (expired entries included until touched)."""
        with self._lock:
            return len(self._failures)

    def _lookup_or_remember(self, host: str, port: int, where: str, now: float) -> tuple[str, ...]:
        """A fresh lookup, unless the host failed within ``dns_negative_ttl_s``: then that failure again."""
        with self._lock:
            failure = self._failures.get(host)
            if failure is not None:
                if failure.until > now:
                    self._failures.move_to_end(host)
                else:
                    del self._failures[host]
                    failure = None
        if failure is not None:
            raise DnsError(f"{failure.message}; not asked again for now", where, retryable=failure.retryable)
        try:
            return self._lookup(host, port, where)
        except DnsError as exc:
            if self._negative_ttl > 0:
                message = str(exc).removesuffix(f": {where}")
                with self._lock:
                    self._failures[host] = _Failure(now + self._negative_ttl, message, exc.retryable)
                    self._failures.move_to_end(host)
                    while len(self._failures) > self._negative_max:
                        self._failures.popitem(last=False)
            raise

    def _lookup(self, host: str, port: int, where: str) -> tuple[str, ...]:
        try:
            return (str(parse_address(host)),)  # an IP literal: no DNS
        except ValueError:
            pass
        resolver = self._resolver
        pending = self._lookups.submit(lambda: resolver(host, port, type=socket.SOCK_STREAM))
        if not wait_for((pending,), timeout=self._timeout).done:
            pending.cancel()  # skipped if still queued; a running lookup finishes and its answer is dropped
            raise DnsError(f"cannot resolve {host} (no answer within {self._timeout:g}s)", where, retryable=True)
        try:
            answers = pending.result()
        except socket.gaierror as exc:
            transient = exc.errno == socket.EAI_AGAIN
            raise DnsError(f"cannot resolve {host} ({exc.strerror or exc})", where, retryable=transient) from exc
        except (OSError, UnicodeError, ValueError) as exc:
            raise DnsError(f"cannot resolve {host} ({exc})", where) from exc
        addresses: list[str] = []
        for answer in answers:
            try:
                text = str(parse_address(str(answer[4][0])))
            except (IndexError, TypeError, ValueError) as exc:
                raise DnsError(f"resolver gave an unusable address for {host}: {answer!r}", where) from exc
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise DnsError(f"{host} has no addresses", where)
        return tuple(addresses)
