"""The HTTP layer every live fetch goes through: guarded, polite, bounded, with storywire's own errors.

=================  ==============================================================================
``fetcher``        ``HttpFetcher.fetch(url, kind=..., etag=..., last_modified=...) -> FetchResult``
``config``         ``HttpConfig``: frozen, validated settings (seconds as floats)
``address_guard``  SSRF guard: http(s) only, every resolved address checked, results cached for pinning
``transport``      httpx transport whose connections go only to the checked addresses
``politeness``     per-host spacing, concurrency budget, Retry-After; ``parse_retry_after``
``robots``         robots.txt cache and policy (article pages only)
``decoding``       gzip/deflate/br decoding with a hard output cap
``errors``         the ``FetchError`` tree (all ``InputError``: failures become dead letters)
=================  ==============================================================================

Pure Python: no Beam import. A DoFn creates one ``HttpFetcher`` in ``setup()`` and closes it in ``teardown()``.

Import the names from here (``from storywire.connectors.http import HttpFetcher, InvalidUrlError``). The address
guard, the fetcher and the robots policy are loaded on first use: they import httpx (about 0.2 s), which a replay
(it fetches nothing) should not pay for the error types and settings it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storywire.connectors.http.config import HttpConfig
from storywire.connectors.http.errors import (
    BlockedAddressError,
    BodyTooLargeError,
    ConnectError,
    ContentDecodingError,
    DnsError,
    FetchError,
    FetchTimeoutError,
    HostBackoffError,
    HttpProtocolError,
    InvalidUrlError,
    RobotsDisallowedError,
    TlsError,
    TooManyRedirectsError,
)
from storywire.connectors.http.politeness import PolitenessScheduler, Slot, parse_retry_after
from storywire.connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from storywire.connectors.http.address_guard import AddressGuard, Target
    from storywire.connectors.http.fetcher import FetchResult, HttpFetcher, Kind
    from storywire.connectors.http.robots import RobotsDecision, RobotsPolicy

__all__ = [
    "AddressGuard",
    "BlockedAddressError",
    "BodyTooLargeError",
    "ConnectError",
    "ContentDecodingError",
    "DnsError",
    "FetchError",
    "FetchResult",
    "FetchTimeoutError",
    "HostBackoffError",
    "HttpConfig",
    "HttpFetcher",
    "HttpProtocolError",
    "InvalidUrlError",
    "Kind",
    "PolitenessScheduler",
    "RobotsDecision",
    "RobotsDisallowedError",
    "RobotsPolicy",
    "Slot",
    "Target",
    "TlsError",
    "TooManyRedirectsError",
    "parse_retry_after",
]

if not TYPE_CHECKING:  # mypy reads the imports above; a module __getattr__ would make every name type-check
    __getattr__ = lazy_exports(
        __name__,
        globals(),
        {
            "address_guard": ("AddressGuard", "Target"),
            "fetcher": ("FetchResult", "HttpFetcher", "Kind"),
            "robots": ("RobotsDecision", "RobotsPolicy"),
        },
    )
