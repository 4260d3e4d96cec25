"""``storywire stories``: the story table of a file sink, filtered by text, dates and outlet."""

from __future__ import annotations

from pathlib import Path

import pytest

from storywire.pipelines.cli.main import main
from storywire.pipelines.cli.stories import format_table
from storywire.pipelines.report import story_views
from tests.unit.test_report import KREMLIN, PORT, STRIKE, contents, write_sink


@pytest.fixture
def sink(tmp_path: Path) -> str:
    return str(write_sink(tmp_path / "out", contents()))


def _table(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["stories", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_table_has_one_line_per_story_with_short_ids_counts_dates_with_years_and_status(
    sink: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _table(capsys, sink, "--width", "160")
    assert lines[0].split() == ["story", "headline", "articles", "outlets", "first", "seen", "last", "seen", "status"]
    assert [line.split()[0] for line in lines[1:4]] == [KREMLIN[:10], PORT[:10], STRIKE[:10]]
    kremlin = lines[1]
    assert "Russia accuses Ukraine of drone attack on the Kremlin" in kremlin
    assert " 4  " in kremlin and "2023-05-03 08:00" in kremlin and "2023-05-07 08:00" in kremlin
    assert kremlin.endswith("active") and lines[3].endswith("merged")
    assert lines[-1] == f"3 stories (3 in {sink})"


def test_filters_by_text_dates_and_outlet(sink: str, capsys: pytest.CaptureFixture[str]) -> None:
    def ids(*argv: str) -> list[str]:
        return [line.split()[0] for line in _table(capsys, sink, *argv)[1:-1]]

    assert ids("--text", "kremlin drone") == [KREMLIN[:10]]
    assert ids("--outlet", "harbour") == [KREMLIN[:10], PORT[:10]]
    assert ids("--since", "2023-05-04") == [KREMLIN[:10]]
    assert ids("--until", "2023-04-30") == [PORT[:10]]
    assert ids("--since", "2023-05-03", "--until", "2023-05-03", "--sort", "first-seen") == [KREMLIN[:10], STRIKE[:10]]
    assert ids("--sort", "last-seen", "--limit", "2") == [PORT[:10], STRIKE[:10]]
    assert _table(capsys, sink, "--text", "kremlin")[-1] == f"1 story (3 in {sink})"
    lines = _table(capsys, sink, "--text", "nothing-like-this")
    assert lines == [f"0 stories (3 in {sink})"]
    assert _table(capsys, sink, "--limit", "1")[-1] == f"1 of 3 matching stories (3 in {sink})"


def test_headlines_are_cut_to_the_width() -> None:
    lines = format_table(story_views(contents()), width=100)
    assert max(len(line) for line in lines) <= 100
    assert "\u2026" in lines[1]
    narrow = format_table(story_views(contents()), width=40)  # a headline keeps 20 characters however narrow
    assert len(narrow[1].split("  ")[1]) == 20


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "3 May"], "is not a date: use YYYY-MM-DD"),
        (["--since", "2023-05-04", "--until", "2023-05-03"], "--since 2023-05-04 is after --until 2023-05-03"),
        (["--limit", "0"], "--limit must be >= 1"),
    ],
)
def test_bad_filters_are_usage_errors(
    sink: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        code = main(["stories", sink, *argv])
    except SystemExit as exc:  # argparse refuses a bad date itself
        code = int(str(exc.code))
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_missing_directory_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stories", "no-such-dir"]) == 2
    assert "not a directory: no-such-dir" in capsys.readouterr().err
