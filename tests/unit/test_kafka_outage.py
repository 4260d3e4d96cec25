"""Riding out an unreachable Kafka broker (issue 13, point 6) with an injected clock and a fake broker: the
writer holds the records and resends them until they are acknowledged, says so in one line when the broker
goes and one when it is back, gives up only after the outage limit without progress (or near the end of a
stop's grace) with one line naming the broker, and never reports undelivered records as delivered."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from typing import Any

import kafka.errors as kafka_errors
import pytest

from storywire.connectors.kafka import DeliveryError, FailedRecord, KafkaConfig, KafkaMessageWriter, broker_health
from storywire.connectors.kafka.errors import format_seconds, show_key
from storywire.connectors.kafka.producer import OUTAGE_LOGGER, OUTAGE_NOTICE_S

BOOTSTRAP = "127.0.0.1:19092"
ARTICLES = "news.articles.v1"
STORIES = "news.stories.v1"


class Clock:
    """Monotonic seconds that only move when the code under test sleeps or a fake client blocks."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


class Future:
    def __init__(self, error: BaseException | None, done: bool = True) -> None:
        self.is_done = done
        self.exception = error

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def get(self, timeout: float | None = None) -> None:
        if self.exception is not None:
            raise self.exception


class Broker:
    """Down while ``down(now)`` is true. A client made while it is down fails to bootstrap after its
    ``bootstrap_timeout_ms`` (the clock moves); a record sent while it is down expires (or hangs, with
    ``hang``: never acknowledged, the client's flush blocks until its timeout)."""

    def __init__(self, clock: Clock, down: Callable[[float], bool], *, hang: bool = False) -> None:
        self.clock = clock
        self.down = down
        self.hang = hang
        self.acked: list[tuple[str, bytes | None, bytes | None]] = []
        self.clients: list[dict[str, Any]] = []
        self.accept: Callable[[bytes | None], bool] = lambda value: True

    def factory(self, **kwargs: Any) -> Producer:
        if self.down(self.clock.now):
            self.clock.now += kwargs["bootstrap_timeout_ms"] / 1000
            raise kafka_errors.KafkaTimeoutError(f"Unable to bootstrap from [('127.0.0.1', 19092)] ({kwargs})")
        self.clients.append(kwargs)
        return Producer(self)


class Producer:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.hanging: list[Future] = []

    def send(self, topic: str, *, value: bytes | None, key: bytes | None, headers: Any, timestamp_ms: Any) -> Any:
        broker = self.broker
        if broker.down(broker.clock.now) or not broker.accept(value):
            if broker.hang:
                future = Future(None, done=False)
                self.hanging.append(future)
                return future
            return Future(kafka_errors.KafkaTimeoutError(f"Batch for {topic}-0 containing 1 record(s) expired"))
        broker.acked.append((topic, key, value))
        return Future(None)

    def flush(self, timeout: float | None = None) -> None:
        if self.hanging:
            assert timeout is not None and timeout <= 0.5 + 1e-9  # waits are cut into slices
            self.broker.clock.now += timeout
            raise kafka_errors.KafkaTimeoutError("Timeout waiting for future")

    def close(self, timeout: float | None = None) -> None:
        pass


def writer_on(
    broker: Broker, *, limit_s: float = 900.0, stop_left: Callable[[], float | None] = lambda: None
) -> KafkaMessageWriter:
    config = KafkaConfig(BOOTSTRAP, delivery_backoff_ms=1_000, delivery_attempts=2)
    writer = KafkaMessageWriter(
        config,
        producer_factory=broker.factory,
        compacted_topics=[STORIES],
        sleep=broker.clock.sleep,
        clock=broker.clock,
        outage_limit_s=limit_s,
        stop_seconds_left=stop_left,
    )
    writer.open()
    return writer


def send_five(writer: KafkaMessageWriter) -> list[bytes]:
    values = [b"a1", b"b1", b"a2", b"b2", b"a3"]
    for value in values:
        writer.send(ARTICLES, value[:1], value)
    return values


def storywire_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("storywire")]


