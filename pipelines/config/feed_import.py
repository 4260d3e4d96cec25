"""Adding the feeds of an OPML export to the ``feeds:`` list of a YAML file (``storywire feeds import``).

::

    report = import_opml("subscriptions.opml", "deploy/my-feeds.yaml", create=False)
    print(report.render())    # "3 feed(s) added to deploy/my-feeds.yaml, 1 already there, 0 outline(s) skipped"

The OPML is read by :func:`storywire.connectors.feeds.opml.parse_opml`; this module edits the YAML text in
place, so comments and the other keys stay as they were. Each added feed gets an ``outlet:`` (the OPML
outline's ``htmlUrl`` host, else the feed URL's: :attr:`~storywire.connectors.feeds.opml.OpmlFeed.outlet`), so
its articles are credited to the site, not to the host that serves the feed; feeds already in the file are
left as they are.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from storywire.connectors.errors import ConfigError, SourceUnavailableError
from storywire.connectors.feeds.opml import SkippedOutline, parse_opml
from storywire.connectors.files import write_atomically
from storywire.connectors.urls import canonical_url
from storywire.pipelines.config.feeds import feed_urls_in
from storywire.pipelines.config.yaml_reader import YamlDocument, is_null, read_text_file

__all__ = ["ImportReport", "import_opml"]

_NewFeed = tuple[str, str | None, str | None, str]
"""URL, title, language, outlet."""

_PLAIN_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
"""A host YAML reads back as the same text without quotes (with a letter and a dot: no number, bool or null)."""


@dataclass(frozen=True)
class ImportReport:
    """What ``feeds import`` did: URLs added, URLs already present, and outlines skipped with reasons."""

    target: str
    added: tuple[str, ...]
    already_present: tuple[str, ...]
    skipped: tuple[SkippedOutline, ...]
    notes: tuple[str, ...]

    def render(self) -> str:
        """A summary line, then one line per added, present or skipped feed and per note."""
        lines = [
            f"{len(self.added)} feed(s) added to {self.target}, {len(self.already_present)} already there, "
            f"{len(self.skipped)} outline(s) skipped"
        ]
        lines += [f"  added: {url}" for url in self.added]
        lines += [f"  already there: {url}" for url in self.already_present]
        lines += [f"  skipped: {s.label}: {s.reason}" for s in self.skipped]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def import_opml(opml_path: str | os.PathLike[str], target: str | os.PathLike[str], *, create: bool) -> ImportReport:
    """Append the OPML's feeds to the ``feeds:`` list of the YAML file ``target`` (created when ``create``).

    Deterministic: new feeds come in OPML document order after the existing ones, and a URL whose canonical
    form is already in the file (or in its ``feed_files``) is not added again. The file is rewritten
    atomically and only when the result reads back with every old and new feed; comments and other keys
    stay as they were.
    """
    source = Path(opml_path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise SourceUnavailableError(f"cannot read OPML file {source}: {exc.strerror or exc}") from exc
    document = parse_opml(data, str(source))
    path = Path(target)
    if path.exists():
        text = read_text_file(path, "YAML file", "")
    elif create:
        text = ""
    else:
        raise SourceUnavailableError(f"config file not found: {path} (create it first, or use -o FILE)")
    existing = feed_urls_in(text, str(path), path.parent)
    added: list[_NewFeed] = []
    present: list[str] = []
    for feed in document.feeds:
        key = canonical_url(feed.url)
        if key in existing:
            present.append(feed.url)
            continue
        existing[key] = feed.url
        added.append((feed.url, feed.title, feed.language, feed.outlet))
    report = ImportReport(str(path), tuple(u for u, _, _, _ in added), tuple(present), document.skipped, document.notes)
    if not added:
        return report
    new_text = _insert_feeds(text, str(path), added)
    after = feed_urls_in(new_text, str(path), path.parent)
    missing = [url for url, _, _, _ in added if canonical_url(url) not in after]
    if missing:  # never write a file that lost feeds; this is a bug, not a user error
        raise ConfigError(f"{path}: could not append feeds safely ({missing[0]} did not read back); file unchanged")
    write_atomically(path, new_text.encode("utf-8"))
    return report


def _feed_lines(feeds: list[_NewFeed], dash_column: int) -> list[str]:
    pad = " " * dash_column
    lines = []
    for url, title, language, outlet in feeds:
        lines.append(f"{pad}- url: {json.dumps(url, ensure_ascii=False)}")
        if title:
            lines.append(f"{pad}  title: {json.dumps(title, ensure_ascii=False)}")
        if language:
            lines.append(f"{pad}  language: {_yaml_code(language)}")
        lines.append(f"{pad}  outlet: {_yaml_text(outlet)}")
    return lines


def _yaml_code(code: str) -> str:
    """A language code as written in YAML: quoted when YAML would read it as something else (``no`` is
    Norwegian, not false)."""
    return code if yaml.safe_load(code) == code else json.dumps(code)


def _yaml_text(text: str) -> str:
    """A host as written in YAML: plain when it is a dotted host name with a letter, else quoted."""
    plain = _PLAIN_HOST.match(text) and "." in text and any(c.isalpha() for c in text)
    return text if plain else json.dumps(text, ensure_ascii=False)


def _insert_feeds(text: str, source: str, feeds: list[_NewFeed]) -> str:
    """The YAML text with ``feeds`` appended to its ``feeds:`` list, touching nothing else."""
    doc = YamlDocument(text, source)
    lines = text.splitlines()
    if doc.root is None:
        header = [] if text.strip() else ["# Feeds polled by storywire (imported from OPML)."]
        return "\n".join([*lines, *header, "feeds:", *_feed_lines(feeds, 2)]) + "\n"
    top = doc.mapping(doc.root, "")
    if "feeds" not in top:
        if getattr(doc.root, "flow_style", False):
            raise doc.fail(doc.root, "", "the file is one flow mapping ({...}); write it in block style to import")
        return "\n".join([*lines, "feeds:", *_feed_lines(feeds, 2)]) + "\n"
    key_node, value = top["feeds"]
    if is_null(value):
        at = key_node.start_mark.line + 1
        indent = key_node.start_mark.column + 2
        return "\n".join([*lines[:at], *_feed_lines(feeds, indent), *lines[at:]]) + "\n"
    if not isinstance(value, yaml.SequenceNode):
        raise doc.fail(value, "feeds", "expected a list")
    if value.flow_style:
        if value.value:
            raise doc.fail(value, "feeds", "is a flow list [...]; write one '- url: ...' per line to import into it")
        line = value.start_mark.line
        start, end = value.start_mark.column, value.end_mark.column
        lines[line] = (lines[line][:start] + lines[line][end:]).rstrip()
        indent = key_node.start_mark.column + 2
        return "\n".join([*lines[: line + 1], *_feed_lines(feeds, indent), *lines[line + 1 :]]) + "\n"
    first, last = value.value[0], value.value[-1]
    before_dash = lines[first.start_mark.line][: first.start_mark.column].rstrip()
    if not before_dash.endswith("-"):
        raise doc.fail(first, "feeds", "cannot tell the list's indentation; start each entry with '- url:'")
    at = _last_line(last) + 1
    return "\n".join([*lines[:at], *_feed_lines(feeds, len(before_dash) - 1), *lines[at:]]) + "\n"


def _last_line(node: yaml.Node) -> int:
    """The 0-based line holding the last character of a node's content."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    mark = node.end_mark
    return mark.line if mark.column > 0 else mark.line - 1
