"""Hypothesis profiles of the property-based tests (``tests/fuzz``).

- ``ci`` (the default): a small fixed budget, derandomised, so the normal test command runs a short, repeatable
  fuzz pass (the whole folder in well under a minute on two cores); no example database is written.
- ``long`` (``HYPOTHESIS_PROFILE=long``, what ``make fuzz`` runs): fifty times the examples, random seeds, and
  the failures it finds kept in ``.run/hypothesis`` so that the next run tries them first.

A test's own budget is written for ``ci`` with :func:`tests.fuzz.support.examples`, which scales it for the
profile loaded here. No deadline in either: a slow example on a loaded CI machine is not a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_SLOW_INPUTS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_INPUTS,
)
settings.register_profile(
    "long",
    max_examples=5000,
    derandomize=False,
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[2] / ".run" / "hypothesis")),
    print_blob=True,
    suppress_health_check=_SLOW_INPUTS,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
