"""Start-up stays small: what a command imports before it does any work (docs/operations.md, "Replay speed").

kafka-python, httpx, trafilatura and wordfreq each take 0.2-0.3 s to import; the CLI module, the replay's graph
and the extraction workers must not import those they do not use. Each check runs in a fresh interpreter, where
``sys.modules`` holds what the imports brought in and nothing a previous test loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SLOW = ("kafka", "httpx", "trafilatura", "wordfreq", "apache_beam", "pyarrow", "plotly")


def _loaded_after(code: str, *, cwd: Path | None = None) -> set[str]:
    """The SLOW packages loaded in a fresh interpreter after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd)
    return set(json.loads(done.stdout.splitlines()[-1])) & set(SLOW)


def test_the_cli_module_imports_none_of_the_slow_packages() -> None:
    assert _loaded_after("import storywire.pipelines.cli.main") == set()


def test_the_replay_graph_imports_no_kafka_http_client_or_extractor() -> None:
    # (Beam, and wordfreq for the story step, it does need: see pipelines/beam/stories.py)
    loaded = _loaded_after("import storywire.pipelines.config.replay, storywire.pipelines.graphs.replay")
    assert loaded & {"kafka", "httpx", "trafilatura"} == set()


def test_an_extraction_worker_of_the_storywire_command_does_not_import_kafka(tmp_path: Path) -> None:
    # multiprocessing imports the program's main module again in each worker: for `storywire` that is the CLI
    (tmp_path / "probe.py").write_text(
        "import sys\n\ndef loaded():\n    return sorted({m.split('.')[0] for m in sys.modules})\n"
    )
    (tmp_path / "main.py").write_text(
        textwrap.dedent(
            """
            import json
            from storywire.pipelines.cli.main import main

            if __name__ == "__main__":
                import probe
                from storywire.connectors.articles.worker import IsolatedWorker, start_fork_server

                start_fork_server()
                with IsolatedWorker(timeout_s=60) as worker:
                    print(json.dumps(worker.call(probe.loaded)))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(tmp_path / "main.py")], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "trafilatura" in loaded  # the fork server's warm-up, inherited
    assert loaded & {"kafka", "httpx", "apache_beam", "pyarrow", "plotly"} == set()
