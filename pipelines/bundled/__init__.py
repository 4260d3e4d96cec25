"""Data shipped inside the package: the demo's sample archive (built from ``sample/`` by ``make sample``)."""

from __future__ import annotations

from pathlib import Path

SAMPLE_ARCHIVE = Path(__file__).resolve().parent / "storywire-sample.warc.gz"
"""The bundled sample: ten days of feeds and pages from seven outlets around the Kremlin drone incident."""
