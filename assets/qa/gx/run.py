"""Running the plans: one GX validation per table in an ephemeral context, Data Docs, result rows.

Each table's suite runs through its ``ValidationDefinition``, which is what a ``Checkpoint`` would
run for it, without a checkpoint object per table to build and store (no actions are used; the
Data Docs are built once, after every validation). The metadata keeps the name "checkpoints" for
these validation runs.

Offline: ephemeral context, analytics off (``GX_ANALYTICS_ENABLED=false``, the library's own
switch). Importing great_expectations takes 3-6 s, so it is imported only inside
:func:`run_validations`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from assets.common.atomic import atomic_folder
from assets.qa.gx.batch import RESULT_RANGES, batch_for_gx, merge_range_bounds, split_batched_result
from assets.qa.gx.docs import escape_validation_results, make_docs_deterministic, make_docs_offline
from assets.qa.gx.plan import PlannedExpectation, TableToValidate, columns_read_by
from assets.qa.gx.results import result_row, results_frame


def quiet_gx() -> None:
    """Analytics off and GX's log to errors only, before great_expectations is imported."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def frame_for_gx(table: TableToValidate) -> pd.DataFrame:
    """The table as GX gets it: text columns that no expectation reads become categorical. GX takes
    the rows of the whole frame for every conditional expectation (``row_condition``), and taking
    rows of an Arrow string column cost more than the checks themselves on big tables (LB, VS,
    ADLB); a categorical takes integer codes. Values, columns and their order stay the same, so the
    column-set check and every result are unchanged."""
    read = columns_read_by(table.plan) | {"VARIABLE"}  # VARIABLE: unexpected index of the profile
    untouched = [
        c
        for c in table.frame.columns
        if c not in read and (pd.api.types.is_string_dtype(table.frame[c]) or table.frame[c].dtype == object)
    ]
    return table.frame.astype({c: "category" for c in untouched}) if untouched else table.frame


def ephemeral_context(docs_dir: Path) -> Any:
    """An ephemeral GX context, progress bars off, whose one Data Docs site (``qa``) is built into
    ``docs_dir``; great_expectations must be imported (after :func:`quiet_gx`)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    config: Any = ctx.get_config()
    for site_name, site in list(config.data_docs_sites.items()):
        # The ephemeral context's default site is a fresh temporary folder per run: drop it.
        ctx.delete_data_docs_site(site_name)
        shutil.rmtree(site.get("store_backend", {}).get("base_directory", ""), ignore_errors=True)
    ctx.add_data_docs_site(
        site_name="qa",
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        },
    )
    return ctx


def run_validations(
    tables: list[TableToValidate], docs_dir: Path, run_name: str, run_time: pd.Timestamp
) -> pd.DataFrame:
    """Run one validation per table in an ephemeral context, build the Data Docs into ``docs_dir``
    (replaced as a whole by an atomic folder swap, so it shows this run only and a killed run leaves
    the previous site; made byte-deterministic for ``run_name`` and ``run_time``, :mod:`.docs`), and
    return one row per expectation result and dataset. The profiles and the per-code plausible
    ranges are validated batched (:func:`batch_for_gx`) and their results split back per dataset."""
    setup_started = time.perf_counter()
    quiet_gx()
    import great_expectations  # noqa: F401 (the import is the fixed setup cost measured here)

    with atomic_folder(Path(docs_dir)) as staging:
        rows, timings = _validate_and_build_docs(tables, staging, run_name, run_time)
    results = results_frame(rows)
    setup_seconds = timings["validating"] - setup_started  # GX import and context: fixed per run
    results.attrs["seconds_setup"] = round(setup_seconds, 2)
    results.attrs["seconds_checkpoints"] = round(timings["validated"] - timings["started"], 2)
    results.attrs["seconds_data_docs"] = round(time.perf_counter() - timings["validated"], 2)
    row_level, batches = timings["row_level"], timings["batches"]
    results.attrs["gx_checkpoints"] = sum(1 for t in row_level if t.plan) + len(batches)
    results.attrs["gx_expectations"] = sum(len(t.plan) for t in row_level) + sum(len(b.plan) for b in batches)
    return results


def _validate_and_build_docs(
    tables: list[TableToValidate],
    staging: Path,
    run_name: str,
    run_time: pd.Timestamp,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every validation, then the Data Docs built into ``staging`` and made deterministic."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier

    ctx = ephemeral_context(staging)
    source = ctx.data_sources.add_pandas("trialpipe")
    stamp = run_time.tz_convert("UTC").tz_localize(None) if run_time.tzinfo else run_time
    run_id = RunIdentifier(run_name=run_name, run_time=stamp.to_pydatetime())
    validating = time.perf_counter()

    def validation_results(
        name: str, frame: pd.DataFrame, plan: list[PlannedExpectation], result_format: Any
    ) -> list[Any]:
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        expectations = [
            getattr(gxe, p.expectation)(
                **p.kwargs, meta={"rule": p.rule, "structural": p.structural, "plan": i}
            )
            for i, p in enumerate(plan)
        ]
        suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        result = vd.run(batch_parameters={"dataframe": frame}, result_format=result_format, run_id=run_id)
        return list(result.results)

    row_level, batches = batch_for_gx(tables)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for table in row_level:
        if not table.plan:
            continue
        result_format = (
            {"result_format": "SUMMARY", "unexpected_index_column_names": ["VARIABLE"]}
            if "VARIABLE" in table.frame.columns
            else "SUMMARY"
        )
        name = f"{table.standard}_{table.dataset.lower()}"
        rows += [
            result_row(table, r)
            for r in validation_results(name, frame_for_gx(table), table.plan, result_format)
        ]
    for batch in batches:
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": batch.index_columns}
        split: list[dict[str, Any]] = []
        for r in validation_results(batch.name.lower(), batch.frame, batch.plan, result_format):
            raised = bool((r.exception_info or {}).get("raised_exception", False))
            index = int(r.expectation_config.meta["plan"])
            split += split_batched_result(batch, index, r.expectation_config.type, raised, r.result or {})
        rows += merge_range_bounds(split) if batch.name == RESULT_RANGES else split
    validated = time.perf_counter()
    escape_validation_results(ctx)  # site values become text in the pages (issue 17)
    ctx.build_data_docs(site_names=["qa"])
    make_docs_offline(staging)  # the pages' libraries served from the site, no CDN (issue 17)
    make_docs_deterministic(staging, pd.Timestamp(stamp))
    timings = {
        "validating": validating,
        "started": started,
        "validated": validated,
        "row_level": row_level,
        "batches": batches,
    }
    return rows, timings
