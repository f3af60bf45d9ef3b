"""What a FARM team runs without farmbuild, on the same app, in the same run.

- ``app.openapi()`` in a fresh interpreter (import the app, build the whole document);
- ``openapi-typescript`` (pinned devDependency of the example web app) over that document;
- datamodel-code-generator (pinned) over the same document, through its Python API;
- bare doit with the same number of trivial, up-to-date tasks (the floor for a no-op build).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from .harness import WEB_BIN, run


def export_openapi(app_root: Path, out: Path) -> float:
    """Import the app in a fresh interpreter and dump ``app.openapi()``; returns wall time."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(app_root / 'apps' / 'api')!r})
        from src.main import app
        open({str(out)!r}, 'w').write(json.dumps(app.openapi()))
    """)
    return run([sys.executable, "-c", script], cwd=app_root)


def openapi_typescript(spec: Path, out: Path) -> float:
    tool = WEB_BIN / "openapi-typescript"
    if not tool.exists():
        raise SystemExit(f"{tool} is missing: run `npm ci --prefix examples/farm-app/apps/web` first")
    return run([str(tool), str(spec), "-o", str(out)], cwd=spec.parent)


def datamodel_codegen(spec: Path, out: Path) -> float:
    script = textwrap.dedent(f"""
        from pathlib import Path
        from datamodel_code_generator import generate, InputFileType, DataModelType, Formatter
        src = generate(Path({str(spec)!r}).read_text(), input_file_type=InputFileType.OpenAPI,
                       output_model_type=DataModelType.PydanticV2BaseModel, formatters=[Formatter.BUILTIN],
                       disable_timestamp=True)
        Path({str(out)!r}).write_text(src)
    """)
    return run([sys.executable, "-c", script], cwd=spec.parent)


def bare_doit_project(dest: Path, n_tasks: int) -> Path:
    """A dodo.py with ``n_tasks`` trivial tasks (one file_dep, one target each), already built."""
    dest.mkdir(parents=True, exist_ok=True)
    src = dest / "src"
    src.mkdir(exist_ok=True)
    for i in range(n_tasks):
        (src / f"f{i}.txt").write_text(str(i))
    (dest / "dodo.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        DOIT_CONFIG = {{"backend": "sqlite3", "check_file_uptodate": "md5", "verbosity": 0}}

        def copy(src, dst):
            Path(dst).parent.mkdir(exist_ok=True)
            Path(dst).write_text(Path(src).read_text())

        def task_copy():
            for i in range({n_tasks}):
                s, d = f"src/f{{i}}.txt", f"out/f{{i}}.txt"
                yield {{"name": str(i), "actions": [(copy, [s, d])], "file_dep": [s], "targets": [d]}}
    """))
    run([sys.executable, "-m", "doit"], cwd=dest)
    return dest


def spec_size(spec: Path) -> tuple[int, int]:
    doc = json.loads(spec.read_text())
    return len(doc.get("paths", {})), len(doc.get("components", {}).get("schemas", {}))
