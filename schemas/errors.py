"""The root of storywire's exception tree.

It lives in the lowest layer (``schemas`` <- ``connectors`` <- ``pipelines``) so that every layer, the schemas'
codec included, raises errors of the one tree. The whole tree, with what is retryable and what is permanent, is
drawn in :mod:`storywire.connectors.errors`; import the root from there.
"""

from __future__ import annotations

__all__ = ["StorywireError"]


class StorywireError(Exception):
    """Base of every error storywire raises on purpose; ``retryable`` says whether the same input may succeed later."""

    retryable: bool = False
