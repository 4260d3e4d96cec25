"""``storywire status --config FILE``: each feed's saved poll state, as a table (reads the state files only).

For an operator's question "which feeds are broken, and when did they last work?": the poll checkpoint of a
running or stopped live run (``state.path``) says it per feed, with the pages waiting beside it
(``<state.path>.pages``). Nothing is fetched; a run may be going on meanwhile (the files are replaced
atomically).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import TextIO

from storywire.connectors.errors import SourceUnavailableError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = sub.add_parser(
        "status",
        help="show each feed's poll state from a live run's state files (broken, last success, next poll)",
        description="Show each configured feed's saved poll state: its status (ok, failing, broken, disabled, not "
        "polled yet), when it last answered, when it is polled next, its interval and its last error; and how "
        "many pages wait for a retry. Reads state.path of the config; fetches nothing.",
        epilog="example: storywire status --config deploy/feeds.example.yaml",
    )
    status.add_argument("--config", required=True, help="the live config whose state to read")


def run(args: argparse.Namespace, out: TextIO | None = None, *, now: datetime | None = None) -> int:
    from storywire.connectors.feeds.state_store import CheckpointStore
    from storywire.pipelines.config.loading import load_config
    from storywire.pipelines.live.pending import PendingPagesStore

    config = load_config(args.config)
    stream = out or sys.stdout
    store = CheckpointStore(config.state.path)
    if not store.path.exists():
        raise SourceUnavailableError(
            f"no poll state at {config.state.path} (state.path of {args.config}): the live run has not "
            "checkpointed yet, or the config names another state file"
        )
    states = store.load(config.polling.seen_items)
    current = now or datetime.now(timezone.utc)
    rows = [("FEED", "STATUS", "LAST SUCCESS", "NEXT POLL", "INTERVAL", "FAILURES", "LAST ERROR")]
    for feed in config.feeds:
        state = states.get(feed.url)
        if not feed.enabled:
            status = "disabled"
        elif state is None:
            status = "not polled yet"
        elif state.broken:
            status = "broken"
        elif state.failures:
            status = "failing"
        else:
            status = "ok"
        if state is None:
            rows.append((feed.url, status, "-", "-", "-", "-", "-"))
            continue
        rows.append(
            (
                feed.url,
                status,
                _when(state.last_success_at, current),
                _when(state.next_poll_at, current) if feed.enabled else "-",
                _span(state.interval_s),
                str(state.failures),
                (state.last_error or "-")[:80],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1], file=stream
        )
    pending = PendingPagesStore(config.state.path + ".pages").load()
    counts = [sum(1 for r in rows[1:] if r[1] == name) for name in ("ok", "failing", "broken")]
    print(
        f"\n{len(config.feeds)} feeds: {counts[0]} ok, {counts[1]} failing, {counts[2]} broken; "
        f"{len(pending)} pages pending (retries and work a stop left)",
        file=stream,
    )
    return 1 if counts[2] else 0


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    delta = (moment - now).total_seconds()
    relative = f"in {_span(delta)}" if delta >= 0 else f"{_span(-delta)} ago"
    return f"{stamp} ({relative})"


def _span(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
