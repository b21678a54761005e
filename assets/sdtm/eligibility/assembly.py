"""The eligibility result: every screened subject x every criterion of study/criteria.csv.

derivations.md, Eligibility: a derived criterion that cannot be evaluated counts against
eligibility (``NOT EVALUABLE``); criteria the data cannot decide take the investigator's answer on
the IE form (a missing answer counts against); where a criterion is derived, the answer is still
compared with it (a difference is a data query, :mod:`assets.sdtm.eligibility.findings`).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.sdtm.eligibility.exclusion import (
    derive_ex01_allergy_data,
    derive_ex02_severe_npsle,
    derive_ex03_liver_enzymes,
    derive_ex04_pregnancy_data,
    derive_ex05_malignancy,
    derive_ex06_infection,
    derive_ex07_active_infection_serology,
    derive_ex08_ocular,
    derive_ex09_heart_failure,
    derive_ex10_peptic_ulcer,
    derive_ex11_other_autoimmune,
    derive_ex12_recent_biologic,
    derive_ex13_other_immunosuppressor,
)
from assets.sdtm.eligibility.forms import FORM_COLUMNS, criteria_frame, form_frame
from assets.sdtm.eligibility.inclusion import (
    derive_in02_sledai_at_least_minimum,
    derive_in03_age_and_weight,
    derive_in04_standard_treatment,
    derive_in05_negative_pregnancy_test,
    derive_in06_informed_consent,
)
from assets.sdtm.eligibility.outcome import NOT_EVALUABLE, outcome
from assets.sdtm.eligibility.screening import subjects_from_dm

ELIGIBILITY_COLUMNS = [
    "USUBJID",
    "SUBJID",
    "SITEID",
    "IETESTCD",
    "IECAT",
    "IETEST",
    "RESULT",
    "COUNTS_AGAINST",
    "INV_ANSWER",
    "AGREES",
    "REASON",
    "SOURCE",
    "ICDTC",
]

# IETESTCD -> (function, forms it reads after ``subjects``; "*" = all of them); criteria with source
# IE_FORM (IN01, EX14) have none.
CRITERIA_FUNCTIONS: dict[str, tuple[Callable[..., pd.DataFrame], tuple[str, ...]]] = {
    "IN02": (derive_in02_sledai_at_least_minimum, ("SLEDAI",)),
    "IN03": (derive_in03_age_and_weight, ("VS",)),
    "IN04": (derive_in04_standard_treatment, ("CM", "VS")),
    "IN05": (derive_in05_negative_pregnancy_test, ("LB",)),
    "IN06": (derive_in06_informed_consent, ("*",)),
    "EX01": (derive_ex01_allergy_data, ("MH",)),
    "EX02": (derive_ex02_severe_npsle, ("MH",)),
    "EX03": (derive_ex03_liver_enzymes, ("LB",)),
    "EX04": (derive_ex04_pregnancy_data, ("LB",)),
    "EX05": (derive_ex05_malignancy, ("MH",)),
    "EX06": (derive_ex06_infection, ("MH",)),
    "EX07": (derive_ex07_active_infection_serology, ("LB",)),
    "EX08": (derive_ex08_ocular, ("MH",)),
    "EX09": (derive_ex09_heart_failure, ("MH",)),
    "EX10": (derive_ex10_peptic_ulcer, ("MH",)),
    "EX11": (derive_ex11_other_autoimmune, ("MH",)),
    "EX12": (derive_ex12_recent_biologic, ("CM",)),
    "EX13": (derive_ex13_other_immunosuppressor, ("CM",)),
}


def investigator_answers(ie: pd.DataFrame) -> pd.DataFrame:
    """The IE form, one row per subject x criterion (the last ``RECID`` when repeated), with
    ``INV_ANSWER`` (``Y``/``N``/missing) and the row's lineage."""
    require_columns(ie, FORM_COLUMNS["IE"], "investigator_answers")
    ie = ie.sort_values(["USUBJID", "IETESTCD", "RECID"], kind="stable").drop_duplicates(
        ["USUBJID", "IETESTCD"], keep="last"
    )
    return ie.rename(columns={"IEORRES": "INV_ANSWER"})[
        ["USUBJID", "IETESTCD", "INV_ANSWER", "RECID", "SRC_EXPORT", "SRC_FILE", "SRC_LINE"]
    ].reset_index(drop=True)


