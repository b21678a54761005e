"""ADAE: adverse events with analysis dates and the treatment-emergent flag (OCCDS).

``TRTEMFL = Y`` when the onset (``ASTDT``) is on or after the first dose (``TRTSDT``) and no later
than 28 days after the last dose (``TRTEDT + 28``; study/protocol_limits.csv). Partial onset dates
are imputed the ADaM way (ADaMIG 1.3 imputation flags): the earliest date the partial date allows,
but the first dose date when the partial period contains it (so an event "March 2026" in the month
of the first dose is not pushed before it); ``ASTDTF`` ``D`` (day imputed) or ``M`` (month and day).
Partial end dates take the latest date the period allows (``AENDTF``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.common import ADSL_CORE_VARS, derive_var_ady, merge_adsl, treatment_vars
from assets.common.columns import require_columns
from assets.common.dates import iso_bounds

ADSL_VARS = [*ADSL_CORE_VARS, "TRTSDT", "TRTEDT"]


def _imputation_flag(iso: pd.Series) -> pd.Series:
    n = iso.astype("string").str.slice(0, 10).str.len()
    return (
        pd.Series(np.select([n.eq(7).fillna(False), n.eq(4).fillna(False)], ["D", "M"], ""), index=iso.index)
        .replace("", pd.NA)
        .astype("string")
    )


def derive_vars_astdt(adae: pd.DataFrame) -> pd.DataFrame:
    """``ASTDT``/``ASTDTF`` from ``AESTDTC`` (imputation above), ``AENDT``/``AENDTF`` from ``AEENDTC``."""
    require_columns(adae, ["AESTDTC", "AEENDTC", "TRTSDT"], "derive_vars_astdt")
    out = adae.copy(deep=False)
    start = iso_bounds(out["AESTDTC"].astype("string"))
    contains_first_dose = (start["lo"] <= out["TRTSDT"]) & (out["TRTSDT"] <= start["hi"])
    out["ASTDT"] = start["lo"].mask(contains_first_dose.fillna(False), out["TRTSDT"])
    out["ASTDTF"] = _imputation_flag(out["AESTDTC"])
    out["AENDT"] = iso_bounds(out["AEENDTC"].astype("string"))["hi"]
    out["AENDTF"] = _imputation_flag(out["AEENDTC"])
    return out


def derive_var_trtemfl(adae: pd.DataFrame) -> pd.DataFrame:
    """``TRTEMFL = Y`` when ``TRTSDT <= ASTDT <= TRTEDT + 28 days``, else missing (ADaM convention)."""
    require_columns(adae, ["ASTDT", "TRTSDT", "TRTEDT"], "derive_var_trtemfl")
    out = adae.copy(deep=False)
    window = pd.Timedelta(days=int(study.protocol_limits()["TEAE_DAYS_AFTER_LAST_DOSE"]))
    emergent = (out["ASTDT"] >= out["TRTSDT"]) & (out["ASTDT"] <= out["TRTEDT"] + window)
    out["TRTEMFL"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(emergent.fillna(False), "Y")
    return out


def derive_adae(ae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADAE before spec conformance."""
    require_columns(
        ae, ["USUBJID", "AETERM", "AEDECOD", "AESTDTC", "AEENDTC", "AESEV", "AESER", "AEREL"], "derive_adae"
    )
    cols = [
        c
        for c in ("USUBJID", "AESEQ", "AETERM", "AEDECOD", "AESTDTC", "AEENDTC", "AESEV", "AESER", "AEREL")
        if c in ae.columns
    ]
    out = ae[cols].copy()
    if "AESEQ" not in out.columns:
        out["AESEQ"] = np.nan
    out = merge_adsl(out, adsl, ADSL_VARS)
    out = derive_vars_astdt(out)
    out = derive_var_ady(out, date="ASTDT", target="ASTDY")
    out = derive_var_ady(out, date="AENDT", target="AENDY")
    out = derive_var_trtemfl(out)
    out["ASEV"] = out["AESEV"]
    out["AREL"] = out["AEREL"]
    return treatment_vars(out)
