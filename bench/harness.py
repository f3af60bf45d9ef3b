"""Measurement helpers: wall-clock runs of real commands, side by side, with percentiles.

Everything is measured in one run on one machine so the *ratios* hold on a noisy box; absolute
numbers are printed for context only. Tests never assert on time; this is where time lives.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEB_BIN = REPO / "examples" / "farm-app" / "apps" / "web" / "node_modules" / ".bin"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


@dataclass
class Sample:
    name: str
    seconds: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)

    @property
    def best(self) -> float:
        return min(self.seconds)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> float:
    """Wall time of one command (its output is captured; a failure stops the benchmark)."""
    full = dict(os.environ)
    full.update(env or {})
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True)
    took = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)} (in {cwd})\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return took


def farm(*args: str) -> list[str]:
    return [sys.executable, "-m", "farmbuild", *args]


def fmt_s(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"
