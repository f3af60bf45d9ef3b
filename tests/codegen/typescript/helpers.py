"""Running the real TypeScript compiler (pinned in examples/farm-app/apps/web) from tests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLE_WEB_MODULES

TSC = EXAMPLE_WEB_MODULES / ".bin" / "tsc"
PROBE = Path(__file__).with_name("probe.cjs")

STRICT_TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022", "module": "ESNext", "moduleResolution": "bundler", "strict": True,
        "noEmit": True, "isolatedModules": True, "verbatimModuleSyntax": True, "noUnusedLocals": True,
        "noUnusedParameters": True, "exactOptionalPropertyTypes": False, "skipLibCheck": True, "types": [],
    },
}


def require_typescript() -> None:
    if not TSC.exists():
        raise AssertionError(
            f"{TSC} is missing: install the example web app's packages first"
            " (npm ci --prefix examples/farm-app/apps/web, done by scripts/test.sh)"
        )


def tsc(project_dir: Path, include: list[str]) -> subprocess.CompletedProcess[str]:
    """``tsc --strict --noEmit`` over ``include`` (globs relative to ``project_dir``)."""
    require_typescript()
    config = dict(STRICT_TSCONFIG, include=include)
    (project_dir / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    return subprocess.run([str(TSC), "-p", str(project_dir)], capture_output=True, text=True, timeout=180)


def probe(*files: Path) -> dict[str, Any]:
    """What the TypeScript parser sees in ``files`` (see probe.cjs)."""
    require_typescript()
    env = dict(os.environ, NODE_PATH=str(EXAMPLE_WEB_MODULES))
    proc = subprocess.run(["node", str(PROBE), *map(str, files)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
