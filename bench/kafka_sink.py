"""Throughput of the Beam Kafka sink next to bare kafka-python, same messages, same local broker, same run.

Four timed runs against one local broker (``deploy/local_broker.py``), each into its own topic, each
followed by a verification that reads the topic back and counts the messages (``iter_topic`` with an
expected count and a timeout: end offsets are not trusted on this broker):

1. **bare kafka-python (pre-encoded)**: a ``KafkaProducer`` with the sink's own settings (same compression,
   acks, idempotence, linger) sends the pre-encoded messages (key, JSON value, CloudEvents headers, exactly
   the bytes the sink produces) in a loop, then ``flush()``; every future is checked. The reference.
2. **bare kafka-python + encoding**: the same, building each message from its record in the loop
   (``message_for``: JSON + headers), as the sink must.
3. **bare kafka-python + decode + encoding**: the same, starting from the pipeline's own input (the JSONL
   file, each line decoded into an ``Article``): the hand-written equivalent of the whole Beam pipeline.
4. **sink DoFn, direct**: the real ``_KafkaWriteFn`` driven by hand (setup, start_bundle, process per record,
   finish_bundle, teardown) on the same records: the sink's own cost (encoding, size rule, writer
   bookkeeping, counters) without Beam.
5. **Beam pipeline**: ``ReadFromText`` of the JSONL -> decode -> ``WriteKafka`` on the FnApiRunner: what a
   replay pays, including Beam's start-up, the producer's bootstrap and the JSON decoding of the input.

All the inputs are built before the timed runs and kept out of the garbage collector's way (``gc.freeze``).
Runs 1-3 start their clock after the producer is connected; 4 and 5 include connecting it. Not timed against
Kafka, but in every round: **the Beam ceiling**, the same pipeline with a no-op sink (read, decode, Beam's
per-element cost and start-up). With it the bench prints the best ratio the Beam pipeline could reach if the
sink cost nothing beyond bare kafka-python: ``1 / (1 + ceiling_seconds * bare_rate / messages)``.

The messages are synthetic articles of about ``--text-bytes`` of text. Prints messages/s for each (median of
interleaved rounds) and the ratios to the bare producer (target: the Beam sink >= 0.8x). Not a test: numbers
depend on the machine.

Usage::

    python bench/kafka_sink.py [--messages 50000] [--rounds 3] [--partitions 3] [--compression gzip|none]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from storywire.connectors.kafka import KafkaConfig, TopicNames, TopicSpec, ensure_topics, iter_topic  # noqa: E402
from storywire.pipelines.beam.sinks import WriteKafka, _KafkaWriteFn  # noqa: E402
from storywire.pipelines.core.messages import OutboundMessage, message_for  # noqa: E402
from storywire.schemas.codec import decode, encode  # noqa: E402
from storywire.schemas.records import Article  # noqa: E402

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
WORDS = ("drone", "kremlin", "strike", "port", "river", "ballot", "rates", "inflation", "union", "wildfire", "orbit")


def load_local_broker() -> ModuleType:
    """``deploy/local_broker.py`` is a script: import it by path."""
    spec = importlib.util.spec_from_file_location("storywire_local_broker", ROOT / "deploy" / "local_broker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["storywire_local_broker"] = module
    spec.loader.exec_module(module)
    return module


def articles(count: int, text_bytes: int, seed: int = 1) -> list[Article]:
    rng = random.Random(seed)
    result = []
    for n in range(count):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < text_bytes:
            words.append(rng.choice(WORDS))
        result.append(
            Article(
                article_id=f"a_{n:024x}",
                url=f"https://outlet{n % 50}.example/story/{n}",
                canonical_url=f"https://outlet{n % 50}.example/story/{n}",
                outlet=f"outlet{n % 50}.example",
                feed_url=f"https://outlet{n % 50}.example/rss.xml",
                title=" ".join(words[:8]).title(),
                summary=" ".join(words[:30]),
                text=" ".join(words),
                authors=("Staff",),
                language="en",
                published_at=None,
                first_seen_at=T0 + timedelta(seconds=n),
                captured_at=T0 + timedelta(seconds=n, minutes=5),
                revision=1,
                extraction_method="trafilatura",
                content_hash=f"{n:032x}",
                story_id=f"s_{n % 997:024x}",
            )
        )
    return result


def _timed_sends(config: KafkaConfig, what: str, messages: Iterable[OutboundMessage]) -> float:
    """Seconds for a bare kafka-python producer to send ``messages`` (built lazily, inside the timing, when
    given a generator) and flush them; every future is checked afterwards."""
    producer = KafkaProducer(**config.producer_kwargs())
    try:
        started = time.perf_counter()
        futures = [producer.send(m.topic, key=m.key, value=m.value, headers=list(m.headers)) for m in messages]
        producer.flush()
        elapsed = time.perf_counter() - started
    finally:
        producer.close()
    failed = [f for f in futures if not f.succeeded()]
    if failed:
        raise SystemExit(f"{what}: {len(failed)} records failed, first: {failed[0].exception}")
    return elapsed


def bare_producer(config: KafkaConfig, messages: list[OutboundMessage]) -> float:
    """Seconds for kafka-python alone to send and flush the pre-encoded messages (all futures checked)."""
    return _timed_sends(config, "bare producer", messages)


def bare_producer_encoding(config: KafkaConfig, records: list[Article], prefix: str) -> float:
    """Seconds for kafka-python alone when it also builds each message (JSON + CloudEvents headers) from
    the record, as a hand-written producer would: the sink without its size rule and delivery bookkeeping."""
    topics = TopicNames(prefix)
    return _timed_sends(config, "bare producer with encoding", (message_for(record, topics) for record in records))


def bare_producer_from_file(config: KafkaConfig, source: Path, prefix: str) -> float:
    """Seconds for kafka-python alone to read the pipeline's JSONL input, decode each line and send its message:
    the Beam pipeline's work, hand-written."""
    topics = TopicNames(prefix)

    def messages() -> Iterator[OutboundMessage]:
        with source.open("rb") as lines:
            for line in lines:
                yield message_for(decode(line, Article), topics)

    return _timed_sends(config, "bare producer from the file", messages())


