"""Read pickled state written by earlier builds, whose modules had other names.

Builds before 0.1.0 installed ``connectors``, ``pipelines`` and ``schemas`` as top-level packages, so state they
pickled (live story state in Beam state and runner savepoints) names classes such as
``pipelines.stories.core.StoryAssigner``. :func:`loads` reads such state as the same classes of the ``storywire``
package; anything else loads as plain :func:`pickle.loads` would.
"""

from __future__ import annotations

import importlib
import io
import pickle
from typing import Any

_MOVED_MODULES = {
    "pipelines.normalise": "pipelines.core.normalise",
    "pipelines.revisions": "pipelines.core.revisions",
    "pipelines.replay_join": "pipelines.core.pairing",
    "pipelines.messages": "pipelines.core.messages",
    "pipelines.kafka_delivery": "pipelines.core.kafka_delivery",
    "pipelines.stories.transform": "pipelines.beam.stories",
}
"""Modules of the pre-namespace layout that also changed folder (the rest only gained the ``storywire.`` root)."""

_OLD_ROOTS = ("connectors", "pipelines", "schemas")


def current_module(name: str) -> str:
    """The module that holds today what the pre-namespace module ``name`` held (``name`` itself if not old)."""
    if name.split(".", 1)[0] not in _OLD_ROOTS:
        return name
    return "storywire." + _MOVED_MODULES.get(name, name)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        target = current_module(module)
        if target == module:
            return super().find_class(module, name)
        return getattr(importlib.import_module(target), name)


def loads(data: bytes) -> Any:
    """Unpickle ``data``, reading classes of the pre-namespace module names from their ``storywire`` modules."""
    return _Unpickler(io.BytesIO(data)).load()
