"""What metrics and JSON logs cost a live run: CPU seconds of `storywire run` with both on, against both off.

The same loopback site (``bench/loopback_site.py``: healthy outlets on their own 127.x addresses, items appearing
over the run) is polled for the same wall time twice per pair, alternating the two settings (A B A B...) so a
machine that gets busier or quieter does not favour one:

- **off**: ``--log-format text --log-level info`` (per-feed events on), no metrics endpoint;
- **on**: ``--log-format json --log-level info`` and ``--metrics-port 0``, with ``/metrics`` scraped every
  ``--scrape-every`` seconds (default 15, a usual Prometheus scrape interval).

The figure is the child process's user + system CPU seconds (``os.wait4``), summed per setting; it prints the
ratio on/off. Target (issue 16): at most 1.03.

Usage::

    python bench/live_overhead.py [--hosts 30] [--seconds 45] [--pairs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live_latency import config_text
from bench.loopback_site import LoopbackSite, build_outlets


def run_once(hosts: int, seconds: float, *, instrumented: bool, workdir: Path, scrape_every: float = 15.0) -> float:
    """CPU seconds (user + system) of one live run of ``seconds`` against a fresh site."""
    outlets = build_outlets(hosts, window_s=seconds * 0.8, item_every_s=10.0, bad=False)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "live.yaml"
    command = [sys.executable, "-m", "storywire", "--log-level", "info", "run", "--config", str(config)]
    if instrumented:
        command[3:3] = ["--log-format", "json"]
        command += ["--metrics-port", "0"]
    else:
        command[3:3] = ["--log-format", "text"]
    with LoopbackSite(outlets) as site:
        config.write_text(config_text(outlets, workdir, 5.0, 1.0))
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWIRE__")}
        process = subprocess.Popen(
            command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert process.stdout is not None
        site.go()
        stop = threading.Event()
        if instrumented:
            url = ""
            while not url:
                line = process.stdout.readline()
                if not line:
                    raise SystemExit(f"storywire run ended early: {process.wait()}")
                if match := re.search(r"metrics on (http://\S+)/metrics", line):
                    url = match.group(1).replace("0.0.0.0", "127.0.0.1")

            def scrape() -> None:
                while not stop.wait(scrape_every):
                    with contextlib.suppress(OSError):
                        urllib.request.urlopen(url + "/metrics", timeout=5).read()

            threading.Thread(target=scrape, daemon=True).start()
        time.sleep(seconds)
        stop.set()
        process.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"storywire run exited {process.returncode}")
    return float(usage.ru_utime + usage.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--scrape-every", type=float, default=15.0, help="seconds between scrapes of /metrics")
    args = parser.parse_args(argv)
    totals = {False: 0.0, True: 0.0}
    with tempfile.TemporaryDirectory(prefix="storywire-overhead-") as tmp:
        for pair in range(args.pairs):
            for instrumented in (False, True):
                workdir = Path(tmp) / f"{pair}{instrumented}"
                cpu = run_once(
                    args.hosts, args.seconds, instrumented=instrumented, workdir=workdir, scrape_every=args.scrape_every
                )
                totals[instrumented] += cpu
                label = "on " if instrumented else "off"
                print(f"pair {pair + 1}, metrics and JSON logs {label}: {cpu:.2f} CPU s", flush=True)
    ratio = totals[True] / totals[False]
    print(
        f"metrics + JSON logs on / off: {totals[True]:.2f} / {totals[False]:.2f} CPU s = {ratio:.3f}x "
        f"({args.pairs} pairs, {args.hosts} hosts, {args.seconds:.0f}s each, a scrape every {args.scrape_every:g}s; "
        "target <= 1.03x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
