"""One measured run in a fresh process: ``python -m benchmarks.measure KIND LANDING WAREHOUSE OUT.json``.

KIND is ``full`` (``run_pipeline``), ``full_per_site`` (one run per site, then the rest),
``ingest_single``/``ingest_per_site`` (the ingest layer only, to compare the two strategies), or
``incremental:<SITE>`` (the sensor's run of that site's partition, then the nightly refresh).
The process reports its own wall time, peak RSS, per-layer step seconds and rows, and the I/O
floor measured right after the run on the same files. ``--profile FILE`` runs under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

T0 = time.perf_counter()

INGEST_KEYS = ("site_ingest", "iwrs_ingest", "ingest_findings")
PHASES: dict[str, float] = {}  # job name -> seconds, for the incremental kind


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (independent of other load)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0  # ru_maxrss is KiB on Linux


def step_seconds_by_asset(results) -> dict[str, float]:
    """Seconds per step (one step per asset or check) from Dagster's STEP_SUCCESS durations."""
    seconds = defaultdict(float)
    for result in results:
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS":
                seconds[event.step_key] += event.event_specific_data.duration_ms / 1000.0
    return dict(seconds)


def materialization_value(results, asset: str, key: str):
    """A metadata value of ``asset``'s (last) materialization in these runs, or None."""
    value = None
    for result in results:
        for event in result.all_events:
            if event.event_type_value == "ASSET_MATERIALIZATION":
                mat = event.event_specific_data.materialization
                if mat.asset_key.to_user_string() == asset and key in mat.metadata:
                    value = mat.metadata[key].value
    return value


class RssSampler:
    """Samples the resident memory of this process and its children (the ingest workers) every
    ``interval`` seconds while the run goes on, so memory can be told per step afterwards."""

    def __init__(self, interval: float = 0.1) -> None:
        import threading

        import psutil

        self.interval, self.samples = interval, []
        self._process, self._stop = psutil.Process(), threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _rss(self) -> int:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # a worker that just ended
                continue
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def memory_by_step(results, samples: list[tuple[float, int]], top: int = 10) -> dict:
    """Where memory goes: per step (from the instance's step start and end times), how much the
    resident memory of this process and its ingest workers grew from the step's start to its peak
    while it ran; the ``top`` steps that added most, the RSS before the run and the peak."""
    import dagster as dg

    if not results or not samples:
        return {}
    instance = dg.DagsterInstance.get()
    growth: dict[str, float] = {}
    at_peak: dict[str, tuple[float, float]] = {}  # step -> (RSS at its start, its peak) in MiB
    peak_t, peak_rss = max(samples, key=lambda s: s[1])
    peak_step = ""
    for result in results:
        for stat in instance.get_run_step_stats(result.run_id):
            if stat.start_time is None or stat.end_time is None:
                continue
            inside = [rss for t, rss in samples if stat.start_time <= t <= stat.end_time]
            before = [rss for t, rss in samples if t <= stat.start_time]
            if stat.start_time <= peak_t <= stat.end_time:
                peak_step = stat.step_key
            if inside:
                base = before[-1] if before else inside[0]
                if (max(inside) - base) / 2**20 >= growth.get(stat.step_key, 0.0):
                    growth[stat.step_key] = (max(inside) - base) / 2**20
                    at_peak[stat.step_key] = (base / 2**20, max(inside) / 2**20)
    ranked = sorted(growth.items(), key=lambda kv: -kv[1])[:top]
    return {
        "before_run_mib": round(samples[0][1] / 2**20, 1),
        "peak_mib": round(peak_rss / 2**20, 1),
        "peak_step": peak_step,
        "top_step_growth_mib": {k: round(v, 1) for k, v in ranked},
        "top_step_start_and_peak_mib": {k: [round(x) for x in at_peak[k]] for k, _ in ranked},
    }


