"""How a command that ran a pipeline tells a Kafka failure: one line, found through the runner's wrapping."""

from __future__ import annotations

from storywire.connectors.kafka.errors import KafkaConnectorError

RERUN_HINT = (
    "Records already acknowledged stay in Kafka and nothing was dropped silently; run the same replay again "
    "once the broker is healthy (ids are stable: consumers see duplicates at most, see README)"
)


def kafka_failure(exc: BaseException) -> str | None:
    """The one-line reason when a run failed because of Kafka (the runner wraps the DoFn's exception)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KafkaConnectorError):
            return " ".join(str(current).split())
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(exc)  # runners that ship only the text of a remote worker's error
    for name in ("DeliveryError: ", "BrokerUnreachableError: "):
        if name in text:
            line = text[text.index(name) + len(name) :].splitlines()[0]
            return " ".join(line.split())
    return None
