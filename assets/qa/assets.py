"""QA layer assets: data queries with history, site listings, export status, GX validation, report.

Thin wrappers (issue 5): read the files other layers wrote, call the pure functions of
:mod:`assets.qa.queries`, :mod:`assets.qa.listings`, :mod:`assets.qa.gx` and
:mod:`assets.qa.report`, write with the shared writer, and describe the result in metadata.

The run timestamp (FIRST_SEEN / LAST_SEEN of queries, the age of exports) is a run-time parameter:
the ``as_of`` run config of ``qa_queries`` / ``qa_export_status`` when given, else the creation time
of the Dagster run, so every QA asset of one run uses the same instant.
"""

import os
import time
from functools import cache
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import yaml
from pydantic import Field

import study
from assets.common.asset_metadata import markdown_preview, table_metadata
from assets.common.parquet import read_labels, read_parquet, write_json, write_parquet
from assets.ingest.store import read_form, read_qa_table
from assets.qa import gx as qa_gx
from assets.qa.listings import (
    EXPORT_STATUS_LABELS,
    derive_export_status,
    derive_site_listings,
    split_by_site,
    write_csv,
    write_xlsx,
)
from assets.qa.queries import (
    OPEN,
    QUARANTINE_LABELS,
    QUARANTINE_SORT,
    QUERY_LABELS,
    QUERY_SORT,
    RESOLVED,
    derive_current_queries,
    derive_quarantine_listing,
    merge_query_history,
    summarize_open_queries,
)
from assets.qa.report import build_report_context, derive_sledai_completeness, render_report
from assets.sdtm.sledai import derive_var_sledai_total
from assets.common.resources import Warehouse

GROUP = "qa"
ENV_FRESHNESS_DAYS = "TRIALPIPE_FRESHNESS_DAYS"  # same setting as the ingest freshness check
DEFAULT_FRESHNESS_DAYS = 7
ENV_CT = "TRIALPIPE_CT"
FINDING_PRODUCER_KEYS = ["ingest_findings", "eligibility", "sledai_findings", "sdtm_sv"]
"""Assets that write ``qa/findings/*.parquet`` (ingest, eligibility, sledai, visits)."""


class QARunConfig(dg.Config):
    as_of: str = Field(
        default="",
        description="Run timestamp, ISO 8601 UTC (e.g. 2026-05-01T02:00:00Z); empty = the run's creation time",
    )


# --- small helpers ----------------------------------------------------------------------------


