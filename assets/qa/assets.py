"""QA layer assets: data queries with history, site listings, export status, GX validation, report.

Thin wrappers (issue 5): read the files other layers wrote (:mod:`assets.qa.inputs`), call the pure
functions of :mod:`assets.qa.queries`, :mod:`assets.qa.export_status`, :mod:`assets.qa.listings`,
:mod:`assets.qa.gx` and :mod:`assets.qa.report`, write with the shared writers, and describe the
result in metadata. Column labels come from ``study/qa_variables.csv`` (:mod:`assets.qa.labels`).

Reruns are byte-identical. Every file the QA layer writes is a function of the input only, except
``qa/run.json``, the run log: the one QA file that records the time of the run (the ``as_of`` run
config of ``qa_queries`` / ``qa_export_status`` when given, else the Dagster run's creation time,
:mod:`assets.qa.run_config`) and the Dagster run id, and so the one file that differs between two
runs of the same input. Times that describe the data come from the data cut
(:mod:`assets.common.data_cut`; site-export.md, Landing zone layout): FIRST_SEEN / LAST_SEEN /
RESOLVED_AT of a query are export ids, the age of an export in ``export_status.parquet`` is taken at
the study's data cut, the XLSX listings, the report and the Data Docs are dated with the data cut.
Only the freshness check (a Dagster check, no file) measures the age on the run date.
"""

import time
from typing import cast

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from assets.common import keys
from assets.common.asset_metadata import markdown_preview, subject_level, table_metadata
from assets.common.atomic import atomic_write_text, remove_stale_temp_files
from assets.common.checks import check, checks_of_one_asset
from assets.common.data_cut import export_id_iso, source_data_cuts, study_data_cut
from assets.common.parquet import write_parquet
from assets.common.resources import RunSettings, Warehouse
from assets.ingest.store import read_qa_table
from assets.qa import gx as qa_gx
from assets.qa import labels
from assets.qa.export_status import derive_export_status, export_age_at, stale_export_status
from assets.qa.inputs import (
    ct_path,
    output_files,
    read_ct,
    read_findings,
    read_output_tables,
    read_parquet_or_empty,
    read_run,
    read_sledai_scored,
    spec_for,
)
from assets.qa.listings import derive_site_listings, listed_sites, split_by_site, write_csv, write_xlsx
from assets.qa.queries import (
    OPEN,
    QUARANTINE_SORT,
    QUERY_SORT,
    RESOLVED,
    count_quarantined_rows,
    derive_current_queries,
    derive_quarantine_listing,
    merge_query_history,
    summarize_open_queries,
)
from assets.qa.report import build_report_context, derive_sledai_completeness, render_report
from assets.qa.run_config import (
    STALE_TEMP_AGE_SECONDS,
    QARunConfig,
    run_timestamp,
    utc_timestamp_text,
    write_run_log,
)
from assets.qa.translation import derive_vars_translation_source, read_translation_sources

GROUP = "qa"
NO_DATA_CUT = pd.Timestamp("1980-01-01T00:00:00Z")
"""The date of outputs when nothing is in force yet (the ZIP epoch): fixed, never the clock."""


def data_cut_time(warehouse: Warehouse) -> pd.Timestamp:
    """The study's data cut (newest export in force) as a UTC timestamp, :data:`NO_DATA_CUT` without one."""
    cut = export_id_iso(study_data_cut(read_qa_table(warehouse.root / "ingest", "inventory")))
    return pd.Timestamp(cut) if cut else NO_DATA_CUT


# --- assets -------------------------------------------------------------------------------------


