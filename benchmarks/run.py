"""``make bench``: generate trials of 200, 1,000 and 5,000 subjects, time a full and a one-site
incremental run of each in a fresh process, and compare with the I/O floor measured in the same
process. Writes ``benchmarks/results.json`` and ``benchmarks/results.md``.

Targets (issues 6 and 18, 2 cores): 5,000-subject full run < 60 s and <= 4x the I/O floor; peak RSS
< 4 GiB; the one-site incremental run < 25% of the full run.

    python -m benchmarks.run [--sizes 200,1000,5000] [--profile] [--no-strategies] [--regenerate]

A phase-3-sized trial (20,000 subjects, about 800 MB of input) is opt-in:
``make bench BENCH_ARGS="--sizes 200,1000,5000,20000"``; its target is a peak RSS under 8 GiB, and
the report lists the steps with the highest resident memory at every size.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"  # generated trials and warehouses (git-ignored)
SITES_FOR = {200: 8, 1000: 20, 5000: 50, 20000: 200}
PHASE3_SUBJECTS = 20000  # opt-in size (issue 18, item 5): `--sizes 200,1000,5000,20000`
TARGET_PHASE3_RSS_MIB = 8192.0
SEED = 20260
DEFECTS = 0.02
TARGET_FULL_S = 60.0
TARGET_FLOOR_RATIO = 4.0
TARGET_RSS_MIB = 4096.0
TARGET_INCREMENTAL_SHARE = 0.25
TARGET_UI_RATIO = 1.5  # a run launched from the UI, against `trialpipe run` (issue 18, item 1)
TARGET_SMALL_SUBJECTS = 200  # this trial's real size (issue 18, item 3)
TARGET_SMALL_RUN_S = 8.0  # the 200-subject full run: the fixed cost of a run (issue 18, item 3)
TARGET_TOP_RUN_S = 30.0  # the 5,000-subject full run (issue 18, item 4)
TARGET_MARGINAL_RATIO = 3.0  # run growth over I/O floor growth, 200 -> 5,000 subjects (issue 18, item 4)
EXPORT_ID_FORMAT = "%Y%m%dT%H%M%SZ"
FREE_TEXT = (("AE", "AETERM"), ("CM", "CMTRT"), ("MH", "MHTERM"), ("DS", "DSTERM"))


def generate(landing: Path, restricted: Path, subjects: int, sites: int) -> float:
    try:
        from synth.generate import generate_trial
    except ImportError as exc:  # the generator is another issue's work
        raise SystemExit(f"benchmark needs synth.generate.generate_trial: {exc}") from exc
    shutil.rmtree(landing, ignore_errors=True)
    shutil.rmtree(restricted, ignore_errors=True)
    t = time.perf_counter()
    generate_trial(landing, restricted, sites=sites, subjects=subjects, seed=SEED, defects=DEFECTS)
    return time.perf_counter() - t


def newest_complete_export(landing: Path, site: str) -> Path:
    from assets.ingest.discovery import complete_exports_newest_first, discover_exports

    checks = complete_exports_newest_first(discover_exports(landing, sources=[site]), site)
    if not checks:
        raise SystemExit(f"site {site} has no complete export to copy")
    return checks[0].path


def add_incremental_export(landing: Path, site: str) -> str:
    """Copy the site's newest complete export to an export id one day later, change one free-text
    value, and rewrite the manifest (hashes and row counts) so the new export is complete."""
    from assets.ingest.reading import count_csv_rows

    source = newest_complete_export(landing, site)
    # one day after the site's newest folder, complete or not, so no existing export is touched
    newest = max(p.name for p in source.parent.iterdir() if p.is_dir())
    new_id = (datetime.strptime(newest, EXPORT_ID_FORMAT) + timedelta(days=1)).strftime(EXPORT_ID_FORMAT)
    target = source.parent / new_id
    shutil.copytree(source, target)
    for form, column in FREE_TEXT:
        path = target / f"{form}.csv"
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        if len(rows) > 1 and column in rows[0]:
            col = rows[0].index(column)
            rows[1][col] = (rows[1][col] + " (corrected)").strip()
            with open(path, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh, lineterminator="\n").writerows(rows)
            break
    manifest = json.loads((target / "MANIFEST.json").read_text(encoding="utf-8-sig"))
    manifest["export_id"] = new_id
    for name in manifest["files"]:
        data = (target / name).read_bytes()
        manifest["files"][name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": count_csv_rows(target / name),
        }
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    return new_id


def measure(kind: str, landing: Path, warehouse: Path, home: Path, out: Path, extra=()) -> dict:
    """Run benchmarks.measure in a fresh process; wall time includes interpreter start-up."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "GX_ANALYTICS_ENABLED": "false"}
    env.pop("TRIALPIPE_RESTRICTED", None)
    home.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.measure", kind, str(landing), str(warehouse), str(out), *extra]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    (out.with_suffix(".log")).write_text(proc.stdout + proc.stderr)
    if not out.exists():
        raise SystemExit(
            f"{kind} on {landing} crashed (log {out.with_suffix('.log')}):\n{proc.stderr[-3000:]}"
        )
    report = json.loads(out.read_text())
    report["process_wall_s"] = round(wall, 3)
    if not report["success"]:
        print(f"  {kind} FAILED: {report['message']}", file=sys.stderr)
    return report


