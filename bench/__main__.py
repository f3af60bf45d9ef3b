"""``python -m bench [--sizes 50,500] [--edits 10]``: farmbuild against the tools it replaces.

For each size N it generates a synthetic app (N model modules + N routers, :mod:`bench.synth`)
and measures, side by side in this one run (so the ratios hold on a noisy machine):

- the full regeneration pipeline without farmbuild, each step in a fresh process:
  ``app.openapi()``, openapi-typescript (the example web app's pinned devDependency) over that
  document, datamodel-code-generator (pinned) over the same document;
- the TypeScript types of the N model modules from scratch: ``farm build types types-index`` on
  a fresh copy (the schema tasks they need included);
- ``farm build`` cold, and no-op beside bare doit running the same number of trivial,
  up-to-date tasks (runs interleaved, best of 3 each);
- a single-model edit and a single-router edit, each measured two ways: ``farm build`` in a
  fresh process after the edit, and ``farm watch`` save-to-output latency through the real
  watch loop (see :mod:`bench.watch` for exactly what is timed), p50/p95 over ``--edits`` saves:
  until the module's own ``.ts`` (its types, its client) is on disk, until every TypeScript file
  of the save is written, and until everything (Python client, migration) is done.

The model edit adds a field to the main model of a module four others import (so five schema
tasks and five OpenAPI fragments are re-checked, as in a real app; no exported name changes).
The router edit adds a query parameter to one endpoint. Both change generated TypeScript.

It prints a table of times and the ratios that matter. The README's numbers come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import baselines, synth
from .harness import Sample, farm, fmt_s, run

PARTS = ("pipeline", "types", "cold", "noop", "edit", "watch")


# -- edits ------------------------------------------------------------------------------

def model_path(app: Path, i: int) -> Path:
    return app / "apps" / "api" / "src" / "models" / f"m{i:03d}.py"


def router_path(app: Path, i: int) -> Path:
    return app / "apps" / "api" / "src" / "routes" / f"r{i:03d}.py"


def edited_model(text: str, i: int, n: int) -> str:
    """Add ``bench_field_<n>`` to the module's main model, ``Item<i>`` (just before its Settings)."""
    start = text.index(f"\nclass Item{i:03d}(BaseModel):")
    at = text.index("\n\n    class Settings:", start)
    return text[:at] + f"\n    bench_field_{n}: int = {n}" + text[at:]


def edited_router(text: str, n: int) -> str:
    """Add a query parameter ``bench_q<n>`` to the list endpoint."""
    return text.replace("size: int = 20", f"size: int = 20, bench_q{n}: int | None = None", 1)


def types_file(app: Path, i: int) -> Path:
    return app / "apps" / "web" / "src" / "types" / "models" / f"m{i:03d}.ts"


def client_file(app: Path, i: int) -> Path:
    return app / "apps" / "web" / "src" / "services" / "api" / f"r{i:03d}.ts"


# -- steps --------------------------------------------------------------------------------

def farm_json(app: Path, *args: str) -> tuple[float, dict[str, Any]]:
    """Wall time and ``--json`` report of one ``farm build`` in a fresh process."""
    cmd = farm("build", "--json", "-C", str(app), *args)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=app, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return took, json.loads(proc.stdout)


