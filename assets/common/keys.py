"""Every asset key of the graph, in one place, written one way.

An asset's ``deps`` name keys from here, never asset objects of another layer (which would make
that layer an import) nor bare strings. The SDTM and ADaM table keys come from the study's
dataset lists (``study/sdtm_datasets.csv``, ``study/adam_datasets.csv``), so a dataset added
there is a key here, and every layer that depends on "all tables" picks it up.
"""

from __future__ import annotations

import dagster as dg

import study

# ingest
SITE_INGEST = dg.AssetKey("site_ingest")
IWRS_INGEST = dg.AssetKey("iwrs_ingest")
INGEST_FINDINGS = dg.AssetKey("ingest_findings")

# sdtm (beside the domain tables)
ELIGIBILITY = dg.AssetKey("eligibility")
SLEDAI_FINDINGS = dg.AssetKey("sledai_findings")
CONSISTENCY_FINDINGS = dg.AssetKey("consistency_findings")

# adam (beside the analysis datasets)
ADAM_STATS = dg.AssetKey("adam_stats")

# qa
QA_QUERIES = dg.AssetKey("qa_queries")
QA_EXPORT_STATUS = dg.AssetKey("qa_export_status")
QA_SITE_LISTINGS = dg.AssetKey("qa_site_listings")
QA_GX_VALIDATION = dg.AssetKey("qa_gx_validation")
QA_REPORT = dg.AssetKey("qa_report")

# exports
EXPORT_XPT = dg.AssetKey("export_xpt")
EXPORT_DATASET_JSON = dg.AssetKey("export_dataset_json")
EXPORT_DEFINE_XML = dg.AssetKey("export_define_xml")
EXPORT_DUCKDB = dg.AssetKey("export_duckdb")


def sdtm(dataset: str) -> dg.AssetKey:
    """``sdtm_<dataset>``: the asset that writes ``sdtm/<dataset>.parquet``."""
    return dg.AssetKey(f"sdtm_{dataset.lower()}")


def adam(dataset: str) -> dg.AssetKey:
    """``adam_<dataset>``: the asset that writes ``adam/<dataset>.parquet``."""
    return dg.AssetKey(f"adam_{dataset.lower()}")


SDTM_DATASETS = tuple(study.table("sdtm_datasets")["DATASET"])
ADAM_DATASETS = tuple(study.table("adam_datasets")["DATASET"])
SDTM_TABLES = [sdtm(d) for d in SDTM_DATASETS]
ADAM_TABLES = [adam(d) for d in ADAM_DATASETS]

QA_ASSETS = [QA_QUERIES, QA_EXPORT_STATUS, QA_SITE_LISTINGS, QA_GX_VALIDATION, QA_REPORT]

FINDING_PRODUCERS = {
    "ingest": INGEST_FINDINGS,
    "eligibility": ELIGIBILITY,
    "sledai": SLEDAI_FINDINGS,
    "visits": sdtm("SV"),
    "consistency": CONSISTENCY_FINDINGS,
    "exports": EXPORT_XPT,
    "dataset_json": EXPORT_DATASET_JSON,
}
"""``qa/findings/<name>.parquet`` -> the asset that writes it; ``qa_queries`` depends on all."""

EXPORTED_TABLES = [*SDTM_TABLES, ELIGIBILITY, SLEDAI_FINDINGS, *ADAM_TABLES, ADAM_STATS]
"""What the submission formats are built from: every SDTM and ADaM table and the derived tables."""