def test_an_outage_is_ridden_out_in_two_lines_and_every_record_is_delivered_once_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    broker = Broker(clock, lambda now: 1.0 <= now < 250.0)  # down from 1 s to 250 s (4m10s)
    writer = writer_on(broker)
    clock.now = 1.0
    values = send_five(writer)

    assert writer.flush() == 5

    assert [v for _, _, v in broker.acked] == values  # each once, in send order (so in order per key)
    assert (writer.delivered, writer.failed) == (5, 0)
    lines = storywire_lines(caplog)
    assert [(r.name, r.levelname) for r in lines] == [(OUTAGE_LOGGER, "WARNING"), (OUTAGE_LOGGER, "INFO")]
    down, back = (r.getMessage() for r in lines)
    assert down.startswith(f"Kafka broker {BOOTSTRAP} unreachable (KafkaTimeoutError: Batch for {ARTICLES}-0")
    assert down.endswith("holding 5 records, retrying; giving up after 15m")
    assert back.startswith(f"Kafka broker {BOOTSTRAP} back after 4m") and back.endswith("delivered 5 held records")
    assert "\n" not in down + back
    # Backoff doubles up to 30 s, so the broker's return is noticed within about 30 s plus one bootstrap.
    assert 250.0 <= clock.now < 250.0 + 30 + 10 + 1
    assert max(clock.sleeps) <= 0.5  # slept in slices, to notice a stop


def test_the_next_outage_is_reported_again() -> None:
    clock = Clock()
    broker = Broker(clock, lambda now: 10 <= now < 20 or 100 <= now < 130)
    writer = writer_on(broker)
    for start in (10.0, 100.0):
        clock.now = start
        send_five(writer)
        assert writer.flush() == 5
    assert writer.delivered == 10 and len(broker.acked) == 10


def test_a_broker_that_never_returns_is_given_up_after_the_limit_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    broker = Broker(clock, lambda now: now >= 1.0)
    writer = writer_on(broker, limit_s=60.0)
    clock.now = 1.0
    values = send_five(writer)

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    error = caught.value
    assert error.unreachable_s is not None and 59.0 <= error.unreachable_s <= 61.0
    assert not error.stopping and not error.permanent_only and error.bootstrap == BOOTSTRAP
    assert [f.value for f in error.failures] == values  # nothing dropped, in send order
    assert str(error) == (
        f"Kafka broker {BOOTSTRAP} unreachable for 1m: 5 records were not delivered; they were not checkpointed: "
        "a restart produces them again"
    )
    assert (writer.delivered, writer.failed, broker.acked) == (0, 5, [])
    assert [r.levelname for r in storywire_lines(caplog)] == ["WARNING"]  # no per-retry lines, no "back"
    # Waits during the outage are bounded by the limit: a client's bootstrap is cut to what is left.
    assert all(c["bootstrap_timeout_ms"] <= 10_000 and c["max_block_ms"] <= 60_000 for c in broker.clients)
    assert clock.now <= 1.0 + 60.0 + 1.0


def test_progress_restarts_the_limit() -> None:
    clock = Clock()
    broker = Broker(clock, lambda now: False)
    # The broker acknowledges one more record every 25 s: slow, but never 60 s without progress (resend rounds
    # come at 1, 3, 7, 15, 31, 61, 91 and 121 s).
    broker.accept = lambda value: value is not None and clock.now >= 25.0 * (int(value[1:]) + 1)
    writer = writer_on(broker, limit_s=60.0)
    for n in range(4):
        writer.send(ARTICLES, b"k", b"v%d" % n)

    assert writer.flush() == 4
    assert clock.now >= 100.0
    assert [v for _, _, v in broker.acked] == [b"v0", b"v1", b"v2", b"v3"]


def test_a_stop_during_an_outage_gives_up_a_second_before_the_grace_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    broker = Broker(clock, lambda now: now >= 1.0)

    def stop_left() -> float | None:  # a stop is requested at 30 s with a grace of 10 s
        return None if clock.now < 30.0 else max(0.0, 40.0 - clock.now)

    writer = writer_on(broker, stop_left=stop_left)
    clock.now = 1.0
    send_five(writer)

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    assert caught.value.stopping
    assert 38.0 <= clock.now <= 39.0 + 1e-9
    assert str(caught.value).startswith(f"stopping while Kafka broker {BOOTSTRAP} is unreachable (for 3")
    assert str(caught.value).endswith(
        "5 records were not delivered to it; they were not checkpointed and will be produced again after a restart"
    )
    assert writer.delivered == 0


