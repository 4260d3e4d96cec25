"""A replayed page travels without its body to the join and has it read again before extraction: the same bytes,
or a dead letter when the archive changed in between."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storywire.connectors.archives.warc_reader import read_archive, read_response_at, record_offset
from storywire.connectors.failures import Failure, Stage
from storywire.connectors.http_types import CapturedResponse
from storywire.pipelines.beam.archive import _load_body
from storywire.pipelines.core.normalise import PageTask
from tests.support.warc import Capture, page, write_warc

T0 = datetime(2023, 5, 3, 8, tzinfo=timezone.utc)
WINDOW = (datetime(1990, 1, 1, tzinfo=timezone.utc), datetime(2030, 1, 1, tzinfo=timezone.utc))


@pytest.fixture(params=[True, False], ids=["gzip", "plain"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    captures = [
        Capture(f"https://a.example/{n}", T0, page(f"Title {n}", [f"Paragraph {n} of the article."] * 5))
        for n in range(4)
    ]
    return write_warc(tmp_path / "a.warc", captures, gzip=request.param)


def _responses(path: Path) -> list[CapturedResponse]:
    return [r for r in read_archive(str(path)) if isinstance(r, CapturedResponse)]


def test_the_record_at_an_offset_reads_again_as_it_was_read(archive: Path) -> None:
    for response in _responses(archive):
        again = read_response_at(str(archive), record_offset(response.source_ref), capture_window=WINDOW)
        assert again == response


def test_a_task_gets_its_body_back(archive: Path) -> None:
    response = _responses(archive)[2]
    light = replace(response, body=b"", body_location=(str(archive), record_offset(response.source_ref)))
    [task] = list(_load_body(PageTask(None, T0, light), 1 << 20, WINDOW))
    assert isinstance(task, PageTask) and task.response == response and task.response.body_location is None


def test_an_archive_changed_during_the_replay_gives_an_extract_article_dead_letter(archive: Path) -> None:
    response = _responses(archive)[3]
    light = replace(response, body=b"", body_location=(str(archive), record_offset(response.source_ref)))
    archive.write_bytes(archive.read_bytes()[: record_offset(response.source_ref)])  # cut before the record
    [out] = list(_load_body(PageTask(None, T0, light), 1 << 20, WINDOW))
    letter = out.value
    assert letter.stage == Stage.EXTRACT_ARTICLE.value and letter.identity == response.url
    assert letter.error_type == "ArchiveRecordError" and "no longer a response" in letter.message


def test_a_missing_archive_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    failure = read_response_at(str(tmp_path / "gone.warc.gz"), 0)
    assert isinstance(failure, Failure) and "cannot be read again" in failure.message