def sink_direct(config: KafkaConfig, records: list[Article], prefix: str) -> float:
    """Seconds for the sink DoFn, driven by hand, to produce the records (one bundle)."""
    fn = _KafkaWriteFn(config, TopicNames(prefix))
    fn.setup()
    try:
        started = time.perf_counter()
        fn.start_bundle()
        for record in records:
            fn.process(record)
        fn.finish_bundle()
        elapsed = time.perf_counter() - started
    finally:
        fn.teardown()
    return elapsed


def beam_pipeline(config: KafkaConfig, source: Path, prefix: str) -> float:
    """Seconds for ReadFromText -> decode -> WriteKafka on the FnApiRunner (start-up included)."""
    started = time.perf_counter()
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    _ = (
        pipeline
        | "Read" >> beam.io.ReadFromText(str(source))
        | "Decode" >> beam.Map(lambda line: decode(line, Article))
        | "Sink" >> WriteKafka(config, TopicNames(prefix))
    )
    pipeline.run().wait_until_finish()
    return time.perf_counter() - started


class _NoOpSink(beam.DoFn):
    """Takes each record and does nothing with it."""

    def process(self, record: Article) -> None:
        return None


def beam_ceiling(source: Path) -> float:
    """Seconds for the same pipeline with a no-op sink: what Beam and decoding cost by themselves."""
    started = time.perf_counter()
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    _ = (
        pipeline
        | "Read" >> beam.io.ReadFromText(str(source))
        | "Decode" >> beam.Map(lambda line: decode(line, Article))
        | "Sink" >> beam.ParDo(_NoOpSink())
    )
    pipeline.run().wait_until_finish()
    return time.perf_counter() - started


def count_topic(config: KafkaConfig, topic: str, expected: int) -> int:
    """Messages read back from every partition (stops at ``expected`` or after 120 s)."""
    return sum(1 for _ in iter_topic(config, topic, expected_count=expected, timeout_s=120))


def timed_run(label: str, run: Callable[[], float], config: KafkaConfig, topic: str, count: int) -> float:
    """Run once, verify by reading the topic back, print a line; return messages/s."""
    seconds = run()
    counted = count_topic(config, topic, count)
    rate = count / seconds
    verdict = "ok" if counted == count else f"MISMATCH: expected {count}"
    print(f"  {label:<34} {seconds:7.2f} s {rate:10,.0f} msg/s   read back {counted:,} ({verdict})", flush=True)
    if counted != count:
        raise SystemExit(f"{label}: {counted} of {count} messages read back from {topic}")
    return rate


