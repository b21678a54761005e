"""Submission and analysis formats as assets: XPT v5, Dataset-JSON 1.1, define.xml 2.1, DuckDB.

Thin wrappers around :mod:`assets.exports.build` (the same functions ``trialpipe export`` runs).
Each asset depends on every SDTM and ADaM table (``keys.EXPORTED_TABLES``, taken from the study's
dataset lists, so a dataset added there is exported without touching this file); the DuckDB
catalog also waits for the QA assets because it holds a ``qa`` schema.
"""

import xml.etree.ElementTree as ET

import dagster as dg

from assets.common import keys
from assets.common.parquet import read_parquet
from assets.common.resources import Warehouse
from assets.exports import build
from assets.exports.dataset_json import read_dataset_json_header
from assets.exports.define_xml import define_problems
from assets.exports.duckdb_catalog import CATALOG_NAME, view_row_counts
from assets.exports.metadata import describe_written, written_tables

GROUP = "exports"
MAX_LISTED = 50  # problems listed in a check's metadata; the full list is in the findings file


@dg.asset(
    group_name=GROUP,
    deps=keys.EXPORTED_TABLES,
    kinds={"python", "sas"},
    description="Every SDTM and ADaM dataset as SAS XPORT v5 (submission/{sdtm,adam}/<name>.xpt).",
)
def export_xpt(context: dg.AssetExecutionContext, warehouse: Warehouse):
    written, findings = build.build_xpt(warehouse.root)
    if not findings.empty:
        context.log.warning(
            f"{len(findings)} values XPORT v5 cannot hold, their datasets' .xpt not written; "
            f"see {build.FINDINGS_FILE}"
        )
    return dg.MaterializeResult(
        metadata={
            "files_written": len(written),
            "datasets_refused": int(findings["FORM"].nunique()) if not findings.empty else 0,
            "findings": len(findings),
            "folder": dg.MetadataValue.path(str(build.submission_dir(warehouse.root))),
        }
    )


@dg.asset_check(
    asset=export_xpt,
    blocking=False,
    description=(
        "Every value, name and label fits XPORT v5. Reports, never blocks (derivations.md v2): a value "
        "that does not fit is a finding and a data query, and only that dataset's .xpt is not written."
    ),
)
def xpt_values_fit_v5(warehouse: Warehouse) -> dg.AssetCheckResult:
    findings = build.read_xpt_findings(warehouse.root)
    listed = [
        f"{r.FORM!s}.{r.COLUMN or '(dataset)'!s} row {r.RECID or '-'!s}: {r.RULE!s} {r.VALUE!s:.60}"
        for r in findings.head(MAX_LISTED).itertuples()
    ]
    by_rule = findings["RULE"].value_counts().sort_index().to_dict()
    by_dataset = findings["FORM"].value_counts().sort_index().to_dict()
    missing = [m for m in build.not_written(warehouse.root) if m.format == "xpt"]
    return dg.AssetCheckResult(
        passed=findings.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "problems": len(findings),
            "values_not_ascii": int((findings["RULE"] == "xpt_ascii").sum()),
            "datasets_not_written": len(missing),
            "files_not_written": dg.MetadataValue.json([f"{m.file}: {m.reason}" for m in missing]),
            "by_rule": dg.MetadataValue.json({str(rule): n for rule, n in by_rule.items()}),
            "by_dataset": dg.MetadataValue.json({str(ds): n for ds, n in by_dataset.items()}),
            "first_problems": dg.MetadataValue.json(listed),
        },
    )


@dg.asset(
    group_name=GROUP,
    deps=keys.EXPORTED_TABLES,
    kinds={"python", "json"},
    description="Every SDTM and ADaM dataset as CDISC Dataset-JSON 1.1, written streaming.",
)
def export_dataset_json(context: dg.AssetExecutionContext, warehouse: Warehouse):
    written = build.build_dataset_json(warehouse.root)
    findings = read_parquet(warehouse.root / build.DATASET_JSON_FINDINGS_FILE)
    if not findings.empty:
        context.log.error(
            f"{len(findings)} values Dataset-JSON cannot hold; see {build.DATASET_JSON_FINDINGS_FILE}"
        )
    return dg.MaterializeResult(
        metadata={
            "files_written": len(written),
            "bytes": sum(p.stat().st_size for p in written),
            "datasets_refused": int(findings["FORM"].nunique()) if not findings.empty else 0,
            "findings": len(findings),
        }
    )