def measure_ui_launch(landing: Path, warehouse: Path, home: Path, out: Path) -> dict:
    """benchmarks.ui_launch in a fresh process: ``dagster dev``, then ``full_refresh`` over GraphQL."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRIALPIPE_RESTRICTED", "TRIALPIPE_MODE")}
    cmd = [sys.executable, "-m", "benchmarks.ui_launch", str(landing), str(warehouse), str(home), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    (out.with_suffix(".log")).write_text(proc.stdout + proc.stderr)
    if not out.exists():
        raise SystemExit(
            f"UI launch on {landing} crashed (log {out.with_suffix('.log')}):\n{proc.stderr[-3000:]}"
        )
    report = json.loads(out.read_text())
    if not report["success"]:
        print(f"  UI-launched run ended {report['status']}", file=sys.stderr)
    return report


def bench_size(subjects: int, regenerate: bool, strategies: bool, profile: bool) -> dict:
    sites = SITES_FOR.get(subjects, max(1, subjects // 100))
    base = WORK / f"n{subjects}"
    landing, restricted = base / "landing", base / "restricted"
    entry: dict = {"subjects": subjects, "sites": sites}
    if regenerate or not (landing / "sites").is_dir():
        print(f"[{subjects}] generating {sites} sites ...", flush=True)
        entry["generate_s"] = round(generate(landing, restricted, subjects, sites), 2)
    marker = base / "incremental_export.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        shutil.rmtree(landing / "sites" / info["site"] / info["export_id"], ignore_errors=True)
        marker.unlink()
    entry["landing_bytes"] = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())

    def fresh(name: str) -> tuple[Path, Path]:
        wh, home = base / f"wh_{name}", base / f"home_{name}"
        shutil.rmtree(wh, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        return wh, home

    wh, home = fresh("full")
    print(f"[{subjects}] full run ...", flush=True)
    entry["full"] = measure("full", landing, wh, home, base / "full.json")
    wh_ui, home_ui = fresh("ui")
    print(f"[{subjects}] full run launched through the UI's GraphQL API ...", flush=True)
    entry["ui_launch"] = measure_ui_launch(landing, wh_ui, home_ui, base / "ui_launch.json")
    site = sorted(p.name for p in (landing / "sites").iterdir() if p.is_dir())[0]
    export_id = add_incremental_export(landing, site)
    marker.write_text(json.dumps({"site": site, "export_id": export_id}))
    print(f"[{subjects}] incremental run (site {site}, export {export_id}) ...", flush=True)
    entry["incremental"] = measure(
        f"incremental:{site}", landing, wh, home, base / "incremental.json", ["--no-floor"]
    )
    entry["incremental"]["site"] = site
    shutil.rmtree(landing / "sites" / site / export_id, ignore_errors=True)
    marker.unlink()
    if strategies:
        for kind in ("ingest_single", "ingest_per_site"):
            wh_s, home_s = fresh(kind)
            print(f"[{subjects}] {kind} ...", flush=True)
            entry[kind] = measure(kind, landing, wh_s, home_s, base / f"{kind}.json", ["--no-floor"])
    if profile:
        wh_p, home_p = fresh("profile")
        prof = HERE / f"profile_n{subjects}.txt"
        print(f"[{subjects}] profiled full run -> {prof.relative_to(ROOT)} ...", flush=True)
        entry["profiled"] = measure(
            "full", landing, wh_p, home_p, base / "profiled.json", ["--profile", str(prof), "--no-floor"]
        )
    return entry


def _fmt(value, spec=".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def verdicts(entry: dict) -> dict:
    full, inc = entry["full"], entry["incremental"]
    floor = full.get("io_floor", {}).get("floor_s")
    ratio = full["wall_s"] / floor if floor else None
    share = inc["wall_s"] / full["wall_s"] if full["wall_s"] else None
    site_run = inc.get("phase_s", {}).get("site_ingest_job")
    rss = max(full["peak_rss_mib"], inc["peak_rss_mib"])
    ui = entry.get("ui_launch") or {}
    cli_s = full.get("process_wall_s") or full["wall_s"]
    ui_ratio = ui["wall_s"] / cli_s if ui.get("success") and cli_s else None
    return {
        "ui_s": ui.get("wall_s"),
        "ui_ratio": ui_ratio,
        "ui_ok": ui_ratio is not None and ui_ratio <= TARGET_UI_RATIO,
        "full_s": full["wall_s"],
        "full_cpu_s": full.get("cpu_s"),
        "floor_ratio": ratio,
        "peak_rss_mib": rss,
        "incremental_share": share,
        "site_run_s": site_run,
        "site_run_share": site_run / full["wall_s"] if site_run else None,
        "full_ok": full["wall_s"] < TARGET_FULL_S,
        "floor_ok": ratio is not None and ratio <= TARGET_FLOOR_RATIO,
        "rss_ok": rss < TARGET_RSS_MIB,
        "incremental_ok": share is not None and share < TARGET_INCREMENTAL_SHARE,
    }


def marginal(small: dict, top: dict) -> dict:
    """How the run grows against the I/O floor between two sizes: (run_top - run_small) /
    (floor_top - floor_small), beside the whole-run ratio run_top / floor_top; per layer, how many
    seconds it grew."""
    f_small = small["full"].get("io_floor", {}).get("floor_s")
    f_top = top["full"].get("io_floor", {}).get("floor_s")
    run_growth = top["full"]["wall_s"] - small["full"]["wall_s"]
    floor_growth = f_top - f_small if f_small is not None and f_top is not None else None
    layers = sorted(set(small["full"]["layer_s"]) | set(top["full"]["layer_s"]))
    return {
        "run_growth_s": run_growth,
        "floor_growth_s": floor_growth,
        "ratio": run_growth / floor_growth if floor_growth else None,
        "whole_ratio": top["full"]["wall_s"] / f_top if f_top else None,
        "layer_growth_s": {
            layer: top["full"]["layer_s"].get(layer, 0.0) - small["full"]["layer_s"].get(layer, 0.0)
            for layer in layers
        },
    }


def small_size(results: dict) -> dict | None:
    """The 200-subject size (issue 18, item 3), when the bench ran it."""
    return next((e for e in results["sizes"] if e["subjects"] == TARGET_SMALL_SUBJECTS), None)


def run_itemised(run: dict) -> str:
    """Where a full run's wall time goes: the fixed costs, GX's parts, then the steps by layer."""
    f, g = run.get("fixed_s") or {}, run.get("gx") or {}
    layers = dict(run["layer_s"])
    gx_rest = sum(g.get(k) or 0.0 for k in ("checkpoints_s", "data_docs_s", "reading_profiling_planning_s"))
    if "qa" in layers and g:
        layers["qa"] = max(layers["qa"] - (g.get("import_and_context_s") or 0.0) - gx_rest, 0.0)
    parts = [
        f"start-up and imports {_fmt(f.get('startup_s'))} s",
        f"Dagster outside the steps {_fmt(f.get('dagster_outside_steps_s'))} s",
        f"GX import and context {_fmt(g.get('import_and_context_s'))} s",
        f"GX checkpoints, Data Docs and planning {gx_rest:.1f} s",
        *(f"{layer} steps {secs:.1f} s" for layer, secs in sorted(layers.items(), key=lambda kv: -kv[1])),
    ]
    return ", ".join(parts)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _fixed(run: dict) -> str:
    f = run.get("fixed_s") or {}
    return (
        f"start-up and imports {_fmt(f.get('startup_s'))} s, Dagster outside the steps "
        f"{_fmt(f.get('dagster_outside_steps_s'))} s, Great Expectations' import and context "
        f"{_fmt(f.get('gx_import_and_context_s'))} s: {_fmt(f.get('total_s'))} s"
    )


def target_size(results: dict) -> dict:
    """The size the targets of issues 6 and 18 are stated for: the largest up to 5,000 subjects (the
    opt-in phase-3 size has its own target)."""
    sizes = results["sizes"]
    below = [e for e in sizes if e["subjects"] < PHASE3_SUBJECTS]
    return below[-1] if below else sizes[-1]


def limits(results: dict) -> list[str]:
    """Measured reasons for each target of the largest size that is not met (none when all are)."""
    sizes = results["sizes"]
    top, smallest = target_size(results), sizes[0]
    v = verdicts(top)
    full, inc = top["full"], top["incremental"]
    floor = full.get("io_floor", {}).get("floor_s")
    out = []
    if not v["floor_ok"] and floor:
        fixed = (full.get("fixed_s") or {}).get("total_s") or 0.0
        steps = sum(full["step_s"].values())
        out += [
            f"- **{TARGET_FLOOR_RATIO:.0f}x the I/O floor** ({TARGET_FLOOR_RATIO * floor:.1f} s for the "
            f"{top['subjects']:,}-subject run): the costs that do not grow with the data are {_fixed(full)}, "
            f"i.e. {fixed / floor:.1f}x the floor before a row is processed. The steps take {steps:.1f} s "
            f"({steps / floor:.1f}x the floor): pandera validation, SDTM/ADaM derivations, GX and the "
            "submission formats are work the floor (read CSV, write Parquet) does not do."
        ]
        if smallest is not top:
            share = smallest["landing_bytes"] / top["landing_bytes"]
            out.append(
                f"  The {smallest['subjects']:,}-subject run, with {share:.0%} of the input, takes "
                f"{smallest['full']['wall_s']:.1f} s: "
                f"{smallest['full']['wall_s'] / floor:.1f}x the {top['subjects']:,}-subject floor."
            )
    if not v["incremental_ok"]:
        refresh = inc.get("phase_s", {}).get("nightly_refresh")
        ingest = full["layer_s"].get("ingest", 0.0)
        out.append(
            f"- **One-site incremental under {TARGET_INCREMENTAL_SHARE:.0%}**: the sensor's site run takes "
            f"{_fmt(v['site_run_s'])} s ({_pct(v['site_run_share'])}). The `nightly_refresh` after it "
            f"({_fmt(refresh)} s) rebuilds SDTM, ADaM, QA and the exports from all ingested partitions, as "
            "issue 6 specifies, so it costs what the full run costs without ingest "
            f"({full['wall_s'] - ingest:.1f} s). Its fixed costs alone are {_fixed(inc)} "
            f"({_pct(((inc.get('fixed_s') or {}).get('total_s') or 0) / full['wall_s'])} of the full run). "
            "Going below the target would need every downstream layer built per site and merged."
        )
    small = small_size(results)
    if small is not None and small["full"]["wall_s"] > TARGET_SMALL_RUN_S:
        run = small["full"]
        out.append(
            f"- **The {TARGET_SMALL_SUBJECTS}-subject run in at most {TARGET_SMALL_RUN_S:.0f} s**: "
            f"{run['wall_s']:.1f} s, {run['wall_s'] - TARGET_SMALL_RUN_S:.1f} s over. It goes to "
            f"{run_itemised(run)}; {len(run['step_s'])} steps. The fixed costs alone (start-up, Dagster "
            "outside the steps, GX's import and context) leave little of the target for the work, and "
            "GX validates about 250 expectations whatever the trial's size."
        )
    if small is not None and small is not top:
        m = marginal(small, top)
        grew = ", ".join(
            f"{layer} +{secs:.1f} s"
            for layer, secs in sorted(m["layer_growth_s"].items(), key=lambda kv: -kv[1])
        )
        if m["ratio"] is not None and m["ratio"] > TARGET_MARGINAL_RATIO:
            out.append(
                f"- **Marginal cost at most {TARGET_MARGINAL_RATIO:.0f}x the I/O floor** "
                f"({small['subjects']:,} -> {top['subjects']:,} subjects): the run grows by "
                f"{m['run_growth_s']:.1f} s while the floor grows by {m['floor_growth_s']:.2f} s, "
                f"{m['ratio']:.1f}x (the whole run: {_fmt(m['whole_ratio'])}x its floor). By layer: {grew}. "
                "Every layer does per-row work the floor does not (pandera, derivations, GX, the "
                "submission formats): the layers that grow most limit it."
            )
        if top["full"]["wall_s"] > TARGET_TOP_RUN_S:
            out.append(
                f"- **The {top['subjects']:,}-subject run in at most {TARGET_TOP_RUN_S:.0f} s**: "
                f"{top['full']['wall_s']:.1f} s, {top['full']['wall_s'] - TARGET_TOP_RUN_S:.1f} s over: "
                f"{run_itemised(top['full'])}."
            )
    return ["", "## What limits the targets not met", "", *out] if out else []


def markdown(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {results['machine']['cpus']} CPU(s), {results['machine']['python']}, "
        f"{results['created_utc']}. Generated trials (seed {SEED}, defects {DEFECTS}); every run in a fresh "
        "process with its own SQLite DAGSTER_HOME; wall time runs from interpreter start-up to the end of the run (imports included, the I/O floor measurement after it excluded). "
        "CPU s is user+system time of the run process and its ingest workers (insensitive to other load "
        "on the machine; load = 1-minute load average when the run ended).",
        "",
        "Incremental: one site gets a new export (its newest export copied to a later export id, one "
        "value changed, manifest rewritten). *site run* = the run the sensor requests (that site's "
        "`site_ingest` partition); *site + refresh* = that run plus the `nightly_refresh` of everything "
        "downstream, i.e. until SDTM, ADaM and QA show the change.",
        "",
        "| subjects | sites | input MB | full run s | CPU s | load | I/O floor s | full / floor "
        "| site run s | site + refresh s | (site + refresh) / full | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in results["sizes"]:
        v = verdicts(e)
        full = e["full"]
        floor = full.get("io_floor", {}).get("floor_s")
        lines.append(
            f"| {e['subjects']:,} | {e['sites']} | {e['landing_bytes'] / 1e6:.1f} | {v['full_s']:.1f} | "
            f"{_fmt(full.get('cpu_s'))} | {_fmt(full.get('loadavg_1m_at_end'))} | {_fmt(floor, '.2f')} | "
            f"{_fmt(v['floor_ratio'])}x | {_fmt(v['site_run_s'])} | "
            f"{e['incremental']['wall_s']:.1f} | {_pct(v['incremental_share'])} | "
            f"{v['peak_rss_mib']:,.0f} |"
        )
    lines += [
        "",
        "## Rows per second by layer (full run; rows = rows read for ingest, rows written after)",
        "",
    ]
    layers = sorted({k for e in results["sizes"] for k in e["full"]["layer_s"]})
    lines.append(
        "| subjects | " + " | ".join(f"{layer} s | {layer} rows/s" for layer in layers) + " | other s |"
    )
    lines.append("|---:|" + "---:|---:|" * len(layers) + "---:|")
    for e in results["sizes"]:
        full = e["full"]
        cells = []
        for layer in layers:
            secs = full["layer_s"].get(layer)
            rows = full["layer_rows"].get(layer)
            rate = rows / secs if secs and rows else None
            cells += [_fmt(secs, ".2f"), _fmt(rate, ",.0f")]
        other = full["wall_s"] - sum(full["layer_s"].values())
        lines.append(f"| {e['subjects']:,} | " + " | ".join(cells) + f" | {other:.1f} |")
    lines += [
        "",
        "`other s` = process wall time outside asset and check steps: interpreter start-up, imports, "
        "Dagster run set-up and event storage. Layer seconds "
        "include the asset checks of the layer's assets.",
        "",
        "## Great Expectations (part of the QA layer; big tables validated on a sample)",
        "",
        "| subjects | GX step s | read + profile + plan s | import + context s | checkpoints s | Data Docs s "
        "| expectation results | tables | sampled tables |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for e in results["sizes"]:
        g = e["full"].get("gx") or {}
        sampled = g.get("sampled_tables")
        lines.append(
            f"| {e['subjects']:,} | {_fmt(g.get('step_s'), '.2f')} | "
            f"{_fmt(g.get('reading_profiling_planning_s'), '.2f')} | {_fmt(g.get('import_and_context_s'), '.2f')} | "
            f"{_fmt(g.get('checkpoints_s'), '.2f')} | {_fmt(g.get('data_docs_s'), '.2f')} | "
            f"{_fmt(g.get('expectation_results'), 'd')} | {_fmt(g.get('tables_validated'), 'd')} | "
            f"{', '.join(sampled) if sampled else 'none'} |"
        )
    lines += [
        "",
        "## Targets",
        "",
    ]
    top = target_size(results)
    v = verdicts(top)
    mark = {True: "met", False: "NOT met"}
    lines += [
        f"- {top['subjects']:,}-subject full run under {TARGET_FULL_S:.0f} s: {v['full_s']:.1f} s, {mark[v['full_ok']]}",
        f"- within {TARGET_FLOOR_RATIO:.0f}x the I/O floor: {_fmt(v['floor_ratio'])}x, {mark[v['floor_ok']]}",
        f"- peak RSS under {TARGET_RSS_MIB / 1024:.0f} GiB: {v['peak_rss_mib']:,.0f} MiB, {mark[v['rss_ok']]}",
        f"- one-site incremental run under {TARGET_INCREMENTAL_SHARE:.0%} of the full run: site + refresh "
        f"{_pct(v['incremental_share'])}, {mark[v['incremental_ok']]} (the site run alone: "
        f"{_pct(v['site_run_share'])})",
    ]
    small = small_size(results)
    if small is not None:
        lines.append(
            f"- the {TARGET_SMALL_SUBJECTS}-subject full run in at most {TARGET_SMALL_RUN_S:.0f} s: "
            f"{small['full']['wall_s']:.1f} s, {mark[small['full']['wall_s'] <= TARGET_SMALL_RUN_S]}"
        )
        if small is not top:
            m = marginal(small, top)
            ok = m["ratio"] is not None and m["ratio"] <= TARGET_MARGINAL_RATIO
            lines += [
                f"- marginal cost ({small['subjects']:,} -> {top['subjects']:,} subjects) at most "
                f"{TARGET_MARGINAL_RATIO:.0f}x the I/O floor's: {_fmt(m['ratio'])}x, {mark[ok]} "
                f"(whole run: {_fmt(m['whole_ratio'])}x its floor)",
                f"- the {top['subjects']:,}-subject full run in at most {TARGET_TOP_RUN_S:.0f} s: "
                f"{top['full']['wall_s']:.1f} s, {mark[top['full']['wall_s'] <= TARGET_TOP_RUN_S]}",
            ]
    lines += [
        f"- a full run launched through the UI's GraphQL API within {TARGET_UI_RATIO}x `trialpipe run`: "
        + ", ".join(
            f"{e['subjects']:,} subjects {_fmt(verdicts(e)['ui_s'])} s vs "
            f"{_fmt(e['full'].get('process_wall_s'))} s = {_fmt(verdicts(e)['ui_ratio'], '.2f')}x "
            f"{mark[verdicts(e)['ui_ok']]}"
            for e in results["sizes"]
        )
        + " (from submission to the run's end; `dagster dev` start-up not counted)",
    ]
    phase3 = [e for e in results["sizes"] if e["subjects"] >= PHASE3_SUBJECTS]
    for e in phase3:
        rss = e["full"]["peak_rss_mib"]
        lines.append(
            f"- {e['subjects']:,}-subject full run completes with peak RSS under "
            f"{TARGET_PHASE3_RSS_MIB / 1024:.0f} GiB: {'completed' if e['full']['success'] else 'FAILED'} in "
            f"{e['full']['wall_s']:.1f} s, {rss:,.0f} MiB, {mark[e['full']['success'] and rss < TARGET_PHASE3_RSS_MIB]}"
        )
    lines += limits(results)
    lines += [
        "",
        "## Where memory goes (full run: resident MiB of the run process and its ingest workers; per step, "
        "how much it grew from the step's start to its peak while the step ran)",
        "",
        "| subjects | before the run | peak | step at the peak | steps that added most (MiB: growth, from -> to) |",
        "|---:|---:|---:|---|---|",
    ]
    for e in results["sizes"]:
        m = e["full"].get("memory") or {}
        spans = m.get("top_step_start_and_peak_mib") or {}
        top = ", ".join(
            f"{k} +{v:,.0f}" + (f" ({spans[k][0]:,} -> {spans[k][1]:,})" if k in spans else "")
            for k, v in list((m.get("top_step_growth_mib") or {}).items())[:6]
        )
        lines.append(
            f"| {e['subjects']:,} | {_fmt(m.get('before_run_mib'), ',.0f')} | {_fmt(m.get('peak_mib'), ',.0f')} "
            f"| {m.get('peak_step') or 'n/a'} | {top or 'n/a'} |"
        )
    strat = [e for e in results["sizes"] if "ingest_single" in e]
    if strat:
        lines += [
            "",
            "## Site partitions: one run for all sites vs one run per site (ingest layer only)",
            "",
            "| subjects | sites | single run s | runs | one run per site s | runs |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for e in strat:
            a, b = e["ingest_single"], e["ingest_per_site"]
            lines.append(
                f"| {e['subjects']:,} | {e['sites']} | {a['wall_s']:.1f} | {a['runs']} | "
                f"{b['wall_s']:.1f} | {b['runs']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,5000")
    parser.add_argument("--regenerate", action="store_true", help="generate the trials again")
    parser.add_argument("--no-strategies", action="store_true", help="skip the single vs per-site comparison")
    parser.add_argument("--profile", action="store_true", help="also profile the largest full run (cProfile)")
    parser.add_argument("--out", type=Path, default=HERE, help="where results.json/.md go")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    WORK.mkdir(parents=True, exist_ok=True)
    entries = []
    for n in sizes:
        entries.append(
            bench_size(
                n,
                args.regenerate,
                strategies=not args.no_strategies and n == max(sizes),
                profile=args.profile and n == max(sizes),
            )
        )
    results = {
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "targets": {
            "full_s": TARGET_FULL_S,
            "floor_ratio": TARGET_FLOOR_RATIO,
            "peak_rss_mib": TARGET_RSS_MIB,
            "incremental_share": TARGET_INCREMENTAL_SHARE,
            "ui_ratio": TARGET_UI_RATIO,
            "small_run_s": TARGET_SMALL_RUN_S,
            "top_run_s": TARGET_TOP_RUN_S,
            "marginal_ratio": TARGET_MARGINAL_RATIO,
        },
        "sizes": entries,
        "verdicts": {e["subjects"]: verdicts(e) for e in entries},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (args.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