@dg.asset(
    group_name=GROUP,
    deps=list(keys.FINDING_PRODUCERS.values()),
    kinds={"python", "parquet"},
    description=(
        "qa/quarantine.parquet (every rejected value) and qa/queries.parquet (every finding as a data "
        "query with a stable id, first/last seen and OPEN/RESOLVED status, merged with the previous run)."
    ),
)
def qa_queries(
    context: dg.AssetExecutionContext, config: QARunConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    now = run_timestamp(context, config)
    # A killed earlier run's temporary files and half-done folder swaps (issue 14)
    cleaned = remove_stale_temp_files(warehouse.root, min_age_seconds=STALE_TEMP_AGE_SECONDS)
    qa_dir = warehouse.layer("qa")
    inventory = read_qa_table(warehouse.root / "ingest", "inventory")
    site_cuts, data_cut = source_data_cuts(inventory), study_data_cut(inventory)
    quarantine = derive_quarantine_listing(read_qa_table(warehouse.root / "ingest", "quarantine"))
    write_parquet(
        quarantine,
        qa_dir / "quarantine.parquet",
        sort_by=QUARANTINE_SORT,
        labels=labels.labels(labels.QUARANTINE),
        dataset_label="Quarantined values",
    )
    findings = read_findings(qa_dir)
    if "exports" in findings:
        exported = findings["exports"]
        sources = read_translation_sources(warehouse.root / "ingest", exported)
        findings["exports"] = derive_vars_translation_source(exported, sources)
    previous = read_parquet_or_empty(qa_dir / "queries.parquet")
    current = derive_current_queries(findings)
    queries = merge_query_history(
        current, previous, data_cut, producers_run=set(findings), site_cuts=site_cuts
    )
    query_labels = labels.labels(labels.QUERIES)
    write_parquet(
        queries,
        qa_dir / "queries.parquet",
        sort_by=QUERY_SORT,
        labels=query_labels,
        dataset_label="Data queries",
    )
    write_run_log(qa_dir, as_of=now, run_id=context.run_id, mode=warehouse.resolved_mode, data_cut=data_cut)
    is_open = queries["STATUS"].eq(OPEN)
    known = set(previous["QUERY_ID"]) if "QUERY_ID" in previous.columns else set()
    new = is_open & ~queries["QUERY_ID"].isin(known)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(queries, query_labels, unblinded=warehouse.unblinded),
            "run_timestamp": now,
            "data_cut": data_cut,
            "stale_temp_files_removed": len(cleaned),
            "open": int(is_open.sum()),
            "resolved": int(queries["STATUS"].eq(RESOLVED).sum()),
            "new_this_run": int(new.sum()),
            "open_by_kind": dg.MetadataValue.json(
                cast(dict[str, int], queries[is_open]["KIND"].value_counts().sort_index().to_dict())
            ),
            "quarantined_values": len(quarantine),
            "quarantined_rows": count_quarantined_rows(quarantine),
            "producers": dg.MetadataValue.json(sorted(findings)),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST, keys.IWRS_INGEST],
    kinds={"python", "parquet"},
    description="qa/export_status.parquet: per site the newest complete export, its age in days, skipped exports and why.",
)
def qa_export_status(
    context: dg.AssetExecutionContext, config: QARunConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    now = run_timestamp(context, config)
    inventory = read_qa_table(warehouse.root / "ingest", "inventory")
    cut = export_id_iso(study_data_cut(inventory))
    # The age at the study's data cut, not at the run: the file is the same on every rerun.
    status = derive_export_status(inventory, cut or now)
    status_labels = labels.labels(labels.EXPORT_STATUS)
    write_parquet(
        status,
        warehouse.layer("qa") / "export_status.parquet",
        sort_by=["SITEID"],
        labels=status_labels,
        dataset_label="Export status per site",
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata(status, status_labels, preview_rows=10, unblinded=warehouse.unblinded),
            "run_timestamp": now,
            "data_cut": cut,
            "incomplete_exports": int(status["EXPORTS_INCOMPLETE"].sum()) if not status.empty else 0,
            "oldest_export_age_days": int(status["AGE_DAYS"].max())
            if status["AGE_DAYS"].notna().any()
            else -1,
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.QA_QUERIES, keys.QA_EXPORT_STATUS],
    kinds={"python", "csv", "xlsx"},
    description=(
        "qa/sites/<SITEID>/: open queries and quarantined values to send to each site, as CSV and XLSX, "
        "escaped against spreadsheet formula injection."
    ),
)
def qa_site_listings(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    qa_dir = warehouse.layer("qa")
    queries = pq.read_table(qa_dir / "queries.parquet").to_pandas()
    quarantine = pq.read_table(qa_dir / "quarantine.parquet").to_pandas()
    status = read_parquet_or_empty(qa_dir / "export_status.parquet")
    created = data_cut_time(warehouse)  # the data cut, not the run: same bytes on a rerun
    sites = listed_sites(status, queries, quarantine)
    # every site's rows at once: one sort, then a slice per site
    listings = derive_site_listings(queries, sites)
    quarantined = split_by_site(quarantine, sites)
    per_site = {}
    for site in sites:
        folder = qa_dir / "sites" / site
        listing, rejected = listings[site], quarantined[site]
        write_csv(listing, folder / "queries.csv")
        write_csv(rejected, folder / "quarantine.csv")
        write_xlsx(
            {"Open queries": listing, "Quarantine": rejected}, folder / "queries.xlsx", created=created
        )
        per_site[site] = {"open_queries": len(listing), "quarantined_values": len(rejected)}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(v["open_queries"] for v in per_site.values()),
            "sites": len(sites),
            "per_site": dg.MetadataValue.json(per_site),
            "folder": dg.MetadataValue.path(str(qa_dir / "sites")),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[*keys.SDTM_TABLES, *keys.ADAM_TABLES],
    kinds={"python", "great_expectations"},
    description=(
        "Great Expectations suites generated from the SDTM/ADaM spec (keys unique, required values, CT "
        "value sets, ISO 8601, plausible ranges) run as checkpoints; Data Docs in qa/gx/, results in "
        "qa/gx_results.parquet."
    ),
)
def qa_gx_validation(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    qa_dir = warehouse.layer("qa")
    started = time.perf_counter()
    ct_file = ct_path()
    tables = qa_gx.plan_output_tables(
        read_output_tables(warehouse.root),
        specs={standard: spec_for(standard) for standard in ("sdtm", "adam")},
        codelists=qa_gx.nonextensible_codelists(read_ct(ct_file)) if ct_file else {},
        qa_settings=qa_gx.qa_settings(),
    )
    planned = time.perf_counter()
    # Dated with the data cut, never the clock, so a rerun builds the same Data Docs bytes.
    cut = data_cut_time(warehouse)
    results = qa_gx.run_validations(
        tables, qa_dir / "gx", run_name=f"trialpipe-{warehouse.resolved_mode}", run_time=cut
    )
    finished = time.perf_counter()
    write_parquet(
        results,
        qa_dir / "gx_results.parquet",
        sort_by=qa_gx.RESULT_SORT,
        dataset_label="Great Expectations results",
    )
    failed = qa_gx.failed_expectations(results)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(failed, unblinded=warehouse.unblinded),
            "tables_validated": len(tables),
            "sampled_tables": dg.MetadataValue.json(sorted({t.dataset for t in tables if t.sampled})),
            "expectations": len(results),
            "failed": len(failed),
            "structural_failed": int(failed["STRUCTURAL"].sum()),
            "seconds_reading_profiling_planning": round(planned - started, 2),
            "seconds_gx_total": round(finished - planned, 2),
            "seconds_gx_import_and_context": results.attrs.get("seconds_setup"),
            "seconds_gx_checkpoints": results.attrs.get("seconds_checkpoints"),
            "seconds_gx_data_docs": results.attrs.get("seconds_data_docs"),
            "data_docs": dg.MetadataValue.path(str(qa_dir / "gx" / "index.html")),
            "ct": str(ct_file) if ct_file else "not found: CT value sets not checked",
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[
        keys.QA_QUERIES,
        keys.QA_EXPORT_STATUS,
        keys.QA_SITE_LISTINGS,
        keys.QA_GX_VALIDATION,
        keys.ELIGIBILITY,
    ],
    kinds={"python", "html"},
    description="qa/report.html: one self-contained page for QA reviewers (per site, failures, charts, GX link).",
)
def qa_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    qa_dir = warehouse.layer("qa")
    ingest_dir = warehouse.root / "ingest"
    queries = pq.read_table(qa_dir / "queries.parquet").to_pandas()
    open_by_site_kind = summarize_open_queries(queries)
    # Only what the input determines: the run id and the run's time stay in run.json (the run log).
    run = dict(
        data_cut=export_id_iso(study_data_cut(read_qa_table(ingest_dir, "inventory"))),
        mode=warehouse.resolved_mode,
        steps="ingest, eligibility, SDTM, ADaM, QA (queries, listings, export status, GX)",
        title="LDIL2SLE data-quality report",
    )
    context_data = build_report_context(
        run=run,
        accounting=read_qa_table(ingest_dir, "accounting"),
        quarantine=read_parquet_or_empty(qa_dir / "quarantine.parquet"),
        queries=queries,
        open_by_site_kind=open_by_site_kind,
        export_status=read_parquet_or_empty(qa_dir / "export_status.parquet"),
        inventory=read_qa_table(ingest_dir, "inventory"),
        deviations=read_parquet_or_empty(qa_dir / "protocol_deviations.parquet"),
        eligibility=read_parquet_or_empty(qa_dir / "eligibility_listing.parquet"),
        gx_results=read_parquet_or_empty(qa_dir / "gx_results.parquet"),
        sledai_completeness=derive_sledai_completeness(read_sledai_scored(ingest_dir)),
        outputs=output_files(warehouse.root),
        stale_days=settings.freshness_days,
    )
    html = render_report(context_data)
    atomic_write_text(qa_dir / "report.html", html)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(qa_dir / "report.html")),
            "bytes": len(html.encode("utf-8")),
            "sites": context_data["sites"].total_rows,
            "open_queries": int(open_by_site_kind.to_numpy().sum()) if not open_by_site_kind.empty else 0,
            "open_by_site_and_kind": subject_level(
                dg.MetadataValue.md(markdown_preview(open_by_site_kind.reset_index(), rows=50, max_cols=20)),
                warehouse.unblinded,
            ),
        }
    )


