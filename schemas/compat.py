"""Is a new version of a message schema compatible with the released one? (pure; JSON Schema subset)

Within a schema version (``v1``) storywire only makes changes that keep *both* directions working:

- **backward**: data valid under the released schema stays valid under the new one (a consumer that
  upgrades can still read old messages, e.g. a replay of a compacted topic);
- **forward**: data valid under the new schema stays valid under the released one (a consumer that has not
  upgraded, validating with the old schema, accepts what storywire produces now).

In practice: add optional properties (with a ``default``), change descriptions. Anything else needs
``v2`` topics. ``compatibility_issues`` compares two schemas property by property (recursing into
``properties`` and ``items``) and reports each change that breaks a direction:

=======================  ====================================================  ==========
rule                     change                                                 breaks
=======================  ====================================================  ==========
``removed-property``     a property of the old schema is gone                  forward
``newly-required``       a property is required now and was not                backward
``no-longer-required``   a property was required and is not any more           forward
``type-narrowed``        a JSON type is no longer allowed                      backward
``type-widened``         a JSON type is allowed that was not                   forward
``enum-narrowed``        an enum/const value is no longer allowed              backward
``enum-widened``         an enum/const value is allowed that was not           forward
``pattern-changed``      a pattern was added, removed or changed               both
``bound-narrowed``       a min*/max* bound is stricter (or new)                backward
``bound-widened``        a min*/max* bound is looser (or gone)                 forward
``format-changed``       a format was added, removed or changed                both
``closed``               additionalProperties became false                     backward
``opened``               additionalProperties became true (was false)          forward
``not-understood``       any other keyword added, removed or changed           both
=======================  ====================================================  ==========

The checker understands the keywords of the table and the annotations (``title``, ``description``,
``default``, ``examples``, ``$comment``, ``deprecated``, ``readOnly``, ``writeOnly``), which validate nothing.
Any other keyword that differs (``allOf``, ``not``, ``multipleOf``, ``uniqueItems``, ``propertyNames``,
``dependentRequired``, ``additionalProperties`` as a schema, a new ``$schema`` or ``$id``...) is reported as
``not-understood``: the checker cannot prove it harmless, so it does not answer "compatible".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

__all__ = ["Incompatibility", "compatibility_issues"]

Direction = Literal["backward", "forward", "both"]

_LOWER_BOUNDS: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_UNDERSTOOD: Final = frozenset(
    {"type", "enum", "const", "pattern", "format", "properties", "required", "items", *_LOWER_BOUNDS, *_UPPER_BOUNDS}
)
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly"}
)


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One breaking change: where (a JSON pointer into the schema), which rule, which direction it breaks."""

    path: str
    rule: str
    breaks: Direction
    detail: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.rule} ({self.breaks}): {self.detail}"


def compatibility_issues(old: Mapping[str, Any], new: Mapping[str, Any], path: str = "") -> list[Incompatibility]:
    """Every change from ``old`` to ``new`` that breaks backward or forward compatibility (empty: compatible)."""
    issues: list[Incompatibility] = []
    issues += _types(old, new, path)
    issues += _enums(old, new, path)
    issues += _patterns_and_formats(old, new, path)
    issues += _bounds(old, new, path)
    issues += _objects(old, new, path)
    issues += _not_understood(old, new, path)
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, Mapping) or isinstance(new_items, Mapping):
        # A missing items schema allows anything: compare against {} so adding or dropping one is caught.
        before = old_items if isinstance(old_items, Mapping) else {}
        after = new_items if isinstance(new_items, Mapping) else {}
        issues += compatibility_issues(before, after, f"{path}/items")
    return issues


