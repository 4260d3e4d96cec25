"""The README's picture of ``storywire report``: replay the bundled sample to a file sink, build the report and
take a screenshot of its top (the overview plot and the story list) in headless Chromium.

    .venv/bin/python bench/report_screenshot.py                 # writes docs/images/report.png
    .venv/bin/python bench/report_screenshot.py -o shot.png --height 1400

Needs Debian's ``chromium`` (``make install`` installs it when run as root) and Playwright (the ``dev`` extra),
which drives that browser: no browser is downloaded. The flags keep the browser off the network and away from
any profile but a new empty one. ``CHROMIUM_FLAGS`` and :func:`open_browser` are shared with
``tests/integration/test_report_browser.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    return shutil.which("chromium")


@contextmanager
def open_browser(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A Playwright browser context on Debian's chromium with a new empty profile (removed afterwards)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("chromium is not installed (Debian: apt-get install chromium; or run make install as root)")
    with tempfile.TemporaryDirectory(prefix="storywire-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()


def build_sample_report(directory: Path) -> Path:
    """Replay the bundled sample into ``directory/out`` and write ``directory/report.html``."""
    from storywire.pipelines.bundled import SAMPLE_ARCHIVE
    from storywire.pipelines.cli.main import main

    out = directory / "out"
    if main(["replay", str(SAMPLE_ARCHIVE), "--sink", f"file://{out}"]) != 0:
        raise RuntimeError("the replay of the bundled sample failed")
    report = directory / "report.html"
    here = os.getcwd()
    os.chdir(directory)  # the page names its source as given: out/, not a temporary path
    try:
        code = main(["report", "out/", "-o", str(report), "--title", "storywire report: the bundled sample"])
    finally:
        os.chdir(here)
    if code != 0:
        raise RuntimeError("storywire report failed")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "images" / "report.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1250, help="the part of the page shown, from the top")
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("chromium is not installed: apt-get install chromium (or make install as root)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="storywire-report-") as work:
        report = build_sample_report(Path(work))
        with open_browser(args.width, args.height) as browser:
            page = browser.new_page()
            page.goto(report.as_uri())
            page.wait_for_selector(".plot-container svg.main-svg")
            page.wait_for_timeout(500)  # let the plots settle to their responsive width
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.output)
    print(f"screenshot: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
