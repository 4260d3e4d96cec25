"""Shared pytest setup: the project root on sys.path for the test helper modules."""

from __future__ import annotations

import os

# Beam's DirectRunner would try to download Prism; tests always name their runner, this is a second guard.
os.environ.setdefault("BEAM_RUNNER", "FnApiRunner")
