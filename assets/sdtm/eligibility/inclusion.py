"""Inclusion criteria IN02-IN06 (derivations.md, Eligibility; IN01 comes from the IE form alone).

Each ``derive_inNN_*`` returns the criterion's outcome (:mod:`assets.sdtm.eligibility.outcome`):
``FLAG`` True = met, False = not met, NA = NOT EVALUABLE. Limits come from
``study/protocol_limits.csv`` through :func:`study.protocol_limits`.
"""

from __future__ import annotations

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.sdtm.eligibility.forms import FORM_COLUMNS, form_frame
from assets.sdtm.eligibility.logic import (
    all_by_subject,
    any_by_subject,
    date_on_or_before,
    names_by_subject,
    ongoing_at_consent,
)
from assets.sdtm.eligibility.medications import derive_vars_daily_prednisone_mg, derive_vars_drug_class
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
    screening_sledai_total,
    screening_weight,
)
from assets.sdtm.mapping import isin_text
from study import facts

# Visit forms and their date: "the earliest SCREENING date of any form" (IN06).
SCREENING_DATES = facts.visit_forms()
# Drug classes (study/drug_classes.csv) that are standard therapy of SLE (IN04).
STANDARD_THERAPY_CLASSES = ["CORTICOSTEROID", "STANDARD_OTHER"]


def derive_in02_sledai_at_least_minimum(subjects: pd.DataFrame, sledai: pd.DataFrame) -> pd.DataFrame:
    """IN02 "SLE disease activity index (SLEDAI) >= 8".

    Rule: the recomputed SLEDAI-2K total (:func:`assets.sdtm.sledai.derive_var_sledai_total`) of the
    last complete ``SCREENING`` assessment >= ``SLEDAI_MIN``. No complete screening assessment ->
    NOT EVALUABLE.
    """
    require_columns(
        sledai, ["USUBJID", "VISIT", "SLDTC", "RECID", *study.sledai_weights()], "derive_in02_sledai"
    )
    limit = study.protocol_limits()["SLEDAI_MIN"]
    total = screening_sledai_total(subjects, sledai)
    flag = total >= limit
    attended = pd.Series(
        isin_text(subjects.index, at_screening(sledai)["USUBJID"].unique()), index=subjects.index
    )
    txt = number_text(total)
    reason = choose_text(
        subjects.index,
        [
            (flag.eq(True), "screening SLEDAI-2K " + txt + f" >= {limit:g}"),
            (flag.eq(False), "screening SLEDAI-2K " + txt + f" < {limit:g}"),
            (attended, f"{NOT_EVALUABLE}: SCREENING SLEDAI-2K total missing (an item not answered)"),
        ],
        f"{NOT_EVALUABLE}: no SCREENING SLEDAI-2K assessment",
    )
    return outcome(flag, reason)


def derive_in03_age_and_weight(subjects: pd.DataFrame, vs: pd.DataFrame) -> pd.DataFrame:
    """IN03 "Age 18 to 75 years, weight 45-80 kg".

    Rule: age at consent (whole years; birth date without day -> 15th, without month -> 1 July)
    ``AGE_MIN`` to ``AGE_MAX`` and the last ``SCREENING`` weight in kg ``WEIGHT_MIN`` to
    ``WEIGHT_MAX``, both ends inclusive. Weight in ``LB`` is converted (x 0.45359237) at ingest;
    both sides compared at :data:`assets.common.precision.DECIMALS` decimals.
    """
    require_columns(subjects, ["AGE_AT_CONSENT"], "derive_in03_age_and_weight")
    lim = study.protocol_limits()
    age = subjects["AGE_AT_CONSENT"].astype("Float64")
    weight = rounded(screening_weight(subjects, vs))
    age_ok = (age >= lim["AGE_MIN"]) & (age <= lim["AGE_MAX"])
    weight_ok = (weight >= lim["WEIGHT_MIN"]) & (weight <= lim["WEIGHT_MAX"])
    idx = subjects.index
    age_txt = choose_text(
        idx,
        [
            (age < lim["AGE_MIN"], "age " + number_text(age) + f" < {lim['AGE_MIN']:g}"),
            (age > lim["AGE_MAX"], "age " + number_text(age) + f" > {lim['AGE_MAX']:g}"),
            (age_ok.eq(True), "age " + number_text(age)),
        ],
        "age unknown (birth or consent date missing)",
    )
    w_txt = "screening weight " + number_text(weight) + " kg"
    weight_txt = choose_text(
        idx,
        [
            (weight < lim["WEIGHT_MIN"], w_txt + f" < {lim['WEIGHT_MIN']:g} kg"),
            (weight > lim["WEIGHT_MAX"], w_txt + f" > {lim['WEIGHT_MAX']:g} kg"),
            (weight_ok.eq(True), w_txt),
        ],
        "no SCREENING weight",
    )
    return outcome_not_evaluable_when_undecided(age_ok & weight_ok, age_txt + "; " + weight_txt)


