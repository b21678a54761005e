"""Translation queries point at the site's record, not at a row of an output file.

derivations.md, "(v2) Text that an output format cannot hold": a value XPORT v5 cannot hold is a QA
finding per dataset (``qa/findings/exports.parquet``: the dataset, its row, the variable) and a data
query asking the site for an English translation. The site answers on its form, so the query names
the delivered record that holds the value: the form with that column, the subject, RECID and the
export file and line (issue 17, item 5). The same record seen in several datasets (AETERM in SDTM AE
and in ADAE) is then one query, whose ``N_FINDINGS`` counts the datasets' findings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.findings import derive_vars_finding_context, finding_context_columns
from assets.ingest.store import read_form

TRANSLATION_RULE = "xpt_ascii"
"""The exports' rule for a value that is not ASCII (assets/exports/xpt.py)."""
SOURCE_COLUMNS = ["SITEID", "SUBJID", "RECID", "SRC_EXPORT", "SRC_FILE", "SRC_LINE"]


def forms_with_text_column(column: str) -> list[str]:
    """The site forms that deliver ``column`` (study/forms.csv), in the table's order."""
    forms = study.table("forms")
    return forms.loc[forms["COLUMN"] == column, "FORM"].drop_duplicates().tolist()


def derive_vars_translation_source(findings: pd.DataFrame, forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each translation finding (``RULE = xpt_ascii``) of a value that a site form delivered is
    re-pointed at that form's record(s) of the same subject holding exactly that value: ``FORM``,
    ``RECID``, ``SRC_EXPORT``, ``SRC_FILE``, ``SRC_LINE`` and the record's ``VISIT DATE TESTCD UNIT``;
    a value several records hold gives one row per record and dataset. Other findings, and translation findings
    whose value no form delivered (a derived text), are unchanged. ``forms``: ingested forms by name."""
    require_columns(
        findings, ["RULE", "SUBJID", "COLUMN", "VALUE", "FORM", "RECID"], "derive_vars_translation_source"
    )
    is_translation = findings["RULE"].astype("string").eq(TRANSLATION_RULE).fillna(False)
    if not is_translation.any():
        return findings
    pending = findings[is_translation]
    kept = [findings[~is_translation]]
    matched_any = pd.Series(False, index=pending.index)
    for column in pending["COLUMN"].dropna().unique():
        asked = pending[pending["COLUMN"] == column]
        for form in forms_with_text_column(str(column)):
            rows = forms.get(form)
            if rows is None or rows.empty or column not in rows.columns:
                continue
            source = rows[[*SOURCE_COLUMNS, column]].rename(columns={column: "VALUE"})
            source = source.assign(
                VALUE=source["VALUE"].astype("string"), SUBJID=source["SUBJID"].astype("string")
            )
            source = pd.concat([source, derive_vars_finding_context(rows, form)], axis=1)
            left = asked.drop(
                columns=[c for c in ["SITEID", "RECID", "SRC_EXPORT", "SRC_FILE", "SRC_LINE"] if c in asked]
            )
            left = left.drop(columns=[c for c in ["VISIT", "DATE", "TESTCD", "UNIT"] if c in left])
            left = left.assign(VALUE=left["VALUE"].astype("string"), SUBJID=left["SUBJID"].astype("string"))
            hit = left.reset_index().merge(source, on=["SUBJID", "VALUE"], how="inner")
            if hit.empty:
                continue
            matched_any.loc[hit["index"].unique()] = True
            # one finding per dataset and source record, however many rows of the dataset hold the value
            hit = hit.drop_duplicates(["FORM", "SUBJID", "COLUMN", "VALUE", "RECID"])
            kept.append(hit.drop(columns="index").assign(FORM=form))
    kept.append(pending[~matched_any])
    out = pd.concat(kept, ignore_index=True)
    return out[[c for c in findings.columns if c in out.columns]]


def read_translation_sources(ingest_dir: Path, findings: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The ingested forms (only the columns needed) that could hold the translation findings' values."""
    require_columns(findings, ["RULE", "COLUMN"], "read_translation_sources")
    asked = findings.loc[findings["RULE"].astype("string").eq(TRANSLATION_RULE).fillna(False), "COLUMN"]
    wanted: dict[str, list[str]] = {}
    for column in sorted(asked.dropna().astype(str).unique()):
        for form in forms_with_text_column(column):
            wanted.setdefault(form, []).append(column)
    out = {}
    for form, columns in wanted.items():
        context = [c for c in finding_context_columns(form).values()]
        frame = read_form(ingest_dir, form)
        keep = [c for c in dict.fromkeys([*SOURCE_COLUMNS, *columns, *context]) if c in frame.columns]
        out[form] = frame[keep]
    return out
