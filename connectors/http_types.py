"""The HTTP response shape shared by live fetching and archive replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import Message


@dataclass(frozen=True, slots=True)
class CapturedResponse:
    """One HTTP response as fetched live or as read back from an archive.

    ``source_ref`` says where it came from (``archive.warc.gz#offset=123`` or ``live``), so a dead letter can
    point at the raw bytes instead of copying them.
    """

    url: str
    captured_at: datetime
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ref: str
    body_location: tuple[str, int] | None = None
    """Set when ``body`` was left behind to keep memory small (a replay's page between reading and extraction):
    (archive path, record offset) to read it again from
    (:func:`storywire.connectors.archives.warc_reader.read_response_at`)."""

    def header(self, name: str) -> str | None:
        """The first header with this name (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def media_type(self) -> str:
        """The lower-case media type without parameters, '' when absent."""
        value = self.header("Content-Type") or ""
        return value.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, if any."""
        value = self.header("Content-Type")
        if not value:
            return None
        message = Message()
        message["Content-Type"] = value
        charset = message.get_content_charset()
        return charset or None
