"""The storywire input-error tree. Every error that a bad input can cause is one of these.

::

    StorywireError
    ├── ConfigError                 bad configuration or command-line value: stops start-up
    ├── SourceUnavailableError      an archive path or service that cannot be opened: stops start-up
    └── InputError                  one bad input: becomes a dead letter, the run goes on
        ├── ArchiveRecordError      an unreadable or oversized WARC record
        ├── HttpStatusError         a non-2xx HTTP response (``status``, ``retry_after`` attributes)
        ├── FetchError              a live fetch that failed: the subtree is in ``connectors/http/errors.py``
        ├── UnsupportedContentError a response of a content type we do not process
        ├── FeedParseError          a feed with no readable entries
        ├── MalformedFeedError      a broken feed whose first entries were recovered (later ones may be lost)
        ├── UnsafeXmlError          a feed using DTD entities or external references
        ├── NotCapturedError        an item listed in a feed whose page is not in the archive
        └── EmptyExtractionError    a page from which no extractor got enough text

``retryable`` says whether the same input may succeed later (a 503, a timeout); dead letters carry the class
name as ``error_type``, so these names are part of the public contract: rename with care.
"""

from __future__ import annotations


class StorywireError(Exception):
    """Base of every error storywire raises on purpose."""

    retryable: bool = False


class ConfigError(StorywireError):
    """A configuration or command-line value is wrong; the message says which and how to fix it."""


class SourceUnavailableError(StorywireError):
    """An archive file or service named in the configuration cannot be opened."""


class InputError(StorywireError):
    """One input cannot be turned into a result; it becomes a dead letter."""


class ArchiveRecordError(InputError):
    """A WARC record that cannot be read, or whose body exceeds the size limit."""


class HttpStatusError(InputError):
    """The server answered with a non-success status."""

    def __init__(self, status: int, url: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} for {url}")
        self.status = status
        self.url = url
        self.retryable = status == 429 or status >= 500
        # Seconds the server asked us to wait (Retry-After on a 429/503), None when it did not say.
        self.retry_after = retry_after


class UnsupportedContentError(InputError):
    """A response whose content type storywire does not process (e.g. a PDF where HTML was expected)."""


class FeedParseError(InputError):
    """A feed body from which no entries could be read."""


class MalformedFeedError(InputError):
    """A feed with broken markup from which some entries were still read; reported, and the entries used."""


class UnsafeXmlError(InputError):
    """A feed that declares entities or external references; refused to avoid entity-expansion attacks."""


class NotCapturedError(InputError):
    """A feed item whose article page is not in the archive being replayed."""


class EmptyExtractionError(InputError):
    """No extractor produced enough article text from a page (paywall, video page, bot wall...)."""
