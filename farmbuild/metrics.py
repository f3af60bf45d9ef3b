"""The performance monitor: every task execution, remembered and summarised.

The original design's ``HotReloadPerformanceMonitor`` kept the last 100 metrics in memory; here
they also go to a bounded ``.farm/metrics.jsonl`` so ``farm stats`` can report across runs of
``farm build`` and ``farm watch``. A task slower than
``development.hot_reload.performance.slow_reload_threshold_ms`` is flagged when it happens.
"""

from __future__ import annotations

import json
import math
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .fsutil import write_internal

if TYPE_CHECKING:
    from .recovery import Effect

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
MEMORY = 100
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Metric:
    task: str
    kind: str
    duration_ms: float
    success: bool
    ts: float  # unix time the execution ended

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Metric":
        return cls(str(d["task"]), str(d["kind"]), float(d["duration_ms"]), bool(d["success"]), float(d["ts"]))


def effect_metric(effect: "Effect", ts: float) -> Metric:
    """A try of a side effect (see :mod:`farmbuild.recovery`) as a metric of kind ``<component> <op>``
    (``vite notify``, ``backend ai-swap``, ``mongodb apply``): ``farm stats`` shows a row for each,
    with its failures."""
    name = str(effect.key)
    return Metric(name, name, round(effect.duration_s * 1000, 2), effect.ok, ts)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


class PerformanceMonitor:
    """Records task executions; ``max_lines`` bounds the file (it is trimmed to half when full)."""

    def __init__(self, state_dir: Path, slow_threshold_ms: int = 5000, *, max_lines: int = 10_000) -> None:
        self.path = state_dir / METRICS_FILE
        self.slow_threshold_ms = slow_threshold_ms
        self.max_lines = max_lines
        self.recent: deque[Metric] = deque(maxlen=MEMORY)
        self._lock = threading.Lock()  # farm watch records from the loop and the servers' threads

    def record(self, metrics: Iterable[Metric]) -> list[Metric]:
        """Store executions; return the slow ones (and log them)."""
        batch = list(metrics)
        if not batch:
            return []
        slow = [m for m in batch if m.success and m.duration_ms > self.slow_threshold_ms]
        for m in slow:
            log.warning("slow: %s took %.1f s (slow_reload_threshold_ms = %d)", m.task, m.duration_ms / 1000,
                        self.slow_threshold_ms)
        with self._lock:
            self.recent.extend(batch)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as fh:
                    for m in batch:
                        fh.write(json.dumps(asdict(m), separators=(",", ":")) + "\n")
                self._trim()
            except OSError as exc:  # metrics are best effort: never fail a build over them
                log.debug("could not record metrics: %s", exc)
        return slow

    def _trim(self) -> None:
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return
        if size < self.max_lines * 60:  # cheap pre-check: a line is ~100 bytes
            return
        lines = self.path.read_text("utf-8").splitlines()
        if len(lines) > self.max_lines:
            write_internal(self.path, "\n".join(lines[-self.max_lines // 2:]) + "\n")

    def load(self, since_s: float = DAY_S, now: float | None = None) -> list[Metric]:
        now = time.time() if now is None else now
        out = []
        try:
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        m = Metric.from_json(json.loads(line))
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line after a kill: skip it
                    if now - m.ts <= since_s:
                        out.append(m)
        except OSError:
            pass
        return out

    def report(self, since_s: float = DAY_S, now: float | None = None) -> dict[str, Any]:
        return summarise(self.load(since_s, now), self.slow_threshold_ms)


def summarise(metrics: list[Metric], slow_threshold_ms: int) -> dict[str, Any]:
    def stats(ms: list[Metric]) -> dict[str, Any]:
        ok = [m for m in ms if m.success]
        durations = [m.duration_ms for m in ms]
        return {
            "total": len(ms),
            "succeeded": len(ok),
            "failed": len(ms) - len(ok),
            "average_ms": round(sum(durations) / len(durations), 1) if durations else 0.0,
            "p50_ms": round(percentile(durations, 50), 1) if durations else 0.0,
            "p95_ms": round(percentile(durations, 95), 1) if durations else 0.0,
            "slow": sum(1 for m in ok if m.duration_ms > slow_threshold_ms),
            "success_rate": round(100.0 * len(ok) / len(ms), 1) if ms else 0.0,
        }

    kinds = sorted({m.kind for m in metrics})
    return {
        "window_hours": 24,
        "slow_threshold_ms": slow_threshold_ms,
        **stats(metrics),
        "by_kind": {k: stats([m for m in metrics if m.kind == k]) for k in kinds},
    }
