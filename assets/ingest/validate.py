"""Run the raw-form schemas' checks and split a form into valid rows and quarantine.

site-export.md (Bad input): a row with a value that breaks its schema is kept in quarantine with
file, line, column, rule and value; duplicate RECIDs quarantine every copy. Nothing is dropped:
rows in = rows passed + rows quarantined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from assets.common.findings import CONTEXT_COLUMNS, derive_vars_finding_context, finding_context_columns
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
    *CONTEXT_COLUMNS,  # VISIT, DATE, TESTCD, UNIT of the row as delivered (issue 17)
]

_PANDERA_RULES = {"not_nullable": "required", "field_uniqueness": "unique_recid"}


def empty_quarantine() -> pd.DataFrame:
    """A quarantine without rows (text columns, SRC_LINE a nullable integer); built from empty
    arrays of the final types: one is made per source ingested (the default of its result)."""
    return pd.DataFrame(
        {c: pd.array([], dtype="Int64" if c == "SRC_LINE" else "string") for c in QUARANTINE_COLUMNS}
    )


def _column_and_rule(column: str, check: str) -> tuple[str, str]:
    """Where a pandera failure is reported: (form column, rule name).

    Frame-level rules are named "<COLUMN>:<rule>" (pandera names the schema as their column);
    date flags (<COLUMN>__FORM_OK) report on <COLUMN>; pandera's own checks get our rule names."""
    named, cross, rule = check.partition(":")
    if not cross:
        named, rule = column, check
    return named.split("__", 1)[0], _PANDERA_RULES.get(rule, rule)


def _failing_rows(check: pa.Check, obj: pd.Series | pd.DataFrame) -> pd.Index:
    """Index labels of the rows ``check`` fails, as pandera's lazy validation reports them.

    pandera's check backend prepares the object (missing values dropped for a column) and runs the
    check; its post-processing is left out: it collects the failing values (for a frame-level rule a
    filter of the whole wide frame) and tests every row of the frame for all-missing values, where
    only the failing rows need that test (a row of missing values passes a frame-level rule). A
    check that cannot run (a column missing), gives no row-wise verdict, or a missing verdict for a
    row it does not pass (pandera's report cannot turn that into rows) names no row."""
    backend = check.get_backend(obj)(check)
    try:
        checked = backend.preprocess(obj, None)
        out = backend.apply(checked)
    except Exception:  # pandera's lazy report makes this a failure that names no row
        return pd.Index([])
    if not isinstance(out, pd.Series) or not out.index.equals(checked.index):
        return pd.Index([])
    at = np.flatnonzero(~out.fillna(False).astype(bool).to_numpy())  # failed, or no verdict
    if check.ignore_na and isinstance(checked, pd.DataFrame) and len(at):
        at = at[~checked.iloc[at].isna().all(axis="columns").to_numpy()]
    if out.iloc[at].isna().any():
        return pd.Index([])
    return out.index[at]


def failures_of(df: pd.DataFrame, form: str) -> pd.DataFrame:
    """Every (row index, column, rule) that breaks the form's schema; empty when all pass.

    The schema's checks are run one by one through pandera's ``Check`` API: the failures of
    ``schema.validate(df, lazy=True)`` without building its error report, which lists every
    non-null cell of a row failing a frame-level rule (most of the validation time). Failures that
    name no row (a column missing, a wrong dtype) are not quarantine rows and are not collected."""
    schema = raw_form_schema(form)
    found = []  # (row labels, pandera column, pandera check name)
    for name, column in schema.columns.items():
        if name not in df.columns:
            continue
        values = df[name]
        if not column.nullable:
            found.append((values.index[values.isna().to_numpy()], name, "not_nullable"))
        found += [(_failing_rows(check, values), name, check.name) for check in column.checks]
    found += [(_failing_rows(check, df), schema.name, check.name) for check in schema.checks]
    found = [(rows, name, check) for rows, name, check in found if len(rows)]
    if not found:
        return pd.DataFrame(columns=["index", "COLUMN", "RULE"])
    named = [_column_and_rule(name, check) for _, name, check in found]
    if form == "RAND":
        named = [(c, "unique_randno" if r == "unique_recid" else r) for c, r in named]
    # Rank the distinct (column, rule) names so integer codes sort like the names.
    distinct = sorted(set(named))
    position = {n: i for i, n in enumerate(distinct)}
    key = pd.DataFrame(
        {
            "index": np.concatenate([rows.to_numpy(dtype=np.int64) for rows, _, _ in found]),
            "rank": np.repeat([position[n] for n in named], [len(rows) for rows, _, _ in found]),
        }
    )
    key = key.drop_duplicates().sort_values(["index", "rank"])
    names = pd.DataFrame(distinct, columns=["COLUMN", "RULE"], dtype="str")
    return pd.DataFrame(
        {
            "index": key["index"].to_numpy(),
            "COLUMN": names["COLUMN"].to_numpy()[key["rank"].to_numpy()],
            "RULE": names["RULE"].to_numpy()[key["rank"].to_numpy()],
        }
    )


def split_valid_and_quarantine(
    df: pd.DataFrame, form: str, source: str | pd.Series, drop: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows passing every rule, one quarantine row per failed rule of the other rows).

    ``source`` names the site (or IWRS) of every row: one value, or a Series aligned with ``df``.
    ``drop`` names columns left out of the valid rows (dropped before the rows are filtered, so
    they are not copied for nothing)."""
    df = df.reset_index(drop=True)
    failures = failures_of(df, form)
    valid = df.drop(columns=drop) if drop else df
    if failures.empty:
        return valid, empty_quarantine()
    bad_idx = failures["index"].to_numpy()
    record_key = "RECID" if "RECID" in df.columns else "RANDNO"
    rows = df[["SRC_EXPORT", "SRC_FILE", "SRC_LINE", record_key, "SUBJID"]].take(bad_idx)
    # The value as sent of each failure: one take per failing column (raw columns are text).
    values = pd.Series(pd.NA, index=failures.index, dtype="string")
    for column, at in failures.groupby("COLUMN", sort=False).indices.items():
        if column in df.columns:
            values.iloc[at] = df[column].take(bad_idx[at]).astype("string").to_numpy()
    quarantine = pd.DataFrame(
        {
            "SOURCE": source.to_numpy()[bad_idx] if isinstance(source, pd.Series) else source,
            "SRC_EXPORT": rows["SRC_EXPORT"].to_numpy(),
            "SRC_FILE": rows["SRC_FILE"].to_numpy(),
            "SRC_LINE": rows["SRC_LINE"].to_numpy(),
            "FORM": form,
            "RECID": rows[record_key].to_numpy(),
            "SUBJID": rows["SUBJID"].to_numpy(),
            "COLUMN": failures["COLUMN"].to_numpy(),
            "RULE": failures["RULE"].to_numpy(),
            "VALUE": values.to_numpy(),
            "MESSAGE": failures["RULE"].map(RULE_MESSAGES).fillna(failures["RULE"]).to_numpy(),
            **{
                name: column.to_numpy()
                for name, column in derive_vars_finding_context(
                    df[[c for c in finding_context_columns(form).values() if c in df.columns]].take(bad_idx),
                    form,
                ).items()
            },
        }
    ).astype({c: "string" for c in QUARANTINE_COLUMNS if c != "SRC_LINE"})
    quarantine["SRC_LINE"] = quarantine["SRC_LINE"].astype("Int64")
    keep = np.ones(len(df), dtype=bool)
    keep[bad_idx] = False
    return valid[keep].reset_index(drop=True), quarantine
