"""The one column check: every derivation's first line names the columns it needs."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def require_columns(df: pd.DataFrame, columns: Iterable[str], who: str) -> None:
    """Raise ``KeyError`` naming ``who`` and the columns it needs that ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{who}: columns missing: {missing}")
