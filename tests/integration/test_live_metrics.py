"""`storywire run --metrics-port 0`: /metrics counts what the run does while it runs; /healthz and /readyz
answer; a port in use stops the run before any work, with one line and exit 2."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.http_server import LoopbackHttpServer
from tests.support.replay_archive import KREMLIN
from tests.support.warc import page, rss

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, site: LoopbackHttpServer) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(
        f"""
feeds: [{site.url("/rss.xml")}]
http: {{user_agent: "storywire-tests/1.0 (+https://storywire.example/tests)", min_delay: 0s,
       allowed_networks: [127.0.0.0/8]}}
polling: {{min_interval: 1s, initial_interval: 1s, startup_spread: 0s}}
state: {{path: {tmp_path / "state" / "feeds.json"}}}
sinks: [file://{tmp_path / "out"}]
metrics: {{host: 127.0.0.1}}
progress: {{interval: 0s}}
"""
    )
    return path


def _sample(text: str, name: str) -> float:
    found = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")]
    return found[0] if found else 0.0


def test_metrics_and_health_while_the_run_runs(tmp_path: Path) -> None:
    with LoopbackHttpServer("127.0.0.2") as site:
        item = {"title": "Drones", "link": site.url("/kremlin"), "date": "Wed, 03 May 2023 07:00:00 GMT"}
        site.serve("/rss.xml", rss("Alpha", site.url("/"), [item]))
        site.serve("/kremlin", page("Drones over the Kremlin", KREMLIN), content_type="text/html; charset=utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "storywire", "run", "--config", str(_config(tmp_path, site)), "--metrics-port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert process.stdout is not None
            url = ""
            while not url:
                line = process.stdout.readline()
                assert line, process.communicate()
                if match := re.search(r"metrics on (http://\S+)/metrics", line):
                    url = match.group(1)
            deadline = time.monotonic() + 60
            text = ""
            while time.monotonic() < deadline:
                text = httpx.get(url + "/metrics", timeout=5).text
                if _sample(text, 'storywire_articles_total{method="trafilatura"}') >= 1:
                    break
                time.sleep(0.2)
            assert _sample(text, 'storywire_polls_total{outcome="new_items"}') >= 1, text
            assert _sample(text, 'storywire_pages_total{outcome="fetched"}') == 1
            assert _sample(text, 'storywire_articles_total{method="trafilatura"}') == 1
            assert _sample(text, 'storywire_story_events_total{type="created"}') == 1
            assert _sample(text, 'storywire_fetch_seconds_count{kind="page"}') == 1
            assert httpx.get(url + "/healthz", timeout=5).status_code == 200
            assert httpx.get(url + "/readyz", timeout=5).status_code == 200
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, stderr


def test_a_metrics_port_in_use_stops_the_run_before_any_work(tmp_path: Path) -> None:
    with LoopbackHttpServer("127.0.0.2") as site, socket.socket() as taken:
        site.serve("/rss.xml", rss("Alpha", site.url("/"), []))
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "storywire", "run", "--config", str(_config(tmp_path, site))]
        done = subprocess.run(
            [*command, "--metrics-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )
        polled = site.requests_for("/rss.xml")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "--metrics-port" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert polled == []
