from __future__ import annotations

from datetime import datetime, timezone

import pytest

from storywire.connectors.articles.extract import extract_page
from storywire.connectors.errors import EmptyExtractionError, HttpStatusError, UnsupportedContentError
from storywire.connectors.http_types import CapturedResponse
from tests.support.warc import page

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
PARAGRAPHS = [
    f"Paragraph {i}: officials said the inquiry into the harbour closure would report before the summer recess."
    for i in range(5)
]


def _response(body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> CapturedResponse:
    return CapturedResponse("https://o.example/a", T0, status, (("Content-Type", content_type),), body, "test#offset=0")


def test_article_text_title_language_and_method() -> None:
    result = extract_page(_response(page("Harbour inquiry", PARAGRAPHS, "https://o.example/a")))
    assert result.title == "Harbour inquiry"
    assert result.text.startswith("Paragraph 0") and "Harbour inquiry" not in result.text.split("\n")[0]
    assert result.language == "en" and result.method == "trafilatura"
    assert result.canonical_url == "https://o.example/a"


def test_page_without_article_text_is_an_empty_extraction() -> None:
    body = b"<html><body><nav>Home | Video</nav><video src='x.mp4'></video><footer>(c)</footer></body></html>"
    with pytest.raises(EmptyExtractionError, match="no extractor found"):
        extract_page(_response(body))


def test_error_status_and_wrong_type_are_refused_before_extraction() -> None:
    with pytest.raises(HttpStatusError, match="HTTP 404") as info:
        extract_page(_response(b"gone", status=404))
    assert not info.value.retryable
    assert HttpStatusError(503, "u").retryable
    with pytest.raises(UnsupportedContentError, match="application/pdf"):
        extract_page(_response(b"%PDF-1.7", content_type="application/pdf"))


def test_declared_charset_is_honoured() -> None:
    text = "Le café de la gare a rouvert ses portes après des travaux de rénovation qui ont duré deux ans."
    body = page("Café", [f"{text} Épisode {i}." for i in range(4)]).replace(b'<meta charset="utf-8">', b"")
    latin = body.decode("utf-8").encode("latin-1")
    result = extract_page(_response(latin, "text/html; charset=iso-8859-1"))
    assert "café" in result.text and "\ufffd" not in result.text