# --- checks -------------------------------------------------------------------------------------


@check(
    asset=keys.QA_QUERIES,
    blocking=True,
    description="Every query id occurs once in queries.parquet (ids are stable keys).",
)
def query_ids_are_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
    queries = pq.read_table(warehouse.root / "qa" / "queries.parquet", columns=["QUERY_ID"]).to_pandas()
    dup = queries[queries["QUERY_ID"].duplicated(keep=False)]
    return dg.AssetCheckResult(
        passed=dup.empty,
        metadata={
            "queries": len(queries),
            "duplicate_ids": len(dup),
            "examples": dg.MetadataValue.json(dup["QUERY_ID"].head(10).tolist()),
        },
    )


@check(
    asset=keys.QA_QUERIES,
    blocking=True,
    description="quarantine.parquet holds exactly the rows ingest counted as quarantined (nothing lost on the way to QA).",
)
def quarantine_listing_matches_row_accounting(warehouse: Warehouse) -> dg.AssetCheckResult:
    accounting = read_qa_table(warehouse.root / "ingest", "accounting")
    counted = int(accounting["ROWS_QUARANTINED"].sum()) if not accounting.empty else 0
    listed = count_quarantined_rows(pq.read_table(warehouse.root / "qa" / "quarantine.parquet").to_pandas())
    return dg.AssetCheckResult(
        passed=counted == listed, metadata={"rows_counted_by_ingest": counted, "rows_listed": listed}
    )


