"""Names and helpers every transform shares."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.metrics.metric import Metrics
from apache_beam.transforms.window import TimestampedValue

from storywire.connectors.failures import Failure
from storywire.pipelines.core import progress

METRICS_NAMESPACE = "storywire"
DEAD_LETTERS = "dead_letters"


def counter(name: str) -> Any:
    """A Beam counter in the storywire namespace (queried by the CLI for its run report)."""
    return Metrics.counter(METRICS_NAMESPACE, name)


def dead_letter(failure: Failure, timestamp: Any = None) -> beam.pvalue.TaggedOutput:
    """Route a failure to the dead-letter output as a DeadLetter record (at ``timestamp`` when given)."""
    counter(f"dead_letters.{failure.stage.value}").inc()
    progress.add(progress.DEAD)
    record: Any = failure.to_dead_letter()
    if timestamp is not None:
        record = TimestampedValue(record, timestamp)
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, record)
