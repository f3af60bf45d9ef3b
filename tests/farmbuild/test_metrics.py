"""The performance monitor and `farm stats`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from farmbuild.build import build
from farmbuild.metrics import Metric, PerformanceMonitor, percentile, summarise
from tests.conftest import farm_cli


@pytest.mark.parametrize(("values", "p", "expected"), [([5.0], 50, 5.0), ([1, 2, 3, 4], 50, 2), ([1, 2, 3, 4], 95, 4),
                                                       (list(range(1, 101)), 95, 95), (list(range(1, 101)), 50, 50)])
def test_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile([float(v) for v in values], p) == expected


def test_summary_per_kind_and_window(tmp_path: Path) -> None:
    mon = PerformanceMonitor(tmp_path, slow_threshold_ms=100)
    now = 1_000_000.0
    mon.record([
        Metric("schema:a", "schema", 10, True, now - 10),
        Metric("schema:b", "schema", 30, True, now - 10),
        Metric("types:a", "types", 500, True, now - 10),
        Metric("types:b", "types", 5, False, now - 10),
        Metric("schema:old", "schema", 9999, True, now - 2 * 24 * 3600),  # outside the 24 h window
    ])
    rep = mon.report(now=now)
    assert rep["total"] == 4 and rep["failed"] == 1 and rep["slow"] == 1
    assert rep["success_rate"] == 75.0
    assert rep["by_kind"]["schema"] == {"total": 2, "succeeded": 2, "failed": 0, "average_ms": 20.0, "p50_ms": 10.0,
                                        "p95_ms": 30.0, "slow": 0, "success_rate": 100.0}
    assert rep["by_kind"]["types"]["failed"] == 1
    assert len(mon.recent) == 5


def test_file_is_bounded_and_survives_a_torn_line(tmp_path: Path) -> None:
    mon = PerformanceMonitor(tmp_path, max_lines=100)
    for i in range(30):
        mon.record([Metric(f"t:{i}-{j}", "t", 1.0, True, 1e9) for j in range(10)])
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) <= 100
    assert json.loads(lines[-1])["task"] == "t:29-9"
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"task": "half')  # a kill -9 mid-write
    assert len(mon.load(now=1e9)) == len(lines)


def test_memory_keeps_the_last_100(tmp_path: Path) -> None:
    mon = PerformanceMonitor(tmp_path)
    mon.record(Metric(f"t:{i}", "t", 1.0, True, 1e9) for i in range(150))
    assert len(mon.recent) == 100 and mon.recent[0].task == "t:50"


def test_builds_record_executions_and_flag_slow_tasks(make_project, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    root = make_project({"apps/api/src/models/a.py": "from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n"},
                        farm_toml="[development.hot_reload.performance]\nslow_reload_threshold_ms = 0\n")
    with caplog.at_level(logging.WARNING, logger="farmbuild"):
        build(root)
    assert any("slow: schema:a took" in r.getMessage() for r in caplog.records)
    build(root)  # up to date: nothing executed, nothing recorded
    out = farm_cli("stats", "--json", "-C", str(root))
    rep = json.loads(out.stdout)
    n = rep["total"]  # schema:a plus the tasks that follow it (types:a, types-index, ...)
    assert n >= 1 and rep["by_kind"]["schema"]["total"] == 1 and rep["slow"] == n
    text = farm_cli("stats", "-C", str(root)).stdout
    assert f"{n} task executions, {n} succeeded, 0 failed" in text and "schema" in text


def test_summarise_empty() -> None:
    assert summarise([], 10)["total"] == 0
