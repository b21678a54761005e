"""Materialization metadata every table asset reports (row count, column schema with the CDISC
labels, a small preview), so the Dagster UI shows what a table holds without opening it."""

from __future__ import annotations

import dagster as dg
import pandas as pd


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


def table_metadata(df: pd.DataFrame, labels: dict[str, str] | None = None, preview_rows: int = 5) -> dict:
    """Row count, column schema with labels, and a preview, for materialization metadata."""
    labels = labels or {}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name=str(c), type=str(df[c].dtype), description=labels.get(c)) for c in df.columns
        ]
    )
    return {
        "dagster/row_count": len(df),
        "dagster/column_schema": schema,
        "preview": dg.MetadataValue.md(markdown_preview(df, preview_rows)),
    }