@cache
def qa_settings() -> dict:
    with open(study.STUDY_DIR / "qa.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def freshness_days() -> int:
    raw = os.environ.get(ENV_FRESHNESS_DAYS, "").strip()
    return int(float(raw)) if raw else DEFAULT_FRESHNESS_DAYS


def run_timestamp(context, config: QARunConfig | None = None) -> str:
    """The run timestamp as ``YYYY-MM-DDTHH:MM:SSZ``: configured, else the Dagster run's creation."""
    if config is not None and config.as_of:
        stamp = pd.Timestamp(config.as_of)
    else:
        record = context.instance.get_run_record_by_id(context.run_id)
        stamp = pd.Timestamp(record.create_timestamp) if record is not None else pd.Timestamp.now(tz="UTC")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_parquet_or_empty(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas() if Path(path).is_file() else pd.DataFrame()


def read_findings(qa_dir: Path) -> dict[str, pd.DataFrame]:
    """Every producer's findings file, by producer (file stem)."""
    folder = Path(qa_dir) / "findings"
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return {f.stem: pq.read_table(f).to_pandas() for f in files}


def ct_path() -> Path | None:
    """The CDISC CT parquet in force (vendored subset unless ``TRIALPIPE_CT`` is set): study/ct.py."""
    from study.ct import ct_path as study_ct_path

    path = study_ct_path()
    return path if path.exists() else None


def spec_for(standard: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(datasets, variables) of a standard; empty frames while the spec file does not exist yet."""
    from study import spec

    try:
        return spec.datasets(standard), spec.variables(standard)
    except FileNotFoundError:
        return pd.DataFrame(columns=["DATASET", "KEYS"]), pd.DataFrame(columns=["DATASET", "VARIABLE"])


def output_keys(standard: str) -> list[str]:
    """Asset keys of the SDTM / ADaM datasets in the spec (``sdtm_dm``, ``adam_adsl``, ...)."""
    datasets, _ = spec_for(standard)
    return [f"{standard}_{d.lower()}" for d in datasets["DATASET"]]


def output_files(mode_root: Path) -> pd.DataFrame:
    """Every SDTM/ADaM Parquet file with its row count and dataset label."""
    rows = []
    for layer in ("sdtm", "adam"):
        folder = Path(mode_root) / layer
        for f in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            _, ds_label = read_labels(f)
            rows.append(
                {
                    "LAYER": layer,
                    "DATASET": f.stem.upper(),
                    "LABEL": ds_label or "",
                    "ROWS": pq.read_metadata(f).num_rows,
                }
            )
    return pd.DataFrame(rows, columns=["LAYER", "DATASET", "LABEL", "ROWS"])


# --- assets -------------------------------------------------------------------------------------


@dg.asset(
    group_name=GROUP,
    deps=FINDING_PRODUCER_KEYS,
    kinds={"python", "parquet"},
    description=(
        "qa/quarantine.parquet (every rejected value) and qa/queries.parquet (every finding as a data "
        "query with a stable id, first/last seen and OPEN/RESOLVED status, merged with the previous run)."
    ),
)
def qa_queries(context: dg.AssetExecutionContext, config: QARunConfig, warehouse: Warehouse):
    now = run_timestamp(context, config)
    qa_dir = warehouse.layer("qa")
    quarantine = derive_quarantine_listing(read_qa_table(warehouse.root / "ingest", "quarantine"))
    write_parquet(
        quarantine,
        qa_dir / "quarantine.parquet",
        sort_by=QUARANTINE_SORT,
        labels=QUARANTINE_LABELS,
        dataset_label="Quarantined values",
    )
    findings = read_findings(qa_dir)
    previous = _read_parquet_or_empty(qa_dir / "queries.parquet")
    current = derive_current_queries(findings)
    queries = merge_query_history(current, previous, now, producers_run=set(findings))
    write_parquet(
        queries,
        qa_dir / "queries.parquet",
        sort_by=QUERY_SORT,
        labels=QUERY_LABELS,
        dataset_label="Data queries",
    )
    write_json(qa_dir / "run.json", {"as_of": now, "run_id": context.run_id, "mode": warehouse.resolved_mode})
    is_open = queries["STATUS"].eq(OPEN)
    new = is_open & queries["FIRST_SEEN"].eq(now)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(queries, QUERY_LABELS),
            "run_timestamp": now,
            "open": int(is_open.sum()),
            "resolved": int(queries["STATUS"].eq(RESOLVED).sum()),
            "new_this_run": int(new.sum()),
            "open_by_kind": dg.MetadataValue.json(
                queries[is_open]["KIND"].value_counts().sort_index().to_dict()
            ),
            "quarantined_values": len(quarantine),
            "quarantined_rows": int(
                quarantine[["SITEID", "SRC_FILE", "SRC_LINE"]].drop_duplicates().shape[0]
            ),
            "producers": dg.MetadataValue.json(sorted(findings)),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=["site_ingest", "iwrs_ingest"],
    kinds={"python", "parquet"},
    description="qa/export_status.parquet: per site the newest complete export, its age in days, skipped exports and why.",
)
def qa_export_status(context: dg.AssetExecutionContext, config: QARunConfig, warehouse: Warehouse):
    now = run_timestamp(context, config)
    status = derive_export_status(read_qa_table(warehouse.root / "ingest", "inventory"), now)
    write_parquet(
        status,
        warehouse.layer("qa") / "export_status.parquet",
        sort_by=["SITEID"],
        labels=EXPORT_STATUS_LABELS,
        dataset_label="Export status per site",
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata(status, EXPORT_STATUS_LABELS, preview_rows=10),
            "run_timestamp": now,
            "incomplete_exports": int(status["EXPORTS_INCOMPLETE"].sum()) if not status.empty else 0,
            "oldest_export_age_days": int(status["AGE_DAYS"].max())
            if status["AGE_DAYS"].notna().any()
            else -1,
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[qa_queries, qa_export_status],
    kinds={"python", "csv", "xlsx"},
    description=(
        "qa/sites/<SITEID>/: open queries and quarantined values to send to each site, as CSV and XLSX, "
        "escaped against spreadsheet formula injection."
    ),
)
def qa_site_listings(context: dg.AssetExecutionContext, warehouse: Warehouse):
    qa_dir = warehouse.layer("qa")
    queries = pq.read_table(qa_dir / "queries.parquet").to_pandas()
    quarantine = pq.read_table(qa_dir / "quarantine.parquet").to_pandas()
    status = _read_parquet_or_empty(qa_dir / "export_status.parquet")
    run = {}
    if (qa_dir / "run.json").is_file():
        import json

        run = json.loads((qa_dir / "run.json").read_text(encoding="utf-8"))
    created = pd.Timestamp(run["as_of"]) if run.get("as_of") else None
    sites = sorted(
        set(status.get("SITEID", pd.Series(dtype=str)).dropna().astype(str))
        | set(queries["SITEID"].dropna().astype(str))
        | set(quarantine["SITEID"].dropna().astype(str))
    )
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


def _gx_tables(mode_root: Path, settings: dict) -> tuple[list[qa_gx.TableToValidate], dict]:
    """Every SDTM/ADaM Parquet file with its expectation plan (spec rows when the spec has them)."""
    ct_file = ct_path()
    codelists = qa_gx.nonextensible_codelists(pq.read_table(ct_file).to_pandas()) if ct_file else {}
    code_ranges = qa_gx.plausible_ranges_by_code(settings)
    variable_ranges = {
        k: (float(v[0]), float(v[1])) for k, v in (settings.get("variable_ranges") or {}).items()
    }
    tables: list[qa_gx.TableToValidate] = []
    for standard in ("sdtm", "adam"):
        folder = Path(mode_root) / standard
        datasets, variables = spec_for(standard)
        keys_by_ds = dict(zip(datasets["DATASET"], datasets["KEYS"].astype(str).str.split()))
        for f in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            name = f.stem.upper()
            # dates as datetime64, not Python date objects: no expectation reads them as text
            frame = read_parquet(f, date_as_object=False)
            tables += qa_gx.tables_to_validate(
                standard,
                name,
                frame,
                variables[variables["DATASET"] == name],
                keys_by_ds.get(name, []),
                codelists,
                code_ranges,
                variable_ranges,
                int(settings["gx_full_rows_max"]),
                int(settings["gx_sample_rows"]),
            )
    return tables, {"ct": str(ct_file) if ct_file else "not found: CT value sets not checked"}


@dg.asset(
    group_name=GROUP,
    deps=[*output_keys("sdtm"), *output_keys("adam")],
    kinds={"python", "great_expectations"},
    description=(
        "Great Expectations suites generated from the SDTM/ADaM spec (keys unique, required values, CT "
        "value sets, ISO 8601, plausible ranges) run as checkpoints; Data Docs in qa/gx/, results in "
        "qa/gx_results.parquet."
    ),
)
def qa_gx_validation(context: dg.AssetExecutionContext, warehouse: Warehouse):
    qa_dir = warehouse.layer("qa")
    settings = qa_settings()
    started = time.perf_counter()
    tables, info = _gx_tables(warehouse.root, settings)
    planned = time.perf_counter()
    run = _read_run(qa_dir)
    now = pd.Timestamp(run.get("as_of") or pd.Timestamp.now(tz="UTC"))
    results = qa_gx.run_validations(
        tables, qa_dir / "gx", run_name=f"trialpipe-{warehouse.resolved_mode}", run_time=now
    )
    finished = time.perf_counter()
    write_parquet(
        results,
        qa_dir / "gx_results.parquet",
        sort_by=qa_gx.RESULT_SORT,
        dataset_label="Great Expectations results",
    )
    failed = results[~results["SUCCESS"]]
    return dg.MaterializeResult(
        metadata={
            **table_metadata(failed),
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
            **info,
        }
    )


def _read_run(qa_dir: Path) -> dict:
    import json

    path = Path(qa_dir) / "run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def sledai_completeness(ingest_dir: Path) -> pd.DataFrame:
    sledai = read_form(ingest_dir, "SLEDAI")
    if sledai.empty:
        return derive_sledai_completeness(pd.DataFrame(columns=["VISIT", "VISITNUM", "SLEDAI_TOTAL"]))
    return derive_sledai_completeness(derive_var_sledai_total(sledai))


@dg.asset(
    group_name=GROUP,
    deps=[qa_queries, qa_export_status, qa_site_listings, qa_gx_validation, "eligibility"],
    kinds={"python", "html"},
    description="qa/report.html: one self-contained page for QA reviewers (per site, failures, charts, GX link).",
)
def qa_report(context: dg.AssetExecutionContext, warehouse: Warehouse):
    qa_dir = warehouse.layer("qa")
    ingest_dir = warehouse.root / "ingest"
    queries = pq.read_table(qa_dir / "queries.parquet").to_pandas()
    open_by_site_kind = summarize_open_queries(queries)
    run = _read_run(qa_dir)
    run.update(
        mode=warehouse.resolved_mode,
        steps="ingest, eligibility, SDTM, ADaM, QA (queries, listings, export status, GX)",
        title="LDIL2SLE data-quality report",
    )
    context_data = build_report_context(
        run=run,
        accounting=read_qa_table(ingest_dir, "accounting"),
        quarantine=_read_parquet_or_empty(qa_dir / "quarantine.parquet"),
        queries=queries,
        open_by_site_kind=open_by_site_kind,
        export_status=_read_parquet_or_empty(qa_dir / "export_status.parquet"),
        inventory=read_qa_table(ingest_dir, "inventory"),
        deviations=_read_parquet_or_empty(qa_dir / "protocol_deviations.parquet"),
        eligibility=_read_parquet_or_empty(qa_dir / "eligibility_listing.parquet"),
        gx_results=_read_parquet_or_empty(qa_dir / "gx_results.parquet"),
        sledai_completeness=sledai_completeness(ingest_dir),
        outputs=output_files(warehouse.root),
        stale_days=freshness_days(),
    )
    html = render_report(context_data)
    from assets.common.parquet import atomic_write_text

    atomic_write_text(qa_dir / "report.html", html)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(qa_dir / "report.html")),
            "bytes": len(html.encode("utf-8")),
            "sites": context_data["sites"].total_rows,
            "open_queries": int(open_by_site_kind.to_numpy().sum()) if not open_by_site_kind.empty else 0,
            "open_by_site_and_kind": dg.MetadataValue.md(
                markdown_preview(open_by_site_kind.reset_index(), rows=50, max_cols=20)
            ),
        }
    )


# --- checks -------------------------------------------------------------------------------------


@dg.asset_check(
    asset=qa_queries,
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


@dg.asset_check(
    asset=qa_queries,
    blocking=True,
    description="quarantine.parquet holds exactly the rows ingest counted as quarantined (nothing lost on the way to QA).",
)
def quarantine_listing_matches_row_accounting(warehouse: Warehouse) -> dg.AssetCheckResult:
    accounting = read_qa_table(warehouse.root / "ingest", "accounting")
    counted = int(accounting["ROWS_QUARANTINED"].sum()) if not accounting.empty else 0
    quarantine = pq.read_table(warehouse.root / "qa" / "quarantine.parquet").to_pandas()
    listed = int(quarantine[["SITEID", "SRC_FILE", "SRC_LINE"]].drop_duplicates().shape[0])
    return dg.AssetCheckResult(
        passed=counted == listed, metadata={"rows_counted_by_ingest": counted, "rows_listed": listed}
    )


@dg.asset_check(
    asset=qa_queries, blocking=False, description="No data query is open (warning: queries go to the sites)."
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
    asset=qa_export_status,
    blocking=False,
    description="Every site's newest complete export is at most TRIALPIPE_FRESHNESS_DAYS (default 7) days old on the run date.",
)
def site_exports_are_fresh(warehouse: Warehouse) -> dg.AssetCheckResult:
    status = _read_parquet_or_empty(warehouse.root / "qa" / "export_status.parquet")
    limit = freshness_days()
    stale = status[status["AGE_DAYS"].isna() | (status["AGE_DAYS"] > limit)] if not status.empty else status
    return dg.AssetCheckResult(
        passed=stale.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "max_age_days": limit,
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


def _gx_results(warehouse: Warehouse) -> pd.DataFrame:
    return _read_parquet_or_empty(warehouse.root / "qa" / "gx_results.parquet")


@dg.asset_check(
    asset=qa_gx_validation,
    blocking=False,
    description="SDTM/ADaM values meet their GX expectations: CT value sets, ISO 8601, plausible ranges, required values (warning).",
)
def sdtm_adam_values_meet_expectations(warehouse: Warehouse) -> dg.AssetCheckResult:
    results = _gx_results(warehouse)
    failed = results[~results["SUCCESS"] & ~results["STRUCTURAL"]] if not results.empty else results
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
    asset=qa_report,
    blocking=True,
    description=(
        "SDTM/ADaM structure holds (GX): columns as in the spec, keys unique, identifiers and keys present. "
        "Evaluated after the report is written, so reviewers still get the report; blocking so the run fails loudly."
    ),
)
def sdtm_adam_structure_matches_spec(warehouse: Warehouse) -> dg.AssetCheckResult:
    results = _gx_results(warehouse)
    failed = results[~results["SUCCESS"] & results["STRUCTURAL"]] if not results.empty else results
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
    query_ids_are_unique,
    quarantine_listing_matches_row_accounting,
    no_open_data_queries,
    site_exports_are_fresh,
    sdtm_adam_values_meet_expectations,
    sdtm_adam_structure_matches_spec,
]
