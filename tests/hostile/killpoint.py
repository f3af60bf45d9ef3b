"""Run the real ``farm`` command line, pausing at a chosen point of its file writes.

    python -m tests.hostile.killpoint <point> <marker file> -- <farm args...>

``point`` is ``count`` (run normally; write the ordered list of atomically replaced files to the
marker at exit), ``before:N`` or ``after:N`` (pause just before / just after the N-th atomic
replace of a farmbuild temp file, 1-based). At a pause the process writes the target's path to
the marker file and sleeps, so a test can ``kill -9`` it at exactly that point. Nothing in
farmbuild knows about this: ``os.replace`` is wrapped from the outside.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    point, marker = sys.argv[1], Path(sys.argv[2])
    assert sys.argv[3] == "--"
    farm_args = sys.argv[4:]
    mode, _, n = point.partition(":")
    wanted = int(n) if n else 0
    seen: list[str] = []
    real_replace = os.replace

    def pause(target: str) -> None:
        marker.write_text(target, encoding="utf-8")
        while True:  # until SIGKILL
            time.sleep(1)

    def replace(src, dst, *args, **kwargs):  # noqa: ANN001, ANN202 - os.replace's signature
        if not str(src).endswith(".farmtmp"):
            return real_replace(src, dst, *args, **kwargs)
        seen.append(str(dst))
        if mode == "before" and len(seen) == wanted:
            pause(str(dst))
        result = real_replace(src, dst, *args, **kwargs)
        if mode == "after" and len(seen) == wanted:
            pause(str(dst))
        return result

    os.replace = replace  # type: ignore[assignment]
    from farmbuild.cli import main as farm_main

    try:
        return farm_main(farm_args)
    finally:
        if mode == "count":
            marker.write_text(json.dumps(seen), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
