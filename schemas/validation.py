"""Load the published JSON Schemas and validate messages against them."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jsonschema
import orjson

from storywire.schemas.codec import to_dict
from storywire.schemas.errors import StorywireError
from storywire.schemas.records import _Record

SCHEMA_FILES = {
    "article": "article.schema.json",
    "story": "story.schema.json",
    "story_event": "story_event.schema.json",
    "dead_letter": "dead_letter.schema.json",
}


class SchemaValidationError(StorywireError, ValueError):
    """A message does not match its published schema (a ``ValueError`` too, as it always was)."""


@functools.cache
def load_schema(kind: str, version: int = 1) -> dict[str, Any]:
    """The JSON Schema document for a message kind, as shipped in the package."""
    if kind not in SCHEMA_FILES:
        raise KeyError(f"unknown message kind {kind!r}; known: {sorted(SCHEMA_FILES)}")
    text = resources.files("storywire.schemas").joinpath(f"v{version}", SCHEMA_FILES[kind]).read_bytes()
    schema: dict[str, Any] = orjson.loads(text)
    return schema


@functools.cache
def _validator(kind: str, version: int) -> jsonschema.protocols.Validator:
    schema = load_schema(kind, version)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = cls.FORMAT_CHECKER
    # jsonschema skips a format it has no checker for (date-time needs rfc3339-validator): refuse to validate
    # rather than pass values such as "yesterday".
    if missing := sorted(_formats(schema) - set(checker.checkers)):
        raise SchemaValidationError(
            f"{kind} v{version}: this installation cannot check the format(s) {missing}; install "
            "storywire's dependencies (pip install storywire brings rfc3339-validator)"
        )
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=checker)
    return validator


def _formats(schema: Any) -> set[str]:
    """Every ``format`` used anywhere in ``schema``."""
    if isinstance(schema, dict):
        found = {schema["format"]} if isinstance(schema.get("format"), str) else set()
        for value in schema.values():
            found |= _formats(value)
        return found
    if isinstance(schema, list):
        return set().union(*(_formats(item) for item in schema)) if schema else set()
    return set()


def validate(kind: str, message: dict[str, Any] | _Record, version: int = 1) -> None:
    """Raise :class:`SchemaValidationError` naming every violation if ``message`` does not match."""
    data = to_dict(message) if isinstance(message, _Record) else message
    errors = sorted(_validator(kind, version).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)
        raise SchemaValidationError(f"{kind} v{version} invalid: {details}")
