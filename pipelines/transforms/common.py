"""Names and helpers every transform shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import apache_beam as beam
from apache_beam.metrics import Metrics

from connectors.failures import Failure

METRICS_NAMESPACE = "storywire"
DEAD_LETTERS = "dead_letters"

_T = TypeVar("_T")


def counter(name: str) -> Any:
    """A Beam counter in the storywire namespace (queried by the CLI for its run report)."""
    return Metrics.counter(METRICS_NAMESPACE, name)


def dead_letter(failure: Failure) -> beam.pvalue.TaggedOutput:
    """Route a failure to the dead-letter output as a DeadLetter record."""
    counter(f"dead_letters.{failure.stage}").inc()
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, failure.to_dead_letter())


def guarded(
    stage: str, identity: Callable[[_T], str], when: Callable[[_T], Any], payload_ref: Callable[[_T], str | None]
) -> Callable[[Callable[[_T], Iterator[Any]]], Callable[[_T], Iterator[Any]]]:
    """Turn any exception escaping a step into a dead letter instead of failing the bundle.

    The step's own InputErrors are handled inside it; this catches the unexpected (a library bug on odd input),
    so one poisonous page cannot stop a replay. The dead letter keeps the exception type and message.
    """

    def wrap(step: Callable[[_T], Iterator[Any]]) -> Callable[[_T], Iterator[Any]]:
        def run(element: _T) -> Iterator[Any]:
            try:
                outputs = list(step(element))
            except Exception as exc:  # errors are data: see docstring
                yield dead_letter(
                    Failure.from_exception(stage, identity(element), exc, when(element), payload_ref(element))
                )
                return
            yield from outputs

        return run

    return wrap
