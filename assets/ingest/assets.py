"""Ingest layer assets: thin wrappers around discovery, reading, harmonizing and validation.

``site_ingest`` is partitioned by site (``assets.common.partitions.SITE_PARTITIONS``): a run ingests
the sites of its partition key(s) and rewrites only their per-site files, so a new export of one
site re-ingests that site alone. ``iwrs_ingest`` and everything downstream are unpartitioned and
read every site's files.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from assets.common.asset_metadata import count_values
from assets.common.checks import check, checks_of_one_asset
from assets.common.findings import make_findings
from assets.common.parquet import write_parquet
from assets.common.partitions import SITE_PARTITIONS
from assets.common.resources import LandingZone, RunSettings, Warehouse
from assets.ingest.batch import balanced_batches, ingest_batch, write_landing_problems
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


def _worker_result(context, future, batch: list[str], landing: LandingZone, ingest_dir, now) -> list[dict]:
    """A worker's counts; when the worker itself failed (it died, or something no rule foresaw got
    out of it), its sites are ingested again in this process, where each source's failure stays
    that source's (``ingest_batch``): a worker's error never fails the step. I/O errors are
    re-raised, to be retried."""
    try:
        return future.result()
    except OSError:
        raise
    except Exception as exc:  # a dead worker or an unforeseen error: redo its batch here
        context.log.error(f"worker for {batch} failed ({type(exc).__name__}: {exc}); ingesting them here")
        return ingest_batch(batch, landing.root, ingest_dir, now)


def _ingest_sources(
    context, landing: LandingZone, warehouse: Warehouse, settings: RunSettings, sources: list[str]
) -> tuple[dict, list[dict]]:
    """Sites are independent (one set of files each), so several are ingested side by side; one
    source (the sensor's run of one site) stays in the run's own process. Returns the run's
    metadata (workers, landing problems, a line per source) and each source's counts, in order."""
    ingest_dir = warehouse.layer("ingest")
    now = datetime.now(UTC)  # one time of the run for every batch: later export ids are not in force
    workers = settings.workers_for(len(sources))
    # One batch of sites per process, of similar landing bytes. This process ingests the first
    # batch itself while spawned workers ingest the others (a worker less to start and import).
    # spawn, not fork: the run process has Dagster's threads, and a forked lock can deadlock.
    own, *others = balanced_batches(sources, landing.root, workers) or [[]]
    if not others:
        results = ingest_batch(own, landing.root, ingest_dir, now)
    else:
        with ProcessPoolExecutor(len(others), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(ingest_batch, b, landing.root, ingest_dir, now) for b in others]
            mine = ingest_batch(own, landing.root, ingest_dir, now)
            theirs = [
                _worker_result(context, f, b, landing, ingest_dir, now) for f, b in zip(futures, others)
            ]
            done = {c["source"]: c for batch in [mine, *theirs] for c in batch}
        results = [done[s] for s in sources]  # reported in partition order, whatever the batches
    per_source = {
        r["source"]: f"export {r['export_id']}, {r['rows_read']} rows, {r['exports_skipped']} skipped"
        for r in results
    }
    for r in results:
        if r["export_id"] is None:
            context.log.warning(f"{r['source']}: no complete export in the landing zone")
    problems = write_landing_problems(landing.root, ingest_dir)
    if problems:
        context.log.warning(f"{problems} folder(s) under sites/ cannot be used (ingest/qa/inventory)")
    meta = {"landing_problems": problems, "workers": workers, "sources": dg.MetadataValue.json(per_source)}
    return meta, results


COUNTS = ("rows_read", "rows_passed", "rows_quarantined", "exports_skipped")
"""The counts of a source (``ingest_batch``) shown on its materialization."""


def _totals(results: list[dict]) -> dict[str, int]:
    """The counts summed over the sources."""
    return {key: sum(r[key] for r in results) for key in COUNTS}


def _source_metadata(result: dict) -> dict:
    """One source's own figures, for its partition's materialization."""
    return {"export_id": result["export_id"], **{key: result[key] for key in COUNTS}}


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
        meta, results = _ingest_sources(context, landing, warehouse, settings, sites)
    except OSError as exc:
        _retry_transient_io(context, exc)
    # A single-run backfill is one step for many partitions: each partition's materialization gets
    # its own site's counts (partition-scoped metadata); the run's totals are under ``run_totals``.
    for result in results:
        context.add_asset_metadata(_source_metadata(result), partition_key=result["source"])
    run_totals = dg.MetadataValue.json(_totals(results))
    return dg.MaterializeResult(metadata={"sites": len(sites), "run_totals": run_totals, **meta})


@dg.asset(
    group_name=GROUP,
    kinds={"python", "parquet"},
    description="The blinded randomization system export (RAND): who was randomized, when, stratum.",
)
def iwrs_ingest(
    context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse, settings: RunSettings
):
    try:
        meta, results = _ingest_sources(context, landing, warehouse, settings, [IWRS])
    except OSError as exc:
        _retry_transient_io(context, exc)
    return dg.MaterializeResult(metadata={**_totals(results), **meta})


UNEXPECTED_LISTED = 20
"""Unexpected columns named in a finding's message; the rest are counted (the full list is the
ingest QA table ``unexpected``)."""


def unexpected_findings(unexpected: pd.DataFrame) -> pd.DataFrame:
    """One finding per file with unexpected columns, listing them (a file with 100,000 extra
    columns is one data query, not 100,000). ``COLUMN`` names the column when there is one, so its
    query keeps the id it had as one finding per column."""
    rows = []
    keys = ["SOURCE", "FORM", "SRC_EXPORT", "SRC_FILE"]
    for key, group in unexpected.groupby(keys, sort=True, dropna=False):
        named = [f"{c} ({n} values)" for c, n in zip(group["COLUMN"], group["VALUES_PRESENT"], strict=True)]
        listed = ", ".join(named[:UNEXPECTED_LISTED])
        more = f" and {len(named) - UNEXPECTED_LISTED} more" if len(named) > UNEXPECTED_LISTED else ""
        rows.append(
            {
                **dict(zip(["SITEID", "FORM", "SRC_EXPORT", "SRC_FILE"], key, strict=True)),
                "COLUMN": group["COLUMN"].iloc[0] if len(group) == 1 else pd.NA,
                "MESSAGE": f"{len(group)} unexpected column(s) carried to QA, not used: {listed}{more}",
            }
        )
    out = pd.DataFrame(rows)
    out["KIND"], out["SEVERITY"], out["RULE"] = "UNEXPECTED_COLUMN", "WARNING", "known_columns"
    return out


def emptied_findings(emptied: pd.DataFrame) -> pd.DataFrame:
    """A header-only form whose previous complete export had rows: kept, reported
    (site-export.md, Bad input)."""
    e = emptied.rename(columns={"SOURCE": "SITEID"}).copy()
    e["KIND"], e["SEVERITY"], e["RULE"] = "FORM_EMPTIED", "WARNING", "form_not_emptied"
    e["SRC_LINE"] = 1
    e["MESSAGE"] = (
        "header only, no rows; the previous complete export "
        + e["PREVIOUS_EXPORT"].astype(str)
        + " had "
        + e["PREVIOUS_ROWS"].astype(str)
        + " rows (kept: the site may have deleted them)"
    )
    return e


def findings_from_ingest(
    quarantine: pd.DataFrame,
    rejections: pd.DataFrame,
    inventory: pd.DataFrame,
    unexpected: pd.DataFrame,
    emptied: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Ingest problems as findings: quarantined values, rejected forms, skipped exports and unusable
    landing folders, extra columns (one finding per file), header-only forms that had rows."""
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
        parts.append(unexpected_findings(unexpected))
    if emptied is not None and not emptied.empty:
        parts.append(emptied_findings(emptied))
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
        t: read_qa_table(ingest_dir, t)
        for t in ("quarantine", "rejections", "inventory", "unexpected", "emptied")
    }
    findings = findings_from_ingest(
        tables["quarantine"],
        tables["rejections"],
        tables["inventory"],
        tables["unexpected"],
        tables["emptied"],
    )
    qa_dir = warehouse.layer("qa")
    write_parquet(findings, qa_dir / "findings" / "ingest.parquet")
    by_kind = count_values(findings["KIND"]) if not findings.empty else {}
    return dg.MaterializeResult(
        metadata={"findings": len(findings), "by_kind": dg.MetadataValue.json(by_kind)}
    )


@check(
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


@check(
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


@check(
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
INGEST_CHECKS = [
    checks_of_one_asset(
        [rows_read_equal_passed_plus_quarantined, raw_forms_pass_schemas, no_incomplete_exports]
    )
]
