"""ADAE: adverse events with analysis dates and the treatment-emergent flag (OCCDS).

``TRTEMFL = Y`` when the onset (``ASTDT``) is on or after the first dose (``TRTSDT``) and no later
than 28 days after the last dose (``TRTEDT + 28``; study/protocol_limits.csv). Partial onset dates
are imputed the ADaM way (ADaMIG 1.3 imputation flags): the earliest date the partial date allows,
but the first dose date when the partial period contains it (so an event "March 2026" in the month
of the first dose is not pushed before it); ``ASTDTF`` ``D`` (day imputed) or ``M`` (month and day).
Partial end dates take the latest date the period allows (``AENDTF``).

From SDTM AE ADAE carries the MedDRA hierarchy of contract v2 (site-export.md: ``AELLT AELLTCD
AEDECOD AEPTCD AEHLT AEHLTCD AEHLGT AEHLGTCD AEBODSYS AEBDSYCD AESOC AESOCCD``, as delivered by the
coding team, empty while not coded), the seriousness criteria ``AESDTH AESLIFE AESHOSP AESDISAB
AESCONG AESMIE``, ``AEACN AEOUT`` and ``AESTDTC AEENDTC``; from ADSL the covariates ``TRT01A AGE SEX
RACE SAFFL``. Derived the admiral way (OCCDS template): ``ASEVN``, ``ADURN``/``ADURU`` and the
first-occurrence flags ``AOCCIFL AOCCPFL AOCCSIFL`` among treatment-emergent events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.common import (
    ADSL_CORE_VARS,
    derive_var_ady,
    derive_var_extreme_flag,
    merge_adsl,
    treatment_vars,
)
from assets.common.columns import require_columns
from assets.common.dates import iso_bounds

ADSL_VARS = [*ADSL_CORE_VARS, "AGE", "SEX", "RACE", "TRTSDT", "TRTEDT"]
"""ADSL variables ADAE carries: identifiers, treatment, ``SAFFL``, the covariates and dose dates."""
MEDDRA = ["AELLT", "AELLTCD", "AEDECOD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD"]
MEDDRA += ["AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD"]
"""The MedDRA coding of contract v2 (site-export.md, AE), SDTMIG 3.4 AE names."""
SERIOUSNESS = ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]
"""The seriousness criteria of contract v2, each ``Y``/``N``."""
AE_CARRIED = ["USUBJID", "AESEQ", "AETERM", *MEDDRA, "AESTDTC", "AEENDTC", "AESEV", "AESER", *SERIOUSNESS]
AE_CARRIED += ["AEREL", "AEACN", "AEOUT"]
"""SDTM AE variables ADAE copies (Predecessor)."""
DURATION_UNIT = "DAYS"
"""``ADURU``: the CDISC Unit submission value (C71620 ``DAYS``; admiral writes ``days``)."""


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


def derive_var_asevn(adae: pd.DataFrame) -> pd.DataFrame:
    """``ASEVN``: the rank of ``ASEV`` in the study's ``AESEV`` value set (study/valuesets.csv:
    ``MILD`` 1, ``MODERATE`` 2, ``SEVERE`` 3), as admiral's OCCDS template numbers ``ASEV`` by its
    levels; a missing or other value: missing."""
    require_columns(adae, ["ASEV"], "derive_var_asevn")
    rank = {v: i for i, v in enumerate(study.valueset("AESEV"), start=1)}
    out = adae.copy(deep=False)
    out["ASEVN"] = out["ASEV"].map(rank).astype("Int64")
    return out


def derive_vars_duration(adae: pd.DataFrame) -> pd.DataFrame:
    """``ADURN = AENDT - ASTDT + 1`` days, ``ADURU = DAYS`` (admiral ``derive_vars_duration`` with
    ``add_one = TRUE`` on the imputed analysis dates, as its ADAE template). Missing when either date
    is missing (an ongoing event) or when the end lies before the start (a data query, derivations.md
    AE dates: no duration can be stated); ``ADURU`` only where ``ADURN`` is present."""
    require_columns(adae, ["ASTDT", "AENDT"], "derive_vars_duration")
    out = adae.copy(deep=False)
    days = (pd.to_datetime(out["AENDT"]) - pd.to_datetime(out["ASTDT"])).dt.days + 1
    out["ADURN"] = days.where(days >= 1).astype("Int64")
    out["ADURU"] = pd.Series(DURATION_UNIT, index=out.index, dtype="string").where(out["ADURN"].notna())
    return out


def _emergent(adae: pd.DataFrame) -> pd.Series:
    return adae["TRTEMFL"].eq("Y").fillna(False).astype(bool)


def derive_var_aoccifl(adae: pd.DataFrame) -> pd.DataFrame:
    """``AOCCIFL`` (1st Max Sev./Int. Occurrence Flag): ``Y`` on one treatment-emergent event per
    subject, the first after sorting by ``ASEVN`` descending, ``ASTDT``, ``AESEQ`` (admiral OCCDS
    template: ``restrict_derivation(derive_var_extreme_flag, by_vars = USUBJID, order =
    desc(ASEVN), ASTDT, AESEQ, mode = "first", filter = TRTEMFL == "Y")``); missing otherwise."""
    require_columns(adae, ["USUBJID", "ASEVN", "ASTDT", "AESEQ", "TRTEMFL"], "derive_var_aoccifl")
    return derive_var_extreme_flag(
        adae, ["USUBJID"], [("ASEVN", False), ("ASTDT", True), ("AESEQ", True)], "AOCCIFL", _emergent(adae)
    )


def derive_var_aoccpfl(adae: pd.DataFrame) -> pd.DataFrame:
    """``AOCCPFL`` (1st Occurrence of Preferred Term Flag): ``Y`` on the first treatment-emergent event
    of each subject, ``AEBODSYS`` and ``AEDECOD`` by ``ASTDT``, ``AESEQ`` (admiral OCCDS template:
    ``by_vars = USUBJID, AEBODSYS, AEDECOD``, ``order = ASTDT, AESEQ``, ``mode = "first"``,
    ``filter = TRTEMFL == "Y"``). A missing term forms its own group, as in admiral (dplyr): the
    events not yet coded count once per subject."""
    require_columns(
        adae, ["USUBJID", "AEBODSYS", "AEDECOD", "ASTDT", "AESEQ", "TRTEMFL"], "derive_var_aoccpfl"
    )
    return derive_var_extreme_flag(
        adae,
        ["USUBJID", "AEBODSYS", "AEDECOD"],
        [("ASTDT", True), ("AESEQ", True)],
        "AOCCPFL",
        _emergent(adae),
    )


def derive_var_aoccsifl(adae: pd.DataFrame) -> pd.DataFrame:
    """``AOCCSIFL`` (1st Max Sev./Int. Occur Within SOC Flag): ``Y`` on one treatment-emergent event
    per subject and ``AEBODSYS`` (the primary SOC), the first by ``ASEVN`` descending, ``ASTDT``,
    ``AESEQ`` (admiral OCCDS: ``by_vars = USUBJID, AEBODSYS``, ``order = desc(ASEVN), ASTDT, AESEQ``,
    ``mode = "first"``, ``filter = TRTEMFL == "Y"``)."""
    require_columns(
        adae, ["USUBJID", "AEBODSYS", "ASEVN", "ASTDT", "AESEQ", "TRTEMFL"], "derive_var_aoccsifl"
    )
    return derive_var_extreme_flag(
        adae,
        ["USUBJID", "AEBODSYS"],
        [("ASEVN", False), ("ASTDT", True), ("AESEQ", True)],
        "AOCCSIFL",
        _emergent(adae),
    )


def derive_adae(ae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADAE before spec conformance: SDTM AE (:data:`AE_CARRIED`) with the ADSL variables, analysis
    dates and days, ``TRTEMFL``, ``ASEV``/``ASEVN``, ``AREL``, duration and occurrence flags."""
    require_columns(ae, AE_CARRIED, "derive_adae")
    out = ae[AE_CARRIED].copy()
    out = merge_adsl(out, adsl, ADSL_VARS)
    out = derive_vars_astdt(out)
    out = derive_var_ady(out, date="ASTDT", target="ASTDY")
    out = derive_var_ady(out, date="AENDT", target="AENDY")
    out = derive_var_trtemfl(out)
    out["ASEV"] = out["AESEV"]
    out["AREL"] = out["AEREL"]
    out = derive_var_asevn(out)
    out = derive_vars_duration(out)
    out = derive_var_aoccifl(out)
    out = derive_var_aoccpfl(out)
    out = derive_var_aoccsifl(out)
    return treatment_vars(out)
