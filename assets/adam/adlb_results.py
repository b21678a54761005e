"""ADLB analysis values of censored lab results (``<10``, ``>2000``), and the bounds of the true value
that the range indicator and the toxicity grades are decided on.

Rule (this study's ADaM spec, study/adam_variables.csv ``AVAL``/``DTYPE``): SDTM LB gives a result
reported against a limit of quantitation as text (``LBSTRESC = "<10"``, ``LBSTRESN`` missing). ADLB
keeps that text in ``AVALC`` and sets

- ``<x`` or ``<=x``: ``AVAL = x / 2``, ``DTYPE = "HALFLLOQ"`` (half the lower limit of quantitation);
- ``>x`` or ``>=x``: ``AVAL = x``, ``DTYPE = "ULOQ"`` (the upper limit of quantitation);

so that baseline, change and summaries keep the record, and ``DTYPE`` says the value is imputed
(ADaMIG 1.3: ``DTYPE`` is populated when ``AVAL`` is imputed). Half the limit lies below what the
laboratory reports as a number, so ``AVAL`` and ``AVALC`` stay one to one within a parameter
(where the laboratories of a parameter share one limit).

Whatever ``AVAL`` holds, what is known of the true value is an interval: ``[0, x)`` for ``<x`` (lab
results are never negative), ``(x, inf)`` for ``>x``, ``[v, v]`` for a reported number ``v``.
``ANRIND`` and the CTCAE grades are decided on that interval, so that they say only what the
result says: ``<10`` with the range 0-30 is ``NORMAL``, with the range 15-30 ``LOW``, and with the
range 5-30 undecided (missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.common.columns import require_columns

CENSORED = r"^\s*(?P<op><=|>=|<|>)\s*(?P<limit>\d+(?:\.\d+)?)\s*$"
DTYPE_BELOW = "HALFLLOQ"
DTYPE_ABOVE = "ULOQ"


def _censored(avalc: pd.Series) -> pd.DataFrame:
    """Per value: the operator and limit of a censored result text, missing for anything else.

    Only texts starting with ``<`` or ``>`` are parsed, once per distinct text (a few among 10^5)."""
    text = avalc.astype("string")
    parts = pd.DataFrame({"op": pd.Series(pd.NA, index=avalc.index, dtype="string"), "limit": np.nan})
    candidate = text.str.lstrip().str[:1].isin(["<", ">"]).fillna(False).to_numpy(bool)
    if candidate.any():
        distinct = pd.Series(text[candidate].unique()).dropna()
        found = distinct.str.extract(CENSORED).set_index(distinct)
        parts.loc[candidate, "op"] = text[candidate].map(found["op"]).astype("string")
        parts.loc[candidate, "limit"] = pd.to_numeric(text[candidate].map(found["limit"]), errors="coerce")
    return parts


def derive_vars_aval_censored(adlb: pd.DataFrame) -> pd.DataFrame:
    """``AVAL``/``DTYPE`` of censored results: where ``AVAL`` is missing and ``AVALC`` is ``<x``/``<=x``,
    ``AVAL = x / 2`` and ``DTYPE = HALFLLOQ``; ``>x``/``>=x``: ``AVAL = x`` and ``DTYPE = ULOQ``.
    ``DTYPE`` is missing on every other record, whose ``AVAL`` is unchanged."""
    require_columns(adlb, ["AVAL", "AVALC"], "derive_vars_aval_censored")
    out = adlb.copy(deep=False)
    parts = _censored(out["AVALC"])
    aval = pd.to_numeric(out["AVAL"], errors="coerce").astype("Float64")
    missing = aval.isna()
    below = missing & parts["op"].isin(["<", "<="]).fillna(False) & parts["limit"].notna()
    above = missing & parts["op"].isin([">", ">="]).fillna(False) & parts["limit"].notna()
    limit = parts["limit"].astype("Float64")
    out["AVAL"] = aval.mask(below, limit / 2).mask(above, limit)
    dtype = pd.Series(pd.NA, index=out.index, dtype="string")
    out["DTYPE"] = dtype.mask(below, DTYPE_BELOW).mask(above, DTYPE_ABOVE)
    return out


def result_bounds(aval: pd.Series, avalc: pd.Series) -> pd.DataFrame:
    """``LO``, ``LO_OPEN``, ``HI``, ``HI_OPEN`` of the true value: from a censored ``AVALC`` when it
    is one (``<x`` -> ``[0, x)``, ``<=x`` -> ``[0, x]``, ``>x`` -> ``(x, inf)``, ``>=x`` -> ``[x, inf)``),
    else ``[AVAL, AVAL]``; ``LO``/``HI`` missing (NaN) without either."""
    parts = _censored(avalc)
    value = pd.to_numeric(aval, errors="coerce").astype(float).to_numpy()
    op = parts["op"].fillna("").to_numpy(dtype=object)
    limit = parts["limit"].astype(float).to_numpy()
    censored = ~np.isnan(limit)
    below = censored & np.isin(op, ["<", "<="])
    above = censored & np.isin(op, [">", ">="])
    lo = np.where(below, 0.0, np.where(above, limit, value))
    hi = np.where(below, limit, np.where(above, np.inf, value))
    return pd.DataFrame(
        {"LO": lo, "LO_OPEN": above & (op == ">"), "HI": hi, "HI_OPEN": below & (op == "<")},
        index=aval.index,
    )