def fixed_costs(report: dict, results) -> dict:
    """Seconds of the run that do not grow with the data: interpreter start-up and imports, Dagster
    outside the steps (run set-up, planning, event storage), and Great Expectations' import and
    context (paid inside the GX step, on every run that validates)."""
    outside_steps = report["wall_s"] - report["startup_s"] - sum(report["step_s"].values())
    gx_setup = materialization_value(results, "qa_gx_validation", "seconds_gx_import_and_context")
    costs = {
        "startup_s": report["startup_s"],
        "dagster_outside_steps_s": round(max(outside_steps, 0.0), 3),
        "gx_import_and_context_s": gx_setup,
    }
    costs["total_s"] = round(sum(v for v in costs.values() if v is not None), 3)
    return costs


GX_METADATA = {
    "step_s": None,  # filled from the step timings
    "reading_profiling_planning_s": "seconds_reading_profiling_planning",
    "import_and_context_s": "seconds_gx_import_and_context",
    "checkpoints_s": "seconds_gx_checkpoints",
    "data_docs_s": "seconds_gx_data_docs",
    "expectation_results": "expectations",
    "tables_validated": "tables_validated",
    "sampled_tables": "sampled_tables",
}


def gx_costs(results) -> dict:
    """Where the Great Expectations step's time goes (from its materialization metadata)."""
    out = {
        name: materialization_value(results, "qa_gx_validation", key)
        for name, key in GX_METADATA.items()
        if key
    }
    out["step_s"] = round(step_seconds_by_asset(results).get("qa_gx_validation", 0.0), 3)
    return out


def layer_of_steps(defs) -> dict[str, str]:
    """step key (op name) -> the asset group (ingest, sdtm, adam, qa, ...); a check's step counts
    for the group of the asset it checks."""
    graph = defs.resolve_asset_graph()
    out = {}
    for ad in graph.assets_defs:
        keys = list(ad.keys) or [c.asset_key for c in ad.check_keys]
        groups = {graph.get(k).group_name or "default" for k in keys if graph.has(k)}
        if groups:
            out[ad.node_def.name] = "+".join(sorted(groups))
    return out


def layer_rows(mode_root: Path) -> dict[str, int]:
    """Rows written per layer folder (``<mode>/<layer>/**/*.parquet``); ingest counts rows read."""
    import pyarrow.parquet as pq

    from assets.ingest.store import read_qa_table

    rows = {}
    acc = read_qa_table(mode_root / "ingest", "accounting")
    rows["ingest"] = int(acc["ROWS_READ"].sum()) if not acc.empty else 0
    for layer in ("sdtm", "adam", "qa"):
        folder = mode_root / layer
        files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
        rows[layer] = sum(pq.read_metadata(f).num_rows for f in files)
    return rows


def in_force_csvs(landing: Path) -> list[Path]:
    """The CSV files of every source's newest complete export (what the run reads)."""
    from assets.ingest.discovery import discover_exports

    newest = {}
    for check in discover_exports(landing):
        if check.complete and check.export_id > newest.get(check.source, ("", None))[0]:
            newest[check.source] = (check.export_id, check.path)
    return sorted(p for _, path in newest.values() for p in path.glob("*.csv"))


