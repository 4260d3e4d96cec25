"""Soak: ``storywire run`` polling a loopback site into Kafka and files for N minutes while replays loop beside it.

What runs (all on this machine, nothing from the network):

- the local Tansu broker (``deploy/local_broker.py start``, in memory, on a free port, stopped at the end);
- a loopback news site (``bench/loopback_site.py``): ``--hosts`` healthy outlets, plus the four bad ones (a
  throttled host, a host stalling its headers, a host publishing 500 items at once, a host whose pages answer
  404/500) unless ``--no-bad``; items appear at random times over the whole soak, so the run keeps fetching,
  extracting and clustering until the end;
- ``storywire run --config live.yaml`` (a subprocess): every feed polled every ``--interval`` seconds, the
  default politeness, sinks ``kafka://`` (the local broker) and ``file://``, a WARC archive of every fetch
  rotated every 2 MB, feed and story state checkpointed every 5 s;
- in a loop beside it, ``storywire replay`` of the bundled sample into the same broker (topic prefix
  ``soak.replay``) and a file sink (a fresh directory each time, removed after).

Every ``--every`` seconds the bench samples the run process: its resident memory (``VmRSS`` of
``/proc/PID/status``), its open file descriptors (the entries of ``/proc/PID/fd``), its threads, the resident
memory of its child processes (the extraction worker), and the articles and dead letters written so far. At the
end it prints the samples as a table and a verdict.

Verdict, **flat**: the samples are cut in thirds by time; the first third is the warm-up (imports, connection
pools, the first stories and document frequencies). Memory is flat when the mean RSS of the last third is at
most ``--rss-tolerance`` (10 %) above the mean of the second third; descriptors are flat when the mean fd count
of the last third is at most ``--fd-tolerance`` (5) above the second third's. A drop is flat. Story state grows
with the articles by design (bounded by the stories' ``horizon``, 30 days by default), so a run this short should
stay within the tolerance; a leak per poll, fetch or checkpoint (hundreds per minute) should not.

Usage::

    python bench/soak.py [--minutes 10] [--hosts 20] [--interval 10] [--every 5] [--no-bad] [--no-replay]
                         [--keep DIR] [--rev REV]

``--rev`` runs storywire as committed at a git revision (``git archive`` into the work directory, put first on
``PYTHONPATH``), so that edits in progress in the working tree cannot change a long soak halfway.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loopback_site import LoopbackSite, Outlet, build_outlets, live_config  # noqa: E402

UA = "storywire-soak/0.1 (+https://example.org/bot)"
SAMPLE = ROOT / "pipelines" / "bundled" / "storywire-sample.warc.gz"
ARTICLES = "news.articles.v1.jsonl"
DEAD_LETTERS = "news.deadletter.v1.jsonl"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Sample:
    t_s: float
    rss_kib: int
    fds: int
    threads: int
    children: int
    children_rss_kib: int
    articles: int
    dead_letters: int
    replays: int


@dataclass
class Replays:
    """The replay loop's tally (written by its thread, read by the sampler)."""

    done: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)
    peak_rss_kib: list[int] = field(default_factory=list)
    last_error: str = ""


# -- /proc ----------------------------------------------------------------------------------------------------


