"""Imported by the extraction workers' fork server only (:mod:`storywire.connectors.articles.worker`).

trafilatura loads much of what it needs on its first call (about half a second); the fork server runs one tiny
extraction when it starts, so that every worker forked from it, replacements included, starts warm.
"""

from __future__ import annotations

from storywire.connectors.articles.extract import _run_trafilatura

_PAGE = (
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "".join(
        f"<p>Paragraph {n} of the page that loads the extractor before the first real page.</p>" for n in range(4)
    )
    + "</article></body></html>"
)

_run_trafilatura(_PAGE, "https://warm-up.example/a", 1)
