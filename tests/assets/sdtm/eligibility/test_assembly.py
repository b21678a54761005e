"""The assembled eligibility result: the investigator's answer combined with the data part, the
result words, what counts against eligibility, agreement; and a few whole-subject runs of
:func:`derive_eligibility` (every DM subject x every criterion)."""

from __future__ import annotations

import pandas as pd

import study
from assets.sdtm.eligibility.assembly import (
    ELIGIBILITY_COLUMNS,
    combine_with_investigator,
    derive_eligibility,
    derive_var_agrees,
    derive_var_counts_against,
    derive_var_result,
    investigator_answers,
)
from assets.sdtm.eligibility.findings import derive_disagreement_findings
from tests.assets.sdtm.eligibility.literal import (
    USUBJID,
    all_forms,
    eligible_subject,
    form,
    harmonized,
    lab,
)

NE = "NOT EVALUABLE"
IDX = pd.Index(["S1", "S2", "S3"])


def flags(*values: bool | None) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype="boolean"), index=IDX[: len(values)])


def answers(*values: str | None) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype="string"), index=IDX[: len(values)])


def data(flag: pd.Series, reason: list[str], **extra: list) -> pd.DataFrame:
    return pd.DataFrame({"FLAG": flag, "REASON": pd.array(reason, dtype="string"), **extra}, index=flag.index)


def crit(result: pd.DataFrame, code: str, subj: str = USUBJID) -> pd.Series:
    row = result[(result["USUBJID"] == subj) & (result["IETESTCD"] == code)]
    assert len(row) == 1
    return row.iloc[0]


# ------------------------------------------------------------------------ combining with the IE form


def test_ie_form_criterion_takes_the_answer_and_missing_answer_is_not_evaluable():
    out = combine_with_investigator(data(flags(None, None), ["", ""]), answers("Y", None), "IE_FORM")
    want = data(
        flags(True, None), ["investigator answer Y", f"{NE}: investigator answer missing on the IE form"]
    )
    pd.testing.assert_frame_equal(out, want)


def test_both_present_when_data_show_it_or_answer_is_y():
    # EX01: allergy in MH with answer N; EX04: lactation (answer Y) with a negative HCG; no answer
    out = combine_with_investigator(
        data(flags(True, False, False), ["allergy", "HCG NEGATIVE", "HCG NEGATIVE"]),
        answers("N", "Y", None),
        "BOTH",
    )
    want = data(
        flags(True, True, None),
        [
            "allergy; investigator answer N",
            "HCG NEGATIVE; investigator answer Y",
            f"{NE}: HCG NEGATIVE; investigator answer missing",
        ],
    )
    pd.testing.assert_frame_equal(out, want)


def test_ex04_man_without_investigator_answer_is_absent():
    man = data(flags(False), ["male: not applicable"], DATA_DECIDES=[True])
    out = combine_with_investigator(man, answers(None), "BOTH")
    pd.testing.assert_frame_equal(
        out, data(flags(False), ["male: not applicable; investigator answer missing"])
    )
    result = derive_var_result(out["FLAG"], inclusion=False)
    assert result.tolist() == ["ABSENT"]
    assert derive_var_counts_against(result, inclusion=False).tolist() == [False]


def test_derived_criterion_is_the_data_part():
    part = data(flags(True), ["x"])
    assert combine_with_investigator(part, answers("N"), "DERIVED") is part


# -------------------------------------------------------------------- result words, counts, agreement


def test_result_words_and_not_evaluable_counts_against():
    inclusion = derive_var_result(flags(True, False, None), inclusion=True)
    exclusion = derive_var_result(flags(True, False, None), inclusion=False)
    assert inclusion.tolist() == ["MET", "NOT MET", NE]
    assert exclusion.tolist() == ["PRESENT", "ABSENT", NE]
    assert derive_var_counts_against(inclusion, inclusion=True).tolist() == [False, True, True]
    assert derive_var_counts_against(exclusion, inclusion=False).tolist() == [True, False, True]


def test_agreement_of_a_derived_criterion_with_the_answer():
    # IN02 met / not met / not evaluable, investigator said Y; EX09 absent, EX06 present, answer N
    got = derive_var_agrees(
        flags(True, False, None), flags(True, False, None), answers("Y", "Y", "Y"), "DERIVED"
    )
    assert got.tolist() == [True, False, pd.NA]
    got = derive_var_agrees(flags(False, True), flags(False, True), answers("N", "N"), "DERIVED")
    assert got.tolist() == [True, False]
    got = derive_var_agrees(flags(True), flags(True), answers(None), "DERIVED")
    assert got.tolist() == [pd.NA]


