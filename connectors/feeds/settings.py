"""What to poll and how: one :class:`FeedSpec` per feed plus the :class:`PollSettings` shared by all.

Both live here, in the connector, so the poll core needs nothing from ``pipelines``;
:func:`storywire.pipelines.config.loading.load_config` builds them from the ``feeds:`` and ``polling:`` sections
of the YAML file. Construction validates and raises :class:`~storywire.connectors.errors.ConfigError`; the config
loader adds the file and line to the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from storywire.connectors.errors import ConfigError

_LANGUAGE = re.compile(r"^[a-z]{2}$")
MAX_URL_CHARS = 2048


def check_feed_url(url: object) -> str:
    """The URL itself when it is an absolute http(s) URL with a host; ConfigError saying why otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("a feed URL must be a non-empty string, e.g. https://example.com/rss.xml")
    if url != url.strip() or any(c.isspace() for c in url):
        raise ConfigError(f"feed URL {url!r} contains whitespace; percent-encode it (%20)")
    if len(url) > MAX_URL_CHARS:
        raise ConfigError(f"feed URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(f"feed URL {url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"feed URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ConfigError(f"feed URL {url!r} has no host name")
    return url


def check_language(value: object) -> str:
    """An ISO 639-1 code in lower case (``en``, ``de``); region subtags (``en-GB``) are refused, not guessed."""
    if not isinstance(value, str) or not _LANGUAGE.match(value):
        raise ConfigError(f"language {value!r} is not an ISO 639-1 code; use two lower-case letters, e.g. en or de")
    return value


def _positive(name: str, value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigError(f"{name} must be a positive duration, got {value!r}")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed to poll. ``url`` is its identity for state and metrics, even after permanent redirects.

    ``min_interval``/``max_interval`` of None use the ``polling`` defaults. ``trust_validators=False`` never sends
    ETag/If-Modified-Since (for servers known to answer 304 for a changed feed); the body hash still saves the
    parse. ``outlet`` and ``language`` override what the feed says (None: take it from the feed / its host).
    """

    url: str
    outlet: str | None = None
    language: str | None = None
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    trust_validators: bool = True
    enabled: bool = True
    title: str | None = None

    def __post_init__(self) -> None:
        check_feed_url(self.url)
        if self.outlet is not None and (not isinstance(self.outlet, str) or not self.outlet.strip()):
            raise ConfigError("outlet must be a non-empty string or left out")
        if self.language is not None:
            check_language(self.language)
        if self.title is not None and not isinstance(self.title, str):
            raise ConfigError("title must be a string")
        if self.min_interval is not None:
            _positive("min_interval", self.min_interval)
        if self.max_interval is not None:
            _positive("max_interval", self.max_interval)
        if self.min_interval is not None and self.max_interval is not None and self.min_interval > self.max_interval:
            raise ConfigError(
                f"min_interval ({self.min_interval}) is longer than max_interval ({self.max_interval}); swap them"
            )
        for name in ("trust_validators", "enabled"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false")


@dataclass(frozen=True, slots=True)
class PollSettings:
    """Polling rules shared by every feed (a feed's own bounds override ``min_interval``/``max_interval``).

    A feed is polled between ``min_interval`` and ``max_interval``; a new one every ``initial_interval`` until
    its own rhythm is learnt. Failures back off exponentially from ``backoff_base`` up to ``backoff_cap``; after
    ``max_failures`` in a row the feed is broken (polled at ``max_interval`` until it recovers). ``seen_items``
    bounds the item ids remembered per feed, so memory stays flat; it only needs to exceed what a feed lists
    (it is raised automatically for a poll that lists more): an item that falls out of the window and comes back
    later is emitted again, and dropped downstream as an unchanged re-capture. ``startup_spread`` spreads first
    and overdue polls after a start so they do not all fire at once.

    ``max_new_items_per_poll`` caps the new and edited items one poll hands out, so a feed that suddenly lists
    a large backlog (a first poll, an archive dump, a CMS migration) cannot flood one round with fetches. The
    rest is not dropped: those items are not recorded as seen and the feed is polled again at its
    ``min_interval`` (still no earlier than its ttl/Cache-Control hints), where they come out, a cap's worth at
    a time, until the backlog is drained.

    The ``page_retry_*`` fields are the live engine's (:mod:`storywire.pipelines.live.engine`): an article page
    whose fetch failed with a retryable error (429, 5xx, timeout, connection, host busy) is fetched again, up to
    ``page_retry_attempts`` more times (0: a dead letter at once), because the poll core already counts its item
    as seen and a passing outage would otherwise lose the article. Each retry waits for the server's
    ``Retry-After`` when it sent one (so a host asking for 5 s is not kept waiting minutes), else
    ``page_retry_base`` doubling per failed attempt with deterministic jitter; either way no longer than
    ``page_retry_max_delay``, so a Retry-After of days cannot park a page (and its article) indefinitely.
    """

    min_interval: timedelta = timedelta(minutes=10)
    max_interval: timedelta = timedelta(hours=24)
    initial_interval: timedelta = timedelta(minutes=30)
    max_failures: int = 10
    backoff_base: timedelta = timedelta(minutes=5)
    backoff_cap: timedelta = timedelta(hours=6)
    seen_items: int = 200
    startup_spread: timedelta = timedelta(minutes=5)
    max_new_items_per_poll: int = 100
    page_retry_attempts: int = 3
    page_retry_base: timedelta = timedelta(seconds=30)
    page_retry_max_delay: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        for name in (
            "min_interval",
            "max_interval",
            "initial_interval",
            "backoff_base",
            "backoff_cap",
            "page_retry_base",
            "page_retry_max_delay",
        ):
            _positive(name, getattr(self, name))
        if not isinstance(self.startup_spread, timedelta) or self.startup_spread < timedelta(0):
            raise ConfigError(f"startup_spread must be a duration >= 0, got {self.startup_spread!r}")
        if self.min_interval > self.max_interval:
            raise ConfigError(
                f"min_interval ({self.min_interval}) is longer than max_interval ({self.max_interval}); swap them"
            )
        if self.backoff_base > self.backoff_cap:
            raise ConfigError(f"backoff_base ({self.backoff_base}) is longer than backoff_cap ({self.backoff_cap})")
        if self.page_retry_base > self.page_retry_max_delay:
            raise ConfigError(
                f"page_retry_base ({self.page_retry_base}) is longer than page_retry_max_delay"
                f" ({self.page_retry_max_delay})"
            )
        for name, low in (
            ("max_failures", 1),
            ("seen_items", 10),
            ("max_new_items_per_poll", 1),
            ("page_retry_attempts", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")

    def bounds_for(self, feed: FeedSpec) -> tuple[float, float]:
        """The feed's (min, max) interval in seconds; a feed minimum above the default maximum lifts the max."""
        low = (feed.min_interval or self.min_interval).total_seconds()
        high = (feed.max_interval or self.max_interval).total_seconds()
        return low, max(low, high)
