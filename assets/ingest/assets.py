"""Ingest layer assets: thin wrappers around discovery, reading, harmonizing and validation.

``site_ingest`` is partitioned by site (``assets.common.partitions.SITE_PARTITIONS``): a run ingests
the sites of its partition key(s) and rewrites only their per-site files, so a new export of one
site re-ingests that site alone. ``iwrs_ingest`` and everything downstream are unpartitioned and
read every site's files.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import dagster as dg
import pandas as pd

from assets.common.asset_metadata import count_values
from assets.common.findings import make_findings
from assets.common.parquet import write_parquet
from assets.common.partitions import SITE_PARTITIONS
from assets.common.resources import LandingZone, RunSettings, Warehouse
from assets.ingest.batch import balanced_batches, ingest_batch
from assets.ingest.discovery import IWRS, list_sites
from assets.ingest.store import read_qa_table

GROUP = "ingest"
IO_RETRIES = 3
"""Transient I/O errors (network share hiccup, file replaced while read) are retried this often."""


def _retry_transient_io(context, exc: OSError):
    """Ask Dagster to retry the step after an OSError, waiting 1, 2, 4 s; other errors fail at once
    (a data or code error would fail the same way again, so retrying it only delays the report)."""
    context.log.warning(f"transient I/O error, retry {context.retry_number + 1} of {IO_RETRIES}: {exc}")
    raise dg.RetryRequested(max_retries=IO_RETRIES, seconds_to_wait=2**context.retry_number) from exc


def _ingest_sources(
    context, landing: LandingZone, warehouse: Warehouse, settings: RunSettings, sources: list[str]
) -> dict:
    """Sites are independent (one set of files each), so several are ingested side by side; one
    source (the sensor's run of one site) stays in the run's own process."""
    ingest_dir = warehouse.layer("ingest")
    workers = settings.workers_for(len(sources))
    # One batch of sites per process, of similar landing bytes. This process ingests the first
    # batch itself while spawned workers ingest the others (a worker less to start and import).
    # spawn, not fork: the run process has Dagster's threads, and a forked lock can deadlock.
    own, *others = balanced_batches(sources, landing.root, workers) or [[]]
    if not others:
        results = ingest_batch(own, landing.root, ingest_dir)
    else:
        with ProcessPoolExecutor(len(others), mp_context=multiprocessing.get_context("spawn")) as pool:
            theirs = pool.map(ingest_batch, others, repeat(landing.root), repeat(ingest_dir))
            mine = ingest_batch(own, landing.root, ingest_dir)
            done = {c["source"]: c for batch in [mine, *theirs] for c in batch}
        results = [done[s] for s in sources]  # reported in partition order, whatever the batches
    totals = {
        key: sum(r[key] for r in results)
        for key in ("rows_read", "rows_passed", "rows_quarantined", "exports_skipped")
    }
    per_source = {
        r["source"]: f"export {r['export_id']}, {r['rows_read']} rows, {r['exports_skipped']} skipped"
        for r in results
    }
    for r in results:
        if r["export_id"] is None:
            context.log.warning(f"{r['source']}: no complete export in the landing zone")
    return {**totals, "workers": workers, "sources": dg.MetadataValue.json(per_source)}


@dg.asset(
    group_name=GROUP,
    kinds={"python", "parquet"},
    partitions_def=SITE_PARTITIONS,
    # A backfill of many sites is one run that ingests them one after the other: one process and
    # one set of imports instead of a run per site (measured in benchmarks/results.md).
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="A site's newest complete export, read, harmonized and validated (rows + quarantine).",
)
def site_ingest(
    context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse, settings: RunSettings
):
    sites = list(context.partition_keys)
    present = set(list_sites(landing.root))
    for gone in sorted(set(sites) - present):
        context.log.warning(
            f"site {gone}: no folder in the landing zone; its ingested forms are removed (see freshness check)"
        )
    try:
        meta = _ingest_sources(context, landing, warehouse, settings, sites)
    except OSError as exc:
        _retry_transient_io(context, exc)
    return dg.MaterializeResult(metadata={"sites": len(sites), **meta})


@dg.asset(
    group_name=GROUP,
    kinds={"python", "parquet"},
    description="The blinded randomization system export (RAND): who was randomized, when, stratum.",
)
def iwrs_ingest(
    context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse, settings: RunSettings
):
    try:
        meta = _ingest_sources(context, landing, warehouse, settings, [IWRS])
    except OSError as exc:
        _retry_transient_io(context, exc)
    return dg.MaterializeResult(metadata=meta)


def findings_from_ingest(
    quarantine: pd.DataFrame, rejections: pd.DataFrame, inventory: pd.DataFrame, unexpected: pd.DataFrame
) -> pd.DataFrame:
    """Ingest problems as findings: quarantined values, rejected forms, skipped exports, extra columns."""
    parts = []
    if not quarantine.empty:
        q = quarantine.rename(columns={"SOURCE": "SITEID"}).copy()
        q["KIND"] = q["RULE"].map(
            lambda r: "DUPLICATE" if r in ("unique_recid", "unique_randno") else "SCHEMA"
        )
        q["SEVERITY"] = "ERROR"
        parts.append(q)
    if not rejections.empty:
        r = rejections.rename(columns={"SOURCE": "SITEID", "REASON": "MESSAGE"}).copy()
        r["KIND"], r["SEVERITY"], r["RULE"] = "FORM_REJECTED", "ERROR", "form_usable"
        parts.append(r)
    if not inventory.empty:
        inc = (
            inventory[~inventory["COMPLETE"]]
            .rename(columns={"SOURCE": "SITEID", "EXPORT_ID": "SRC_EXPORT", "REASON": "MESSAGE"})
            .copy()
        )
        inc["KIND"], inc["SEVERITY"], inc["RULE"] = "EXPORT_INCOMPLETE", "ERROR", "manifest_complete"
        parts.append(inc)
    if not unexpected.empty:
        u = unexpected.rename(columns={"SOURCE": "SITEID"}).copy()
        u["KIND"], u["SEVERITY"], u["RULE"] = "UNEXPECTED_COLUMN", "WARNING", "known_columns"
        u["MESSAGE"] = (
            "unexpected column carried to QA, not used (" + u["VALUES_PRESENT"].astype(str) + " values)"
        )
        parts.append(u)
    return make_findings(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())


@dg.asset(
    group_name=GROUP,
    deps=[site_ingest, iwrs_ingest],
    kinds={"python", "parquet"},
    description="Ingest findings (quarantine, rejected forms, skipped exports) and the row accounting.",
)
def ingest_findings(context: dg.AssetExecutionContext, warehouse: Warehouse):
    ingest_dir = warehouse.layer("ingest")
    tables = {
        t: read_qa_table(ingest_dir, t) for t in ("quarantine", "rejections", "inventory", "unexpected")
    }
    findings = findings_from_ingest(
        tables["quarantine"], tables["rejections"], tables["inventory"], tables["unexpected"]
    )
    qa_dir = warehouse.layer("qa")
    write_parquet(findings, qa_dir / "findings" / "ingest.parquet")
    by_kind = count_values(findings["KIND"]) if not findings.empty else {}
    return dg.MaterializeResult(
        metadata={"findings": len(findings), "by_kind": dg.MetadataValue.json(by_kind)}
    )


@dg.asset_check(
    asset=ingest_findings,
    blocking=True,
    description="Per source and form: rows read = rows passed + rows quarantined.",
)
def rows_read_equal_passed_plus_quarantined(warehouse: Warehouse) -> dg.AssetCheckResult:
    acc = read_qa_table(warehouse.root / "ingest", "accounting")
    if acc.empty:
        return dg.AssetCheckResult(
            passed=False, metadata={"reason": "no accounting rows: nothing was ingested"}
        )
    unbalanced = acc[~acc["BALANCED"].astype(bool)]
    return dg.AssetCheckResult(
        passed=unbalanced.empty,
        metadata={
            "rows_read": int(acc["ROWS_READ"].sum()),
            "rows_passed": int(acc["ROWS_PASSED"].sum()),
            "rows_quarantined": int(acc["ROWS_QUARANTINED"].sum()),
            "unbalanced_forms": dg.MetadataValue.json(unbalanced[["SOURCE", "FORM"]].to_dict("records")),
        },
    )


@dg.asset_check(
    asset=ingest_findings,
    blocking=False,
    description="Raw-form pandera schemas: rows quarantined by rule (warning: data queries).",
)
def raw_forms_pass_schemas(warehouse: Warehouse) -> dg.AssetCheckResult:
    q = read_qa_table(warehouse.root / "ingest", "quarantine")
    by_rule = q.groupby(["FORM", "RULE"]).size().rename("n").reset_index() if not q.empty else pd.DataFrame()
    return dg.AssetCheckResult(
        passed=q.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failures": len(q),
            "rows_quarantined": int(q[["SRC_FILE", "SRC_LINE"]].drop_duplicates().shape[0])
            if not q.empty
            else 0,
            "by_form_and_rule": dg.MetadataValue.json(by_rule.to_dict("records")),
        },
    )


@dg.asset_check(
    asset=ingest_findings,
    blocking=False,
    description="Every export folder in the landing zone is complete (manifest verified).",
)
def no_incomplete_exports(warehouse: Warehouse) -> dg.AssetCheckResult:
    inv = read_qa_table(warehouse.root / "ingest", "inventory")
    bad = inv[~inv["COMPLETE"].astype(bool)] if not inv.empty else inv
    return dg.AssetCheckResult(
        passed=bad.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "exports": len(inv),
            "incomplete": len(bad),
            "incomplete_exports": dg.MetadataValue.json(
                bad[["SOURCE", "EXPORT_ID", "REASON"]].to_dict("records") if not bad.empty else []
            ),
        },
    )


INGEST_ASSETS = [site_ingest, iwrs_ingest, ingest_findings]
INGEST_CHECKS = [rows_read_equal_passed_plus_quarantined, raw_forms_pass_schemas, no_incomplete_exports]
