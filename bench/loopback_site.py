"""A loopback news site for live benchmarks: many outlets, each on its own 127.x address, items appearing over time.

Used by ``bench/live_latency.py``. One asyncio event loop in a background thread serves every outlet (light on a
2-core machine: no thread per host), each outlet on its own address ``127.77.0.N`` and an ephemeral port, so a
client's per-host politeness really applies per outlet (Linux routes all of 127/8 to the loopback interface).

Each outlet has ``/feed.xml`` (RSS 2.0 with ETag/Last-Modified, conditional GETs answered with 304), ``/robots.txt``
(everything allowed) and one article page per item, ``/a/<n>.html`` (a few KB of paragraphs, distinct per item, so
trafilatura extracts them). Items appear on a schedule relative to :meth:`LoopbackSite.go`: before it every feed is
empty; an item is listed (newest first, the latest ``FEED_WINDOW``) from ``go + item.offset_s`` on, and its page
answers 404 before that. :meth:`LoopbackSite.appeared_at` is that wall-clock time (``time.time()``).

Behaviours (:class:`Behaviour`):

- ``healthy``: answers at once;
- ``throttled``: every other request (feed, robots.txt or page) is ``429 Too Many Requests`` with ``Retry-After: 5``;
- ``staller``: every response is written one byte per second, headers included (a client gives up at its total
  timeout long before the headers end);
- ``burst``: a healthy host that also publishes 500 items at once (all listed in its feed);
- ``broken``: its feed is fine, its pages are not: even items answer 404, odd items 500 (retryable, forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

FEED_WINDOW = 30
"""How many items a feed lists (newest first); the burst host lists all of its items."""
BURST_SIZE = 500
IDLE_TIMEOUT_S = 75.0  # longer than any client keep-alive (httpx: 30 s): the client closes idle connections first
STALL_STEP_S = 1.0
STALL_MAX_BYTES = 300  # a staller gives up after this many bytes (5 minutes): never reached by a sane client

_VOCABULARY = (
    "harbour council budget minister river bridge election court report storm energy grid school museum rail "
    "strike port festival market wages housing inquiry hospital drought farmers police vote tariff climate "
    "airline union mayor coast ferry trial verdict league stadium budget deficit treaty summit border exports "
    "refinery mine copper wheat harvest flood tunnel canal shipyard ceasefire protest parliament senate cabinet "
    "scandal audit reform pension tax inflation bank rates currency startup factory robot satellite launch "
    "vaccine clinic outbreak research university student teacher library theatre orchestra novel film award"
)
_WORDS = _VOCABULARY.split()


class Behaviour(enum.Enum):
    HEALTHY = "healthy"
    THROTTLED = "throttled"
    STALLER = "staller"
    BURST = "burst"
    BROKEN = "broken"


@dataclass(frozen=True)
class Item:
    """One item of one outlet; ``offset_s`` is when it appears, in seconds after :meth:`LoopbackSite.go`."""

    outlet: int
    index: int
    offset_s: float

    @property
    def guid(self) -> str:
        return f"outlet{self.outlet}-item{self.index}"

    @property
    def path(self) -> str:
        return f"/a/{self.index}.html"


@dataclass
class Outlet:
    """One host of the site. ``address`` is its own loopback address; ``port`` is known once the site started."""

    number: int
    behaviour: Behaviour
    items: list[Item]
    address: str = ""
    port: int = 0
    requests: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return f"outlet{self.number}.example"

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def feed_url(self) -> str:
        return f"{self.base}/feed.xml"

    def url(self, item: Item) -> str:
        return f"{self.base}{item.path}"


def build_outlets(
    healthy: int, *, window_s: float, item_every_s: float, bad: bool, seed: int = 13, probe: bool = True
) -> list[Outlet]:
    """``healthy`` healthy outlets (the same ones, same items, with or without ``bad``), then the four bad ones
    (throttled, staller, burst, broken) when ``bad``, then one healthy ``probe`` outlet that the client under test
    is not told about (the benchmark times plain fetches against it).

    Each outlet publishes about ``window_s / item_every_s`` items at random times in ``[0, window_s]``; the burst
    outlet also publishes :data:`BURST_SIZE` items at once at a third of the window.
    """
    rng = random.Random(seed)
    count = max(1, round(window_s / item_every_s))
    kinds = [Behaviour.HEALTHY] * healthy
    if bad:
        kinds += [Behaviour.THROTTLED, Behaviour.STALLER, Behaviour.BURST, Behaviour.BROKEN]
    if probe:
        kinds.append(Behaviour.HEALTHY)
    outlets: list[Outlet] = []
    for number, kind in enumerate(kinds, start=1):
        # Healthy outlets draw from their own generator, so they are identical whether bad outlets exist or not.
        own = random.Random(seed * 1000 + number) if kind is Behaviour.HEALTHY else rng
        offsets = sorted(own.uniform(0, window_s) for _ in range(count))
        items = [Item(number, i, offset) for i, offset in enumerate(offsets)]
        if kind is Behaviour.BURST:
            at = window_s / 3
            items += [Item(number, count + i, at) for i in range(BURST_SIZE)]
        outlets.append(Outlet(number, kind, items))
    return outlets


class LoopbackSite:
    """Serves ``outlets`` from a background event loop; ``start()``, then ``go()`` to start the item clock."""

    def __init__(self, outlets: Sequence[Outlet], *, network: str = "127.77.0") -> None:
        self.outlets = list(outlets)
        self._network = network
        self._go: float | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="loopback-site", daemon=True)
        self._servers: list[asyncio.AbstractServer] = []
        self._pages: dict[tuple[int, int], bytes] = {}
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> LoopbackSite:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._bind(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def go(self, at: float | None = None) -> float:
        """Start the item clock (wall time, default now); returns it."""
        self._go = time.time() if at is None else at
        return self._go

    def appeared_at(self, item: Item) -> float | None:
        """Wall-clock time the item appeared in its feed (None before :meth:`go`)."""
        return None if self._go is None else self._go + item.offset_s

    def request_counts(self) -> Counter[str]:
        with self._lock:
            total: Counter[str] = Counter()
            for outlet in self.outlets:
                total.update(outlet.requests)
            return total

    async def _bind(self) -> None:
        for outlet in self.outlets:
            outlet.address = f"{self._network}.{outlet.number}"

            async def handle(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, outlet: Outlet = outlet
            ) -> None:
                await self._connection(outlet, reader, writer)

            server = await asyncio.start_server(handle, outlet.address, 0)
            outlet.port = int(server.sockets[0].getsockname()[1])
            self._servers.append(server)

    # -- HTTP -----------------------------------------------------------------------------------------------

    async def _connection(self, outlet: Outlet, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                method, target = parts[0], parts[1]
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                status, reply_headers, body = self._answer(outlet, target.split("?", 1)[0], headers)
                close = headers.get("connection", "").lower() == "close"
                wire = _response(status, reply_headers, b"" if method == "HEAD" else body, len(body), close=close)
                if outlet.behaviour is Behaviour.STALLER:
                    await _trickle(writer, wire)
                    return
                writer.write(wire)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, OSError, asyncio.CancelledError):
            return  # the client hung up, or the site is stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _answer(self, outlet: Outlet, path: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        with self._lock:
            outlet.requests[outlet.behaviour.value] += 1
            count = sum(outlet.requests.values())
        if outlet.behaviour is Behaviour.THROTTLED and count % 2 == 0:
            return 429, [("Retry-After", "5"), ("Content-Type", "text/plain")], b"slow down"
        now = time.time()
        visible = [] if self._go is None else [i for i in outlet.items if self._go + i.offset_s <= now]
        if path == "/robots.txt":
            return 200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n"
        if path == "/feed.xml":
            return self._feed(outlet, visible, headers)
        if path.startswith("/a/") and path.endswith(".html"):
            try:
                index = int(path[3:-5])
            except ValueError:
                index = -1
            item = next((i for i in visible if i.index == index), None)
            if item is None:
                return 404, [("Content-Type", "text/plain")], b"not found"
            if outlet.behaviour is Behaviour.BROKEN:
                if item.index % 2 == 0:
                    return 404, [("Content-Type", "text/plain")], b"gone missing"
                return 500, [("Content-Type", "text/plain")], b"internal error"
            return 200, [("Content-Type", "text/html; charset=utf-8")], self._page(outlet, item)
        return 404, [("Content-Type", "text/plain")], b"not found"

    def _feed(
        self, outlet: Outlet, visible: list[Item], headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        newest = sorted(visible, key=lambda i: (i.offset_s, i.index), reverse=True)
        if outlet.behaviour is not Behaviour.BURST:
            newest = newest[:FEED_WINDOW]
        etag = '"' + hashlib.sha256(",".join(i.guid for i in newest).encode()).hexdigest()[:16] + '"'
        changed = (self._go or 0.0) + (newest[0].offset_s if newest else 0.0)
        validators = [("ETag", etag), ("Last-Modified", formatdate(changed, usegmt=True))]
        if headers.get("if-none-match") == etag:
            return 304, validators, b""
        entries = []
        for item in newest:
            published = formatdate((self._go or 0.0) + item.offset_s, usegmt=True)
            entries.append(
                f"<item><title>{escape(_title(item))}</title><link>{outlet.url(item)}</link>"
                f'<guid isPermaLink="false">{item.guid}</guid><pubDate>{published}</pubDate>'
                f"<description>{escape(_title(item))}.</description></item>"
            )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{outlet.name}</title><link>{outlet.base}/</link><description>loopback outlet</description>"
            f"<language>en</language>{''.join(entries)}</channel></rss>\n"
        ).encode()
        return 200, [("Content-Type", "application/rss+xml; charset=utf-8"), *validators], body

    def _page(self, outlet: Outlet, item: Item) -> bytes:
        key = (item.outlet, item.index)
        with self._lock:
            cached = self._pages.get(key)
        if cached is not None:
            return cached
        rng = random.Random(f"{item.outlet}/{item.index}")
        paragraphs = []
        for _ in range(6):
            sentences = []
            for _ in range(rng.randint(4, 7)):
                words = rng.choices(_WORDS, k=rng.randint(9, 18))
                sentences.append(" ".join(words).capitalize() + ".")
            paragraphs.append("<p>" + " ".join(sentences) + "</p>")
        title = escape(_title(item))
        body = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="canonical" href="{outlet.url(item)}"></head><body>'
            f'<header><nav><a href="/">{outlet.name}</a> | <a href="/world">World</a></nav></header>'
            f"<main><article><h1>{title}</h1><p class=byline>By Staff Writer</p>{''.join(paragraphs)}</article></main>"
            "<footer>Copyright loopback outlet</footer></body></html>"
        ).encode()
        with self._lock:
            self._pages[key] = body
        return body


def _title(item: Item) -> str:
    rng = random.Random(f"title/{item.outlet}/{item.index}")
    return " ".join(rng.choices(_WORDS, k=7)).capitalize() + f" ({item.outlet}-{item.index})"


_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


def _response(status: int, headers: list[tuple[str, str]], body: bytes, length: int, *, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if status != 304:
        lines.append(f"Content-Length: {length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One byte a second until the client hangs up (a stalling server)."""
    for offset in range(min(len(data), STALL_MAX_BYTES)):
        if writer.is_closing():
            return
        writer.write(data[offset : offset + 1])
        await writer.drain()
        await asyncio.sleep(STALL_STEP_S)


