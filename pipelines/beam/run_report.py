"""Counts a finished run reports, and the in = out + dead letters balance they must satisfy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apache_beam.metrics.metric import MetricsFilter

from storywire.connectors.failures import Stage
from storywire.pipelines.beam.common import METRICS_NAMESPACE


@dataclass(frozen=True)
class RunReport:
    counters: dict[str, int]

    @classmethod
    def from_result(cls, result: Any) -> RunReport:
        query = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))
        counters: dict[str, int] = {}
        for item in query["counters"]:
            value = item.committed if item.committed is not None else item.attempted
            counters[item.key.metric.name] = counters.get(item.key.metric.name, 0) + int(value or 0)
        return cls(counters)

    def get(self, name: str) -> int:
        return self.counters.get(name, 0)

    def total(self, prefix: str) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith(prefix))

    def balances(self) -> dict[str, tuple[int, int]]:
        """Each stage's (in, out + dropped + dead letters); a pair that differs means an input was lost."""
        extracted = self.total("articles.extracted.")
        return {
            "page captures -> extracted + dead letters": (
                self.get("pages.tasks"),
                extracted + self.get(f"dead_letters.{Stage.EXTRACT_ARTICLE.value}"),
            ),
            "extracted -> assigned + exact repeats": (
                extracted,
                self.get("stories.assigned") + self.get("articles.exact_repeats"),
            ),
        }

    def render(self) -> str:
        responses = self.total("archive.responses.")
        lines = [
            f"archive responses: {responses} "
            f"(feeds {self.get('archive.responses.feed')}, pages {self.get('archive.responses.page')}, "
            f"other {self.get('archive.responses.other')})",
            f"feeds parsed: {self.get('feeds.parsed')} ({self.get('feeds.malformed_with_entries')} malformed but "
            f"usable), items listed: {self.get('feeds.items')}",
            f"page captures to extract: {self.get('pages.tasks')}; extracted: {self.total('articles.extracted.')}; "
            f"exact repeats dropped: {self.get('articles.exact_repeats')}; revisions: {self.get('articles.revisions')}",
            f"articles assigned to stories: {self.get('stories.assigned')} "
            f"(duplicates of another copy: {self.get('stories.duplicates')})",
            "story events: "
            + ", ".join(
                f"{k.split('.', 1)[1]} {v}" for k, v in sorted(self.counters.items()) if k.startswith("story_events.")
            ),
            "dead letters: "
            + (
                ", ".join(
                    f"{k.split('.', 1)[1]} {v}"
                    for k, v in sorted(self.counters.items())
                    if k.startswith("dead_letters.")
                )
                or "none"
            ),
        ]
        return "\n".join(lines)
