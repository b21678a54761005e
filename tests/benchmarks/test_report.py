"""The benchmark's report: fixed costs and the measured reasons printed for unmet targets."""

from __future__ import annotations

from benchmarks.measure import fixed_costs
from benchmarks.run import limits, verdicts


def _run(wall, startup, steps, layer_s, fixed_total=None, phase_s=None, floor=None, rss=1000.0):
    run = {
        "wall_s": wall,
        "startup_s": startup,
        "step_s": steps,
        "layer_s": layer_s,
        "peak_rss_mib": rss,
        "phase_s": phase_s or {},
    }
    if fixed_total is not None:
        run["fixed_s"] = {
            "startup_s": startup,
            "dagster_outside_steps_s": round(fixed_total - startup - 2.0, 3),
            "gx_import_and_context_s": 2.0,
            "total_s": fixed_total,
        }
    if floor is not None:
        run["io_floor"] = {"floor_s": floor}
    return run


def _size(subjects, landing_bytes, full, incremental):
    return {
        "subjects": subjects,
        "sites": 1,
        "landing_bytes": landing_bytes,
        "full": full,
        "incremental": incremental,
    }


def test_fixed_costs_are_startup_plus_time_outside_steps_plus_gx_setup():
    report = {"wall_s": 10.0, "startup_s": 2.0, "step_s": {"a": 3.0, "b": 4.0}}
    # no run results: GX's set-up is unknown and not counted
    assert fixed_costs(report, []) == {
        "startup_s": 2.0,
        "dagster_outside_steps_s": 1.0,
        "gx_import_and_context_s": None,
        "total_s": 3.0,
    }


def test_fixed_costs_never_negative():
    report = {"wall_s": 5.0, "startup_s": 2.0, "step_s": {"a": 3.5}}  # steps timed a bit over the wall
    assert fixed_costs(report, [])["dagster_outside_steps_s"] == 0.0


def test_limits_explain_each_unmet_target_with_the_measured_numbers():
    small = _size(
        200,
        10_000_000,
        _run(20.0, 2.0, {"x": 10.0}, {"ingest": 3.0}, fixed_total=8.0, floor=0.3),
        _run(18.0, 2.0, {"x": 9.0}, {}, fixed_total=8.0, phase_s={"site_ingest_job": 1.0}),
    )
    top = _size(
        5000,
        200_000_000,
        # 40 s against a 2.5 s floor (16x); 8 s fixed = 3.2x the floor; 30 s of steps = 12x
        _run(40.0, 2.0, {"a": 20.0, "b": 10.0}, {"ingest": 6.0, "sdtm": 24.0}, fixed_total=8.0, floor=2.5),
        # site run 1 s + refresh 30 s = 31 s = 78% of the full run
        _run(
            31.0,
            2.0,
            {"a": 25.0},
            {},
            fixed_total=7.5,
            phase_s={"site_ingest_job": 1.0, "nightly_refresh": 30.0},
        ),
    )
    v = verdicts(top)
    assert v["full_ok"] and not v["floor_ok"] and not v["incremental_ok"]
    text = "\n".join(limits({"sizes": [small, top]}))
    assert "## What limits the targets not met" in text
    assert "(10.0 s for the 5,000-subject run)" in text  # 4 x 2.5 s
    assert "3.2x the floor before a row is processed" in text
    assert "The steps take 30.0 s (12.0x the floor)" in text
    assert "with 5% of the input, takes 20.0 s: 8.0x the 5,000-subject floor" in text
    assert "site run takes 1.0 s (2%)" in text
    assert "(30.0 s) rebuilds SDTM, ADaM, QA" in text
    assert "without ingest (34.0 s)" in text
    assert ": 7.5 s (19% of the full run)" in text


def test_limits_say_nothing_when_every_target_is_met():
    top = _size(
        5000,
        200_000_000,
        _run(9.0, 1.0, {"a": 5.0}, {"ingest": 3.0}, fixed_total=3.0, floor=2.5),
        _run(
            2.0,
            1.0,
            {"a": 0.5},
            {},
            fixed_total=1.5,
            phase_s={"site_ingest_job": 1.0, "nightly_refresh": 0.5},
        ),
    )
    assert all(verdicts(top)[k] for k in ("full_ok", "floor_ok", "rss_ok", "incremental_ok"))
    assert limits({"sizes": [top]}) == []


