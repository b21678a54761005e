"""Exclusion criteria EX01-EX13 (derivations.md, Eligibility; EX14 comes from the IE form alone).

Each ``derive_exNN_*`` returns the criterion's outcome (:mod:`assets.sdtm.eligibility.outcome`):
``FLAG`` True = present, False = absent, NA = NOT EVALUABLE. EX01 and EX04 are the data part of
criteria combined with the investigator's answer (:mod:`assets.sdtm.eligibility.assembly`).
Day counts come from ``study/protocol_limits.csv`` through :func:`study.protocol_limits`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.sdtm.eligibility.forms import FORM_COLUMNS
from assets.sdtm.eligibility.logic import any_by_subject, names_by_subject, ongoing_at_consent
from assets.sdtm.eligibility.medications import derive_vars_drug_class
from assets.sdtm.eligibility.outcome import (
    NOT_EVALUABLE,
    choose_text,
    number_text,
    outcome,
    outcome_not_evaluable_when_undecided,
    rounded,
)
from assets.sdtm.eligibility.screening import (
    at_screening,
    pregnancy_test_at_screening,
    pregnancy_test_reason,
    screening_lab_result,
)


def active_infection_tests() -> list[str]:
    """The screening serology of EX07, in the order of study/lab_tests.csv."""
    tests = study.lab_tests()
    return tests.loc[tests["ACTIVE_INFECTION_SCREEN"].eq("Y"), "LBTESTCD"].tolist()


def _mh_condition(
    subjects: pd.DataFrame,
    mh: pd.DataFrame,
    category: str,
    what: str,
    ended_within_days: int | None = 0,
    extra: Callable[[pd.DataFrame], pd.Series] | None = None,
) -> pd.DataFrame:
    """Exclusion present when an MH record of ``category`` holds: ongoing at consent (or ended less
    than ``ended_within_days + 1`` days before), or any record when ``ended_within_days`` is None;
    ``extra`` adds a record-level condition (Kleene AND)."""
    require_columns(mh, FORM_COLUMNS["MH"], f"MH {category}")
    rec = mh[mh["MHCAT"].eq(category).fillna(False)].copy()
    ic = rec["USUBJID"].map(subjects["ICDTC"]).astype("string")
    if ended_within_days is None:
        hold = pd.Series(True, index=rec.index, dtype="boolean")
    else:
        # MH is history collected at screening: a record without a start date began before consent
        hold = ongoing_at_consent(
            rec["MHSTDTC"], rec["MHENDTC"], rec["MHONGO"], ic, ended_within_days, missing_start_is_before=True
        )
    if extra is not None:
        hold = hold & extra(rec)
    flag = any_by_subject(hold, rec["USUBJID"], subjects.index)
    terms_true = names_by_subject(
        rec.loc[hold.eq(True), "MHTERM"], rec.loc[hold.eq(True), "USUBJID"], subjects.index
    )
    terms_na = names_by_subject(
        rec.loc[hold.isna(), "MHTERM"], rec.loc[hold.isna(), "USUBJID"], subjects.index
    )
    reason = choose_text(
        subjects.index,
        [
            (flag.eq(True), f"{category} {what}: " + terms_true),
            (flag.isna(), f"{NOT_EVALUABLE}: {category} dates or grade cannot decide ({what}): " + terms_na),
        ],
        f"no {category} {what}",
    )
    return outcome(flag, reason)


def _cm_class_condition(
    subjects: pd.DataFrame, cm: pd.DataFrame, drug_class: str, what: str, ended_within_days: int
) -> pd.DataFrame:
    """Exclusion present when a medication of ``drug_class`` (study/drug_classes.csv) is ongoing at
    consent, or ended less than ``ended_within_days + 1`` days before it."""
    require_columns(cm, FORM_COLUMNS["CM"], f"CM {drug_class}")
    meds = derive_vars_drug_class(subjects, cm)
    rec = meds[meds["DRUG_CLASS"].eq(drug_class).fillna(False)]
    hold = ongoing_at_consent(
        rec["CMSTDTC"], rec["CMENDTC"], rec["CMONGO"], rec["ICDTC_SUBJ"], ended_within_days
    )
    flag = any_by_subject(hold, rec["USUBJID"], subjects.index)
    names_true = names_by_subject(
        rec.loc[hold.eq(True), "CMDECOD"], rec.loc[hold.eq(True), "USUBJID"], subjects.index
    )
    names_na = names_by_subject(
        rec.loc[hold.isna(), "CMDECOD"], rec.loc[hold.isna(), "USUBJID"], subjects.index
    )
    label = drug_class.lower()
    reason = choose_text(
        subjects.index,
        [
            (flag.eq(True), f"{label} {what}: " + names_true),
            (flag.isna(), f"{NOT_EVALUABLE}: {label} dates cannot decide ({what}): " + names_na),
        ],
        f"no {label} {what}",
    )
    return outcome(flag, reason)


def derive_ex01_allergy_data(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX01 "Allergic to IL-2, corticosteroids, hydroxychloroquine, cyclophosphamide or mycophenolate
    mofetil" -- data part.

    Rule: any ``MHCAT = ALLERGY_STUDY_DRUG`` (whatever its dates), or the investigator's answer on
    the IE form (combined in :func:`assets.sdtm.eligibility.assembly.derive_eligibility`: data
    present, or answer ``Y``)."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex01_allergy_data")
    return _mh_condition(subjects, mh, "ALLERGY_STUDY_DRUG", "recorded", ended_within_days=None)


def derive_ex02_severe_npsle(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX02 "Active severe neuropsychiatric manifestations of SLE".

    Rule: ``MHCAT = NPSLE_SEVERE`` ongoing at ``ICDAT``."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex02_severe_npsle")
    return _mh_condition(subjects, mh, "NPSLE_SEVERE", "ongoing at consent")


def _liver_test(
    subjects: pd.DataFrame, lb: pd.DataFrame, testcd: str, factor: float
) -> tuple[pd.Series, pd.Series]:
    """Per subject: last SCREENING ``testcd`` >= ``factor`` x ULN (three-valued) and its text, in
    the test's standard unit (study/lab_tests.csv)."""
    unit = str(study.lab_tests().set_index("LBTESTCD").loc[testcd, "STD_UNIT"])
    rows = screening_lab_result(subjects, lb, testcd)
    value = rounded(rows["LBSTRESN"])
    limit = rounded(rows["LBSTNRHI"].astype("float64") * factor)
    qual = rows["LBRESQUAL"].astype("string")
    high = value >= limit
    # "<x": the value is below x, so it is high only if x could be; ">x": above x.
    high = high.mask(qual.str.startswith("<").fillna(False) & high.eq(True), pd.NA)
    high = high.mask(qual.str.startswith(">").fillna(False) & high.eq(False), pd.NA)
    shown = qual.fillna("") + number_text(value)
    uln = f"{factor:g} x ULN " + number_text(limit / factor) + f" {unit}"
    text = choose_text(
        subjects.index,
        [
            (high.eq(True), f"{testcd} " + shown + f" {unit} >= " + uln),
            (high.eq(False), f"{testcd} " + shown + f" {unit} < " + uln),
            (value.notna() & limit.isna(), f"{testcd} " + shown + f" {unit} without ULN"),
        ],
        f"no SCREENING {testcd}",
    )
    return high, text


