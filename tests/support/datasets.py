"""Where the tests find the labelled data sets kept beside the checkout (``../shared``)."""

from __future__ import annotations

from bench.stories import DEFAULT_DATA

NEWSCLUSTER = DEFAULT_DATA
"""NewsCluster's ``articles.jsonl``: ``../shared/datasets/newscluster`` beside the checkout (tests that need it
skip, saying why, when it is absent)."""
