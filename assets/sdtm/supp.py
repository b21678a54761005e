"""SUPP-- datasets: values with no standard variable, linked to the parent record by --SEQ."""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
from assets.sdtm.mapping import empty_dataset, map_to_spec


def build_supp(
    parent: pd.DataFrame, values: pd.Series, rdomain: str, qnam: str, qlabel: str, qorig: str = "CRF"
) -> pd.DataFrame:
    """SUPP<rdomain> rows for the non-missing ``values`` (aligned with ``parent``'s index): IDVAR
    ``<rdomain>SEQ``, IDVARVAL its value as text, QNAM/QLABEL/QORIG as given, QEVAL empty."""
    idvar = f"{rdomain}SEQ"
    require_columns(parent, ["STUDYID", "USUBJID", idvar], f"build_supp({qnam})")
    vals = values.reindex(parent.index).astype("string")
    keep = vals.notna() & vals.str.len().gt(0)
    if not keep.any():
        return pd.DataFrame()
    rows = parent.loc[keep, ["STUDYID", "USUBJID", idvar]].copy()
    work = pd.DataFrame(
        {
            "STUDYID": rows["STUDYID"],
            "RDOMAIN": rdomain,
            "USUBJID": rows["USUBJID"],
            "IDVAR": idvar,
            "IDVARVAL": rows[idvar].astype("Int64").astype("string"),
            "QNAM": qnam,
            "QLABEL": qlabel,
            "QVAL": vals[keep],
            "QORIG": qorig,
            "QEVAL": pd.NA,
        }
    )
    return work


def combine_supp(parts: list[pd.DataFrame], dataset: str) -> pd.DataFrame:
    """Concatenate SUPP rows of several QNAMs and conform them to the spec."""
    parts = [p for p in parts if not p.empty]
    if not parts:
        return empty_dataset(dataset)
    work = pd.concat(parts, ignore_index=True)
    # IDVARVAL sorts as text; the numeric --SEQ keeps the order natural for a reader.
    work["_SEQN"] = pd.to_numeric(work["IDVARVAL"], errors="coerce")
    work = work.sort_values(["USUBJID", "_SEQN", "QNAM"], kind="stable")
    return map_to_spec(work, dataset).reset_index(drop=True)
