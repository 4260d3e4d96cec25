"""Which articles a replay keeps: a time range, outlets, languages (``storywire replay --since/--until/--outlet/
--lang``). Pure Python.

- time: the article's time, the one stories use (:func:`~storywire.pipelines.core.event_time.article_time`: its
  publication time when plausible, else when it was first seen), from ``since`` to ``until``, both included;
- outlet: the article's outlet equals one given (case aside), or is a subdomain of it (``reuters.com`` keeps
  ``uk.reuters.com``);
- language: the article's language tag has one given as its primary subtag (``en`` keeps ``en``, ``en-GB``,
  ``en_US``), or equals it when the one given names a region (``en-GB`` keeps only ``en-GB``); an article without
  a language is left out when languages are given.

Stories are built from the articles kept, so a replay of a slice gives the stories of that slice. A page whose feed
item already fixes its time (:func:`time_before_extraction`) is left out before extraction, which is where a replay
of a slice of a large crawl saves its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storywire.connectors.errors import ConfigError
from storywire.pipelines.core.event_time import article_time, as_utc, plausible_time
from storywire.pipelines.core.normalise import PageTask
from storywire.schemas.records import Article

DropReason = Literal["time", "outlet", "language"]


def _tag(language: str) -> str:
    return language.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class ArticleFilter:
    """The articles to keep; the default keeps every article."""

    since: datetime | None = None
    until: datetime | None = None
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_utc(value))
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ConfigError(f"--since {self.since:%Y-%m-%d %H:%M} is after --until {self.until:%Y-%m-%d %H:%M}")
        outlets = tuple(sorted({o.strip().lower().removeprefix("www.") for o in self.outlets}))
        languages = tuple(sorted({_tag(lang) for lang in self.languages}))
        if "" in outlets:
            raise ConfigError("--outlet needs an outlet name, e.g. --outlet reuters.com")
        if "" in languages:
            raise ConfigError("--lang needs a language tag, e.g. --lang en")
        object.__setattr__(self, "outlets", outlets)
        object.__setattr__(self, "languages", languages)

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.outlets or self.languages)

    def describe(self) -> str:
        """The filter in words, for the run's log (empty when it keeps everything)."""
        parts = []
        if self.since:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M}")
        if self.until:
            parts.append(f"until {self.until:%Y-%m-%d %H:%M}")
        if self.outlets:
            parts.append("outlets " + ", ".join(self.outlets))
        if self.languages:
            parts.append("languages " + ", ".join(self.languages))
        return "; ".join(parts)

    def in_range(self, when: datetime) -> bool:
        when = as_utc(when)
        return (self.since is None or when >= self.since) and (self.until is None or when <= self.until)

    def drop_reason(self, article: Article) -> DropReason | None:
        """Why an article is left out, or None when it is kept."""
        if not self.in_range(article_time(article)):
            return "time"
        if self.outlets and not self._outlet_kept(article.outlet):
            return "outlet"
        if self.languages and not self._language_kept(article.language):
            return "language"
        return None

    def _outlet_kept(self, outlet: str) -> bool:
        name = outlet.strip().lower().removeprefix("www.")
        return any(name == given or name.endswith(f".{given}") for given in self.outlets)

    def _language_kept(self, language: str | None) -> bool:
        if not language:
            return False
        tag = _tag(language)
        primary = tag.split("-", 1)[0]
        return any(tag == given or ("-" not in given and primary == given) for given in self.languages)


def time_before_extraction(task: PageTask) -> datetime | None:
    """The time the article of a page task will have, when its feed item fixes it before extraction (a plausible
    published time in the item: :func:`~storywire.pipelines.core.normalise.build_article` takes it first); None
    when only the page can tell."""
    if task.item is None:
        return None
    return plausible_time(task.item.published_at, task.first_seen_at)