@dg.asset_check(
    asset=export_dataset_json,
    description="Each Dataset-JSON file holds as many records as its Parquet table.",
)
def dataset_json_records_match_parquet(warehouse: Warehouse) -> dg.AssetCheckResult:
    mismatched = {}
    for ds in describe_written(warehouse.root):
        path = build.submission_dir(warehouse.root, ds.standard) / f"{ds.file_stem}.json"
        records = read_dataset_json_header(path)["records"] if path.is_file() else None
        if records != ds.records:
            mismatched[f"{ds.standard}/{ds.name}"] = {"json": records, "parquet": ds.records}
    return dg.AssetCheckResult(
        passed=not mismatched, metadata={"mismatched": dg.MetadataValue.json(mismatched)}
    )


@dg.asset(
    group_name=GROUP,
    deps=keys.EXPORTED_TABLES,
    kinds={"python", "xml", "html"},
    description="define.xml 2.1 of the SDTM and ADaM datasets (submission/define.xml) and qa/define.html.",
)
def export_define_xml(context: dg.AssetExecutionContext, warehouse: Warehouse):
    define_path, html_path, problems = build.build_define(warehouse.root)
    root = ET.parse(define_path).getroot()
    count = {
        tag: sum(1 for el in root.iter() if el.tag.endswith("}" + tag))
        for tag in ("ItemGroupDef", "ItemDef", "CodeList", "MethodDef", "ValueListDef")
    }
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in count.items()},
            "unresolved_references": len(problems),
            "define": dg.MetadataValue.path(str(define_path)),
            "html": dg.MetadataValue.path(str(html_path)),
        }
    )


@dg.asset_check(
    asset=export_define_xml,
    blocking=True,
    description="define.xml parses, every reference resolves and every written dataset has an ItemGroupDef.",
)
def define_xml_references_resolve(warehouse: Warehouse) -> dg.AssetCheckResult:
    path = build.submission_dir(warehouse.root) / "define.xml"
    names = [p.stem.upper() for _, p in written_tables(warehouse.root)]
    try:
        problems = define_problems(ET.parse(path), names)
    except (ET.ParseError, FileNotFoundError) as exc:
        problems = [f"define.xml unreadable: {exc}"]
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": len(problems), "first_problems": dg.MetadataValue.json(problems[:MAX_LISTED])},
    )


@dg.asset(
    group_name=GROUP,
    deps=[*keys.EXPORTED_TABLES, *keys.QA_ASSETS],
    kinds={"python", "duckdb"},
    description="warehouse.duckdb: views over the sdtm, adam and qa Parquet tables, labels as comments.",
)
def export_duckdb(context: dg.AssetExecutionContext, warehouse: Warehouse):
    db_path, views = build.build_duckdb(warehouse.root)
    by_schema: dict[str, int] = {}
    for v in views:
        by_schema[v["schema"]] = by_schema.get(v["schema"], 0) + 1
    return dg.MaterializeResult(
        metadata={
            "views": len(views),
            "by_schema": dg.MetadataValue.json(by_schema),
            "path": dg.MetadataValue.path(str(db_path)),
        }
    )


@dg.asset_check(
    asset=export_duckdb, description="Every view counts as many rows as the Parquet files under it."
)
def duckdb_views_match_parquet_rows(warehouse: Warehouse) -> dg.AssetCheckResult:
    counts = view_row_counts(warehouse.root / CATALOG_NAME)
    mismatched = {k: {"view": a, "parquet": b} for k, (a, b) in counts.items() if a != b}
    return dg.AssetCheckResult(
        passed=not mismatched,
        metadata={"views": len(counts), "mismatched": dg.MetadataValue.json(mismatched)},
    )


EXPORTS_ASSETS = [export_xpt, export_dataset_json, export_define_xml, export_duckdb]
EXPORTS_CHECKS = [
    xpt_values_fit_v5,
    dataset_json_records_match_parquet,
    define_xml_references_resolve,
    duckdb_views_match_parquet_rows,
]
