"""The screened subjects and their last values at the ``SCREENING`` visit.

derivations.md, Eligibility: every subject in DM is screened; "last at SCREENING" is the latest
record of the visit by its ISO date (then ``RECID``) that has a value (repeated screening
measurements are re-tests and the last one stands). Age: derivations.md, Time.
"""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
from assets.common.dates import age_in_years, impute_birth_date, iso_to_date
from assets.sdtm.eligibility.forms import criteria_frame, form_frame
from assets.sdtm.eligibility.outcome import NOT_EVALUABLE, choose_text, rounded
from assets.sdtm.mapping import isin_text
from assets.sdtm.sledai import derive_var_sledai_total

SCREENING = "SCREENING"


def at_screening(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the ``SCREENING`` visit."""
    require_columns(df, ["VISIT"], "at_screening")
    return df[df["VISIT"].eq(SCREENING).fillna(False)]


def last_by_subject(
    df: pd.DataFrame, date_col: str, value_col: str, by: list[str] | None = None
) -> pd.DataFrame:
    """Latest record (ISO date, then RECID) with a non-missing ``value_col`` per subject (and ``by``)."""
    keys = ["USUBJID", *(by or [])]
    require_columns(df, [*keys, date_col, value_col, "RECID"], "last_by_subject")
    have = df[df[value_col].notna()]
    have = have.sort_values([*keys, date_col, "RECID"], kind="stable", na_position="first")
    return have.drop_duplicates(keys, keep="last")


def subjects_from_dm(dm: pd.DataFrame) -> pd.DataFrame:
    """One row per screened subject (every subject in DM), indexed by ``USUBJID``, with
    ``AGE_AT_CONSENT`` (derivations.md, Time: whole years, day-unknown birth date as the 15th,
    month-unknown as 1 July) and ``ICDATE`` (consent as a full date, NaT when partial)."""
    require_columns(dm, ["USUBJID", "SUBJID", "SITEID", "SEX", "BRTHDTC", "ICDTC"], "subjects_from_dm")
    subjects = dm.sort_values(["USUBJID", "RECID"] if "RECID" in dm.columns else ["USUBJID"], kind="stable")
    subjects = subjects.drop_duplicates("USUBJID", keep="last").set_index("USUBJID", drop=False)
    subjects.index.name = None
    subjects = subjects.copy()
    subjects["ICDATE"] = iso_to_date(subjects["ICDTC"])
    subjects["AGE_AT_CONSENT"] = age_in_years(impute_birth_date(subjects["BRTHDTC"]), subjects["ICDATE"])
    return subjects


def screening_weight(subjects: pd.DataFrame, vs: pd.DataFrame) -> pd.Series:
    """Last ``WEIGHT`` at ``SCREENING`` in kg (``VSSTRESN``, already converted from LB), per subject."""
    require_columns(vs, ["USUBJID", "VISIT", "VSDTC", "VSTESTCD", "VSSTRESN", "RECID"], "screening_weight")
    w = at_screening(vs)
    w = last_by_subject(w[w["VSTESTCD"].eq("WEIGHT").fillna(False)], "VSDTC", "VSSTRESN")
    return w.set_index("USUBJID")["VSSTRESN"].reindex(subjects.index).astype("float64")


def screening_lab_result(subjects: pd.DataFrame, lb: pd.DataFrame, testcd: str) -> pd.DataFrame:
    """The last ``SCREENING`` LB record of ``testcd`` with a standard result, one row per subject
    (indexed like ``subjects``; all missing for a subject without one)."""
    require_columns(
        lb, ["USUBJID", "VISIT", "LBDTC", "LBTESTCD", "LBSTRESN", "RECID"], "screening_lab_result"
    )
    scr = at_screening(lb)
    rows = last_by_subject(scr[scr["LBTESTCD"].eq(testcd).fillna(False)], "LBDTC", "LBSTRESN")
    return rows.set_index("USUBJID").reindex(subjects.index)


def screening_sledai_total(subjects: pd.DataFrame, sledai: pd.DataFrame) -> pd.Series:
    """The recomputed SLEDAI-2K total (:func:`assets.sdtm.sledai.derive_var_sledai_total`) of the
    last complete ``SCREENING`` assessment, per subject (Float64; missing when none is complete)."""
    require_columns(sledai, ["USUBJID", "VISIT", "SLDTC", "RECID"], "screening_sledai_total")
    scr = at_screening(sledai)
    scored = derive_var_sledai_total(scr) if len(scr) else scr.assign(SLEDAI_TOTAL=pd.Series(dtype="Int64"))
    last = last_by_subject(scored, "SLDTC", "SLEDAI_TOTAL").set_index("USUBJID")["SLEDAI_TOTAL"]
    return last.reindex(subjects.index).astype("Float64")


def hcg_at_screening(subjects: pd.DataFrame, lb: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(any POSITIVE, any NEGATIVE) urine HCG at SCREENING per subject (IN05, EX04)."""
    require_columns(lb, ["USUBJID", "VISIT", "LBTESTCD", "LBSTRESC"], "hcg_at_screening")
    hcg = at_screening(lb)
    hcg = hcg[hcg["LBTESTCD"].eq("HCG").fillna(False)]
    word = hcg["LBSTRESC"].astype("string").str.upper()
    pos = pd.Series(
        isin_text(subjects.index, hcg.loc[word.eq("POSITIVE").fillna(False), "USUBJID"].unique()),
        index=subjects.index,
    )
    neg = pd.Series(
        isin_text(subjects.index, hcg.loc[word.eq("NEGATIVE").fillna(False), "USUBJID"].unique()),
        index=subjects.index,
    )
    return pos, neg


def pregnancy_test_at_screening(
    subjects: pd.DataFrame, lb: pd.DataFrame
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(male, female, any POSITIVE, any NEGATIVE) per subject: what IN05 and EX04 both decide on."""
    pos, neg = hcg_at_screening(subjects, lb)
    male = subjects["SEX"].eq("M").fillna(False)
    female = subjects["SEX"].eq("F").fillna(False)
    return male, female, pos, neg


def pregnancy_test_reason(
    index: pd.Index, male: pd.Series, female: pd.Series, pos: pd.Series, neg: pd.Series
) -> pd.Series:
    """The reason text of IN05 and EX04: the same screening urine HCG facts, read either way."""
    return choose_text(
        index,
        [
            (male, "male: not applicable"),
            (female & pos, "screening urine HCG POSITIVE"),
            (female & neg, "screening urine HCG NEGATIVE"),
            (female, f"{NOT_EVALUABLE}: no screening urine HCG result"),
        ],
        f"{NOT_EVALUABLE}: sex missing",
    )


def derive_screening_values(forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per screened subject with the values the protocol limits apply to, for
    :mod:`schemas.protocol_rules`: ``AGE`` (at consent), ``WEIGHT`` (last screening, kg),
    ``ALT_XULN``/``AST_XULN`` (last screening result / ULN), ``SLEDAI`` (last complete screening
    total). Missing stays missing (missing data is NOT EVALUABLE, not a limit failure)."""
    subjects = subjects_from_dm(form_frame(forms, "DM"))
    vs, lb, sl = (criteria_frame(forms, form) for form in ("VS", "LB", "SLEDAI"))
    out = pd.DataFrame(
        {"USUBJID": subjects["USUBJID"], "SUBJID": subjects["SUBJID"], "SITEID": subjects["SITEID"]}
    )
    out["AGE"] = subjects["AGE_AT_CONSENT"].astype("Float64")
    out["WEIGHT"] = rounded(screening_weight(subjects, vs))
    for test in ("ALT", "AST"):
        rows = screening_lab_result(subjects, lb, test)
        out[f"{test}_XULN"] = rounded(rows["LBSTRESN"].astype("float64") / rows["LBSTNRHI"].astype("float64"))
    out["SLEDAI"] = screening_sledai_total(subjects, sl)
    return out.reset_index(drop=True)