def _standard_therapy_part(
    meds: pd.DataFrame, ongoing: pd.Series, idx: pd.Index
) -> tuple[pd.Series, pd.Series]:
    """IN04, first part: a standard-therapy medication started ``STANDARD_THERAPY_MIN_DAYS`` or more
    days before ``ICDAT`` and ongoing at ``ICDAT``; (subject flag, reason text)."""
    days = int(study.protocol_limits()["STANDARD_THERAPY_MIN_DAYS"])
    long_enough = date_on_or_before(meds["CMSTDTC"], meds["ICDTC_SUBJ"], days=days) & ongoing
    standard = meds["DRUG_CLASS"].isin(STANDARD_THERAPY_CLASSES).fillna(False).astype(bool)
    flag = any_by_subject(long_enough[standard], meds.loc[standard, "USUBJID"], idx)
    names = names_by_subject(
        meds.loc[standard & long_enough.eq(True), "CMDECOD"],
        meds.loc[standard & long_enough.eq(True), "USUBJID"],
        idx,
    )
    text = choose_text(
        idx,
        [
            (flag.eq(True), f"standard therapy >= {days} days and ongoing at consent: " + names),
            (
                flag.eq(False),
                f"no standard therapy started >= {days} days before consent and ongoing at consent",
            ),
        ],
        f"standard therapy dates cannot decide >= {days} days / ongoing at consent",
    )
    return flag, text


def _corticosteroid_dose_part(
    meds: pd.DataFrame, ongoing: pd.Series, weight: pd.Series, idx: pd.Index
) -> tuple[pd.Series, pd.Series]:
    """IN04, second part: the total daily prednisone-equivalent dose of corticosteroids ongoing at
    ``ICDAT`` <= ``CORTICOSTEROID_MAX_MG_PER_KG`` per kg of screening weight; (subject flag, text).

    No corticosteroid ongoing: met. A dose that cannot be computed, or a corticosteroid whose dates
    cannot decide, makes it NOT EVALUABLE unless the known doses already exceed the limit."""
    max_mg_per_kg = study.protocol_limits()["CORTICOSTEROID_MAX_MG_PER_KG"]
    cortico = meds["DRUG_CLASS"].eq("CORTICOSTEROID").fillna(False).astype(bool)
    candidate = cortico & ongoing.ne(False).fillna(True)
    known = cortico & ongoing.eq(True).fillna(False) & meds["PRED_MG"].notna()
    unknown = candidate & ~known
    known_mg = meds.loc[known].groupby("USUBJID")["PRED_MG"].sum().reindex(idx).fillna(0.0)
    has_candidate = pd.Series(isin_text(idx, meds.loc[candidate, "USUBJID"]), index=idx)
    has_unknown = pd.Series(isin_text(idx, meds.loc[unknown, "USUBJID"]), index=idx)
    per_kg = rounded(known_mg / weight)
    over = per_kg > max_mg_per_kg
    dose_ok = pd.Series(True, index=idx, dtype="boolean")
    dose_ok = dose_ok.mask(has_candidate & (has_unknown | weight.isna()), pd.NA).mask(
        over.fillna(False), False
    )
    limit = f"{max_mg_per_kg:g} mg/kg"
    text = choose_text(
        idx,
        [
            (~has_candidate, "no corticosteroid ongoing at consent"),
            (over.eq(True), "prednisone-equivalent " + number_text(per_kg) + f" mg/kg/day > {limit}"),
            (
                dose_ok.isna() & weight.isna(),
                "corticosteroid dose per kg not computable (no screening weight)",
            ),
            (
                dose_ok.isna(),
                "corticosteroid daily dose not computable (dose, unit, frequency or dates missing)",
            ),
        ],
        "",
    )
    text = text.mask(
        dose_ok.eq(True) & has_candidate,
        "prednisone-equivalent " + number_text(per_kg) + f" mg/kg/day <= {limit}",
    )
    return dose_ok, text


