"""Reading YAML so that every value keeps its line: the one YAML reader of the storywire configuration.

A :class:`YamlDocument` composes the text into nodes instead of plain Python values, so a mistake found later
is reported where it was written. Values from ``STORYWIRE__*`` variables come in as :class:`EnvValue` and are
reported by the variable's name instead::

    doc = YamlDocument(text, "live.yaml")           # ConfigError on a syntax error, naming the line
    top = doc.mapping(doc.root, "")                 # {"polling": (key node, value node), ...}
    for key, (key_node, value_node) in doc.mapping(top["polling"][1], "polling").items():
        if key not in KNOWN:
            raise unknown_key(doc, key_node, "polling", key, KNOWN)   # "... did you mean 'min_interval'?"
        value = doc.convert(value_node, f"polling.{key}", duration)   # a converter from .values

Converters raise :class:`BadValue` with advice; :meth:`YamlDocument.convert` adds the place and the key path,
giving messages like ``live.yaml line 12: feeds[2].min_interval: '5 minutes' is not a duration; ...``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storywire.connectors.errors import ConfigError, InvalidSettingError, SourceUnavailableError

__all__ = [
    "BadValue",
    "Convert",
    "EnvValue",
    "RawValue",
    "YamlDocument",
    "is_null",
    "join_path",
    "read_text_file",
    "unknown_key",
]


class BadValue(InvalidSettingError):
    """A value is wrong; the message says why and how to write it. The reader adds where."""


@dataclass(frozen=True)
class EnvValue:
    """A value from an environment variable: a string, located by the variable's name."""

    name: str
    text: str


RawValue = yaml.Node | EnvValue
Convert = Callable[[object, bool], Any]
"""``(value, from_env) -> typed value``; raises :class:`BadValue`. ``from_env`` is True for a string that came
from an environment variable (where ``yes`` or ``3`` have not been typed by YAML)."""


def is_null(raw: RawValue) -> bool:
    """True for a YAML ``null`` / ``~`` / empty value."""
    return isinstance(raw, yaml.ScalarNode) and raw.tag == "tag:yaml.org,2002:null"


class YamlDocument:
    """One YAML file composed into nodes; ``root`` is None for an empty file."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        loader = yaml.SafeLoader(text)
        try:
            self.root: yaml.Node | None = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f" line {mark.line + 1}" if mark is not None else ""
            problem = exc.problem or exc.context or "invalid YAML"
            raise ConfigError(f"{source}{line}: YAML syntax error: {problem}; check indentation and quotes") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not readable as YAML: {exc}") from exc
        self._loader = loader

    def where(self, raw: RawValue) -> str:
        """``live.yaml line 12`` or ``environment variable STORYWIRE__X``."""
        if isinstance(raw, EnvValue):
            return f"environment variable {raw.name}"
        return f"{self.source} line {raw.start_mark.line + 1}"

    def fail(self, raw: RawValue, path: str, message: str) -> ConfigError:
        """The error to raise for ``message`` about the value ``raw`` at key path ``path`` (may be empty)."""
        return ConfigError(f"{self.where(raw)}: {path}: {message}" if path else f"{self.where(raw)}: {message}")

    def value(self, raw: RawValue, path: str) -> object:
        """The Python value of a scalar (the string itself for an environment variable)."""
        if isinstance(raw, EnvValue):
            return raw.text
        if not isinstance(raw, yaml.ScalarNode):
            kind = "a list" if isinstance(raw, yaml.SequenceNode) else "a mapping"
            raise self.fail(raw, path, f"expected a single value, got {kind}")
        try:
            return self._loader.construct_object(raw, deep=True)
        except yaml.YAMLError as exc:
            raise self.fail(raw, path, f"unreadable value: {exc}") from exc

    def mapping(self, raw: RawValue, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Key -> (key node, value node); duplicate and non-string keys are errors. A null is an empty mapping."""
        if is_null(raw):
            return {}
        if isinstance(raw, EnvValue) or not isinstance(raw, yaml.MappingNode):
            raise self.fail(raw, path, "expected a mapping of key: value lines")
        result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in raw.value:
            key = self.value(key_node, path)
            if not isinstance(key, str):
                raise self.fail(key_node, path, f"key {key!r} must be a name")
            if key in result:
                first = result[key][0].start_mark.line + 1
                raise self.fail(key_node, join_path(path, key), f"given twice (first on line {first}); keep one")
            result[key] = (key_node, value_node)
        return result

    def sequence(self, raw: RawValue, path: str) -> list[yaml.Node]:
        """The items of a list; a null is an empty list."""
        if is_null(raw):
            return []
        if isinstance(raw, EnvValue) or not isinstance(raw, yaml.SequenceNode):
            raise self.fail(raw, path, "expected a list (lines starting with '- ')")
        return list(raw.value)

    def convert(self, raw: RawValue, path: str, convert: Convert) -> Any:
        """``convert`` applied to the value (a list of scalars for a YAML list); BadValue becomes ConfigError."""
        if isinstance(raw, EnvValue):
            value: object = raw.text
        elif isinstance(raw, yaml.SequenceNode):
            value = [self.value(item, f"{path}[{i}]") for i, item in enumerate(raw.value)]
        else:
            value = self.value(raw, path)
        try:
            return convert(value, isinstance(raw, EnvValue))
        except BadValue as exc:
            raise self.fail(raw, path, str(exc)) from exc


def join_path(path: str, key: str) -> str:
    """``polling`` + ``min_interval`` -> ``polling.min_interval``; an empty path gives the key."""
    return f"{path}.{key}" if path else key


def unknown_key(doc: YamlDocument, key_node: yaml.Node, path: str, key: str, known: list[str]) -> ConfigError:
    """The error for a key that is not a setting: the closest known key (did you mean), else all of them."""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
    return doc.fail(key_node, join_path(path, key), f"unknown key; {hint}")


def read_text_file(path: Path, what: str, advice: str) -> str:
    """The UTF-8 text of ``path``; SourceUnavailableError naming ``what`` and ``advice`` when it is missing."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourceUnavailableError(f"{what} not found: {path} ({advice})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise SourceUnavailableError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
