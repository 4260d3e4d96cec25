"""Extraction limits, importable without loading trafilatura (it is slow to import and warns on import)."""

from __future__ import annotations

DEFAULT_MIN_CHARS = 200
"""Text shorter than this is not an article (a video page, a paywall teaser); Media Cloud uses the same floor."""
