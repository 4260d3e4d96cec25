"""Shared pytest setup: the project root on sys.path for the test helper modules, and a guard against importing
the code folders as top-level packages."""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Sequence
from types import ModuleType

# Beam's DirectRunner would try to download Prism; tests always name their runner, this is a second guard.
os.environ.setdefault("BEAM_RUNNER", "FnApiRunner")


class _OnlyTheStorywireNamespace(importlib.abc.MetaPathFinder):
    """The checkout's root is on sys.path (for ``tests.*``), so ``import pipelines`` would load a second copy of
    the code under a name no installed build has; refuse it so a test cannot pass on that copy."""

    ROOTS = frozenset({"connectors", "pipelines", "schemas"})

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname.split(".", 1)[0] in self.ROOTS:
            raise ImportError(f"import storywire.{fullname}, not {fullname}: the installed package is `storywire`")
        return None


sys.meta_path.insert(0, _OnlyTheStorywireNamespace())