@check(
    asset=keys.QA_QUERIES,
    blocking=False,
    description="No data query is open (warning: queries go to the sites).",
)
def no_open_data_queries(warehouse: Warehouse) -> dg.AssetCheckResult:
    queries = pq.read_table(warehouse.root / "qa" / "queries.parquet").to_pandas()
    open_q = queries[queries["STATUS"].eq(OPEN)]
    return dg.AssetCheckResult(
        passed=open_q.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "open": len(open_q),
            "resolved": int(queries["STATUS"].eq(RESOLVED).sum()),
            "open_by_kind": dg.MetadataValue.json(open_q["KIND"].value_counts().sort_index().to_dict()),
            "open_by_site": dg.MetadataValue.json(open_q["SITEID"].value_counts().sort_index().to_dict()),
        },
    )


@dg.asset_check(
    asset=keys.QA_EXPORT_STATUS,
    blocking=False,
    description="Every site's newest complete export is at most TRIALPIPE_FRESHNESS_DAYS (default 7) days old on the run date.",
)
def site_exports_are_fresh(warehouse: Warehouse, settings: RunSettings) -> dg.AssetCheckResult:
    # The age on the run date (run.json's run timestamp), not at the data cut the file holds.
    as_of = read_run(warehouse.root / "qa").get("as_of") or utc_timestamp_text(pd.Timestamp.now(tz="UTC"))
    status = export_age_at(read_parquet_or_empty(warehouse.root / "qa" / "export_status.parquet"), as_of)
    limit = settings.freshness_days
    stale = stale_export_status(status, limit)
    return dg.AssetCheckResult(
        passed=stale.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "max_age_days": limit,
            "run_timestamp": as_of,
            "sources": len(status),
            "stale": len(stale),
            "stale_sources": dg.MetadataValue.json(
                stale[["SITEID", "LAST_EXPORT", "AGE_DAYS"]]
                .astype(object)
                .where(stale[["SITEID", "LAST_EXPORT", "AGE_DAYS"]].notna(), None)
                .to_dict("records")
                if not stale.empty
                else []
            ),
        },
    )