def test_a_stop_cuts_short_the_wait_for_acknowledgements_that_never_come() -> None:
    clock = Clock()
    broker = Broker(clock, lambda now: now >= 1.0, hang=True)

    def stop_left() -> float | None:  # a stop at 5 s, grace 10 s; the client would wait 151 s otherwise
        return None if clock.now < 5.0 else max(0.0, 15.0 - clock.now)

    writer = writer_on(broker, stop_left=stop_left)
    clock.now = 1.0
    send_five(writer)

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    assert caught.value.stopping and caught.value.failed == 5
    assert clock.now <= 14.0 + 1e-9


def test_without_an_outage_limit_the_writer_keeps_its_bounded_attempts() -> None:
    clock = Clock()
    broker = Broker(clock, lambda now: now >= 1.0)
    config = KafkaConfig(BOOTSTRAP, delivery_backoff_ms=1_000, delivery_attempts=2)
    writer = KafkaMessageWriter(config, producer_factory=broker.factory, sleep=clock.sleep, clock=clock)
    writer.open()
    clock.now = 1.0
    send_five(writer)
    with pytest.raises(DeliveryError) as caught:
        writer.flush()
    assert caught.value.attempts == 2 and caught.value.unreachable_s is None


def test_delivery_error_messages_show_keys_as_text_and_say_what_the_count_counts() -> None:
    failure = FailedRecord("t", b"caf\xc3\xa9\xff", kafka_errors.MessageSizeTooLargeError("too\nlarge"))
    error = DeliveryError((failure,), 37, bootstrap="b:9092")
    text = str(error)
    assert text.startswith("1 of 37 records were not delivered to Kafka at b:9092 (in a batch of 37;")
    assert "key café\ufffd)" in text and "\n" not in text and "b'" not in text
    assert show_key(None) == "(none)"
    assert [format_seconds(s) for s in (0.4, 3, 252, 900, 3725)] == ["0.4s", "3s", "4m12s", "15m", "1h2m"]


