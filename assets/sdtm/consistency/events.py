"""AE and CM consistency queries (derivations.md, (v2) Data-management consistency queries: AE dates,
AE seriousness, AE coding, AE duplicates, CM dates)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.common.columns import require_columns
from assets.sdtm.consistency.common import BASE, before, concat, findings, rule_columns, shown, text


# ----------------------------------------------------------------------------------- AE and CM
def derive_ae_date_findings(ae: pd.DataFrame) -> pd.DataFrame:
    """KIND ``AE_DATES`` (derivations.md, (v2) Data-management consistency queries: AE dates): the
    end date before the start date (``ae_end_not_before_start``; the same day is consistent);
    ``AEONGO = Y`` with an end date (``ae_ongoing_has_no_end``); ``AEONGO = N`` without one
    (``ae_ended_has_end``)."""
    require_columns(ae, [*BASE, "AESTDTC", "AEENDTC", "AEONGO"], "derive_ae_date_findings")
    start, end, ongo = ae["AESTDTC"], text(ae, "AEENDTC"), text(ae, "AEONGO")
    raw_end = shown(text(ae, "AEENDAT").fillna(end))
    raw_start = shown(text(ae, "AESTDAT").fillna(text(ae, "AESTDTC")))
    return concat(
        [
            findings(
                ae,
                before(end, start),
                "ae_end_not_before_start",
                "AE",
                "AEENDAT",
                raw_end,
                "AE end date " + raw_end + " is before its start date " + raw_start,
            ),
            findings(
                ae,
                ongo.eq("Y") & end.notna(),
                "ae_ongoing_has_no_end",
                "AE",
                "AEONGO",
                "Y",
                "AEONGO = Y (ongoing) but the AE has an end date " + raw_end,
            ),
            findings(
                ae,
                ongo.eq("N") & end.isna(),
                "ae_ended_has_end",
                "AE",
                "AEONGO",
                "N",
                "AEONGO = N (not ongoing) but the AE has no end date",
            ),
        ]
    )


def derive_ae_seriousness_findings(ae: pd.DataFrame) -> pd.DataFrame:
    """KIND ``AE_SERIOUSNESS`` (derivations.md, (v2) Data-management consistency queries: AE
    seriousness; site-export.md, Forms): ``AESER = Y`` with no seriousness criterion ``Y``
    (``ae_serious_has_criterion``), ``AESER = N`` with one (``ae_not_serious_has_no_criterion``).
    The criteria are the columns of the rule in study/consistency_rules.csv; an export whose AE form
    carries none of them (a pre-v2 form) is not checked."""
    require_columns(ae, [*BASE, "AESER", "AESTDTC"], "derive_ae_seriousness_findings")
    criteria = [c for c in rule_columns("ae_serious_has_criterion") if c != "AESER"]
    present = [c for c in criteria if c in ae.columns]
    if not present:
        return pd.DataFrame()
    yes = pd.DataFrame({c: text(ae, c).eq("Y").fillna(False) for c in present}, index=ae.index)
    named = pd.Series("", index=ae.index, dtype="string")
    for c in present:
        named = named.mask(yes[c], named + np.where(named.eq(""), "", " ") + c)
    ser = text(ae, "AESER")
    return concat(
        [
            findings(
                ae,
                ser.eq("Y") & ~yes.any(axis=1),
                "ae_serious_has_criterion",
                "AE",
                "AESER",
                "Y",
                "AESER = Y but no seriousness criterion (" + " ".join(present) + ") is Y",
            ),
            findings(
                ae,
                ser.eq("N") & yes.any(axis=1),
                "ae_not_serious_has_no_criterion",
                "AE",
                "AESER",
                "N",
                "AESER = N but seriousness criterion " + named + " is Y",
            ),
        ]
    )


def derive_ae_coding_findings(ae: pd.DataFrame) -> pd.DataFrame:
    """KIND ``AE_CODING`` (derivations.md, (v2) Data-management consistency queries: AE coding): an
    AE not coded, ``AEDECOD`` or ``AEBODSYS`` empty (``ae_coded``); the column named is the first of
    the two that is empty. An AE form without either column (pre-v2) is not checked."""
    require_columns(ae, [*BASE, "AETERM", "AESTDTC"], "derive_ae_coding_findings")
    cols = rule_columns("ae_coded")
    if not any(c in ae.columns for c in cols):
        return pd.DataFrame()
    empty = pd.DataFrame({c: text(ae, c).isna() for c in cols}, index=ae.index)
    first = pd.Series(pd.NA, index=ae.index, dtype="string")
    for c in reversed(cols):
        first = first.mask(empty[c], c)
    term = shown(text(ae, "AETERM"))
    return findings(
        ae,
        empty.any(axis=1),
        "ae_coded",
        "AE",
        first,
        term,
        "AE '" + term + "' not coded: " + first.fillna("") + " is empty",
    )


def derive_ae_duplicate_findings(ae: pd.DataFrame) -> pd.DataFrame:
    """KIND ``AE_DUPLICATE`` (derivations.md, (v2) Data-management consistency queries: AE
    duplicates): two or more AE records of a subject with the same ``AETERM`` (compared without case
    and surrounding or repeated blanks) and the same start date as delivered
    (``ae_unique_term_and_start``); one finding per record of the group, each naming the others."""
    require_columns(ae, [*BASE, "AETERM", "AESTDTC"], "derive_ae_duplicate_findings")
    term = text(ae, "AETERM").str.upper().str.replace(r"\s+", " ", regex=True)
    start = text(ae, "AESTDTC")
    key = ae["USUBJID"].astype("string") + "\x1f" + term + "\x1f" + start
    dup = key.notna() & key.duplicated(keep=False)
    if not dup.any():
        return pd.DataFrame()
    recid = shown(text(ae, "RECID"))
    groups = recid[dup].groupby(key[dup]).agg(lambda r: " ".join(sorted(r)))
    others = key.map(groups).astype("string").fillna("")
    raw = shown(text(ae, "AETERM"))
    return findings(
        ae,
        dup,
        "ae_unique_term_and_start",
        "AE",
        "AETERM",
        raw,
        "same AETERM '"
        + raw
        + "' and start date "
        + shown(start)
        + " as another AE of the subject (RECIDs "
        + others
        + ")",
    )


def derive_cm_date_findings(cm: pd.DataFrame) -> pd.DataFrame:
    """KIND ``CM_DATES`` (derivations.md, (v2) Data-management consistency queries: CM dates): the
    end date before the start date (``cm_end_not_before_start``; the same day is consistent);
    ``CMONGO = Y`` with an end date (``cm_ongoing_has_no_end``)."""
    require_columns(cm, [*BASE, "CMSTDTC", "CMENDTC", "CMONGO"], "derive_cm_date_findings")
    start, end, ongo = cm["CMSTDTC"], text(cm, "CMENDTC"), text(cm, "CMONGO")
    raw_end = shown(text(cm, "CMENDAT").fillna(end))
    raw_start = shown(text(cm, "CMSTDAT").fillna(text(cm, "CMSTDTC")))
    return concat(
        [
            findings(
                cm,
                before(end, start),
                "cm_end_not_before_start",
                "CM",
                "CMENDAT",
                raw_end,
                "medication end date " + raw_end + " is before its start date " + raw_start,
            ),
            findings(
                cm,
                ongo.eq("Y") & end.notna(),
                "cm_ongoing_has_no_end",
                "CM",
                "CMONGO",
                "Y",
                "CMONGO = Y (ongoing) but the medication has an end date " + raw_end,
            ),
        ]
    )