def live_config(
    outlets: Sequence[Outlet],
    workdir: Path,
    interval_s: float,
    *,
    user_agent: str,
    sinks: Sequence[str],
    min_delay_s: float = 5.0,
    archive: str = "  dir: null",
    progress_interval: str = "10s",
) -> str:
    """The YAML of a `storywire run` against ``outlets``: the loopback site allowed, every feed polled every
    ``interval_s`` (backoffs and page retries compressed to match), state under ``workdir``."""
    interval = f"{round(interval_s)}s"
    feeds = "\n".join(f"  - {{url: '{o.feed_url}', outlet: {o.name}, language: en}}" for o in outlets)
    sink_lines = "\n".join(f"  - {sink}" for sink in sinks)
    return f"""feeds:
{feeds}
http:
  user_agent: "{user_agent}"
  allow_private_addresses: true      # the loopback site; every other http setting is the default
  min_delay: {min_delay_s:g}s                      # the default is 5s
polling:                             # a compressed clock: every feed every {interval}
  min_interval: {interval}
  max_interval: {interval}
  initial_interval: {interval}
  startup_spread: 2s
  backoff_base: {interval}
  backoff_cap: 60s
  page_retry_base: {interval}
  page_retry_max_delay: 60s
state:
  path: {workdir / "state" / "feed-state.json"}
  checkpoint_interval: 5s
sinks:
{sink_lines}
archive:
{archive}
progress:
  interval: {progress_interval}
"""