def by_kind(report: dict[str, Any]) -> dict[str, float]:
    """Seconds spent per task kind among the tasks that ran."""
    out: dict[str, float] = {}
    for t in report["tasks"]:
        if t["status"] == "ran":
            kind = t["id"].split(":", 1)[0]
            out[kind] = out.get(kind, 0.0) + t["duration_s"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def step_pipeline(app: Path, work: Path, n: int, res: dict[str, Any]) -> None:
    spec = work / f"openapi{n}.json"
    t_openapi = baselines.export_openapi(app, spec)
    t_ots = baselines.openapi_typescript(spec, work / f"schema{n}.d.ts")
    t_dmcg = baselines.datamodel_codegen(spec, work / f"models{n}.py")
    paths, schemas = baselines.spec_size(spec)
    res["openapi_paths"], res["openapi_schemas"] = paths, schemas
    res["pipeline"] = {"app.openapi()": t_openapi, "openapi-typescript": t_ots, "datamodel-codegen": t_dmcg,
                       "total": t_openapi + t_ots + t_dmcg}
    print(f"   full pipeline {fmt_s(t_openapi + t_ots + t_dmcg)}: app.openapi() {fmt_s(t_openapi)},"
          f" openapi-typescript {fmt_s(t_ots)}, datamodel-codegen {fmt_s(t_dmcg)} ({paths} paths, {schemas} schemas)",
          flush=True)


def step_types(work: Path, n: int, res: dict[str, Any]) -> None:
    fresh = synth.generate(work / f"types{n}", n)
    took, report = farm_json(fresh, "types", "types-index")
    res["types_cold"] = took
    res["types_cold_kinds"] = by_kind(report)
    print(f"   types of {n} model modules from scratch (farm build types types-index): {fmt_s(took)}", flush=True)
    shutil.rmtree(fresh, ignore_errors=True)


def step_cold(app: Path, res: dict[str, Any]) -> None:
    took, report = farm_json(app)
    res["cold"] = took
    res["cold_kinds"] = by_kind(report)
    res["tasks"] = report["summary"]["tasks"]
    top = ", ".join(f"{k} {fmt_s(v)}" for k, v in list(res["cold_kinds"].items())[:6])
    print(f"   farm build cold: {fmt_s(took)} ({res['tasks']} tasks; {top})", flush=True)


def step_noop(app: Path, work: Path, n: int, res: dict[str, Any]) -> None:
    n_tasks = res.get("tasks") or len(json.loads(subprocess.run(
        farm("list", "--json", "-C", str(app)), capture_output=True, text=True, check=True).stdout))
    res["tasks"] = n_tasks
    bare = baselines.bare_doit_project(work / f"bare{n}", n_tasks)
    farm_noop, bare_noop = Sample("noop"), Sample("bare")
    for _ in range(3):  # interleaved, so a busy moment hits both
        farm_noop.seconds.append(run(farm("build", "-C", str(app)), cwd=app))
        bare_noop.seconds.append(run([sys.executable, "-m", "doit"], cwd=bare))
    res["noop"], res["bare_doit_noop"] = farm_noop.best, bare_noop.best
    res["noop_all"], res["bare_doit_noop_all"] = farm_noop.seconds, bare_noop.seconds
    print(f"   no-op: farm build {fmt_s(farm_noop.best)}, bare doit ({n_tasks} tasks) {fmt_s(bare_noop.best)}"
          f" (best of 3)", flush=True)


def step_edit(app: Path, n: int, edits: int, res: dict[str, Any]) -> None:
    """``farm build`` in a fresh process after one edit (what a script or CI step pays)."""
    mi, _ = synth.pick_model(n)
    ri = n - 1
    model, router = Sample("model"), Sample("router")
    model_kinds: list[dict[str, float]] = []
    for k in range(edits):
        p = model_path(app, mi)
        p.write_text(edited_model(p.read_text(), mi, 1000 + k))
        took, report = farm_json(app)
        model.seconds.append(took)
        model_kinds.append(by_kind(report))
        p = router_path(app, ri)
        p.write_text(edited_router(p.read_text(), 1000 + k))
        router.seconds.append(farm_json(app)[0])
    res["edit_cli"] = {"model_p50": model.p50, "model_p95": model.p95, "router_p50": router.p50,
                       "router_p95": router.p95, "model_kinds": model_kinds[-1]}
    print(f"   farm build after a 1-model edit p50 {fmt_s(model.p50)}; after a 1-router edit p50 {fmt_s(router.p50)}"
          f" ({edits} each)", flush=True)


def step_watch(app: Path, n: int, edits: int, res: dict[str, Any]) -> None:
    from .watch import WatchProbe

    mi, fan_in = synth.pick_model(n)
    ri = n - 1
    probe = WatchProbe(app).start()
    try:
        rows: dict[str, list[Any]] = {"model": [], "router": []}
        for k in range(edits):
            p = model_path(app, mi)
            t = probe.save(p, edited_model(p.read_text(), mi, k), (types_file(app, mi),))
            assert f"bench_field_{k}: number;" in types_file(app, mi).read_text(), "the save did not reach the types"
            rows["model"].append(t)
            p = router_path(app, ri)
            t = probe.save(p, edited_router(p.read_text(), k), (client_file(app, ri),))
            assert f"bench_q{k}" in client_file(app, ri).read_text(), "the save did not reach the client"
            rows["router"].append(t)
    finally:
        probe.stop()
    out: dict[str, Any] = {"model_module": f"m{mi:03d}", "model_importers": fan_in, "router_module": f"r{ri:03d}"}
    for what, timings in rows.items():
        s = {name: Sample(name, [getattr(t, name) for t in timings]) for name in ("watcher_s", "frontend_s", "full_s")}
        own_file = Sample("file", [next(iter(t.written_s.values())) for t in timings])
        own = Sample("own", [sum(v for tid, v in t.frontend_tasks.items()
                                 if tid in (f"schema:m{mi:03d}", f"types:m{mi:03d}", "types-index"))
                             for t in timings])
        out[what] = {
            "file_p50": own_file.p50, "file_p95": own_file.p95,
            "watcher_p50": s["watcher_s"].p50, "watcher_p95": s["watcher_s"].p95,
            "frontend_p50": s["frontend_s"].p50, "frontend_p95": s["frontend_s"].p95,
            "full_p50": s["full_s"].p50, "full_p95": s["full_s"].p95,
            "own_module_p50": own.p50,
            "frontend_tasks": _median_tasks([t.frontend_tasks for t in timings]),
            "later_tasks": _median_tasks([t.later_tasks for t in timings]),
        }
    res["watch"] = out
    m, r = out["model"], out["router"]
    print(f"   farm watch, 1-model edit (m{mi:03d}, imported by {fan_in}): save → its types .ts on disk"
          f" p50 {fmt_s(m['file_p50'])} p95 {fmt_s(m['file_p95'])}; every TS file written p50 {fmt_s(m['frontend_p50'])}"
          f" p95 {fmt_s(m['frontend_p95'])} (watcher {fmt_s(m['watcher_p50'])}); everything incl. Python client"
          f" p50 {fmt_s(m['full_p50'])}", flush=True)
    print(f"   farm watch, 1-router edit (r{ri:03d}): save → its client .ts on disk p50 {fmt_s(r['file_p50'])};"
          f" every TS file written p50 {fmt_s(r['frontend_p50'])}"
          f" p95 {fmt_s(r['frontend_p95'])}; + Python client p50 {fmt_s(r['full_p50'])}", flush=True)
    print(f"     model save, frontend lane (median s): {_fmt_tasks(m['frontend_tasks'])}", flush=True)
    print(f"     model save, follow-up lane (median s): {_fmt_tasks(m['later_tasks'])}", flush=True)


def _median_tasks(runs: list[dict[str, float]]) -> dict[str, float]:
    ids = sorted({tid for r in runs for tid in r})
    out = {}
    for tid in ids:
        vals = sorted(r.get(tid, 0.0) for r in runs)
        out[tid] = round(vals[len(vals) // 2], 4)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _fmt_tasks(tasks: dict[str, float]) -> str:
    return ", ".join(f"{tid} {fmt_s(v)}" for tid, v in list(tasks.items())[:8]) or "-"


def bench_size(n: int, edits: int, work: Path, parts: set[str]) -> dict[str, Any]:
    print(f"\n== N = {n}: generating the synthetic app ...", flush=True)
    app = synth.generate(work / f"app{n}", n)
    res: dict[str, Any] = {"n": n}
    if "pipeline" in parts:
        step_pipeline(app, work, n, res)
    if "types" in parts:
        step_types(work, n, res)
    if parts & {"cold", "noop", "edit", "watch"}:
        step_cold(app, res)  # the later steps need a built app
    if "noop" in parts:
        step_noop(app, work, n, res)
    if "watch" in parts:
        step_watch(app, n, edits, res)
    if "edit" in parts:
        step_edit(app, n, max(3, edits // 3), res)
    return res


# -- the table ----------------------------------------------------------------------------

def table(results: list[dict[str, Any]]) -> str:
    cols = [f"N={r['n']}" for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn: Any) -> None:
        vals = []
        for r in results:
            try:
                vals.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                vals.append("-")
        rows.append((label, vals))

    def section(label: str) -> None:
        rows.append((label, ["" for _ in results]))

    section("app")
    row("  model modules / routers / tasks", lambda r: f"{r['n']}/{r['n']}/{r['tasks']}")
    row("  OpenAPI paths / schemas", lambda r: f"{r['openapi_paths']}/{r['openapi_schemas']}")
    section("without farmbuild (fresh processes)")
    row("  app.openapi()", lambda r: fmt_s(r["pipeline"]["app.openapi()"]))
    row("  openapi-typescript", lambda r: fmt_s(r["pipeline"]["openapi-typescript"]))
    row("  datamodel-code-generator", lambda r: fmt_s(r["pipeline"]["datamodel-codegen"]))
    row("  full pipeline (the three)", lambda r: fmt_s(r["pipeline"]["total"]))
    section("farm build (fresh process)")
    row("  cold, everything", lambda r: fmt_s(r["cold"]))
    row("  cold, model types only (schema+types)", lambda r: fmt_s(r["types_cold"]))
    row("  no-op", lambda r: fmt_s(r["noop"]))
    row("  bare doit no-op, same #tasks", lambda r: fmt_s(r["bare_doit_noop"]))
    row("  after a 1-model edit, p50", lambda r: fmt_s(r["edit_cli"]["model_p50"]))
    row("  after a 1-router edit, p50", lambda r: fmt_s(r["edit_cli"]["router_p50"]))
    section("farm watch, save → output (quiet window excluded)")
    row("  1-model edit → its types .ts on disk, p50", lambda r: fmt_s(r["watch"]["model"]["file_p50"]))
    row("  1-model edit → its types .ts on disk, p95", lambda r: fmt_s(r["watch"]["model"]["file_p95"]))
    row("  1-model edit → every TS file written, p50", lambda r: fmt_s(r["watch"]["model"]["frontend_p50"]))
    row("  1-model edit → every TS file written, p95", lambda r: fmt_s(r["watch"]["model"]["frontend_p95"]))
    row("    of which the watcher, p50", lambda r: fmt_s(r["watch"]["model"]["watcher_p50"]))
    row("    its own module (schema+types+index)", lambda r: fmt_s(r["watch"]["model"]["own_module_p50"]))
    row("  1-model edit → all done (+pyclient), p50", lambda r: fmt_s(r["watch"]["model"]["full_p50"]))
    row("  1-router edit → its client .ts on disk, p50", lambda r: fmt_s(r["watch"]["router"]["file_p50"]))
    row("  1-router edit → every TS file written, p50", lambda r: fmt_s(r["watch"]["router"]["frontend_p50"]))
    row("  1-router edit → every TS file written, p95", lambda r: fmt_s(r["watch"]["router"]["frontend_p95"]))
    row("  1-router edit → + Python client, p50", lambda r: fmt_s(r["watch"]["router"]["full_p50"]))
    section("ratios")
    row("  no-op: farm build / bare doit", lambda r: f"{r['noop'] / r['bare_doit_noop']:.2f}x")
    row("  cold: farm build / full pipeline", lambda r: f"{r['cold'] / r['pipeline']['total']:.2f}x")
    row("  cold types / openapi-typescript", lambda r: f"{r['types_cold'] / r['pipeline']['openapi-typescript']:.2f}x")
    row("  openapi-typescript / one module's types",
        lambda r: f"{r['pipeline']['openapi-typescript'] / r['watch']['model']['own_module_p50']:.0f}x")
    row("  app.openapi()+ots / model save → its types",
        lambda r: f"{(r['pipeline']['app.openapi()'] + r['pipeline']['openapi-typescript']) / r['watch']['model']['file_p50']:.1f}x")
    row("  app.openapi()+ots / model save → all TS",
        lambda r: f"{(r['pipeline']['app.openapi()'] + r['pipeline']['openapi-typescript']) / r['watch']['model']['frontend_p50']:.1f}x")
    row("  app.openapi()+ots / router save → TS",
        lambda r: f"{(r['pipeline']['app.openapi()'] + r['pipeline']['openapi-typescript']) / r['watch']['router']['frontend_p50']:.1f}x")
    row("  full pipeline / router save → +pyclient",
        lambda r: f"{r['pipeline']['total'] / r['watch']['router']['full_p50']:.1f}x")
    row("  full pipeline / farm build, 1-model edit",
        lambda r: f"{r['pipeline']['total'] / r['edit_cli']['model_p50']:.1f}x")
    width = max(len(label) for label, _ in rows)
    cw = [max(len(c), *(len(v[i]) for _, v in rows)) for i, c in enumerate(cols)]
    lines = [" " * width + "  " + "  ".join(c.rjust(w) for c, w in zip(cols, cw))]
    for label, vals in rows:
        lines.append(label.ljust(width) + "  " + "  ".join(v.rjust(w) for v, w in zip(vals, cw)))
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = re.sub(r"\s+", " ", line.split(":", 1)[1].strip())
                break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average at the end {os.getloadavg()[0]:.1f}"
    return (f"{platform.python_implementation()} {platform.python_version()} on {platform.system()} {platform.machine()},"
            f" {os.cpu_count()} CPUs ({cpu}){load}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500", help="comma-separated N (default 50,500)")
    parser.add_argument("--edits", type=int, default=10, help="saves per watch measurement (default 10; farm build"
                        " after an edit: a third of it, at least 3)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"what to measure (default all: {','.join(PARTS)})")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the generated apps (printed path)")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - set(PARTS):
        parser.error(f"unknown part(s) {sorted(parts - set(PARTS))}; choose from {', '.join(PARTS)}")
    work = Path(tempfile.mkdtemp(prefix="farm-bench-"))
    started = time.time()
    results: list[dict[str, Any]] = []
    try:
        for n in sizes:
            results.append(bench_size(n, args.edits, work, parts))
            if args.json:  # partial results survive a long run that is interrupted
                args.json.write_text(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"apps kept in {work}")
    print(f"\nfarmbuild benchmark: python -m bench --sizes {args.sizes} --edits {args.edits}"
          f" ({time.time() - started:.0f} s)\n{machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
