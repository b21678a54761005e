"""The ``gx_results`` table: one row per expectation result and dataset, and the failures of it.

No GX import: a GX result (``ExpectationValidationResult``) is read by its attributes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from assets.qa.gx.plan import TableToValidate, column_label

RESULT_COLUMNS = [
    "STANDARD",
    "DATASET",
    "RULE",
    "EXPECTATION",
    "COLUMN",
    "CONDITION",
    "STRUCTURAL",
    "SUCCESS",
    "ROWS_IN_TABLE",
    "ROWS_VALIDATED",
    "SAMPLED",
    "UNEXPECTED_COUNT",
    "UNEXPECTED_PERCENT",
    "UNEXPECTED_SAMPLE",
]
RESULT_SORT = ["STANDARD", "DATASET", "RULE", "COLUMN", "CONDITION", "EXPECTATION"]


def result_row(table: TableToValidate, r: Any) -> dict[str, Any]:
    """One GX expectation result on a dataset's own table -> one ``gx_results`` row."""
    cfg = r.expectation_config
    kw = cfg.kwargs
    res = r.result or {}
    index_rows = res.get("partial_unexpected_index_list") or []
    if index_rows and isinstance(index_rows[0], dict) and "VARIABLE" in index_rows[0]:
        sample = [str(v["VARIABLE"]) for v in index_rows[:10]]  # profile: name the variables
    else:
        sample = [str(v) for v in (res.get("partial_unexpected_list") or [])[:10]]
    if not sample and not r.success and res.get("observed_value") is not None:
        sample = [str(res["observed_value"])]
    if not sample and not r.success and res.get("details"):
        sample = [str(res["details"].get("mismatched", res["details"]))]
    condition = kw.get("row_condition") or ""
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter", str(condition))
    return {
        "STANDARD": table.standard.upper(),
        "DATASET": table.dataset.upper(),
        "RULE": cfg.meta.get("rule", ""),
        "EXPECTATION": cfg.type,
        "COLUMN": column_label(kw),
        "CONDITION": str(condition),
        "STRUCTURAL": bool(cfg.meta.get("structural", False)),
        "SUCCESS": bool(r.success) and not (r.exception_info or {}).get("raised_exception", False),
        "ROWS_IN_TABLE": table.rows_in_table,
        "ROWS_VALIDATED": len(table.frame),
        "SAMPLED": table.sampled,
        "UNEXPECTED_COUNT": res.get("unexpected_count"),
        "UNEXPECTED_PERCENT": res.get("unexpected_percent"),
        "UNEXPECTED_SAMPLE": "; ".join(sample),
    }


def results_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Result rows as the ``gx_results`` table: its columns and types, sorted by :data:`RESULT_SORT`."""
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    text = ["STANDARD", "DATASET", "RULE", "EXPECTATION", "COLUMN", "CONDITION", "UNEXPECTED_SAMPLE"]
    out[text] = out[text].astype("string")
    for col in ("STRUCTURAL", "SUCCESS", "SAMPLED"):
        out[col] = out[col].astype(bool)
    for col in ("ROWS_IN_TABLE", "ROWS_VALIDATED", "UNEXPECTED_COUNT"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    out["UNEXPECTED_PERCENT"] = pd.to_numeric(out["UNEXPECTED_PERCENT"], errors="coerce").astype("Float64")
    return out.sort_values(RESULT_SORT, kind="stable").reset_index(drop=True)


def failed_expectations(results: pd.DataFrame, structural: bool | None = None) -> pd.DataFrame:
    """The failed results: all of them, or only the structural (``True``) or the other ones (``False``)."""
    if results.empty:
        return results
    failed = ~results["SUCCESS"]
    if structural is not None:
        failed = failed & (results["STRUCTURAL"] if structural else ~results["STRUCTURAL"])
    return results[failed]
