"""``python -m bench [--sizes 50,500] [--edits 10]``: farmbuild against the tools it replaces.

For each size N it generates a synthetic app (N model modules + N routers), then measures,
side by side in this one run:

- the full regeneration pipeline without farmbuild: ``app.openapi()`` + openapi-typescript +
  datamodel-code-generator over the whole document;
- ``farm build`` cold, and no-op beside bare doit running the same number of trivial,
  up-to-date tasks;
- a single-model edit: ``farm build`` from a fresh process, and a warm in-process session (what
  ``farm watch`` does per save, without its quiet window), p50/p95 over ``--edits`` saves.

It prints a table of times and the ratios that matter. Numbers in the README come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import baselines, synth
from .harness import Sample, farm, fmt_s, run, timed


def edit_model(app: Path, module: str, i: int) -> Path:
    """A real save: add a field to the module's main model (a new name each time)."""
    path = app / "apps" / "api" / "src" / "models" / f"{module}.py"
    text = path.read_text()
    marker = "\n\nclass " + module.replace("m", "Item", 1) + "Create("
    idx = text.index(marker)
    cls_start = text.rfind("\nclass Item", 0, idx)
    insert_at = text.index("\n\n    class Settings:", cls_start)
    path.write_text(text[:insert_at] + f"\n    bench_field_{i}: int = {i}" + text[insert_at:])
    return path


def schema_out(app: Path, module: str) -> Path:
    return app / ".farm" / "schema" / f"{module}.json"


def bench_size(n: int, edits: int, work: Path) -> dict[str, object]:
    print(f"\n== N = {n}: generating the synthetic app ...", flush=True)
    app = synth.generate(work / f"app{n}", n)
    res: dict[str, object] = {"n": n}

    spec = work / f"openapi{n}.json"
    t_openapi = baselines.export_openapi(app, spec)
    t_ots = baselines.openapi_typescript(spec, work / f"schema{n}.d.ts")
    t_dmcg = baselines.datamodel_codegen(spec, work / f"models{n}.py")
    paths, schemas = baselines.spec_size(spec)
    res["openapi_paths"], res["openapi_schemas"] = paths, schemas
    res["pipeline"] = {"app.openapi()": t_openapi, "openapi-typescript": t_ots, "datamodel-codegen": t_dmcg,
                       "total": t_openapi + t_ots + t_dmcg}
    print(f"   full pipeline: {fmt_s(t_openapi + t_ots + t_dmcg)} ({paths} paths, {schemas} schemas)", flush=True)

    res["cold"] = run(farm("build", "-C", str(app)), cwd=app)
    print(f"   farm build cold: {fmt_s(res['cold'])}", flush=True)
    noop = Sample("noop", [run(farm("build", "-C", str(app)), cwd=app) for _ in range(3)])
    listing = json.loads(os.popen(f"{sys.executable} -m farmbuild list --json -C {app}").read())
    n_tasks = len(listing)
    bare = baselines.bare_doit_project(work / f"bare{n}", n_tasks)
    bare_noop = Sample("bare", [run([sys.executable, "-m", "doit"], cwd=bare) for _ in range(3)])
    res["tasks"] = n_tasks
    res["noop"] = noop.best
    res["bare_doit_noop"] = bare_noop.best
    print(f"   no-op: farm build {fmt_s(noop.best)}, bare doit ({n_tasks} tasks) {fmt_s(bare_noop.best)}", flush=True)

    leaf = f"m{n - 1:03d}"  # imported by no other module
    cli = Sample("edit-cli")
    for i in range(max(3, edits // 3)):
        edit_model(app, leaf, i)
        cli.seconds.append(run(farm("build", "-C", str(app)), cwd=app))
    res["edit_cli"] = {"p50": cli.p50, "p95": cli.p95}

    from farmbuild.build import Session

    session = Session(app, isolated=False, lock_what="bench")
    try:
        session.build()  # warm the worker: import everything once, as farm watch does at start
        warm = Sample("edit-warm")
        for i in range(100, 100 + edits):
            out = schema_out(app, leaf)
            before = out.stat().st_mtime_ns
            edit_model(app, leaf, i)
            took = timed(session.build)
            assert out.stat().st_mtime_ns != before, "the edit did not reach the output"
            warm.seconds.append(took)
    finally:
        session.close()
    res["edit_warm"] = {"p50": warm.p50, "p95": warm.p95}
    print(f"   single-model edit: farm build p50 {fmt_s(cli.p50)}; warm session p50 {fmt_s(warm.p50)}"
          f" p95 {fmt_s(warm.p95)}", flush=True)
    return res


def table(results: list[dict]) -> str:
    cols = [f"N={r['n']}" for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:  # noqa: ANN001
        rows.append((label, [fn(r) for r in results]))

    row("model modules / routers / tasks", lambda r: f"{r['n']}/{r['n']}/{r['tasks']}")
    row("full pipeline (openapi+ots+dmcg)", lambda r: fmt_s(r["pipeline"]["total"]))
    row("  app.openapi() (fresh process)", lambda r: fmt_s(r["pipeline"]["app.openapi()"]))
    row("  openapi-typescript", lambda r: fmt_s(r["pipeline"]["openapi-typescript"]))
    row("  datamodel-code-generator", lambda r: fmt_s(r["pipeline"]["datamodel-codegen"]))
    row("farm build, cold", lambda r: fmt_s(r["cold"]))
    row("farm build, no-op", lambda r: fmt_s(r["noop"]))
    row("bare doit, no-op, same #tasks", lambda r: fmt_s(r["bare_doit_noop"]))
    row("1-model edit: farm build p50", lambda r: fmt_s(r["edit_cli"]["p50"]))
    row("1-model edit: warm p50 / p95", lambda r: f"{fmt_s(r['edit_warm']['p50'])} / {fmt_s(r['edit_warm']['p95'])}")
    rows.append(("ratios", ["" for _ in results]))
    row("  no-op: farm / bare doit", lambda r: f"{r['noop'] / r['bare_doit_noop']:.2f}x")
    row("  pipeline / warm 1-model edit p50", lambda r: f"{r['pipeline']['total'] / r['edit_warm']['p50']:.1f}x")
    row("  pipeline / farm build 1-model edit", lambda r: f"{r['pipeline']['total'] / r['edit_cli']['p50']:.1f}x")
    row("  farm cold / pipeline", lambda r: f"{r['cold'] / r['pipeline']['total']:.2f}x")
    width = max(len(label) for label, _ in rows)
    cw = [max(len(c), *(len(v[i]) for _, v in rows)) for i, c in enumerate(cols)]
    lines = [" " * width + "  " + "  ".join(c.rjust(w) for c, w in zip(cols, cw))]
    for label, vals in rows:
        lines.append(label.ljust(width) + "  " + "  ".join(v.rjust(w) for v, w in zip(vals, cw)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500", help="comma-separated N (default 50,500)")
    parser.add_argument("--edits", type=int, default=10, help="saves per edit measurement (default 10)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the generated apps (printed path)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    work = Path(tempfile.mkdtemp(prefix="farm-bench-"))
    started = time.time()
    try:
        results = [bench_size(n, args.edits, work) for n in sizes]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"apps kept in {work}")
    print(f"\nfarmbuild benchmark ({platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {time.time() - started:.0f} s)\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