def derive_in04_standard_treatment(
    subjects: pd.DataFrame, cm: pd.DataFrame, vs: pd.DataFrame
) -> pd.DataFrame:
    """IN04 "Inadequate response to standard treatment for >= 3 months; background corticosteroids
    <= 1.0 mg/kg, hydroxychloroquine, cyclophosphamide or mycophenolate mofetil".

    Rule: a standard-therapy medication (corticosteroid or other standard therapy,
    study/drug_classes.csv) started ``STANDARD_THERAPY_MIN_DAYS`` or more days before ``ICDAT`` and
    ongoing at ``ICDAT``; and the total daily prednisone-equivalent dose of corticosteroids ongoing
    at ``ICDAT`` <= ``CORTICOSTEROID_MAX_MG_PER_KG`` per kg of screening weight (no corticosteroid
    ongoing: dose part met). A dose that cannot be computed (dose, unit, frequency or weight missing)
    or a corticosteroid whose dates cannot decide makes the dose part NOT EVALUABLE unless the known
    doses already exceed the limit.
    """
    require_columns(cm, FORM_COLUMNS["CM"], "derive_in04_standard_treatment")
    idx = subjects.index
    weight = screening_weight(subjects, vs)
    meds = derive_vars_daily_prednisone_mg(derive_vars_drug_class(subjects, cm), weight)
    ongoing = ongoing_at_consent(meds["CMSTDTC"], meds["CMENDTC"], meds["CMONGO"], meds["ICDTC_SUBJ"])
    std_flag, std_txt = _standard_therapy_part(meds, ongoing, idx)
    dose_ok, dose_txt = _corticosteroid_dose_part(meds, ongoing, weight, idx)
    return outcome_not_evaluable_when_undecided(std_flag & dose_ok, std_txt + "; " + dose_txt)


def derive_in05_negative_pregnancy_test(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """IN05 "Negative urine pregnancy test".

    Rule: ``HCG`` ``NEGATIVE`` at ``SCREENING`` for ``SEX = F`` (any ``POSITIVE`` at screening: not
    met); met for ``SEX = M``. A woman without a screening HCG result, or sex missing: NOT EVALUABLE.
    """
    require_columns(lb, FORM_COLUMNS["LB"], "derive_in05_negative_pregnancy_test")
    male, female, pos, neg = pregnancy_test_at_screening(subjects, lb)
    flag = pd.Series(pd.NA, index=subjects.index, dtype="boolean")
    flag = flag.mask(male | (female & neg), True).mask(female & pos, False)
    return outcome(flag, pregnancy_test_reason(subjects.index, male, female, pos, neg))


def _screening_dates(subjects: pd.DataFrame, forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every dated ``SCREENING`` record of the visit forms of screened subjects: USUBJID, DTC, FORM."""
    parts = []
    for form, col in SCREENING_DATES.items():
        # the three columns used, before the filter re-takes them (LB alone has ~500,000 rows)
        df = at_screening(form_frame(forms, form)[["USUBJID", "VISIT", col]])
        parts.append(
            pd.DataFrame(
                {
                    "USUBJID": df["USUBJID"].to_numpy(),
                    "DTC": df[col].astype("string").to_numpy(),
                    "FORM": form,
                }
            )
        )
    dates = pd.concat(parts, ignore_index=True)
    return dates[isin_text(dates["USUBJID"], subjects.index)].reset_index(drop=True)


def derive_in06_informed_consent(subjects: pd.DataFrame, forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """IN06 "Written informed consent form".

    Rule: ``ICDAT`` present and on or before the earliest ``SCREENING`` date of any visit form
    (VS LB SLEDAI PGA BILAG FACS). No ``ICDAT``: not met. No dated screening record: NOT EVALUABLE.
    """
    require_columns(subjects, ["ICDTC"], "derive_in06_informed_consent")
    dates = _screening_dates(subjects, forms)
    ic = dates["USUBJID"].map(subjects["ICDTC"]).astype("string")
    ok = date_on_or_before(ic, dates["DTC"])
    flag = all_by_subject(ok, dates["USUBJID"], subjects.index)
    no_ic = subjects["ICDTC"].isna()
    flag = flag.mask(no_ic, False)
    before = dates[ok.eq(False).to_numpy()]
    first_before = before.sort_values("DTC").drop_duplicates("USUBJID").set_index("USUBJID")
    late = first_before.reindex(subjects.index)
    reason = choose_text(
        subjects.index,
        [
            (no_ic, "informed consent date missing"),
            (
                flag.eq(False),
                "consent "
                + subjects["ICDTC"].fillna("")
                + " after SCREENING "
                + late["FORM"].fillna("")
                + " dated "
                + late["DTC"].fillna(""),
            ),
            (flag.eq(True), "consent " + subjects["ICDTC"].fillna("") + " on or before every SCREENING date"),
            (
                pd.Series(isin_text(subjects.index, dates["USUBJID"]), index=subjects.index),
                f"{NOT_EVALUABLE}: consent and SCREENING dates cannot be ordered at their precision",
            ),
        ],
        f"{NOT_EVALUABLE}: no dated SCREENING record",
    )
    return outcome(flag, reason)