def status_field(pid: int, name: str) -> int:
    """A numeric field of ``/proc/PID/status`` (``VmRSS`` in kB, ``Threads``); 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from the parent ids in ``/proc/*/stat``)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the fields after its closing parenthesis.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def line_count(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


# -- the parts ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker(command: str, state_dir: Path, port: int | None = None) -> None:
    argv = [sys.executable, str(ROOT / "deploy" / "local_broker.py"), command, "--state-dir", str(state_dir)]
    if port is not None:
        argv += ["--port", str(port)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0 and command == "start":
        raise SystemExit(f"the local broker did not start:\n{done.stdout}{done.stderr}")


def config_text(outlets: list[Outlet], workdir: Path, interval_s: float, bootstrap: str) -> str:
    return live_config(
        outlets,
        workdir,
        interval_s,
        user_agent=UA,
        sinks=[f"kafka://{bootstrap}", f"file://{workdir / 'out'}"],
        archive=f"  dir: {workdir / 'archive'}\n  rotate_size: 2MB",
        progress_interval="30s",
    )


def replay_loop(
    bootstrap: str, workdir: Path, stop: threading.Event, tally: Replays, env: dict[str, str], sample: Path
) -> None:
    """``storywire replay`` of the bundled sample, again and again until ``stop``."""
    n = 0
    while not stop.is_set():
        n += 1
        out = workdir / f"replay-{n}"
        argv = [sys.executable, "-m", "storywire", "replay", str(sample), "--no-summary"]
        argv += ["--sink", f"kafka://{bootstrap}", "--sink", f"file://{out}", "--topic-prefix", "soak.replay"]
        started = time.monotonic()
        with (workdir / "replay.log").open("ab") as log:
            process = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=log, env=env)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        tally.seconds.append(time.monotonic() - started)
        tally.peak_rss_kib.append(int(usage.ru_maxrss))
        if process.returncode == 0:
            tally.done += 1
        else:
            tally.failed += 1
            tally.last_error = f"replay {n} exited with {process.returncode} (see replay.log)"
        shutil.rmtree(out, ignore_errors=True)
        stop.wait(2.0)


def sample(pid: int, t_s: float, out: Path, replays: Replays) -> Sample:
    children = descendants(pid)
    return Sample(
        t_s=t_s,
        rss_kib=status_field(pid, "VmRSS"),
        fds=fd_count(pid),
        threads=status_field(pid, "Threads"),
        children=len(children),
        children_rss_kib=sum(status_field(child, "VmRSS") for child in children),
        articles=line_count(out / ARTICLES),
        dead_letters=line_count(out / DEAD_LETTERS),
        replays=replays.done + replays.failed,
    )


# -- the verdict ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    rss_second: float
    rss_last: float
    fds_second: float
    fds_last: float
    rss_flat: bool
    fds_flat: bool

    @property
    def flat(self) -> bool:
        return self.rss_flat and self.fds_flat


def thirds(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    """The samples of the second and of the last third of the soak, by time."""
    end = samples[-1].t_s
    second = [s for s in samples if end / 3 <= s.t_s < 2 * end / 3] or samples
    last = [s for s in samples if s.t_s >= 2 * end / 3] or samples
    return second, last


def verdict(samples: list[Sample], rss_tolerance: float, fd_tolerance: float) -> Verdict:
    """Thirds by time; the second third against the last (module docstring)."""
    second, last = thirds(samples)
    rss_second = statistics.fmean(s.rss_kib for s in second)
    rss_last = statistics.fmean(s.rss_kib for s in last)
    fds_second = statistics.fmean(s.fds for s in second)
    fds_last = statistics.fmean(s.fds for s in last)
    return Verdict(
        rss_second,
        rss_last,
        fds_second,
        fds_last,
        rss_flat=rss_last <= rss_second * (1 + rss_tolerance),
        fds_flat=fds_last <= fds_second + fd_tolerance,
    )


def report(samples: list[Sample], tally: Replays, args: argparse.Namespace, exit_code: int | None) -> bool:
    print(
        f"soak: storywire run for {args.minutes:g} min, {args.hosts} healthy hosts"
        + ("" if args.items_for >= 1 else f" (items for the first {args.items_for * args.minutes:g} min)")
        + ("" if args.no_bad else " + 4 bad")
        + f", every feed polled every {args.interval:g}s, sinks kafka + file; "
        + ("no replays" if args.no_replay else "storywire replay of the bundled sample looping beside it")
    )
    code = f"git {args.rev}" if args.rev else "the installed package (working tree)"
    print(f"started {args.started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores; storywire code: {code}")
    print(
        f"{'t':>6} {'RSS MiB':>8} {'fds':>5} {'threads':>7} {'children':>8} {'child MiB':>9} "
        f"{'articles':>8} {'dead':>6} {'replays':>7}"
    )
    step = max(1, len(samples) // 40)  # about 40 rows, always the last one
    for i, s in enumerate(samples):
        if i % step and i != len(samples) - 1:
            continue
        print(
            f"{s.t_s:>5.0f}s {s.rss_kib / 1024:>8.1f} {s.fds:>5} {s.threads:>7} {s.children:>8} "
            f"{s.children_rss_kib / 1024:>9.1f} {s.articles:>8} {s.dead_letters:>6} {s.replays:>7}"
        )
    if tally.seconds:
        third = max(1, len(tally.seconds) // 3)
        first_s, last_s = statistics.fmean(tally.seconds[:third]), statistics.fmean(tally.seconds[-third:])
        print(
            f"replays: {tally.done} ok, {tally.failed} failed; wall time first third {first_s:.1f}s, "
            f"last third {last_s:.1f}s;"
            f" peak RSS per replay {min(tally.peak_rss_kib) / 1024:.0f}-{max(tally.peak_rss_kib) / 1024:.0f} MiB"
        )
        if tally.last_error:
            print(f"  last replay failure: {tally.last_error}")
    if len(samples) < 3:
        print("verdict: too few samples")
        return False
    v = verdict(samples, args.rss_tolerance, args.fd_tolerance)
    second, last = thirds(samples)
    print(
        f"RSS: mean of the second third {v.rss_second / 1024:.1f} MiB, last third {v.rss_last / 1024:.1f} MiB "
        f"({(v.rss_last / v.rss_second - 1) * 100:+.1f}%, tolerance +{args.rss_tolerance * 100:.0f}%): "
        + ("flat" if v.rss_flat else "GROWING")
    )
    articles = statistics.fmean(s.articles for s in last) - statistics.fmean(s.articles for s in second)
    minutes = (statistics.fmean(s.t_s for s in last) - statistics.fmean(s.t_s for s in second)) / 60
    per_article = f"{(v.rss_last - v.rss_second) / articles:.0f} KiB per article" if articles > 0 else "no articles"
    print(
        f"  between the two: {(v.rss_last - v.rss_second) / 1024 / minutes:+.2f} MiB a minute, "
        f"{articles:.0f} more articles ({per_article})"
    )
    print(
        f"fds: mean of the second third {v.fds_second:.1f}, last third {v.fds_last:.1f} "
        f"({v.fds_last - v.fds_second:+.1f}, tolerance +{args.fd_tolerance:g}): "
        + ("flat" if v.fds_flat else "GROWING")
    )
    print(f"run exit code after SIGTERM: {exit_code}")
    print(f"verdict: {'flat' if v.flat else 'NOT flat'}")
    return v.flat


def checkout(rev: str, target: Path) -> Path:
    """``git archive REV`` of this repository unpacked into ``target`` (the working tree is left alone)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


