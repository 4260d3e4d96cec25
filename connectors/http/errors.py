"""Why a live fetch failed: the ``FetchError`` branch of storywire's one exception tree.

Every exception the HTTP layer lets out is one of these or an ``HttpStatusError``; the tree, with which of
them are retryable, is drawn in :mod:`storywire.connectors.errors`. They live here rather than there because
only the live HTTP layer raises them. Their class names are dead-letter ``error_type`` values (listed in
``DEAD_LETTER_ERROR_TYPES``), so rename with care. Third-party exceptions (httpx, httpcore, ssl, socket, zlib,
brotli) never escape: they are mapped to these with ``raise ... from exc``.
"""

from __future__ import annotations

from storywire.connectors.errors import InputError


class FetchError(InputError):
    """A live fetch of ``url`` failed before a response we keep was read."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(f"{message}: {url}")
        self.url = url


class InvalidUrlError(FetchError):
    """The URL cannot be requested at all (malformed, no host, invalid port)."""


class BlockedAddressError(FetchError):
    """The URL's scheme is not http(s), or its host resolves to an address the SSRF guard refuses."""


class DnsError(FetchError):
    """The host name could not be resolved."""

    def __init__(self, message: str, url: str, *, retryable: bool = False) -> None:
        super().__init__(message, url)
        self.retryable = retryable


class ConnectError(FetchError):
    """No TCP connection could be established, or it broke while in use."""

    retryable = True


class TlsError(FetchError):
    """The TLS handshake failed (certificate not trusted, name mismatch, protocol error)."""


class FetchTimeoutError(FetchError):
    """The connect, read or total timeout expired."""

    retryable = True


class HttpProtocolError(FetchError):
    """The server violated HTTP (e.g. closed the connection without a response); often transient."""

    retryable = True


class ContentDecodingError(FetchError):
    """The body's Content-Encoding is corrupt or one we did not ask for."""


class BodyTooLargeError(FetchError):
    """The body exceeded the configured cap; reading stopped there."""


class TooManyRedirectsError(FetchError):
    """More redirects than allowed, or a redirect that does not say where to."""


class RobotsDisallowedError(FetchError):
    """robots.txt of the URL's site disallows it for our user agent.

    ``retryable`` (with ``retry_after`` seconds) when the refusal is only for now: robots.txt could not be
    fetched (a 5xx, a dropped connection...), so every page of the site waits until it is asked for again.
    """

    def __init__(self, message: str, url: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, url)
        self.retry_after = retry_after
        self.retryable = retry_after is not None


class HostBackoffError(FetchError):
    """The host may not be asked again for ``retry_after`` seconds (politeness or its Retry-After).

    Raised instead of blocking when the wait exceeds ``HttpConfig.max_wait_s``, so a caller can schedule the
    fetch for later rather than hold a worker.
    """

    retryable = True

    def __init__(self, message: str, url: str, *, retry_after: float) -> None:
        super().__init__(message, url)
        self.retry_after = retry_after
