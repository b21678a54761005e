"""SLEDAI-2K total, recomputed from the 24 items (derivations.md, SLEDAI-2K).

Total = sum of the weights of the items answered ``Y`` (weights in study/sledai_items.csv), 0-105.
If any item is missing the total is missing. The site's ``SLTOTAL`` is checked, never trusted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.common.columns import require_columns


def derive_var_sledai_total(sledai: pd.DataFrame) -> pd.DataFrame:
    """Add ``SLEDAI_TOTAL`` (Int64, missing when any item is missing) and ``SLEDAI_MISSING_ITEMS``
    (space-separated item names that are missing, empty when complete)."""
    weights = study.sledai_weights()
    require_columns(sledai, list(weights), "derive_var_sledai_total")
    items = sledai[list(weights)]
    answered_yes = (items == "Y").fillna(False).to_numpy()
    is_missing = items.isna().to_numpy() | ~items.isin(["Y", "N"]).to_numpy()
    w = np.array(list(weights.values()), dtype=np.int64)
    total = pd.Series(answered_yes @ w, index=sledai.index).astype("Int64")
    any_missing = is_missing.any(axis=1)
    out = sledai.copy()
    out["SLEDAI_TOTAL"] = total.mask(any_missing)
    names = np.array(list(weights))
    # Joined in Python for the incomplete assessments only (most are complete: "")
    missing_names = np.full(len(out), "", dtype=object)
    incomplete = np.flatnonzero(any_missing)
    missing_names[incomplete] = [" ".join(names[is_missing[row]]) for row in incomplete]
    out["SLEDAI_MISSING_ITEMS"] = pd.Series(missing_names, index=out.index, dtype="string")
    return out
