"""Names a package exports from modules loaded on first use (PEP 562), for modules with slow imports::

    if TYPE_CHECKING:  # what mypy and readers see
        from .fetcher import HttpFetcher
    if not TYPE_CHECKING:  # a module __getattr__ seen by mypy would make any name type-check
        __getattr__ = lazy_exports(__name__, globals(), {"fetcher": ("HttpFetcher",)})

``from package import HttpFetcher`` then imports ``package.fetcher`` at that moment, and only then.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: MutableMapping[str, Any], modules: Mapping[str, Sequence[str]]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` (its ``__name__``) that finds each name of ``modules`` (submodule
    -> names) in that submodule and keeps it in ``namespace`` (the package's ``globals()``)."""
    module_of = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # the next lookup finds it without this function
        return value

    return __getattr__
