"""Consistency queries on results and IWRS rows (derivations.md, (v2) Data-management consistency
queries: vital signs, lab ranges, randomization)."""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
from assets.sdtm.consistency.common import BASE, concat, findings, shown, text


# ----------------------------------------------------------------------------------- VS, LB, RAND
def derive_bp_order_findings(vs: pd.DataFrame) -> pd.DataFrame:
    """KIND ``VS_BP_ORDER`` (derivations.md, (v2) Data-management consistency queries: vital signs):
    ``SYSBP`` not greater than ``DIABP`` (equal is a query) of the same subject, visit and date,
    compared in the standard unit (``sysbp_above_diabp``). The finding is on the SYSBP record and
    names the DIABP record."""
    require_columns(vs, [*BASE, "VISIT", "VSDTC", "VSTESTCD", "VSSTRESN"], "derive_bp_order_findings")
    key = ["USUBJID", "VISIT", "VSDTC"]
    test = text(vs, "VSTESTCD")
    sys_rows = vs[test.eq("SYSBP").fillna(False).to_numpy(dtype=bool)]
    dia = vs.loc[test.eq("DIABP").fillna(False).to_numpy(dtype=bool), [*key, "VSSTRESN", "RECID"]]
    if sys_rows.empty or dia.empty:
        return pd.DataFrame()
    dia = dia.rename(columns={"VSSTRESN": "DIA", "RECID": "DIA_RECID"})
    pair = sys_rows.reset_index().merge(dia, on=key, how="inner").set_index("index")
    bad = (
        pd.to_numeric(pair["VSSTRESN"], errors="coerce") <= pd.to_numeric(pair["DIA"], errors="coerce")
    ).fillna(False)
    pair = pair[bad.to_numpy(dtype=bool)]
    pair = pair[~pair.index.duplicated(keep="first")]
    if pair.empty:
        return pd.DataFrame()
    value = shown(text(pair, "VSORRES").fillna(pair["VSSTRESN"].astype("string")))
    return findings(
        pair,
        True,
        "sysbp_above_diabp",
        "VS",
        "VSORRES",
        value,
        "SYSBP "
        + pair["VSSTRESN"].astype("string")
        + " not greater than DIABP "
        + pair["DIA"].astype("string")
        + " (RECID "
        + shown(pair["DIA_RECID"])
        + ") at the same visit and date",
    )


NUMBER = r"^[<>]?\s*-?\d+(\.\d+)?$"


def derive_lab_range_findings(lb: pd.DataFrame) -> pd.DataFrame:
    """KIND ``LAB_RANGE`` (derivations.md, (v2) Data-management consistency queries: lab ranges):
    ``LBORNRLO`` greater than ``LBORNRHI`` (both in the unit sent; equal is consistent;
    ``lab_range_low_not_above_high``); a numeric ``LBORRES`` (optionally behind ``<`` or ``>``)
    without ``LBORRESU`` (``lab_numeric_result_has_unit``; ingest quarantines such a row for a test
    that has units, so on ingested forms this fires only if the schema lets one through)."""
    require_columns(lb, [*BASE, "VISIT", "LBDTC", "LBTESTCD", "LBORRES"], "derive_lab_range_findings")
    lo_text, hi_text = text(lb, "LBORNRLO"), text(lb, "LBORNRHI")
    lo, hi = pd.to_numeric(lo_text, errors="coerce"), pd.to_numeric(hi_text, errors="coerce")
    res = text(lb, "LBORRES")
    numeric = res.str.fullmatch(NUMBER).fillna(False).astype(bool)
    test = shown(text(lb, "LBTESTCD"))
    return concat(
        [
            findings(
                lb,
                (lo > hi).fillna(False),
                "lab_range_low_not_above_high",
                "LB",
                "LBORNRLO",
                shown(lo_text),
                test + " reference range low " + shown(lo_text) + " is above its high " + shown(hi_text),
            ),
            findings(
                lb,
                numeric & text(lb, "LBORRESU").isna(),
                "lab_numeric_result_has_unit",
                "LB",
                "LBORRESU",
                shown(res),
                test + " numeric result " + shown(res) + " has no unit",
            ),
        ]
    )


def derive_randomization_findings(rand: pd.DataFrame) -> pd.DataFrame:
    """KIND ``RANDOMIZATION`` (derivations.md, (v2) Data-management consistency queries:
    randomization): a subject with two or more RAND rows (``subject_randomized_once``), a ``RANDNO``
    on the rows of two or more subjects (``randno_for_one_subject``); one finding per RAND row
    concerned. A RANDNO twice in one IWRS file is already quarantined at ingest (unique record key)."""
    require_columns(
        rand, ["USUBJID", "SITEID", "SUBJID", "RANDNO", "RANDDTC"], "derive_randomization_findings"
    )
    if rand.empty:
        return pd.DataFrame()
    subj, randno = rand["USUBJID"].astype("string"), text(rand, "RANDNO")
    twice = subj.notna() & subj.duplicated(keep=False)
    n_subjects = subj.groupby(randno).nunique()
    shared = randno.map(n_subjects).fillna(0).astype(int).gt(1)
    # The lists of the messages, for the subjects and numbers concerned only.
    numbers = randno[twice].groupby(subj[twice]).agg(lambda r: " ".join(sorted(r.dropna())))
    subjects = subj[shared].groupby(randno[shared]).agg(lambda r: " ".join(sorted(set(r.dropna()))))
    return concat(
        [
            findings(
                rand,
                twice,
                "subject_randomized_once",
                "RAND",
                "RANDNO",
                shown(randno),
                "subject randomized more than once (RANDNO "
                + shown(subj.map(numbers).astype("string"))
                + ")",
            ),
            findings(
                rand,
                shared & randno.notna(),
                "randno_for_one_subject",
                "RAND",
                "RANDNO",
                shown(randno),
                "RANDNO used for more than one subject ("
                + shown(randno.map(subjects).astype("string"))
                + ")",
            ),
        ]
    )
