"""Run the raw-form schemas lazily and split a form into valid rows and quarantine.

site-export.md (Bad input): a row with a value that breaks its schema is kept in quarantine with
file, line, column, rule and value; duplicate RECIDs quarantine every copy. Nothing is dropped:
rows in = rows passed + rows quarantined.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from schemas.raw_forms import RULE_MESSAGES, raw_form_schema

QUARANTINE_COLUMNS = [
    "SOURCE",
    "SRC_EXPORT",
    "SRC_FILE",
    "SRC_LINE",
    "FORM",
    "RECID",
    "SUBJID",
    "COLUMN",
    "RULE",
    "VALUE",
    "MESSAGE",
]

_PANDERA_RULES = {"not_nullable": "required", "field_uniqueness": "unique_recid"}


def empty_quarantine() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="string") for c in QUARANTINE_COLUMNS})
    df["SRC_LINE"] = df["SRC_LINE"].astype("Int64")
    return df


def failures_of(df: pd.DataFrame, form: str) -> pd.DataFrame:
    """Every (row index, column, rule) that breaks the form's schema; empty when all pass."""
    schema = raw_form_schema(form)
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    else:
        return pd.DataFrame(columns=["index", "COLUMN", "RULE"])
    fc = fc[fc["index"].notna()].copy()
    check = fc["check"].astype(str)
    # Frame-level rules are named "<COLUMN>:<rule>" and reported once per non-null cell of the row;
    # the row and the column named in the rule are what counts.
    cross = check.str.contains(":", regex=False)
    column = fc["column"].astype(str).where(~cross, check.str.split(":", n=1).str[0])
    column = column.str.split("__", n=1).str[0]  # date flags (<COLUMN>__FORM_OK) report on <COLUMN>
    rule = check.str.split(":", n=1).str[-1].map(lambda r: _PANDERA_RULES.get(r, r))
    out = pd.DataFrame({"index": fc["index"].astype("int64"), "COLUMN": column, "RULE": rule})
    if form == "RAND":
        out.loc[out["RULE"] == "unique_recid", "RULE"] = "unique_randno"
    return out.drop_duplicates().sort_values(["index", "COLUMN", "RULE"]).reset_index(drop=True)


def split_valid_and_quarantine(
    df: pd.DataFrame, form: str, source: str | pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows passing every rule, one quarantine row per failed rule of the other rows).

    ``source`` names the site (or IWRS) of every row: one value, or a Series aligned with ``df``."""
    df = df.reset_index(drop=True)
    failures = failures_of(df, form)
    if failures.empty:
        return df, empty_quarantine()
    bad_idx = failures["index"].to_numpy()
    rows = df.loc[bad_idx]
    values = [
        None if pd.isna(v) else str(v)
        for v in (df.at[i, c] if c in df.columns else None for i, c in zip(bad_idx, failures["COLUMN"]))
    ]
    quarantine = pd.DataFrame(
        {
            "SOURCE": source.loc[bad_idx].to_numpy() if isinstance(source, pd.Series) else source,
            "SRC_EXPORT": rows["SRC_EXPORT"].to_numpy(),
            "SRC_FILE": rows["SRC_FILE"].to_numpy(),
            "SRC_LINE": rows["SRC_LINE"].to_numpy(),
            "FORM": form,
            "RECID": rows["RECID"].to_numpy() if "RECID" in rows else rows["RANDNO"].to_numpy(),
            "SUBJID": rows["SUBJID"].to_numpy(),
            "COLUMN": failures["COLUMN"].to_numpy(),
            "RULE": failures["RULE"].to_numpy(),
            "VALUE": values,
            "MESSAGE": failures["RULE"].map(lambda r: RULE_MESSAGES.get(r, r)).to_numpy(),
        }
    ).astype({c: "string" for c in QUARANTINE_COLUMNS if c != "SRC_LINE"})
    quarantine["SRC_LINE"] = quarantine["SRC_LINE"].astype("Int64")
    valid = df.drop(index=pd.unique(bad_idx)).reset_index(drop=True)
    return valid, quarantine
