"""The Grafana dashboard in deploy/ queries only metrics the live run exports (a rename breaks this test)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from storywire.pipelines.live.metrics import LiveMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "storywire-dashboard.json"


def test_every_panel_queries_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported: set[str] = set()
    for family in LiveMetrics().registry.collect():
        exported.add(family.name)
        exported.update({f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count"})
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queried.update(re.findall(r"\bstorywire_[a-z_]+", target["expr"]))
    assert queried and queried <= exported, sorted(queried - exported)
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