def io_floor(landing: Path, mode_root: Path) -> dict:
    """pyarrow reading every in-force input CSV + writing every output table as Parquet again."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csvs = in_force_csvs(landing)
    t = time.perf_counter()
    read_rows = 0
    for f in csvs:
        read_rows += pacsv.read_csv(f).num_rows
    read_s = time.perf_counter() - t
    outputs = sorted(mode_root.rglob("*.parquet"))
    tables = [pq.read_table(f) for f in outputs]  # not timed: the floor writes what the run wrote
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        for i, table in enumerate(tables):
            pq.write_table(table, Path(tmp) / f"{i}.parquet")
        write_s = time.perf_counter() - t
    return {
        "csv_files": len(csvs),
        "csv_rows": read_rows,
        "csv_bytes": sum(f.stat().st_size for f in csvs),
        "read_s": round(read_s, 3),
        "parquet_files": len(outputs),
        "parquet_rows": sum(t.num_rows for t in tables),
        "write_s": round(write_s, 3),
        "floor_s": round(read_s + write_s, 3),
    }


def run(kind: str, landing: Path, warehouse: Path) -> tuple[bool, str, list]:
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.run import _failure_message, _instance, run_pipeline

    results: list = []
    ingest = [dg.AssetKey(k) for k in INGEST_KEYS]
    if kind in ("full", "full_per_site", "ingest_single", "ingest_per_site"):
        strategy = "per_site" if kind.endswith("per_site") else "single_run"
        outcome = run_pipeline(
            strategy=strategy,
            on_result=results.append,
            asset_selection=ingest if kind.startswith("ingest") else None,
        )
        return outcome.success, outcome.message, results
    if kind.startswith("incremental:"):
        site = kind.split(":", 1)[1]
        instance = _instance()
        for job_name, kwargs in (("site_ingest_job", {"partition_key": site}), ("nightly_refresh", {})):
            t = time.perf_counter()
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, raise_on_error=False, **kwargs
            )
            PHASES[job_name] = round(time.perf_counter() - t, 3)
            results.append(result)
            if not result.success:
                return False, _failure_message(result), results
        return True, "ok", results
    raise SystemExit(f"unknown kind {kind!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind")
    parser.add_argument("landing", type=Path)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--no-floor", action="store_true")
    args = parser.parse_args()
    os.environ["TRIALPIPE_LANDING"] = str(args.landing.resolve())
    os.environ["TRIALPIPE_WAREHOUSE"] = str(args.warehouse.resolve())
    os.environ["TRIALPIPE_MODE"] = "blinded"
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        # cProfile sees only this process: ingest the sites here, not in worker processes.
        os.environ["TRIALPIPE_INGEST_WORKERS"] = "1"
    t_import = time.perf_counter()
    if profiler:
        profiler.enable()
    import pipelines.definitions  # noqa: F401  (import time is part of what a user waits for)

    imported = time.perf_counter()
    with RssSampler() as sampler:
        ok, message, results = run(args.kind, args.landing, args.warehouse)
    done = time.perf_counter()
    if profiler:
        profiler.disable()
        with open(args.profile, "w") as fh:
            stats = pstats.Stats(profiler, stream=fh)
            fh.write("== project functions by cumulative time ==\n")
            stats.sort_stats("cumulative").print_stats(r"/(assets|pipelines|schemas)/", 50)
            fh.write("== all functions by own time ==\n")
            stats.sort_stats("tottime").print_stats(40)
        profiler.dump_stats(args.out.with_suffix(".prof"))  # next to the JSON, for pstats queries

    from pipelines.definitions import defs

    steps = step_seconds_by_asset(results)
    layers = layer_of_steps(defs)
    by_layer = defaultdict(float)
    for step, seconds in steps.items():
        by_layer[layers.get(step, "other")] += seconds
    mode_root = args.warehouse.resolve() / "blinded"
    report = {
        "kind": args.kind,
        "success": ok,
        "message": message if not ok else "",
        "runs": len(results),
        "wall_s": round(done - T0, 3),
        "startup_s": round(imported - T0, 3),
        "import_definitions_s": round(imported - t_import, 3),
        "run_s": round(done - imported, 3),
        "cpu_s": round(cpu_seconds(), 3),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "phase_s": PHASES,
        "step_s": {k: round(v, 3) for k, v in sorted(steps.items())},
        "layer_s": {k: round(v, 3) for k, v in sorted(by_layer.items())},
        "layer_rows": layer_rows(mode_root) if ok else {},
    }
    report["memory"] = memory_by_step(results, sampler.samples)
    report["fixed_s"] = fixed_costs(report, results)
    report["gx"] = gx_costs(results)
    if ok and not args.no_floor:
        report["io_floor"] = io_floor(args.landing.resolve(), mode_root)
    args.out.write_text(json.dumps(report, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
