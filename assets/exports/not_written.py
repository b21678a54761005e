"""Files a format cannot hold, and why, for the run summary, ``trialpipe export`` and define.xml.

derivations.md, "(v2) Text that an output format cannot hold": a value a format cannot hold
unchanged is a finding and a data query; that dataset's file in that format is not written until
every value fits, and the run summary and define.xml say which files are missing and why. The
findings of XPT (``qa/findings/exports.parquet``) and Dataset-JSON
(``qa/findings/dataset_json.parquet``) are the source: one :class:`NotWritten` per dataset and
format with findings.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

RULE_REASONS = {
    "xpt_ascii": "not ASCII (English translation needed)",
    "xpt_char_200": "longer than 200 bytes",
    "xpt_number_finite": "infinite",
    "xpt_number_range": "outside the IBM double range",
    "xpt_name": "name longer than 8 or not A-Z 0-9 _",
    "xpt_label_40": "label longer than 40",
    "xpt_label_ascii": "label not ASCII",
    "json_number_finite": "infinite",
}
FORMATS = {"xpt": "SAS XPORT v5", "json": "Dataset-JSON"}


@dataclass(frozen=True)
class NotWritten:
    """A dataset's file of one format (``xpt`` | ``json``) not written, and why."""

    dataset: str
    file: str  # e.g. ae.xpt
    format: str
    values: int
    reason: str  # e.g. "2 values not ASCII (English translation needed): AETERM 1, AELLT 1"
    findings_file: str

    @property
    def sentence(self) -> str:
        return (
            f"{self.file} is not written: {FORMATS[self.format]} cannot hold {self.reason}; each value is a "
            f"finding in {self.findings_file} and a data query, and the file is written once every value fits"
        )


def reason_text(findings: pd.DataFrame) -> str:
    """Per rule: the count and what it means, then the variables and their counts."""
    parts = []
    for rule, rows in findings.groupby("RULE", sort=True):
        columns = rows["COLUMN"].fillna("").replace("", "(dataset)").value_counts().sort_index()
        listed = ", ".join(f"{col} {n}" for col, n in columns.items())
        what = RULE_REASONS.get(str(rule), str(rule))
        parts.append(f"{len(rows)} value{'s' if len(rows) != 1 else ''} {what}: {listed}")
    return "; ".join(parts)


def files_not_written(
    findings: pd.DataFrame, fmt: str, findings_file: str, file_stems: dict[str, str] | None = None
) -> list[NotWritten]:
    """One :class:`NotWritten` per dataset (``FORM``) of ``findings``, in dataset order.
    ``file_stems``: dataset name -> file stem (default: the name in lower case)."""
    out: list[NotWritten] = []
    if findings.empty:
        return out
    for dataset, rows in findings.groupby("FORM", sort=True):
        stem = (file_stems or {}).get(str(dataset), str(dataset).lower())
        out.append(
            NotWritten(str(dataset), f"{stem}.{fmt}", fmt, len(rows), reason_text(rows), findings_file)
        )
    return out