LABELS = (
    "bare kafka-python (pre-encoded)",
    "bare kafka-python + encoding",
    "bare + decode + encoding (file)",
    "sink DoFn, driven directly",
    "Beam pipeline (FnApiRunner)",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--compression", default="gzip", help="gzip (the sink's default), lz4, zstd or none")
    parser.add_argument("--text-bytes", type=int, default=1_000, help="article text length")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median rate is reported")
    args = parser.parse_args(argv)

    records = articles(args.messages, args.text_bytes)
    local_broker = load_local_broker()
    with local_broker.running_broker(timeout=15.0) as broker, tempfile.TemporaryDirectory() as tmp:
        config = KafkaConfig(broker.bootstrap, client_id="storywire-bench", compression_type=args.compression)
        source = Path(tmp) / "articles.jsonl"
        source.write_bytes(b"\n".join(encode(record) for record in records) + b"\n")
        messages = [message_for(record, TopicNames("bench")) for record in records]
        size = sum(len(m.value) for m in messages) / len(messages)
        print(
            f"{args.messages:,} articles, {size:,.0f} B JSON each + {len(messages[0].headers)} CloudEvents headers; "
            f"{args.partitions} partitions; compression {args.compression}; broker {broker.bootstrap}; "
            f"{args.rounds} rounds"
        )
        rates: dict[str, list[float]] = {label: [] for label in LABELS}
        ratios: dict[str, list[float]] = {label: [] for label in LABELS}
        ceiling: list[float] = []
        for round_no in range(args.rounds):
            print(f"round {round_no + 1}")
            prefixes = [f"bench.r{round_no}.m{n}" for n in range(len(LABELS))]
            topics = [TopicNames(prefix).articles for prefix in prefixes]
            ensure_topics(config, [TopicSpec(topic, partitions=args.partitions) for topic in topics])
            bare_messages = [message_for(record, TopicNames(prefixes[0])) for record in records]
            runs: list[Callable[[], float]] = [
                partial(bare_producer, config, bare_messages),
                partial(bare_producer_encoding, config, records, prefixes[1]),
                partial(bare_producer_from_file, config, source, prefixes[2]),
                partial(sink_direct, config, records, prefixes[3]),
                partial(beam_pipeline, config, source, prefixes[4]),
            ]
            # The bench keeps every record and message of the round in memory (a pipeline would not): freeze
            # them so the garbage collector's full passes skip them, or the runs that allocate as they go
            # (decoding the file, Beam) pay for walking the bench's own data.
            gc.collect()
            gc.freeze()
            # Rotate the order each round so no run always goes first (or last) on a noisy machine.
            order = [(n + round_no) % len(LABELS) for n in range(len(LABELS))]
            for n in order:
                rates[LABELS[n]].append(timed_run(LABELS[n], runs[n], config, topics[n], args.messages))
            ceiling.append(beam_ceiling(source))
            label = "Beam ceiling (no-op sink)"
            print(f"  {label:<34} {ceiling[-1]:7.2f} s {args.messages / ceiling[-1]:10,.0f} msg/s   (no Kafka)")
            gc.unfreeze()
            for label in LABELS:
                ratios[label].append(rates[label][-1] / rates[LABELS[0]][-1])
        medians = {label: statistics.median(values) for label, values in rates.items()}
        bare = medians[LABELS[0]]
        ceiling_s = statistics.median(ceiling)
        best_ratio = 1 / (1 + ceiling_s * bare / args.messages)
        print("\nmedian over rounds (ratio: median of the per-round ratios to the bare producer):")
        for label, rate in medians.items():
            print(f"  {label:<34} {rate:10,.0f} msg/s   {statistics.median(ratios[label]):5.2f}x")
        print(f"  {'Beam ceiling (no-op sink)':<34} {args.messages / ceiling_s:10,.0f} msg/s   (no Kafka)")
        print(
            f"  best ratio the Beam pipeline could reach with a sink costing nothing beyond bare kafka-python: "
            f"{best_ratio:.2f}x"
        )
        summary = {label: round(rate) for label, rate in medians.items()} | {
            "Beam ceiling (no-op sink)": round(args.messages / ceiling_s)
        }
        median_ratios = {label: round(statistics.median(values), 3) for label, values in ratios.items()}
        print(
            json.dumps(
                {
                    "messages": args.messages,
                    "compression": args.compression,
                    "median_msg_per_s": summary,
                    "median_ratio_to_bare": median_ratios,
                    "best_beam_ratio": round(best_ratio, 3),
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