def derive_ex03_liver_enzymes(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """EX03 "Hepatic insufficiency (ALT or AST >= 2 times the upper limit of normal)".

    Rule: the last ``SCREENING`` ALT or AST in standard units (U/L; ukat/L x 60) >=
    ``LIVER_MAX_XULN`` x the site ULN converted the same way; both sides rounded to
    :data:`assets.common.precision.DECIMALS` decimals (1.4 ukat/L against ULN 0.7 ukat/L is exactly
    2 x ULN: present). One test high is enough; otherwise both are needed to exclude it."""
    require_columns(lb, FORM_COLUMNS["LB"], "derive_ex03_liver_enzymes")
    factor = study.protocol_limits()["LIVER_MAX_XULN"]
    alt, alt_txt = _liver_test(subjects, lb, "ALT", factor)
    ast, ast_txt = _liver_test(subjects, lb, "AST", factor)
    return outcome_not_evaluable_when_undecided(alt | ast, alt_txt + "; " + ast_txt)


def derive_ex04_pregnancy_data(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """EX04 "Pregnancy or lactation in females" -- data part.

    Rule: ``HCG`` ``POSITIVE`` at ``SCREENING`` (a woman with a NEGATIVE test: pregnancy absent;
    without a test: NOT EVALUABLE); lactation comes from the investigator's answer, combined in
    :func:`assets.sdtm.eligibility.assembly.derive_eligibility`. Men: absent."""
    require_columns(lb, FORM_COLUMNS["LB"], "derive_ex04_pregnancy_data")
    male, female, pos, neg = pregnancy_test_at_screening(subjects, lb)
    flag = pd.Series(pd.NA, index=subjects.index, dtype="boolean")
    flag = flag.mask(male | (female & neg & ~pos), False).mask(female & pos, True)
    reason = pregnancy_test_reason(subjects.index, male, female, pos, neg)
    # Pregnancy and lactation concern women only: for a man the data decide, no answer is needed.
    return outcome(flag, reason).assign(DATA_DECIDES=male.to_numpy())


def derive_ex05_malignancy(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX05 "Cancer or history of cancer cured for less than five years (except in situ carcinoma of
    the cervix or basocellular carcinoma)".

    Rule: ``MHCAT = MALIGNANCY`` ongoing or ended less than ``MALIGNANCY_DAYS`` (1826) days before
    ``ICDAT`` (``MALIGNANCY_EXEMPT`` is another category and does not count)."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex05_malignancy")
    days = int(study.protocol_limits()["MALIGNANCY_DAYS"])
    return _mh_condition(
        subjects, mh, "MALIGNANCY", f"ongoing or ended < {days} days before consent", days - 1
    )


def derive_ex06_infection(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX06 "Serious infection such as bacteremia, sepsis; history of chronic infection".

    Rule: ``INFECTION_SERIOUS`` ongoing or ended within ``SERIOUS_INFECTION_DAYS`` (90) days before
    ``ICDAT`` (``ICDAT - end <= 90``); or any ``INFECTION_CHRONIC``."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex06_infection")
    days = int(study.protocol_limits()["SERIOUS_INFECTION_DAYS"])
    serious = _mh_condition(
        subjects, mh, "INFECTION_SERIOUS", f"ongoing or ended <= {days} days before consent", days
    )
    chronic = _mh_condition(subjects, mh, "INFECTION_CHRONIC", "recorded", ended_within_days=None)
    return outcome_not_evaluable_when_undecided(
        serious["FLAG"] | chronic["FLAG"], serious["REASON"] + "; " + chronic["REASON"]
    )


def derive_ex07_active_infection_serology(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """EX07 "Active infection (hepatitis B or C virus, Epstein-Barr virus, HIV or Mycobacterium
    tuberculosis)".

    Rule: any of the screening serology (``HBSAG HCVAB HIVAB EBVDNA TBIGRA``, the tests marked
    ``ACTIVE_INFECTION_SCREEN`` in study/lab_tests.csv) ``POSITIVE`` at ``SCREENING``. Absent only
    when every one has a result at screening; otherwise NOT EVALUABLE."""
    require_columns(lb, FORM_COLUMNS["LB"], "derive_ex07_active_infection_serology")
    tests = active_infection_tests()
    scr = at_screening(lb)
    scr = scr[scr["LBTESTCD"].isin(tests).fillna(False)]
    word = scr["LBSTRESC"].astype("string").str.upper()
    positive = scr[word.eq("POSITIVE").fillna(False)]
    resulted = scr[word.isin(["POSITIVE", "NEGATIVE"]).fillna(False)]
    n_tests = (
        resulted.drop_duplicates(["USUBJID", "LBTESTCD"])
        .groupby("USUBJID")
        .size()
        .reindex(subjects.index)
        .fillna(0)
    )
    pos_names = names_by_subject(positive["LBTESTCD"], positive["USUBJID"], subjects.index)
    any_pos = pos_names.ne("")
    flag = pd.Series(pd.NA, index=subjects.index, dtype="boolean")
    flag = flag.mask(n_tests.eq(len(tests)), False).mask(any_pos, True)
    # the tests without a result, named in the reason (subject x test grid, in the tests' order)
    have = resulted.drop_duplicates(["USUBJID", "LBTESTCD"])
    grid = pd.MultiIndex.from_product([subjects.index, tests], names=["USUBJID", "LBTESTCD"]).to_frame(
        index=False
    )
    grid = grid.merge(have[["USUBJID", "LBTESTCD"]].assign(H=True), how="left", on=["USUBJID", "LBTESTCD"])
    lacking = grid[grid["H"].isna()]
    missing = names_by_subject(lacking["LBTESTCD"], lacking["USUBJID"], subjects.index)
    reason = choose_text(
        subjects.index,
        [
            (any_pos, "screening serology POSITIVE: " + pos_names),
            (flag.eq(False), "screening serology all NEGATIVE"),
        ],
        "",
    )
    reason = reason.mask(flag.isna(), f"{NOT_EVALUABLE}: no screening result for " + missing)
    return outcome(flag, reason)


def derive_ex08_ocular(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX08 "History of vision and visual field disorders, cataract".

    Rule: any ``MHCAT = OCULAR`` (history: dates do not matter)."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex08_ocular")
    return _mh_condition(subjects, mh, "OCULAR", "history", ended_within_days=None)


def _nyha_iii_or_iv(rec: pd.DataFrame) -> pd.Series:
    """Record-level: ``MHNYHA`` ``III`` or ``IV``; NA when the grade is missing (EX09)."""
    g = rec["MHNYHA"].astype("string")
    return g.isin(["III", "IV"]).astype("boolean").mask(g.isna(), pd.NA)


def derive_ex09_heart_failure(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX09 "Severe comorbidities including heart failure (>= grade III NYHA)".

    Rule: ``MHCAT = HEART_FAILURE`` with ``MHNYHA`` ``III`` or ``IV``, ongoing at ``ICDAT``; an
    ongoing heart failure without a grade is NOT EVALUABLE."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex09_heart_failure")
    return _mh_condition(subjects, mh, "HEART_FAILURE", "NYHA III/IV ongoing at consent", 0, _nyha_iii_or_iv)


def derive_ex10_peptic_ulcer(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX10 "Active peptic ulcers". Rule: ``MHCAT = PEPTIC_ULCER`` ongoing at ``ICDAT``."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex10_peptic_ulcer")
    return _mh_condition(subjects, mh, "PEPTIC_ULCER", "ongoing at consent")


def derive_ex11_other_autoimmune(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX11 "Complicated with other autoimmune diseases". Rule: ``AUTOIMMUNE_OTHER`` ongoing at ``ICDAT``."""
    require_columns(mh, FORM_COLUMNS["MH"], "derive_ex11_other_autoimmune")
    return _mh_condition(subjects, mh, "AUTOIMMUNE_OTHER", "ongoing at consent")


def derive_ex12_recent_biologic(subjects: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    """EX12 "History of administration of rituximab or other biologics within 6 months".

    Rule: a biologic (study/drug_classes.csv) ongoing at ``ICDAT`` or ended less than
    ``BIOLOGIC_DAYS`` (183) days before it (ended 182 days before consent: present; 183 or more:
    absent)."""
    require_columns(cm, FORM_COLUMNS["CM"], "derive_ex12_recent_biologic")
    days = int(study.protocol_limits()["BIOLOGIC_DAYS"])
    return _cm_class_condition(
        subjects, cm, "BIOLOGIC", f"ongoing or ended < {days} days before consent", days - 1
    )


def derive_ex13_other_immunosuppressor(subjects: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    """EX13 "Therapy with other immunosuppressors". Rule: an other immunosuppressor ongoing at ``ICDAT``."""
    require_columns(cm, FORM_COLUMNS["CM"], "derive_ex13_other_immunosuppressor")
    return _cm_class_condition(subjects, cm, "IMMUNOSUPPRESSOR", "ongoing at consent", 0)
