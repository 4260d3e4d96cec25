"""Schema evolution: the checker catches each kind of breaking change, and the shipped schemas are compatible
(both directions) with the frozen copy of the released v1 schemas in tests/schema_snapshots/v1."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from storywire.schemas.compat import compatibility_issues
from storywire.schemas.validation import SCHEMA_FILES, load_schema

SNAPSHOTS = Path(__file__).resolve().parents[1] / "schema_snapshots" / "v1"

BASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "string", "pattern": "^a_[0-9a-f]{24}$"},
        "status": {"enum": ["active", "dormant"]},
        "language": {"type": ["string", "null"], "format": "date-time"},
        "count": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 40}},
        "version": {"const": 1},
    },
}


def changed(edit: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    edit(schema)
    return schema


def rules(new: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i.path, i.rule, i.breaks) for i in compatibility_issues(BASE, new)]


def test_identical_and_description_only_changes_are_compatible() -> None:
    assert compatibility_issues(BASE, copy.deepcopy(BASE)) == []
    assert rules(changed(lambda s: s["properties"]["id"].update(description="the id"))) == []


def test_adding_an_optional_property_is_compatible() -> None:
    new = changed(lambda s: s["properties"].update(extra={"type": "boolean", "default": False}))
    assert rules(new) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s["properties"].pop("count"), ("/properties/count", "removed-property", "forward")),
        (lambda s: s["required"].append("count"), ("/required", "newly-required", "backward")),
        (lambda s: s["required"].remove("status"), ("/required", "no-longer-required", "forward")),
        (
            lambda s: s["properties"]["language"].update(type="string"),
            ("/properties/language/type", "type-narrowed", "backward"),
        ),
        (
            lambda s: s["properties"]["count"].update(type=["integer", "null"]),
            ("/properties/count/type", "type-widened", "forward"),
        ),
        (
            lambda s: s["properties"]["count"].update(type="number"),
            ("/properties/count/type", "type-widened", "forward"),
        ),
        (
            lambda s: s["properties"]["status"].update(enum=["active"]),
            ("/properties/status/enum", "enum-narrowed", "backward"),
        ),
        (
            lambda s: s["properties"]["status"].update(enum=["active", "dormant", "merged"]),
            ("/properties/status/enum", "enum-widened", "forward"),
        ),
        (
            lambda s: s["properties"]["id"].update(pattern="^a_[0-9a-f]{32}$"),
            ("/properties/id/pattern", "pattern-changed", "both"),
        ),
        (
            lambda s: s["properties"]["count"].update(minimum=1),
            ("/properties/count/minimum", "bound-narrowed", "backward"),
        ),
        (
            lambda s: s["properties"]["tags"]["items"].update(maxLength=20),
            ("/properties/tags/items/maxLength", "bound-narrowed", "backward"),
        ),
        (
            lambda s: s["properties"]["tags"]["items"].update(maxLength=80),
            ("/properties/tags/items/maxLength", "bound-widened", "forward"),
        ),
        (
            lambda s: s["properties"]["language"].pop("format"),
            ("/properties/language/format", "format-changed", "both"),
        ),
        (lambda s: s.update(additionalProperties=False), ("/additionalProperties", "closed", "backward")),
    ],
    ids=[
        "removed",
        "newly-required",
        "no-longer-required",
        "type-narrowed",
        "type-widened-null",
        "type-widened-number",
        "enum-narrowed",
        "enum-widened",
        "pattern",
        "minimum",
        "items-maxLength-narrowed",
        "items-maxLength-widened",
        "format",
        "closed",
    ],
)
def test_each_kind_of_break_is_caught(edit: Any, expected: tuple[str, str, str]) -> None:
    assert rules(changed(edit)) == [expected]


def test_const_and_integer_narrowing() -> None:
    assert rules(changed(lambda s: s["properties"]["version"].update(const=2))) == [
        ("/properties/version/enum", "enum-narrowed", "backward"),
        ("/properties/version/enum", "enum-widened", "forward"),
    ]
    number = changed(lambda s: s["properties"]["count"].update(type="number"))
    assert [(i.rule, i.breaks) for i in compatibility_issues(number, BASE)] == [("type-narrowed", "backward")]


def test_dropping_an_items_schema_widens() -> None:
    assert rules(changed(lambda s: s["properties"]["tags"].pop("items"))) == [
        ("/properties/tags/items/type", "type-widened", "forward"),
        ("/properties/tags/items/maxLength", "bound-widened", "forward"),
    ]


def test_a_snapshot_exists_for_every_shipped_schema_and_is_untouched() -> None:
    assert sorted(p.name for p in SNAPSHOTS.glob("*.json")) == sorted(SCHEMA_FILES.values())
    for kind, filename in SCHEMA_FILES.items():
        snapshot = orjson.loads((SNAPSHOTS / filename).read_bytes())
        assert snapshot["$id"] == load_schema(kind)["$id"]  # the same published document, an older revision


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_current_schemas_are_compatible_with_the_released_v1(kind: str) -> None:
    released = orjson.loads((SNAPSHOTS / SCHEMA_FILES[kind]).read_bytes())
    issues = compatibility_issues(released, load_schema(kind))
    assert issues == [], "\n".join(str(i) for i in issues)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda s: s["properties"]["tags"].update(uniqueItems=True), "/properties/tags/uniqueItems"),
        (lambda s: s["properties"]["count"].update(multipleOf=2), "/properties/count/multipleOf"),
        (lambda s: s.update(allOf=[{"required": ["count"]}]), "/allOf"),
        (lambda s: s["properties"]["id"].update({"not": {"const": "a_x"}}), "/properties/id/not"),
        (lambda s: s.update(dependentRequired={"count": ["tags"]}), "/dependentRequired"),
        (lambda s: s.update(propertyNames={"maxLength": 10}), "/propertyNames"),
        (lambda s: s.update(additionalProperties={"type": "string"}), "/additionalProperties"),
        (lambda s: s.update({"$schema": "https://json-schema.org/draft/2019-09/schema"}), "/$schema"),
        (lambda s: s.update(oneOf=[{"required": ["count"]}, {"required": ["tags"]}]), "/oneOf"),
        (lambda s: s.update(unevaluatedProperties=False), "/unevaluatedProperties"),
    ],
    ids=[
        "uniqueItems",
        "multipleOf",
        "allOf",
        "not",
        "dependentRequired",
        "propertyNames",
        "additionalProperties-schema",
        "$schema",
        "oneOf",
        "unevaluatedProperties",
    ],
)
def test_a_keyword_the_checker_does_not_understand_is_never_called_compatible(edit: Any, where: str) -> None:
    assert rules(changed(edit)) == [(where, "not-understood", "both")]


def test_annotations_do_not_count_and_an_unchanged_unknown_keyword_is_fine() -> None:
    both = changed(lambda s: s.update(allOf=[{"required": ["count"]}]))
    assert compatibility_issues(both, copy.deepcopy(both)) == []
    annotated = changed(lambda s: s["properties"]["count"].update(examples=[3], deprecated=True, title="Count"))
    assert rules(annotated) == []