def test_agreement_of_both_and_ie_form_criteria():
    # BOTH: false only when the data show the exclusion and the answer is N
    got = derive_var_agrees(flags(True, True, False), flags(True, True, True), answers("N", "Y", "Y"), "BOTH")
    assert got.tolist() == [False, True, True]
    assert derive_var_agrees(flags(True), flags(True), answers(None), "BOTH").tolist() == [pd.NA]
    assert derive_var_agrees(flags(None), flags(True), answers("Y"), "IE_FORM").tolist() == [pd.NA]


def test_investigator_answers_keep_the_last_recid():
    ie = form("IE", [{"IETESTCD": "IN01", "IEORRES": "N"}, {"IETESTCD": "IN01", "IEORRES": "Y"}])
    out = investigator_answers(ie)
    assert out[["IETESTCD", "INV_ANSWER", "RECID", "SRC_LINE"]].values.tolist() == [["IN01", "Y", "IE002", 3]]


# ------------------------------------------------------------------------------ whole-subject runs


def evaluate(raw: dict[str, list[dict]]) -> pd.DataFrame:
    return derive_eligibility(all_forms(raw))


def test_eligible_subject_meets_every_criterion():
    res = evaluate(eligible_subject())
    assert list(res.columns) == ELIGIBILITY_COLUMNS
    assert len(res) == len(study.criteria()) == 20
    assert not res["COUNTS_AGAINST"].any(), res[res["COUNTS_AGAINST"]][["IETESTCD", "REASON"]]
    assert set(res.loc[res["IECAT"] == "INCLUSION", "RESULT"]) == {"MET"}
    assert set(res.loc[res["IECAT"] == "EXCLUSION", "RESULT"]) == {"ABSENT"}
    assert res.loc[res["SOURCE"] == "DERIVED", "AGREES"].all()
    assert res.loc[res["SOURCE"] == "IE_FORM", "AGREES"].isna().all()
    assert crit(res, "IN04")["REASON"].endswith("prednisone-equivalent 0.333333 mg/kg/day <= 1 mg/kg")
    assert res["IETESTCD"].tolist() == sorted(study.criteria()["IETESTCD"])
    assert res.dtypes.astype(str).to_dict() == {
        **{c: "string" for c in ELIGIBILITY_COLUMNS},
        "COUNTS_AGAINST": "bool",
        "AGREES": "boolean",
    }


def test_positive_hcg_fails_in05_shows_ex04_and_raises_two_disagreements():
    raw = eligible_subject()
    raw["LB"][2] = lab("HCG", "POSITIVE")
    res = evaluate(raw)
    assert crit(res, "IN05")["RESULT"] == "NOT MET"
    ex04 = crit(res, "EX04")
    assert ex04["RESULT"] == "PRESENT" and ex04["COUNTS_AGAINST"]
    assert ex04["AGREES"] == False  # noqa: E712 -- investigator answered N while the test is positive
    findings = derive_disagreement_findings(res, harmonized("IE", raw["IE"]))
    assert set(findings["RULE"]) == {
        "IN05:investigator_agrees_with_data",
        "EX04:investigator_agrees_with_data",
    }
    assert findings["RECID"].notna().all() and findings["SRC_LINE"].notna().all()


def test_ie_form_criteria_take_the_answer_and_missing_answer_counts_against():
    raw = eligible_subject()
    raw["IE"] = [a for a in raw["IE"] if a["IETESTCD"] != "IN01"]
    raw["IE"] = [a if a["IETESTCD"] != "EX14" else {"IETESTCD": "EX14", "IEORRES": "Y"} for a in raw["IE"]]
    res = evaluate(raw)
    assert crit(res, "IN01")["RESULT"] == "NOT EVALUABLE" and crit(res, "IN01")["COUNTS_AGAINST"]
    assert crit(res, "EX14")["RESULT"] == "PRESENT"
    assert res.groupby("USUBJID")["COUNTS_AGAINST"].any().tolist() == [True]  # not eligible


def test_weight_82_kg_counts_against_in03_only():
    raw = eligible_subject()
    raw["VS"][0]["VSORRES"] = "82"
    res = evaluate(raw)
    assert res.loc[res["COUNTS_AGAINST"], "IETESTCD"].tolist() == ["IN03"]
    assert "82 kg > 80 kg" in crit(res, "IN03")["REASON"]


def test_every_dm_subject_is_listed_even_without_other_forms():
    raw = eligible_subject()
    raw["DM"].append({"SUBJID": "101-0002", "BRTHDAT": "01-JAN-1990", "SEX": "M", "ICDAT": "01-MAR-2026"})
    res = evaluate(raw)
    other = res[res["USUBJID"] == "LDIL2SLE-101-0002"]
    assert len(other) == 20
    assert crit(res, "IN02", "LDIL2SLE-101-0002")["RESULT"] == "NOT EVALUABLE"


def test_no_subject_gives_the_empty_typed_result():
    res = derive_eligibility({})
    assert res.empty and list(res.columns) == ELIGIBILITY_COLUMNS
    assert res["COUNTS_AGAINST"].dtype == bool and str(res["AGREES"].dtype) == "boolean"
