"""storywire's one exception tree, and the public dead-letter ``error_type`` names.

Every exception storywire raises on purpose descends from :class:`StorywireError` (defined in the lowest layer,
:mod:`storywire.schemas.errors`, so that the schemas' codec can use it too; import it from here). ``retryable``
says whether the same input may succeed later; the right column says which it is (``*``: also a ``ValueError``,
as it was before it joined this tree, so callers catching ``ValueError`` still catch it)::

    StorywireError                     the root (defined in schemas/errors.py)
    ├── ConfigError                    a wrong setting or command-line value: stops start-up        permanent
    │   ├── InvalidSettingError *      one value a validator refuses; the loader adds file and line permanent
    │   │   └── BadValue *             a YAML or environment value of the wrong form (yaml_reader)   permanent
    │   └── PortInUseError             the metrics port cannot be bound (live/health.py)             permanent
    ├── SourceUnavailableError         an archive, directory or service that cannot be opened       permanent
    │   ├── StateFileError             an unusable poll checkpoint (feeds/state_store.py)           permanent
    │   └── StoryStoreError            an unusable story state file (stories/store.py)              permanent
    ├── DamagedStateError *            a feed state entry or message that cannot be read            permanent
    ├── StoryStateError *              saved story state this build cannot restore (stories/state)  permanent
    ├── DecodeError *                  bytes that are not a valid message (schemas/codec.py)        permanent
    ├── SchemaValidationError *        a message not matching its schema (schemas/validation.py)    permanent
    ├── InputError                     one bad input: becomes a dead letter, the run goes on
    │   ├── ArchiveRecordError         an unreadable or oversized WARC record                       permanent
    │   ├── UnknownInputError          a replay input of no known kind, or a folder holding no file permanent
    │   ├── DumpRecordError            a JSONL article dump line that is not an article             permanent
    │   ├── HttpStatusError            a non-2xx answer (``status``, ``retry_after``)               429, 5xx: retryable
    │   ├── UnsupportedContentError    a response of a content type we do not process               permanent
    │   ├── FeedParseError             a feed with no readable entries                              permanent
    │   ├── MalformedFeedError         a broken feed whose first entries were recovered             permanent
    │   ├── UnsafeXmlError             a feed using DTD entities or external references             permanent
    │   ├── NotCapturedError           a listed item whose page is not in the archive               permanent
    │   ├── EmptyExtractionError       a page from which no extractor got enough text               permanent
    │   ├── EncodingError              page text still garbled after charset correction (U+FFFD)    permanent
    │   ├── ExtractionTimeoutError     a page the extractor spun on past the time limit: stopped    permanent
    │   ├── ExtractorCrashedError      the extraction worker process died on a page                 permanent
    │   ├── FeedBrokenError            a feed failing so often it is polled rarely (feeds/poll.py)  permanent
    │   └── FetchError                 a live fetch without an answer we keep (http/errors.py)
    │       ├── InvalidUrlError        not a URL we can request (no host, bad port or characters)   permanent
    │       ├── BlockedAddressError    not http(s), or a host the SSRF guard refuses                permanent
    │       ├── DnsError               the host name does not resolve                               EAI_AGAIN: retryable
    │       ├── ConnectError           no TCP connection (refused, unreachable, reset)              retryable
    │       ├── TlsError               the TLS handshake or the certificate check failed            permanent
    │       ├── FetchTimeoutError      connect, read or total timeout                               retryable
    │       ├── HttpProtocolError      the server broke HTTP (closed mid-response, bad headers)     retryable
    │       ├── ContentDecodingError   a corrupt or unsupported Content-Encoding                    permanent
    │       ├── BodyTooLargeError      the body (compressed or decoded) exceeds the size cap        permanent
    │       ├── TooManyRedirectsError  too many redirects, or a redirect without Location           permanent
    │       ├── RobotsDisallowedError  robots.txt forbids this URL (or cannot be read, for now)     unread: retryable
    │       └── HostBackoffError       the host's next polite slot is further than we may wait      retryable
    └── KafkaConnectorError            the Kafka connector failed (kafka/errors.py)
        ├── KafkaConfigError *         invalid Kafka settings: fix the configuration                permanent
        ├── InvalidEnvelopeError *     CloudEvents headers missing or malformed                     permanent
        ├── BrokerUnreachableError     no broker answered at the bootstrap address                  retryable
        ├── TopicSetupError            creating or inspecting topics failed                         permanent
        ├── DeliveryError              records the broker did not acknowledge after the retries     retryable
        └── MessageTooLargeError       one record over the size limit: it is dead-lettered          permanent

Third-party exceptions (httpx, ssl, zlib, kafka-python...) are mapped to these with ``raise ... from exc``, with
one exception: a record the broker refuses for good is dead-lettered under kafka-python's own class name (see
:data:`DEAD_LETTER_ERROR_TYPES`). Built-in ``TypeError``/``ValueError`` remain for programming errors only (a
wrong argument from code, never from input or configuration), and ``http/decoding.py``'s two internal signals
never leave the HTTP layer.
"""