def test_the_cli_reads_the_outage_limit_as_a_duration() -> None:
    from datetime import timedelta

    from storywire.pipelines.cli.arguments import duration as _duration

    assert _duration("90s") == timedelta(seconds=90)
    assert _duration("15m") == timedelta(minutes=15)
    for bad in ("90", "0s", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            _duration(bad)


def test_a_live_run_stopped_by_an_outage_ends_with_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from storywire.pipelines.cli import main as cli

    failures = tuple(FailedRecord(ARTICLES, b"k", kafka_errors.KafkaTimeoutError("expired")) for _ in range(3))
    outage = DeliveryError(failures, 3, bootstrap=BOOTSTRAP, unreachable_s=900.0)

    def failing_run(args: argparse.Namespace, beam_args: list[str]) -> int:
        try:
            raise outage
        except DeliveryError as exc:
            raise RuntimeError("Error in bundle\nTraceback (most recent call last): ...") from exc

    monkeypatch.setattr(cli.run_cli, "run", failing_run)
    assert cli.main(["run", "--config", "live.yaml"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"storywire: error: Kafka broker {BOOTSTRAP} unreachable for 15m: 3 records were not delivered; they "
        "were not checkpointed: a restart produces them again\n"
    )


# --- The outage noticed while a flush waits (OUTAGE_NOTICE_S) ---------------------------------------------------


class SlowClient:
    """A client whose records all complete at ``done_at`` (fake seconds): acknowledged, or failed with ``error``
    (kafka-python expiring them). Until then its flush blocks for the whole slice it was given."""

    def __init__(self, clock: Clock, done_at: float, error: BaseException | None = None) -> None:
        self.clock = clock
        self.done_at = done_at
        self.error = error
        self.futures: list[Future] = []
        self.acked: list[bytes | None] = []

    def send(self, topic: str, *, value: bytes | None, key: bytes | None, headers: Any, timestamp_ms: Any) -> Any:
        future = Future(None, done=False)
        self.futures.append(future)
        self.acked.append(value)
        return future

    def flush(self, timeout: float | None = None) -> None:
        assert timeout is not None and 0 < timeout <= 0.5 + 1e-9  # waits are cut into slices
        if self.clock.now + timeout < self.done_at:
            self.clock.now += timeout
            raise kafka_errors.KafkaTimeoutError("Timeout waiting for future")
        self.clock.now = max(self.clock.now, self.done_at)
        for future in self.futures:
            future.is_done, future.exception = True, self.error
        if self.error is not None:
            self.acked.clear()

    def close(self, timeout: float | None = None) -> None:
        pass


class TimedLines(logging.Handler):
    """The ``storywire.kafka`` lines with the fake time at which each was logged."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(logging.DEBUG)
        self.clock = clock
        self.lines: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((self.clock.now, record.levelname, record.getMessage()))


@pytest.fixture
def timed_lines(clock: Clock) -> Any:
    handler = TimedLines(clock)
    logger = logging.getLogger(OUTAGE_LOGGER)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def slow_writer(
    clock: Clock, make_client: Callable[[], SlowClient], *, limit_s: float = 900.0
) -> tuple[KafkaMessageWriter, list[SlowClient]]:
    """A writer with the default client timeouts (kafka-python would wait about 151 s for its records), whose
    clients ``make_client`` makes; the list of the clients made so far."""
    made: list[SlowClient] = []

    def factory(**kwargs: Any) -> SlowClient:
        made.append(make_client())
        return made[-1]

    writer = KafkaMessageWriter(
        KafkaConfig(BOOTSTRAP), producer_factory=factory, sleep=clock.sleep, clock=clock, outage_limit_s=limit_s
    )
    writer.open()
    return writer, made


def test_a_flush_waiting_ten_seconds_without_an_acknowledgement_reports_the_outage_at_once(
    clock: Clock, timed_lines: TimedLines
) -> None:
    # The broker acknowledges nothing until 12 s: noticed at 10 s (not when the client gives up, ~151 s), the
    # records are resent with a fresh client (kafka-python can stay stuck on the old one) and acknowledged.
    writer, clients = slow_writer(clock, lambda: SlowClient(clock, done_at=12.0))
    values = send_five(writer)

    assert writer.flush() == 5

    assert clients[-1].acked == values and writer.delivered == 5 and len(clients) == 2
    assert [(level, at) for at, level, _ in timed_lines.lines] == [("WARNING", 10.0), ("INFO", 12.0)]
    (_, _, down), (_, _, back) = timed_lines.lines
    assert down == (
        f"Kafka broker {BOOTSTRAP} unreachable (nothing acknowledged for 10s): holding 5 records, retrying; "
        "giving up after 15m"
    )
    assert back == f"Kafka broker {BOOTSTRAP} back after 12s: delivered 5 held records"
    assert OUTAGE_NOTICE_S == 10.0


def test_a_flush_that_completes_within_the_notice_time_says_nothing(clock: Clock, timed_lines: TimedLines) -> None:
    writer, clients = slow_writer(clock, lambda: SlowClient(clock, done_at=5.0))
    send_five(writer)

    assert writer.flush() == 5
    assert clock.now == 5.0 and timed_lines.lines == [] and len(clients) == 1


def test_without_an_outage_limit_a_slow_flush_says_nothing(clock: Clock, timed_lines: TimedLines) -> None:
    client = SlowClient(clock, done_at=12.0)
    writer = KafkaMessageWriter(
        KafkaConfig(BOOTSTRAP), producer_factory=lambda **kwargs: client, sleep=clock.sleep, clock=clock
    )
    writer.open()
    send_five(writer)
    assert writer.flush() == 5 and clock.now == 12.0 and timed_lines.lines == []


def test_an_outage_noticed_early_whose_resends_then_expire_is_still_one_line_each_way(
    clock: Clock, timed_lines: TimedLines
) -> None:
    # Nothing acknowledged on the first client; the resent records expire on the second (kafka-python gives
    # them up at 25 s: the existing expiry path); the third client's are acknowledged.
    expired = kafka_errors.KafkaTimeoutError(f"Batch for {ARTICLES}-0 containing 5 record(s) expired")
    plan = iter([SlowClient(clock, 1e9), SlowClient(clock, 25.0, expired), SlowClient(clock, 0.0)])
    writer, clients = slow_writer(clock, lambda: next(plan))
    values = send_five(writer)

    assert writer.flush() == 5

    assert len(clients) == 3 and clients[-1].acked == values and writer.delivered == 5 and writer.resent == 10
    assert [(level, at) for at, level, _ in timed_lines.lines] == [("WARNING", 10.0), ("INFO", clock.now)]
    assert "unreachable (nothing acknowledged for 10s): holding 5 records" in timed_lines.lines[0][2]
    assert timed_lines.lines[1][2] == (
        f"Kafka broker {BOOTSTRAP} back after {format_seconds(clock.now)}: delivered 5 held records"
    )


def test_the_next_outage_is_noticed_again(clock: Clock, timed_lines: TimedLines) -> None:
    ready = [12.0]
    writer, _ = slow_writer(clock, lambda: SlowClient(clock, done_at=ready[0]))
    for outage in range(2):
        if outage:
            ready[0] = clock.now + 12.0
            writer._producer.done_at = ready[0]  # the same client, slow again
        send_five(writer)
        assert writer.flush() == 5, outage
    assert [level for _, level, _ in timed_lines.lines] == ["WARNING", "INFO", "WARNING", "INFO"]
    assert writer.delivered == 10


def test_acknowledgements_trickling_in_keep_the_notice_away(clock: Clock, timed_lines: TimedLines) -> None:
    writer, clients = slow_writer(clock, lambda: SlowClient(clock, done_at=30.0))
    send_five(writer)
    client = clients[0]

    def flush(timeout: float | None = None) -> None:  # one more record acknowledged every 6 s
        for n, future in enumerate(client.futures):
            if clock.now >= 6.0 * (n + 1):
                future.is_done = True
        SlowClient.flush(client, timeout)

    client.flush = flush  # type: ignore[method-assign]
    assert writer.flush() == 5
    assert clock.now == 30.0 and timed_lines.lines == [] and len(clients) == 1


def test_the_limit_counts_from_the_last_acknowledgement_even_while_the_client_still_waits(
    clock: Clock, timed_lines: TimedLines
) -> None:
    # kafka-python would hold these records for 151 s; the limit of 30 s ends the ride-out, counted from the
    # start of the flush (nothing was acknowledged since).
    writer, _ = slow_writer(clock, lambda: SlowClient(clock, done_at=1e9), limit_s=30.0)
    values = send_five(writer)

    with pytest.raises(DeliveryError) as caught:
        writer.flush()

    assert [f.value for f in caught.value.failures] == values and caught.value.unreachable_s == 30.0
    assert clock.now == 30.0
    assert [(level, at) for at, level, _ in timed_lines.lines] == [("WARNING", 10.0)]


@pytest.fixture(autouse=True)
def _no_outage_from_an_earlier_test() -> Iterator[None]:
    broker_health._HEALTH.clear()  # writers of one process share what they know of a broker (by its address)
    yield
    broker_health._HEALTH.clear()


def test_the_writers_of_one_process_say_an_outage_once_and_a_stale_client_is_replaced_quietly(
    clock: Clock, timed_lines: TimedLines
) -> None:
    # A Beam worker runs one writer per sink step. The first meets the outage and says both lines; the second's
    # client, made before the broker returned, keeps failing (a restarted broker no longer knows its producer
    # id): its records are resent with a fresh client after a short wait, without a line; the third, idle
    # during the outage, gets a fresh client at its next send.
    first, _ = slow_writer(clock, lambda: SlowClient(clock, done_at=12.0))
    plan = iter([SlowClient(clock, done_at=1e9), SlowClient(clock, done_at=0.0)])
    second, second_clients = slow_writer(clock, lambda: next(plan))
    third, third_clients = slow_writer(clock, lambda: SlowClient(clock, done_at=0.0))
    send_five(first)
    values = send_five(second)

    assert first.flush() == 5
    assert clock.now == 12.0
    assert second.flush() == 5
    assert 12.0 + 2.0 <= clock.now <= 12.0 + 2.0 + 1.5 and second_clients[-1].acked == values
    send_five(third)
    assert third.flush() == 5 and len(third_clients) == 2

    assert [(level, at) for at, level, _ in timed_lines.lines] == [("WARNING", 10.0), ("INFO", 12.0)]


def test_health_endpoints_learn_which_brokers_are_down(clock: Clock, timed_lines: TimedLines) -> None:
    health = broker_health.health_of("10.0.0.1:9092")
    assert broker_health.brokers_down() == []
    health.since = clock.now
    assert broker_health.brokers_down() == ["10.0.0.1:9092"]
