"""What the Kafka writers of this process know of each broker: an outage going on, and how often it came back.

One record per bootstrap address, shared by every :class:`~storywire.connectors.kafka.producer.KafkaMessageWriter`
(one per sink step), so an outage is said once for all writers; health endpoints read :func:`brokers_down`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["BrokerHealth", "brokers_down", "health_of"]


@dataclass(slots=True, eq=False)
class BrokerHealth:
    """ "Unreachable" is said by the first writer that meets an outage, "back" when the last one holding records
    delivered them."""

    since: float | None = None  # when the outage going on began
    holders: set[int] = field(default_factory=set)  # ids of the writers holding records in it
    delivered: int = 0  # held records delivered since it was said
    generation: int = 0  # times it came back: a client made before then is stale


_HEALTH: dict[str, BrokerHealth] = {}
LOCK = threading.Lock()


def health_of(bootstrap_servers: str) -> BrokerHealth:
    with LOCK:
        return _HEALTH.setdefault(bootstrap_servers, BrokerHealth())


def brokers_down() -> list[str]:
    """The bootstrap addresses whose writers are riding out an outage now."""
    with LOCK:
        return sorted(address for address, health in _HEALTH.items() if health.since is not None)
