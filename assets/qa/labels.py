"""Column labels of the QA tables, from ``study/qa_variables.csv`` (DATASET, VARIABLE, LABEL).

As the SDTM and ADaM labels come from the spec in ``study/``, the QA tables' labels are study
metadata too; they go into the Parquet field metadata and the Dagster column schema.
"""

from __future__ import annotations

from functools import cache

import study

QUARANTINE = "QUARANTINE"
QUERIES = "QUERIES"
EXPORT_STATUS = "EXPORT_STATUS"
"""The QA tables with labels: ``qa/quarantine.parquet``, ``qa/queries.parquet``, ``qa/export_status.parquet``."""


@cache
def _labels_by_dataset() -> dict[str, dict[str, str]]:
    table = study.table("qa_variables")
    by_dataset: dict[str, dict[str, str]] = {}
    for dataset, variable, label in table[["DATASET", "VARIABLE", "LABEL"]].itertuples(index=False):
        by_dataset.setdefault(dataset, {})[variable] = label
    return by_dataset


def labels(dataset: str) -> dict[str, str]:
    """Variable -> label of one QA table, in the order of the file (a fresh dict)."""
    by_dataset = _labels_by_dataset()
    if dataset not in by_dataset:
        raise KeyError(f"{dataset} is not in study/qa_variables.csv")
    return dict(by_dataset[dataset])