from __future__ import annotations

from typing import Final

from storywire.schemas.errors import StorywireError

__all__ = [
    "DEAD_LETTER_ERROR_TYPES",
    "ArchiveRecordError",
    "ConfigError",
    "DamagedStateError",
    "DumpRecordError",
    "EmptyExtractionError",
    "EncodingError",
    "ExtractionTimeoutError",
    "ExtractorCrashedError",
    "FeedParseError",
    "HttpStatusError",
    "InputError",
    "InvalidSettingError",
    "MalformedFeedError",
    "NotCapturedError",
    "SourceUnavailableError",
    "StorywireError",
    "UnknownInputError",
    "UnsafeXmlError",
    "UnsupportedContentError",
]

DEAD_LETTER_ERROR_TYPES: Final[frozenset[str]] = frozenset(
    {
        # InputError subclasses (this module, feeds/poll.py, http/errors.py): one bad input each.
        "ArchiveRecordError",
        "UnknownInputError",
        "DumpRecordError",
        "HttpStatusError",
        "UnsupportedContentError",
        "FeedParseError",
        "MalformedFeedError",
        "UnsafeXmlError",
        "NotCapturedError",
        "EmptyExtractionError",
        "EncodingError",
        "ExtractionTimeoutError",
        "ExtractorCrashedError",
        "FeedBrokenError",
        "InvalidUrlError",
        "BlockedAddressError",
        "DnsError",
        "ConnectError",
        "TlsError",
        "FetchTimeoutError",
        "HttpProtocolError",
        "ContentDecodingError",
        "BodyTooLargeError",
        "TooManyRedirectsError",
        "RobotsDisallowedError",
        "HostBackoffError",
        # The Kafka sink (stage sink-kafka): too large for the producer's limit ...
        "MessageTooLargeError",
        # ... or refused for good by the broker: kafka-python's class for each of kafka/errors.py's
        # PERMANENT_ERROR_CODES (10, 17, 18, 32, 87), kept as they come.
        "MessageSizeTooLargeError",
        "InvalidTopicError",
        "RecordListTooLargeError",
        "InvalidTimestampError",
        "InvalidRecordError",
    }
)
"""Every ``error_type`` a dead letter carries on purpose: a public contract (consumers filter on these names).

A dead letter built from an exception (:meth:`storywire.connectors.failures.Failure.from_exception`) carries the
exception's class name, so the classes above are named here and renaming one is a breaking change. The grouping
classes ``InputError`` and ``FetchError`` are never raised themselves. A name outside this set can only come from
an exception storywire did not anticipate (a library raising something unmapped, caught by a stage's
catch-all): a bug to report. ``schemas/v1/dead_letter.schema.json`` lists the same names (a test checks it).
"""


class ConfigError(StorywireError):
    """A configuration or command-line value is wrong; the message says which and how to fix it."""


class InvalidSettingError(ConfigError, ValueError):
    """One setting's value is invalid; validators raise it with the fix, and the config loader adds the file,
    the line and the key (also a ``ValueError``, what validators raised before)."""


class DamagedStateError(StorywireError, ValueError):
    """A feed's saved state (a checkpoint entry or a feed-state topic message) cannot be read; the checkpoint
    store turns it into a :class:`StateFileError` naming the file (also a ``ValueError``, as before)."""


class SourceUnavailableError(StorywireError):
    """An archive file or service named in the configuration cannot be opened."""


class InputError(StorywireError):
    """One input cannot be turned into a result; it becomes a dead letter."""


class ArchiveRecordError(InputError):
    """A WARC record that cannot be read, or whose body exceeds the size limit."""


class UnknownInputError(InputError):
    """A replay input that cannot be read as any supported kind: a file that is neither a WARC archive nor a JSONL
    article dump, an empty file, a directory holding no file, a pattern matching nothing."""


class DumpRecordError(InputError):
    """A line of a JSONL article dump that is not a JSON object, lacks a field or has a field of the wrong form."""


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


class EncodingError(InputError):
    """Page text that is still made of replacement characters or mojibake after the charset was verified and,
    where the declared one did not fit the bytes, corrected (connectors/articles/charset.py)."""


class ExtractionTimeoutError(InputError):
    """The extractor ran past the per-page time limit on a page; its worker process was killed and replaced."""


class ExtractorCrashedError(InputError):
    """The extraction worker process died while extracting a page (a crash, or killed for memory)."""
