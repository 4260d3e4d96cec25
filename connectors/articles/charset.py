"""Decode a page body with a charset that fits its bytes, and refuse text that still reads as garbage.

Servers lie about charsets: ``utf-8`` declared on cp1251, Shift_JIS or GB2312 bytes (every non-ASCII character
becomes U+FFFD), or a legacy charset declared on UTF-8 bytes (mojibake: ``Ð¾``, ``Ã©``). The rules, in order:

1. bytes that are valid UTF-8 and not plain ASCII are UTF-8, whatever was declared (a legacy text of any length
   is practically never valid UTF-8 by accident; this is also the first rule of trafilatura's own sniffing);
2. else the declared charset (HTTP ``Content-Type``) when the bytes decode with it without error;
3. else the page's own ``<meta charset>`` / ``http-equiv`` declaration when the bytes decode with it;
4. else charset-normalizer's best guess, when it decodes the bytes;
5. else the declared charset with replacement characters (step 2 of :func:`check_text` then decides).

A body without a declared charset is left to trafilatura, which sniffs it (rule 1, then charset-normalizer).

:func:`check_text` then refuses extracted text with more than ``max_replacement_ratio`` U+FFFD, or whose
charset-normalizer mess ratio (the density of unlikely character sequences: mojibake scores far above clean text
in any script) passes ``max_mess_ratio``, as :class:`~storywire.connectors.errors.EncodingError`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from storywire.connectors.errors import EncodingError

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_META_WINDOW = 4096
_MESS_SAMPLE_CHARS = 20_000
_UTF8 = "utf-8"


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The markup to extract from, and how it was decoded."""

    markup: str | bytes
    """Text, or the raw bytes when no charset was declared (trafilatura sniffs them)."""
    charset: str | None
    declared: str | None

    @property
    def corrected(self) -> bool:
        """Whether the body was decoded with another charset than the declared one."""
        return self.declared is not None and self.charset != self.declared


def decode_body(body: bytes, declared: str | None) -> DecodedBody:
    """Decode ``body``, declared as ``declared`` (the Content-Type charset), with a charset that fits it."""
    declared_codec = _codec(declared)
    if declared_codec is None:
        return DecodedBody(body, None, None)
    if not body.isascii() and _decodes(body, _UTF8):
        return DecodedBody(body.decode(_UTF8), _UTF8, declared_codec)
    for candidate in (declared_codec, _meta_charset(body), _detected(body)):
        if candidate and _decodes(body, candidate):
            return DecodedBody(body.decode(candidate), candidate, declared_codec)
    return DecodedBody(body.decode(declared_codec, errors="replace"), declared_codec, declared_codec)


def check_text(text: str, *, max_replacement_ratio: float, max_mess_ratio: float, charset: str | None) -> None:
    """Raise EncodingError for text made of replacement characters or mojibake."""
    if not text:
        return
    replaced = text.count("\ufffd")
    how = f"decoded as {charset}" if charset else "charset sniffed"
    if replaced > max_replacement_ratio * len(text):
        raise EncodingError(
            f"{replaced} of {len(text)} characters are U+FFFD ({how}): the bytes do not fit any charset tried"
        )
    sample = text[:_MESS_SAMPLE_CHARS]
    mess = mess_ratio(sample, maximum_threshold=max(max_mess_ratio, 1e-9) * 2)
    if mess > max_mess_ratio:
        raise EncodingError(f"the text reads as mojibake ({how}): mess ratio {mess:.2f} > {max_mess_ratio:.2f}")


def _codec(name: str | None) -> str | None:
    """The canonical codec name of a charset label, None when absent or unknown."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_META_WINDOW])
    return _codec(match.group(1).decode("ascii")) if match else None


def _detected(body: bytes) -> str | None:
    best = from_bytes(body).best()
    return _codec(best.encoding) if best is not None else None