def _type_set(schema: Mapping[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return frozenset([declared] if isinstance(declared, str) else declared)


def _covers(wider: frozenset[str], narrower: frozenset[str]) -> bool:
    return all(t in wider or (t == "integer" and "number" in wider) for t in narrower)


def _types(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[Incompatibility]:
    old_types, new_types = _type_set(old), _type_set(new)
    where = f"{path}/type"
    issues = []
    if new_types is not None and (old_types is None or not _covers(new_types, old_types)):
        lost = "any" if old_types is None else sorted(old_types - new_types)
        issues.append(Incompatibility(where, "type-narrowed", "backward", f"no longer allows {lost}"))
    if old_types is not None and (new_types is None or not _covers(old_types, new_types)):
        gained = "any" if new_types is None else sorted(new_types - old_types)
        issues.append(Incompatibility(where, "type-widened", "forward", f"now allows {gained}"))
    return issues


def _allowed_values(schema: Mapping[str, Any]) -> frozenset[bytes] | None:
    if "const" in schema:
        return frozenset([orjson.dumps(schema["const"], option=orjson.OPT_SORT_KEYS)])
    if "enum" in schema:
        return frozenset(orjson.dumps(value, option=orjson.OPT_SORT_KEYS) for value in schema["enum"])
    return None


def _enums(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[Incompatibility]:
    old_values, new_values = _allowed_values(old), _allowed_values(new)
    where = f"{path}/enum"
    issues = []
    if new_values is not None and (old_values is None or old_values - new_values):
        lost = "any value" if old_values is None else sorted(v.decode() for v in old_values - new_values)
        issues.append(Incompatibility(where, "enum-narrowed", "backward", f"no longer allows {lost}"))
    if old_values is not None and (new_values is None or new_values - old_values):
        gained = "any value" if new_values is None else sorted(v.decode() for v in new_values - old_values)
        issues.append(Incompatibility(where, "enum-widened", "forward", f"now allows {gained}"))
    return issues


def _patterns_and_formats(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[Incompatibility]:
    issues = []
    for keyword, rule in (("pattern", "pattern-changed"), ("format", "format-changed")):
        before, after = old.get(keyword), new.get(keyword)
        if before != after:
            detail = f"{before!r} -> {after!r} (a consumer cannot tell whether old and new values still match)"
            issues.append(Incompatibility(f"{path}/{keyword}", rule, "both", detail))
    return issues


def _bounds(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[Incompatibility]:
    issues = []
    for keyword in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        lower = keyword in _LOWER_BOUNDS
        if before is None:
            stricter = True
        elif after is None:
            stricter = False
        else:
            stricter = after > before if lower else after < before
        detail = f"{before!r} -> {after!r}"
        if stricter:
            issues.append(Incompatibility(f"{path}/{keyword}", "bound-narrowed", "backward", detail))
        else:
            issues.append(Incompatibility(f"{path}/{keyword}", "bound-widened", "forward", detail))
    return issues


def _objects(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[Incompatibility]:
    issues = []
    old_props: Mapping[str, Any] = old.get("properties", {})
    new_props: Mapping[str, Any] = new.get("properties", {})
    for name in sorted(set(old_props) - set(new_props)):
        issues.append(Incompatibility(f"{path}/properties/{name}", "removed-property", "forward", "property removed"))
    for name in sorted(set(old_props) & set(new_props)):
        if isinstance(old_props[name], Mapping) and isinstance(new_props[name], Mapping):
            issues += compatibility_issues(old_props[name], new_props[name], f"{path}/properties/{name}")
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name in sorted(new_required - old_required):
        issues.append(Incompatibility(f"{path}/required", "newly-required", "backward", f"{name!r} is required now"))
    for name in sorted(old_required - new_required):
        issues.append(Incompatibility(f"{path}/required", "no-longer-required", "forward", f"{name!r} is optional now"))
    old_open, new_open = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if old_open is not False and new_open is False:
        issues.append(Incompatibility(f"{path}/additionalProperties", "closed", "backward", "unknown fields refused"))
    if old_open is False and new_open is not False:
        issues.append(Incompatibility(f"{path}/additionalProperties", "opened", "forward", "unknown fields allowed"))
    return issues


def _not_understood(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[Incompatibility]:
    issues = []
    for keyword in sorted((set(old) | set(new)) - _UNDERSTOOD - _ANNOTATIONS):
        before, after = old.get(keyword), new.get(keyword)
        if keyword == "additionalProperties" and isinstance(before, bool | None) and isinstance(after, bool | None):
            continue  # true/false/absent: the closed/opened rules above
        if _canonical(before) != _canonical(after):
            detail = f"{keyword!r} {_show(before)} -> {_show(after)}: a change the checker cannot judge"
            issues.append(Incompatibility(f"{path}/{keyword}", "not-understood", "both", detail))
    return issues


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _show(value: Any) -> str:
    text = "absent" if value is None else _canonical(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."
