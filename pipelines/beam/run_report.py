"""Counts a finished run reports, and the balances they must satisfy: every input is an output, a counted skip
or a dead letter, stage by stage, so a loss anywhere breaks an equation (``docs/operations.md``, "Replay
accounting").

Each side of a balance is counted at a different place (the reader counts records, the archive step counts what
it emits, the join counts what it pairs...), so an input dropped between two counters shows as a MISMATCH.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apache_beam.metrics.metric import MetricsFilter

from storywire.connectors.failures import Stage
from storywire.pipelines.beam.common import METRICS_NAMESPACE

_PER_ARCHIVE = "per_archive."


@dataclass(frozen=True)
class Balance:
    """``total`` should equal the sum of ``parts`` (name -> count)."""

    total_name: str
    total: int
    parts: tuple[tuple[str, int], ...]

    @property
    def accounted(self) -> int:
        return sum(count for _, count in self.parts)

    @property
    def ok(self) -> bool:
        return self.total == self.accounted

    def render(self, name: str) -> str:
        """``balance NAME: IN = OUT ok`` (or ``MISMATCH``), then each term."""
        terms = " + ".join(f"{part} {count}" for part, count in self.parts)
        status = "ok" if self.ok else f"MISMATCH, {self.total - self.accounted:+d} unaccounted"
        return f"balance {name}: {self.total} = {self.accounted} {status} ({self.total_name} = {terms})"


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

    def _by_suffix(self, prefix: str) -> dict[str, int]:
        return {k.removeprefix(prefix): v for k, v in sorted(self.counters.items()) if k.startswith(prefix)}

    def dead(self, stage: Stage) -> int:
        return self.get(f"dead_letters.{stage.value}")

    def archives(self) -> list[str]:
        """The archive files read, by name."""
        names = {k.removeprefix(_PER_ARCHIVE).rsplit(".", 1)[0] for k in self.counters if k.startswith(_PER_ARCHIVE)}
        return sorted(names)

    def balance_details(self) -> dict[str, Balance]:
        """Every balance of a replay: each archive's records, then the flow stage by stage."""
        balances: dict[str, Balance] = {}
        for archive in self.archives():
            prefix = f"{_PER_ARCHIVE}{archive}."
            balances[f"archive {archive}"] = Balance(
                "records read",
                self.get(f"{prefix}records"),
                (
                    ("used", self.get(f"{prefix}used")),
                    ("skipped", self.get(f"{prefix}skipped")),
                    ("dead letters", self.get(f"{prefix}dead_letters")),
                ),
            )
        skipped = self._by_suffix("archive.skipped.")
        balances["archive records -> used + skipped + dead letters"] = Balance(
            "records",
            self.get("archive.records"),
            (
                *((f"{kind}s used", self.get(f"archive.used.{kind}")) for kind in ("feed", "page", "redirect")),
                *((f"skipped {kind}", count) for kind, count in skipped.items()),
                ("read-archive dead letters", self.dead(Stage.READ_ARCHIVE)),
            ),
        )
        unusable = self.dead(Stage.PARSE_FEED) - self.get("feeds.malformed_with_entries")
        balances["feed captures -> parsed + unusable"] = Balance(
            "feed captures",
            self.get("archive.used.feed"),
            (("parsed", self.get("feeds.parsed")), ("unusable (parse-feed dead letters, less malformed)", unusable)),
        )
        balances["feed items -> paired + not captured + repeats + over cap"] = Balance(
            "items listed",
            self.get("feeds.items") + self.get("feeds.items_over_cap"),
            (
                ("paired with a capture", self.get("join.items.paired")),
                ("join-archive dead letters", self.dead(Stage.JOIN_ARCHIVE)),
                ("repeat listings", self.get("join.items.repeats")),
                ("over the per-feed cap", self.get("feeds.items_over_cap")),
            ),
        )
        balances["page captures -> page tasks"] = Balance(
            "page captures", self.get("archive.used.page"), (("tasks", self.get("pages.tasks")),)
        )
        extracted = self.total("articles.extracted.")
        balances["page tasks -> extracted + dead letters + outside the time range"] = Balance(
            "tasks",
            self.get("pages.tasks"),
            (
                ("extracted", extracted),
                ("extract-article dead letters", self.dead(Stage.EXTRACT_ARTICLE)),
                ("outside the time range (--since/--until)", self.get("filter.tasks.time")),
            ),
        )
        balances["dump lines -> articles + blank + dead letters"] = Balance(
            "lines",
            self.get("dump.lines"),
            (
                ("articles", self.get("dump.articles")),
                ("blank", self.get("dump.blank")),
                ("read-input dead letters of lines", self.get("dump.dead_letters")),
            ),
        )
        balances["read-input dead letters = refused inputs + dump lines"] = Balance(
            "read-input dead letters",
            self.dead(Stage.READ_INPUT),
            (("refused inputs", self.get("inputs.refused")), ("dump lines", self.get("dump.dead_letters"))),
        )
        filtered = self._by_suffix("filter.articles.")
        balances["articles -> assigned + exact repeats + filtered out"] = Balance(
            "extracted + from dumps",
            extracted + self.get("dump.articles"),
            (
                ("assigned", self.get("stories.assigned")),
                ("exact repeats", self.get("articles.exact_repeats")),
                *((f"filtered out by {reason}", count) for reason, count in filtered.items()),
            ),
        )
        return balances

    def live_balance(self) -> Balance:
        """A live run's pages: those pending at the start and the items its polls took each left as an article,
        a dead letter, or are pending at the end (saved for the restart)."""
        return Balance(
            "pending at start + items taken",
            self.get("live.pages.pending_at_start") + self.get("live.items.new") + self.get("live.items.updated"),
            (
                ("articles", self.get("live.pages.emitted")),
                ("dead letters", self.get("live.pages.dead_lettered")),
                ("pending at end", self.get("live.pages.pending_at_end")),
            ),
        )

    def _inputs_and_filters(self) -> list[str]:
        """Lines for JSONL dumps, refused inputs and the filter, only when the run had them."""
        lines = []
        if self.get("dump.lines"):
            lines.append(
                f"article dump lines: {self.get('dump.lines')}; articles: {self.get('dump.articles')}; blank: "
                f"{self.get('dump.blank')}; unusable: {self.get('dump.dead_letters')}"
            )
        if self.get("inputs.refused"):
            lines.append(f"inputs refused (neither WARC nor JSONL, or holding no file): {self.get('inputs.refused')}")
        dropped = {**self._by_suffix("filter.articles."), "time before extraction": self.get("filter.tasks.time")}
        if any(dropped.values()):
            lines.append(
                "filtered out: " + ", ".join(f"{reason} {count}" for reason, count in dropped.items() if count)
            )
        return lines

    def balances(self) -> dict[str, tuple[int, int]]:
        """Each balance's (in, out + skipped + dead letters); a pair that differs means an input was lost."""
        return {name: (b.total, b.accounted) for name, b in self.balance_details().items()}

    def render_balances(self) -> str:
        return "\n".join(b.render(name) for name, b in self.balance_details().items())

    def render(self) -> str:
        responses = self.total("archive.responses.")
        skipped = self._by_suffix("archive.skipped.")
        lines = [
            f"archive records: {self.get('archive.records')}; skipped: "
            + (", ".join(f"{kind} {count}" for kind, count in skipped.items()) or "none"),
            f"archive responses: {responses} "
            f"(feeds {self.get('archive.responses.feed')}, pages {self.get('archive.responses.page')}, "
            f"other {self.get('archive.responses.other')})",
            f"feeds parsed: {self.get('feeds.parsed')} ({self.get('feeds.malformed_with_entries')} malformed but "
            f"usable), items listed: {self.get('feeds.items') + self.get('feeds.items_over_cap')} "
            f"({self.get('feeds.items_over_cap')} over the per-feed cap, not joined; "
            f"{self.get('feeds.entries_without_link')} entries without a link)",
            f"page captures to extract: {self.get('pages.tasks')}; extracted: {self.total('articles.extracted.')}; "
            f"exact repeats dropped: {self.get('articles.exact_repeats')}; revisions: {self.get('articles.revisions')}",
            *self._inputs_and_filters(),
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
