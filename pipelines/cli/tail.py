"""``storywire tail TOPIC``: print a topic's messages, one line each, for a person watching the stream.

Each line: ``partition@offset key=KEY TYPE TIME BODY`` where TYPE and TIME are the CloudEvents ``ce_type``
and ``ce_time`` headers and BODY is the JSON value with sorted keys and long strings shortened (``--full``
prints them whole). TOPIC is a full topic name or one of the short names ``articles``, ``stories``,
``story-events``, ``deadletter`` (resolved under ``--topic-prefix``).

Reading uses no consumer group (``storywire.connectors.kafka.consumer.iter_topic``): nothing is committed, any number
of tails can run. Without ``--from-beginning`` it starts at the end offsets (on the bundled Tansu broker
these point into the last batch of each partition, so a few older messages show first). Without
``--follow`` it stops once no message arrived for ``--idle-timeout`` seconds; ``--max N`` stops after N
printed messages; ``--key K`` prints only messages whose key is K.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import orjson

from storywire.connectors.errors import ConfigError
from storywire.connectors.kafka import ConsumedMessage, TopicNames, iter_topic
from storywire.pipelines.cli.topics import DeprecatedAlias, add_broker_options, broker_config

__all__ = ["SHORT_NAMES", "add_parser", "format_message", "resolve_topic", "run", "shorten"]

SHORT_NAMES = ("articles", "stories", "story-events", "deadletter")
DEFAULT_MAX_STRING = 80


def resolve_topic(name: str, prefix: str) -> str:
    """A short name (``stories``) under ``prefix``, or the name itself."""
    topics = TopicNames(prefix)
    short = {
        "articles": topics.articles,
        "stories": topics.stories,
        "story-events": topics.story_events,
        "deadletter": topics.dead_letters,
    }
    return short.get(name, name)


def shorten(value: Any, max_string: int) -> Any:
    """``value`` with strings longer than ``max_string`` cut (``...(+N chars)``), and long lists cut too."""
    if isinstance(value, str) and len(value) > max_string:
        return f"{value[:max_string]}...(+{len(value) - max_string} chars)"
    if isinstance(value, list):
        items = [shorten(item, max_string) for item in value[:10]]
        return [*items, f"...(+{len(value) - 10} items)"] if len(value) > 10 else items
    if isinstance(value, dict):
        return {key: shorten(item, max_string) for key, item in value.items()}
    return value


def format_message(message: ConsumedMessage, *, full: bool = False) -> str:
    """One line for a message: position, key, CloudEvents type and time, compact JSON body."""
    key = message.key.decode("utf-8", "replace") if message.key is not None else "-"
    ce_type = _header_text(message, "ce_type")
    ce_time = _header_text(message, "ce_time")
    if message.value is None:
        body = "<tombstone>"
    else:
        try:
            decoded = orjson.loads(message.value)
        except orjson.JSONDecodeError:
            body = f"<{len(message.value)} bytes, not JSON> {message.value[:60]!r}"
        else:
            shown = decoded if full else shorten(decoded, DEFAULT_MAX_STRING)
            body = orjson.dumps(shown, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    return f"{message.partition}@{message.offset} key={key} {ce_type} {ce_time} {body}"


def _header_text(message: ConsumedMessage, name: str) -> str:
    value = message.header(name)
    return value.decode("utf-8", "replace") if value is not None else "-"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``tail`` on the ``storywire`` parser."""
    tail = sub.add_parser(
        "tail",
        help="print a topic's messages (key, partition@offset, CloudEvents type/time, JSON body)",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
        epilog="""examples:
  storywire tail stories --from-beginning              # the local broker, or $STORYWIRE_BROKER
  storywire tail articles --broker kafka://broker:9092 --follow --key a_6ac5738ca1448b93974086bc
  storywire tail deadletter --config live.yaml --max 20 # the broker and prefix of a live config
  STORYWIRE_BROKER=kafka://broker:9092 storywire tail story-events --idle-timeout 10""",
    )
    tail.add_argument("topic", metavar="TOPIC", help=f"a topic name or one of {', '.join(SHORT_NAMES)}")
    add_broker_options(tail)
    tail.add_argument("--from-beginning", action="store_true", help="start at the earliest messages")
    tail.add_argument("--follow", action="store_true", help="keep waiting for new messages (Ctrl-C stops)")
    tail.add_argument("--key", default=None, metavar="K", help="only messages with this key")
    tail.add_argument("--max", type=int, default=None, metavar="N", help="stop after N printed messages")
    tail.add_argument(
        "--idle-timeout", type=float, default=5.0, metavar="S", help="without --follow: stop after S idle seconds (5)"
    )
    tail.add_argument(
        "--timeout", dest="idle_timeout", type=float, action=DeprecatedAlias, replacement="--idle-timeout S"
    )
    tail.add_argument("--full", action="store_true", help="print long strings whole")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the messages to ``out`` (stdout); broker and topic errors propagate to ``cli.main`` (exit 2)."""
    if args.max is not None and args.max < 1:
        raise ConfigError(f"--max must be >= 1, got {args.max}")
    if args.idle_timeout <= 0:
        raise ConfigError(f"--idle-timeout must be > 0, got {args.idle_timeout:g}")
    config, _ = broker_config(args)
    topic = resolve_topic(args.topic, args.topic_prefix)
    messages = iter_topic(
        config,
        topic,
        timeout_s=None,
        idle_timeout_s=None if args.follow else args.idle_timeout,
        from_beginning=args.from_beginning,
    )
    printed = _print(messages, args.key, args.max, args.full, out or sys.stdout)
    if not args.follow:
        print(f"({printed} message{'s' if printed != 1 else ''} from {topic})", file=sys.stderr)
    return 0


def _print(messages: Iterable[ConsumedMessage], key: str | None, limit: int | None, full: bool, out: TextIO) -> int:
    wanted = key.encode("utf-8") if key is not None else None
    printed = 0
    try:
        for message in messages:
            if wanted is not None and message.key != wanted:
                continue
            print(format_message(message, full=full), file=out, flush=True)
            printed += 1
            if limit is not None and printed >= limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        close = getattr(messages, "close", None)
        if close is not None:
            close()
    return printed