# -- main -----------------------------------------------------------------------------------------------------


def soak(args: argparse.Namespace, workdir: Path) -> tuple[list[Sample], Replays, int | None]:
    window_s = args.minutes * 60 * args.items_for
    outlets = build_outlets(
        args.hosts, window_s=window_s, item_every_s=args.item_every, bad=not args.no_bad, probe=False
    )
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker_dir = workdir / "broker"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWIRE__")}
    env["PYTHONUNBUFFERED"] = "1"
    if args.source is not None:  # run that checkout's code instead of the installed (editable) package
        env["PYTHONPATH"] = os.pathsep.join([str(args.source), *filter(None, [env.get("PYTHONPATH")])])
    samples: list[Sample] = []
    tally = Replays()
    stop = threading.Event()
    broker("start", broker_dir, port)
    replayer: threading.Thread | None = None
    process: subprocess.Popen[bytes] | None = None
    try:
        with LoopbackSite(outlets) as site:
            config = workdir / "live.yaml"
            config.write_text(config_text(outlets, workdir, args.interval, bootstrap))
            with (workdir / "run.log").open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "storywire", "run", "--config", str(config)],
                    cwd=workdir,
                    stdout=log,
                    stderr=log,
                    env=env,
                )
                site.go()
                if not args.no_replay:
                    replayer = threading.Thread(
                        target=replay_loop,
                        args=(bootstrap, workdir, stop, tally, env, (args.source or ROOT) / SAMPLE.relative_to(ROOT)),
                        name="replays",
                        daemon=True,
                    )
                    replayer.start()
                started = time.monotonic()
                end = started + args.minutes * 60
                next_print = started + 60
                while time.monotonic() < end and process.poll() is None:
                    samples.append(sample(process.pid, time.monotonic() - started, workdir / "out", tally))
                    if time.monotonic() >= next_print:
                        next_print += 60
                        s = samples[-1]
                        print(
                            f"  {s.t_s:4.0f}s RSS {s.rss_kib / 1024:.0f} MiB, {s.fds} fds, {s.articles} articles, "
                            f"{s.replays} replays",
                            file=sys.stderr,
                            flush=True,
                        )
                    time.sleep(max(0.0, args.every - (time.monotonic() - started) % args.every))
                if process.poll() is not None:
                    tail = (workdir / "run.log").read_text(errors="replace")[-3000:]
                    print(f"storywire run exited early with {process.returncode}:\n{tail}", file=sys.stderr)
                stop.set()
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if replayer is not None:
                    replayer.join(timeout=300)
    finally:
        stop.set()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        broker("stop", broker_dir)
    return samples, tally, None if process is None else process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the run polls (default 10)")
    parser.add_argument("--hosts", type=int, default=20, help="healthy hosts (default 20; the bad ones on top)")
    parser.add_argument("--item-every", type=float, default=30.0, help="mean seconds between items of one host")
    parser.add_argument(
        "--items-for",
        type=float,
        default=1.0,
        help="share of the soak over which items appear (default 1: all along; 0.5: the second half only polls)",
    )
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval of every feed (default 10s)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--rss-tolerance", type=float, default=0.10, help="last third vs second (default 0.10)")
    parser.add_argument("--fd-tolerance", type=float, default=5.0, help="last third vs second, fds (default 5)")
    parser.add_argument("--no-bad", action="store_true", help="healthy hosts only")
    parser.add_argument("--no-replay", action="store_true", help="no replay loop beside the run")
    parser.add_argument("--keep", type=Path, default=None, help="keep the config, logs, sinks and archive here")
    parser.add_argument("--rev", default=None, help="run storywire as committed at this git revision (git archive)")
    args = parser.parse_args(argv)
    args.started = datetime.now(timezone.utc)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="storywire-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.source = None
    try:
        if args.rev is not None:
            args.source = checkout(args.rev, workdir / "source")
        samples, tally, exit_code = soak(args, workdir)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if report(samples, tally, args, exit_code) else 1


if __name__ == "__main__":
    raise SystemExit(main())