@dg.asset_check(
    asset=keys.QA_GX_VALIDATION,
    blocking=False,
    description="SDTM/ADaM values meet their GX expectations: CT value sets, ISO 8601, plausible ranges, required values (warning).",
)
def sdtm_adam_values_meet_expectations(warehouse: Warehouse) -> dg.AssetCheckResult:
    results = read_parquet_or_empty(warehouse.root / "qa" / "gx_results.parquet")
    failed = qa_gx.failed_expectations(results, structural=False)
    by_rule = (
        failed.groupby(["DATASET", "RULE"]).size().rename("n").reset_index().to_dict("records")
        if not failed.empty
        else []
    )
    return dg.AssetCheckResult(
        passed=failed.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "expectations": len(results),
            "failed": len(failed),
            "failed_by_dataset_and_rule": dg.MetadataValue.json(by_rule),
        },
    )


@dg.asset_check(
    asset=keys.QA_REPORT,
    blocking=True,
    description=(
        "SDTM/ADaM structure holds (GX): columns as in the spec, keys unique, identifiers and keys present. "
        "Evaluated after the report is written, so reviewers still get the report; blocking so the run fails loudly."
    ),
)
def sdtm_adam_structure_matches_spec(warehouse: Warehouse) -> dg.AssetCheckResult:
    results = read_parquet_or_empty(warehouse.root / "qa" / "gx_results.parquet")
    failed = qa_gx.failed_expectations(results, structural=True)
    return dg.AssetCheckResult(
        passed=failed.empty,
        metadata={
            "structural_expectations": int(results["STRUCTURAL"].sum()) if not results.empty else 0,
            "failed": len(failed),
            "failures": dg.MetadataValue.json(
                failed[["DATASET", "RULE", "COLUMN", "UNEXPECTED_COUNT"]]
                .astype(object)
                .where(failed[["DATASET", "RULE", "COLUMN", "UNEXPECTED_COUNT"]].notna(), None)
                .to_dict("records")
                if not failed.empty
                else []
            ),
        },
    )


QA_ASSETS = [qa_queries, qa_export_status, qa_site_listings, qa_gx_validation, qa_report]
QA_CHECKS = [
    checks_of_one_asset(
        [query_ids_are_unique, quarantine_listing_matches_row_accounting, no_open_data_queries]
    ),
    site_exports_are_fresh,
    sdtm_adam_values_meet_expectations,
    sdtm_adam_structure_matches_spec,
]