def criterion_outcome(ietestcd: str, subjects: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The data part of criterion ``ietestcd`` (:data:`CRITERIA_FUNCTIONS`); all NA, no reason, for
    a criterion the data cannot decide (IE_FORM)."""
    fn, needs = CRITERIA_FUNCTIONS.get(ietestcd, (None, ()))
    if fn is None:
        return outcome(
            pd.Series(pd.NA, index=subjects.index, dtype="boolean"), pd.Series("", index=subjects.index)
        )
    if needs == ("*",):
        return fn(subjects, frames)
    return fn(subjects, *(frames[n] for n in needs))


def combine_with_investigator(data: pd.DataFrame, answer: pd.Series, source: str) -> pd.DataFrame:
    """RESULT flag and reason from the data part and the investigator's answer, by SOURCE.

    IE_FORM: the answer decides (missing -> NOT EVALUABLE). BOTH (exclusions EX01, EX04): present
    when the data show it or the investigator answers ``Y``; absent when the data do not show it and
    the answer is ``N``; otherwise NOT EVALUABLE (Kleene OR). DERIVED: the data decide."""
    require_columns(data, ["FLAG", "REASON"], "combine_with_investigator")
    inv = answer.map({"Y": True, "N": False}).astype("boolean")
    inv_txt = "investigator answer " + answer.fillna("missing").astype("string")
    if source == "IE_FORM":
        reason = inv_txt.mask(inv.isna(), f"{NOT_EVALUABLE}: investigator answer missing on the IE form")
        return outcome(inv, reason)
    if source == "BOTH":
        # EX04 for a man: the data decide (DATA_DECIDES), whatever the answer
        decides = (
            data["DATA_DECIDES"] if "DATA_DECIDES" in data.columns else pd.Series(False, index=data.index)
        )
        flag = (data["FLAG"] | inv).mask(decides.astype(bool), data["FLAG"])
        reason = data["REASON"] + "; " + inv_txt
        return outcome(
            flag,
            reason.mask(flag.isna() & ~reason.str.startswith(NOT_EVALUABLE), f"{NOT_EVALUABLE}: " + reason),
        )
    return data


def derive_var_result(flag: pd.Series, inclusion: bool) -> pd.Series:
    """``RESULT``: ``MET``/``NOT MET`` (inclusion) or ``PRESENT``/``ABSENT`` (exclusion) from the
    combined flag, ``NOT EVALUABLE`` where it is NA."""
    yes, no = ("MET", "NOT MET") if inclusion else ("PRESENT", "ABSENT")
    return flag.map({True: yes, False: no}).astype("string").fillna(NOT_EVALUABLE)


def derive_var_counts_against(result: pd.Series, inclusion: bool) -> pd.Series:
    """``COUNTS_AGAINST``: an inclusion not ``MET`` or an exclusion not ``ABSENT`` (NOT EVALUABLE
    counts against: derivations.md, Eligibility)."""
    return result.ne("MET" if inclusion else "ABSENT")


def derive_var_agrees(data_flag: pd.Series, flag: pd.Series, answer: pd.Series, source: str) -> pd.Series:
    """``AGREES``: DERIVED, the answer equals the derived result; BOTH, false only when the data show
    the exclusion and the answer is ``N``; missing when either side is missing or the criterion
    comes from the IE form alone (derivations.md, Eligibility: a difference is a data query)."""
    expected = flag.map({True: "Y", False: "N"}).astype("string")
    if source == "DERIVED":
        return (answer == expected).astype("boolean").mask(answer.isna() | expected.isna(), pd.NA)
    if source == "BOTH":
        shown = data_flag.eq(True).fillna(False)
        return (~(shown & answer.eq("N").fillna(False))).astype("boolean").mask(answer.isna(), pd.NA)
    return pd.Series(pd.NA, index=flag.index, dtype="boolean")


def criterion_rows(
    criterion: pd.Series, subjects: pd.DataFrame, frames: dict[str, pd.DataFrame], answers: pd.DataFrame
) -> pd.DataFrame:
    """One row per subject for ``criterion`` (a row of study/criteria.csv), columns
    :data:`ELIGIBILITY_COLUMNS` (not yet typed)."""
    code, source = criterion["IETESTCD"], criterion["SOURCE"]
    data = criterion_outcome(code, subjects, frames)
    ans = answers[answers["IETESTCD"] == code].set_index("USUBJID")["INV_ANSWER"].reindex(subjects.index)
    out = combine_with_investigator(data, ans.astype("string"), source)
    inclusion = criterion["IECAT"] == "INCLUSION"
    result = derive_var_result(out["FLAG"], inclusion)
    return pd.DataFrame(
        {
            "USUBJID": subjects["USUBJID"],
            "SUBJID": subjects["SUBJID"],
            "SITEID": subjects["SITEID"],
            "IETESTCD": code,
            "IECAT": criterion["IECAT"],
            "IETEST": criterion["IETEST"],
            "RESULT": result,
            "COUNTS_AGAINST": derive_var_counts_against(result, inclusion),
            "INV_ANSWER": ans,
            "AGREES": derive_var_agrees(data["FLAG"], out["FLAG"], ans, source),
            "REASON": out["REASON"],
            "SOURCE": source,
            "ICDTC": subjects["ICDTC"],
        }
    )


def empty_eligibility() -> pd.DataFrame:
    """No subject: the columns and types of :func:`derive_eligibility`, no row."""
    df = pd.DataFrame({c: pd.Series(dtype="string") for c in ELIGIBILITY_COLUMNS})
    df["COUNTS_AGAINST"] = df["COUNTS_AGAINST"].astype(bool)
    df["AGREES"] = df["AGREES"].astype("boolean")
    return df


def derive_eligibility(forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every screened subject (every subject in DM) x the 20 criteria of study/criteria.csv.

    Columns exactly :data:`ELIGIBILITY_COLUMNS`: ``RESULT`` ``MET``/``NOT MET``/``NOT EVALUABLE``
    (inclusion) or ``PRESENT``/``ABSENT``/``NOT EVALUABLE`` (exclusion); ``COUNTS_AGAINST`` when an
    inclusion is not ``MET`` or an exclusion not ``ABSENT``; ``INV_ANSWER`` the IE form's answer;
    ``AGREES`` whether that answer agrees with the derived result (DERIVED: answer equals the result;
    BOTH: false only when the data show the exclusion and the answer is ``N``; missing when either
    side is missing or the criterion comes from the IE form alone). Sorted by USUBJID, IETESTCD."""
    subjects = subjects_from_dm(form_frame(forms, "DM"))
    frames = {name: criteria_frame(forms, name) for name in FORM_COLUMNS}
    answers = investigator_answers(frames["IE"])
    rows = [criterion_rows(crit, subjects, frames, answers) for _, crit in study.criteria().iterrows()]
    if not rows or subjects.empty:
        return empty_eligibility()
    out = pd.concat(rows, ignore_index=True)
    for col in ELIGIBILITY_COLUMNS:
        if col not in ("COUNTS_AGAINST", "AGREES"):
            out[col] = out[col].astype("string")
    out["COUNTS_AGAINST"] = out["COUNTS_AGAINST"].astype(bool)
    out["AGREES"] = out["AGREES"].astype("boolean")
    return out[ELIGIBILITY_COLUMNS].sort_values(["USUBJID", "IETESTCD"], kind="stable").reset_index(drop=True)
