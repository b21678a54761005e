"""Materialization metadata every table asset reports (row count, column schema with the CDISC
labels, a small preview), so the Dagster UI shows what a table holds without opening it.

The Dagster instance is inside the blinding boundary (derivations.md, (v2) Blinding covers the
Dagster instance): an unblinded run shares its instance with blinded runs, so what an unblinded
run reports holds nothing subject-level or arm-level. ``table_metadata(..., unblinded=True)`` gives
the row count and the column schema without a preview, and :func:`subject_level` replaces any other
subject-level or arm-level value with a note.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

NOT_RECORDED_UNBLINDED = "not recorded: unblinded run (the Dagster instance is inside the blinding boundary)"


def markdown_preview(df: pd.DataFrame, rows: int = 5, max_cols: int = 10) -> str:
    """A small markdown table (pipes and newlines in values neutralized)."""
    if df.empty:
        return "_no rows_"
    head = df.iloc[:rows, :max_cols].astype(object).where(df.iloc[:rows, :max_cols].notna(), "")

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ").replace("\r", " ")[:60]

    lines = ["| " + " | ".join(map(cell, head.columns)) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False)]
    return "\n".join(lines)


def count_values(values: pd.Series) -> dict[str, int]:
    """Rows per value, in value order, as JSON metadata takes it (text keys, int counts)."""
    return {str(value): int(n) for value, n in values.value_counts().sort_index().items()}


def subject_level(value: dg.MetadataValue | str | int | float | bool, unblinded: bool):
    """``value`` (subject rows, subject ids, arm-level results) in a blinded run; a note in an unblinded one."""
    return dg.MetadataValue.text(NOT_RECORDED_UNBLINDED) if unblinded else value


def table_metadata(
    df: pd.DataFrame,
    labels: dict[str, str] | None = None,
    preview_rows: int = 5,
    *,
    unblinded: bool = False,
) -> dict:
    """Row count, column schema with labels, and a preview, for materialization metadata.

    ``unblinded``: the run is unblinded, so the preview is a note instead of rows (they are
    subject-level and may hold the arm); the row count and the column names, types and labels hold
    no data and stay.
    """
    labels = labels or {}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name=str(c), type=str(df[c].dtype), description=labels.get(c)) for c in df.columns
        ]
    )
    preview = (
        dg.MetadataValue.text(NOT_RECORDED_UNBLINDED)
        if unblinded
        else dg.MetadataValue.md(markdown_preview(df, preview_rows))
    )
    return {"dagster/row_count": len(df), "dagster/column_schema": schema, "preview": preview}
