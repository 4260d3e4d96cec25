"""Names and helpers every transform shares."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import Metrics

from connectors.failures import Failure

METRICS_NAMESPACE = "storywire"
DEAD_LETTERS = "dead_letters"


def counter(name: str) -> Any:
    """A Beam counter in the storywire namespace (queried by the CLI for its run report)."""
    return Metrics.counter(METRICS_NAMESPACE, name)


def dead_letter(failure: Failure) -> beam.pvalue.TaggedOutput:
    """Route a failure to the dead-letter output as a DeadLetter record."""
    counter(f"dead_letters.{failure.stage}").inc()
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, failure.to_dead_letter())