def test_markdown_reports_where_the_gx_step_goes_and_the_limits():
    from benchmarks.run import markdown

    full = _run(40.0, 2.0, {"a": 20.0, "b": 10.0}, {"ingest": 6.0, "qa": 9.0}, fixed_total=8.0, floor=2.5)
    full.update(
        cpu_s=45.0,
        loadavg_1m_at_end=1.0,
        layer_rows={"ingest": 1000, "qa": 90},
        gx={
            "step_s": 6.5,
            "reading_profiling_planning_s": 1.2,
            "import_and_context_s": 2.3,
            "checkpoints_s": 2.5,
            "data_docs_s": 0.5,
            "expectation_results": 218,
            "tables_validated": 48,
            "sampled_tables": ["ADLB", "LB"],
        },
    )
    inc = _run(
        31.0, 2.0, {"a": 25.0}, {}, fixed_total=7.5, phase_s={"site_ingest_job": 1.0, "nightly_refresh": 30.0}
    )
    results = {
        "machine": {"cpus": 2, "python": "3.11"},
        "created_utc": "2026-11-24T00:00:00Z",
        "sizes": [_size(5000, 200_000_000, full, inc)],
    }
    text = markdown(results)
    assert "| 5,000 | 6.50 | 1.20 | 2.30 | 2.50 | 0.50 | 218 | 48 | ADLB, LB |" in text
    assert "| subjects | ingest s | ingest rows/s | qa s | qa rows/s | other s |" in text
    assert "| 5,000 | 6.00 | 167 | 9.00 | 10 | 25.0 |" in text  # other = 40 - 6 - 9
    assert "- within 4x the I/O floor: 16.0x, NOT met" in text
    assert "## What limits the targets not met" in text


def test_the_targets_are_judged_at_5000_subjects_when_the_phase3_size_runs_too():
    from benchmarks.run import target_size

    sizes = [
        _size(n, n * 40_000, _run(10.0, 1.0, {}, {}), _run(1.0, 0.5, {}, {})) for n in (200, 5000, 20000)
    ]
    assert target_size({"sizes": sizes})["subjects"] == 5000
    assert target_size({"sizes": sizes[2:]})["subjects"] == 20000  # the phase-3 size alone


def test_limits_itemise_the_200_subject_run_and_the_marginal_cost_of_5000():
    from benchmarks.run import marginal, markdown

    gx = {
        "import_and_context_s": 2.0,
        "checkpoints_s": 1.5,
        "data_docs_s": 0.3,
        "reading_profiling_planning_s": 0.2,
    }
    small_full = _run(
        20.0, 1.0, {"a": 1.0, "b": 2.0}, {"ingest": 2.0, "qa": 6.0, "sdtm": 3.0}, fixed_total=5.0, floor=0.5
    )
    small_full["gx"] = gx
    top_full = _run(
        70.0, 1.0, {"a": 1.0}, {"ingest": 12.0, "qa": 10.0, "sdtm": 23.0}, fixed_total=5.0, floor=5.0
    )
    top_full["gx"] = gx
    for full in (small_full, top_full):
        full.update(cpu_s=30.0, loadavg_1m_at_end=1.0, layer_rows={})
    inc = _run(5.0, 1.0, {}, {}, phase_s={"site_ingest_job": 1.0, "nightly_refresh": 4.0})
    small, top = _size(200, 10_000_000, small_full, inc), _size(5000, 200_000_000, top_full, inc)
    m = marginal(small, top)
    # the run grows 50 s while the floor grows 4.5 s: 11.1x; the whole run is 14x its floor
    assert round(m["ratio"], 1) == 11.1 and m["whole_ratio"] == 14.0
    assert m["layer_growth_s"] == {"ingest": 10.0, "qa": 4.0, "sdtm": 20.0}
    text = "\n".join(limits({"sizes": [small, top]}))
    assert "**The 200-subject run in at most 8 s**: 20.0 s, 12.0 s over" in text
    # qa 6 s less GX's 2 + 1.5 + 0.3 + 0.2 = 2 s of other QA steps
    assert (
        "GX import and context 2.0 s, GX checkpoints, Data Docs and planning 2.0 s, sdtm steps 3.0 s" in text
    )
    assert "ingest steps 2.0 s, qa steps 2.0 s; 2 steps" in text
    assert (
        "the run grows by 50.0 s while the floor grows by 4.50 s, 11.1x (the whole run: 14.0x its floor)"
        in text
    )
    assert "By layer: sdtm +20.0 s, ingest +10.0 s, qa +4.0 s" in text
    assert "**The 5,000-subject run in at most 30 s**: 70.0 s, 40.0 s over" in text
    results = {"machine": {"cpus": 2, "python": "3.11"}, "created_utc": "x", "sizes": [small, top]}
    targets = markdown(results)
    assert "- the 200-subject full run in at most 8 s: 20.0 s, NOT met" in targets
    assert "- marginal cost (200 -> 5,000 subjects) at most 3x the I/O floor's: 11.1x, NOT met" in targets
    assert "- the 5,000-subject full run in at most 30 s: 70.0 s, NOT met" in targets


def test_no_limit_is_printed_for_items_3_and_4_when_they_are_met():
    small = _size(200, 10_000_000, _run(7.5, 1.0, {}, {"ingest": 1.0}, floor=0.5), _run(1.0, 0.5, {}, {}))
    top = _size(5000, 200_000_000, _run(20.0, 1.0, {}, {"ingest": 5.0}, floor=5.0), _run(1.0, 0.5, {}, {}))
    text = "\n".join(limits({"sizes": [small, top]}))
    assert "8 s" not in text and "Marginal" not in text and "30 s" not in text  # 12.5 / 4.5 = 2.8x
