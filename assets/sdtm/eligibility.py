"""Eligibility: the 20 criteria of the registration, evaluated per screened subject.

Contract: derivations.md, "Eligibility" (the table there is the rule of each criterion), with the
criterion text and source in ``study/criteria.csv`` and every numeric limit in
``study/protocol_limits.csv``. Each criterion is one ``derive_<ietestcd>_<what>`` function of the
subject frame (one row per subject in DM, indexed by ``USUBJID``) and the harmonized forms it needs;
it returns an *outcome*: ``FLAG`` (nullable boolean: criterion met / present, not met / absent, or
``<NA>`` = NOT EVALUABLE) and ``REASON`` (human text). :func:`derive_eligibility` assembles the
outcomes into one row per subject x criterion.

Conventions (documented once, used by every criterion):

- Three-valued logic: pandas' nullable boolean follows Kleene logic, so ``a & b`` is False when
  either is False and NA when one is NA and the other True; a subject-level "any record" is True
  when one record is True, NA when none is True but one is NA, else False.
- Partial dates are compared at their precision through :func:`assets.common.dates.iso_bounds`:
  a comparison is True/False only when every full date the partial date can stand for agrees;
  otherwise it is NA and the criterion NOT EVALUABLE.
- "Ongoing at ICDAT": started on or before ``ICDAT`` and ``xxONGO = Y`` or end date on or after
  ``ICDAT``. A medical-history record without a start date counts as started before consent
  (MH is history collected at screening); a medication without a start date does not decide.
- "Ended less than N days before ICDAT" is ``ICDAT - end < N``, i.e. end on or after
  ``ICDAT - (N - 1)`` days: a biologic ended 182 days before consent excludes, 183 does not.
- Numbers converted between units (LB pounds -> kg, ukat/L x 60) carry binary floating-point
  noise (0.7 x 60 = 42.00000000000001); every comparison with a protocol limit rounds both sides
  to 6 decimals first (:data:`DECIMALS`), far below any clinical precision and far above the noise.
- "Last at SCREENING": the latest record of the visit by its ISO date (then ``RECID``) that has a
  value; repeated screening measurements are re-tests and the last one stands.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

import study
from assets.common.dates import age_in_years, impute_birth_date, iso_bounds, iso_to_date
from assets.common.units import format_number
from assets.sdtm.mapping import isin_text
from assets.sdtm.sledai import derive_var_sledai_total

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
DECIMALS = 6
NOT_EVALUABLE = "NOT EVALUABLE"
SCREENING = "SCREENING"

# Columns each form must offer to the criteria (harmonized ingest columns, site-export.md).
FORM_COLUMNS: dict[str, list[str]] = {
    "DM": ["USUBJID", "SUBJID", "SITEID", "RECID", "SEX", "BRTHDTC", "ICDTC"],
    "IE": [
        "USUBJID",
        "SUBJID",
        "SITEID",
        "RECID",
        "IETESTCD",
        "IEORRES",
        "SRC_EXPORT",
        "SRC_FILE",
        "SRC_LINE",
    ],
    "VS": ["USUBJID", "RECID", "VISIT", "VSDTC", "VSTESTCD", "VSSTRESN"],
    "LB": ["USUBJID", "RECID", "VISIT", "LBDTC", "LBTESTCD", "LBSTRESN", "LBSTRESC", "LBRESQUAL", "LBSTNRHI"],
    "SLEDAI": ["USUBJID", "RECID", "VISIT", "SLDTC", *study.sledai_weights()],
    "PGA": ["USUBJID", "RECID", "VISIT", "PGADTC"],
    "BILAG": ["USUBJID", "RECID", "VISIT", "BLDTC"],
    "FACS": ["USUBJID", "RECID", "VISIT", "FCDTC"],
    "CM": [
        "USUBJID",
        "RECID",
        "CMTRT",
        "CMDECOD",
        "CMDOSEN",
        "CMDOSU",
        "CMDOSFRQ",
        "CMSTDTC",
        "CMENDTC",
        "CMONGO",
    ],
    "MH": ["USUBJID", "RECID", "MHTERM", "MHCAT", "MHSTDTC", "MHENDTC", "MHONGO", "MHNYHA"],
}
NUMERIC_COLUMNS = {"VSSTRESN", "LBSTRESN", "LBSTNRHI", "CMDOSEN", "SRC_LINE"}
# Visit forms and their date: "the earliest SCREENING date of any form" (IN06).
SCREENING_DATES = {
    "VS": "VSDTC",
    "LB": "LBDTC",
    "SLEDAI": "SLDTC",
    "PGA": "PGADTC",
    "BILAG": "BLDTC",
    "FACS": "FCDTC",
}


# --------------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------------


def protocol_limits() -> dict[str, float]:
    """Numeric protocol limits (study/protocol_limits.csv): LIMIT -> VALUE."""
    t = study.table("protocol_limits")
    return dict(zip(t["LIMIT"], t["VALUE"].astype(float)))


def _require(df: pd.DataFrame, columns: list[str], who: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{who}: columns missing: {missing}")


def form_frame(forms: dict[str, pd.DataFrame], form: str) -> pd.DataFrame:
    """The harmonized frame of ``form`` with at least :data:`FORM_COLUMNS` (missing ones empty).

    An export may carry no row of a form (the ingest then returns a frame without columns)."""
    df = forms.get(form)
    df = pd.DataFrame() if df is None else df.copy()
    for col in FORM_COLUMNS.get(form, []):
        if col not in df.columns:
            df[col] = pd.Series(np.nan if col in NUMERIC_COLUMNS else pd.NA, index=df.index)
            if col not in NUMERIC_COLUMNS:
                df[col] = df[col].astype("string")
    return df


def criteria_frame(forms: dict[str, pd.DataFrame], form: str) -> pd.DataFrame:
    """:func:`form_frame` with exactly :data:`FORM_COLUMNS`: the criteria filter their forms (SCREENING
    rows, a test code, a category), and each filter re-takes every column (LB has 25 for ~500,000
    rows), so the columns nobody reads are dropped first."""
    return form_frame(forms, form)[FORM_COLUMNS[form]]


def _r(values: pd.Series) -> pd.Series:
    """Round to :data:`DECIMALS` (float noise from unit conversion must not decide a limit)."""
    return pd.to_numeric(values, errors="coerce").astype("Float64").round(DECIMALS)


def _num(values: pd.Series) -> pd.Series:
    """Numbers as short text for reasons (``82``, ``80.015``)."""
    return format_number(pd.to_numeric(values, errors="coerce").astype("float64")).fillna("missing")


def _outcome(flag: pd.Series, reason: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"FLAG": flag.astype("boolean"), "REASON": reason.astype("string")})


def _choose(index: pd.Index, cases: list[tuple[pd.Series, pd.Series | str]], default: str) -> pd.Series:
    """Text per row: the first case whose condition holds (conditions may hold NA = False)."""
    out = pd.Series(default, index=index, dtype="string")
    for cond, text in reversed(cases):
        out = out.mask(pd.Series(cond, index=index).fillna(False).astype(bool), text)
    return out


def date_on_or_before(a_iso: pd.Series, b_iso: pd.Series, days: int = 0) -> pd.Series:
    """Three-valued ``a <= b - days`` for ISO dates of any precision (NA when undecidable/missing)."""
    a, b = iso_bounds(a_iso), iso_bounds(b_iso.set_axis(a_iso.index))
    shift = pd.Timedelta(days=days)
    true = a["hi"] <= b["lo"] - shift
    false = a["lo"] > b["hi"] - shift
    out = pd.Series(pd.NA, index=a_iso.index, dtype="boolean")
    return out.mask(true.fillna(False), True).mask(false.fillna(False), False)


def date_on_or_after(a_iso: pd.Series, b_iso: pd.Series, days: int = 0) -> pd.Series:
    """Three-valued ``a >= b - days`` for ISO dates of any precision (NA when undecidable/missing)."""
    a, b = iso_bounds(a_iso), iso_bounds(b_iso.set_axis(a_iso.index))
    shift = pd.Timedelta(days=days)
    true = a["lo"] >= b["hi"] - shift
    false = a["hi"] < b["lo"] - shift
    out = pd.Series(pd.NA, index=a_iso.index, dtype="boolean")
    return out.mask(true.fillna(False), True).mask(false.fillna(False), False)


def ongoing_at_consent(
    start: pd.Series,
    end: pd.Series,
    ongoing: pd.Series,
    consent: pd.Series,
    ended_within_days: int = 0,
    missing_start_is_before: bool = False,
) -> pd.Series:
    """Three-valued: started on or before ``consent`` and (``ongoing = Y`` or end on or after
    ``consent - ended_within_days``). ``ended_within_days = N - 1`` encodes "ended less than N days
    before consent"; ``0`` is plain "ongoing at consent"."""
    started = date_on_or_before(start, consent)
    if missing_start_is_before:
        started = started.mask(start.isna() & consent.notna(), True)
    still = date_on_or_after(end, consent, days=ended_within_days)
    still = still.mask(ongoing.eq("Y").fillna(False), True)
    return started & still


def any_by_subject(flag: pd.Series, usubjid: pd.Series, index: pd.Index) -> pd.Series:
    """Subject-level Kleene OR: True if a record is True, NA if none True but one NA, else False."""
    frame = pd.DataFrame(
        {"U": usubjid.to_numpy(), "T": flag.eq(True).fillna(False).to_numpy(), "N": flag.isna().to_numpy()}
    )
    g = frame.groupby("U")[["T", "N"]].any().reindex(index, fill_value=False)
    out = pd.Series(False, index=index, dtype="boolean")
    return out.mask(g["N"], pd.NA).mask(g["T"], True)


def all_by_subject(flag: pd.Series, usubjid: pd.Series, index: pd.Index) -> pd.Series:
    """Subject-level Kleene AND over records; NA for a subject without records."""
    frame = pd.DataFrame(
        {"U": usubjid.to_numpy(), "F": flag.eq(False).fillna(False).to_numpy(), "N": flag.isna().to_numpy()}
    )
    g = frame.groupby("U")[["F", "N"]].any()
    has = pd.Series(isin_text(index, g.index), index=index)
    g = g.reindex(index, fill_value=False)
    out = pd.Series(True, index=index, dtype="boolean")
    return out.mask(g["N"] | ~has, pd.NA).mask(g["F"], False)


def names_by_subject(names: pd.Series, usubjid: pd.Series, index: pd.Index) -> pd.Series:
    """Distinct names per subject joined by ``, `` (in order of first appearance), '' when none."""
    # Python strings (object): joining per group then needs no conversion from Arrow per subject
    frame = pd.DataFrame(
        {"U": usubjid.to_numpy(), "X": names.astype("string").fillna("?").to_numpy()}, dtype=object
    )
    frame = frame.drop_duplicates()
    joined = frame.groupby("U", sort=False)["X"].agg(", ".join)
    return joined.reindex(index).fillna("").astype("string")


def last_by_subject(
    df: pd.DataFrame, date_col: str, value_col: str, by: list[str] | None = None
) -> pd.DataFrame:
    """Latest record (ISO date, then RECID) with a non-missing ``value_col`` per subject (and ``by``)."""
    keys = ["USUBJID", *(by or [])]
    have = df[df[value_col].notna()]
    have = have.sort_values([*keys, date_col, "RECID"], kind="stable", na_position="first")
    return have.drop_duplicates(keys, keep="last")


def _at_screening(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["VISIT"].eq(SCREENING).fillna(False)]


def subjects_from_dm(dm: pd.DataFrame) -> pd.DataFrame:
    """One row per screened subject (every subject in DM), indexed by ``USUBJID``, with
    ``AGE_AT_CONSENT`` (derivations.md, Time: whole years, day-unknown birth date as the 15th,
    month-unknown as 1 July) and ``ICDATE`` (consent as a full date, NaT when partial)."""
    _require(dm, ["USUBJID", "SUBJID", "SITEID", "SEX", "BRTHDTC", "ICDTC"], "subjects_from_dm")
    subjects = dm.sort_values(["USUBJID", "RECID"] if "RECID" in dm.columns else ["USUBJID"], kind="stable")
    subjects = subjects.drop_duplicates("USUBJID", keep="last").set_index("USUBJID", drop=False)
    subjects.index.name = None
    subjects = subjects.copy()
    subjects["ICDATE"] = iso_to_date(subjects["ICDTC"])
    subjects["AGE_AT_CONSENT"] = age_in_years(impute_birth_date(subjects["BRTHDTC"]), subjects["ICDATE"])
    return subjects


def screening_weight(subjects: pd.DataFrame, vs: pd.DataFrame) -> pd.Series:
    """Last ``WEIGHT`` at ``SCREENING`` in kg (``VSSTRESN``, already converted from LB), per subject."""
    _require(vs, ["USUBJID", "VISIT", "VSDTC", "VSTESTCD", "VSSTRESN", "RECID"], "screening_weight")
    w = _at_screening(vs)
    w = last_by_subject(w[w["VSTESTCD"].eq("WEIGHT").fillna(False)], "VSDTC", "VSSTRESN")
    return w.set_index("USUBJID")["VSSTRESN"].reindex(subjects.index).astype("float64")


# --------------------------------------------------------------------------------------------------
# inclusion criteria
# --------------------------------------------------------------------------------------------------


def derive_in02_sledai_at_least_8(subjects: pd.DataFrame, sledai: pd.DataFrame) -> pd.DataFrame:
    """IN02 "SLE disease activity index (SLEDAI) >= 8".

    Rule: the recomputed SLEDAI-2K total (:func:`assets.sdtm.sledai.derive_var_sledai_total`) of the
    last complete ``SCREENING`` assessment >= 8. No complete screening assessment -> NOT EVALUABLE.
    """
    _require(sledai, ["USUBJID", "VISIT", "SLDTC", "RECID", *study.sledai_weights()], "derive_in02")
    limit = protocol_limits()["SLEDAI_MIN"]
    scr = _at_screening(sledai)
    scored = derive_var_sledai_total(scr) if len(scr) else scr.assign(SLEDAI_TOTAL=pd.Series(dtype="Int64"))
    last = last_by_subject(scored, "SLDTC", "SLEDAI_TOTAL").set_index("USUBJID")["SLEDAI_TOTAL"]
    total = last.reindex(subjects.index).astype("Float64")
    flag = total >= limit
    attended = pd.Series(isin_text(subjects.index, scr["USUBJID"].unique()), index=subjects.index)
    txt = _num(total)
    reason = _choose(
        subjects.index,
        [
            (flag.eq(True), "screening SLEDAI-2K " + txt + f" >= {limit:g}"),
            (flag.eq(False), "screening SLEDAI-2K " + txt + f" < {limit:g}"),
            (attended, f"{NOT_EVALUABLE}: SCREENING SLEDAI-2K total missing (an item not answered)"),
        ],
        f"{NOT_EVALUABLE}: no SCREENING SLEDAI-2K assessment",
    )
    return _outcome(flag, reason)


def derive_in03_age_and_weight(subjects: pd.DataFrame, vs: pd.DataFrame) -> pd.DataFrame:
    """IN03 "Age 18 to 75 years, weight 45-80 kg".

    Rule: age at consent (whole years; birth date without day -> 15th, without month -> 1 July)
    18 to 75 and the last ``SCREENING`` weight in kg 45 to 80, both ends inclusive. Weight in ``LB``
    is converted (x 0.45359237) before the comparison; both compared at 6 decimals.
    """
    _require(subjects, ["AGE_AT_CONSENT"], "derive_in03")
    lim = protocol_limits()
    age = subjects["AGE_AT_CONSENT"].astype("Float64")
    weight = _r(screening_weight(subjects, vs))
    age_ok = (age >= lim["AGE_MIN"]) & (age <= lim["AGE_MAX"])
    weight_ok = (weight >= lim["WEIGHT_MIN"]) & (weight <= lim["WEIGHT_MAX"])
    idx = subjects.index
    age_txt = _choose(
        idx,
        [
            (age < lim["AGE_MIN"], "age " + _num(age) + f" < {lim['AGE_MIN']:g}"),
            (age > lim["AGE_MAX"], "age " + _num(age) + f" > {lim['AGE_MAX']:g}"),
            (age_ok.eq(True), "age " + _num(age)),
        ],
        "age unknown (birth or consent date missing)",
    )
    w_txt = "screening weight " + _num(weight) + " kg"
    weight_txt = _choose(
        idx,
        [
            (weight < lim["WEIGHT_MIN"], w_txt + f" < {lim['WEIGHT_MIN']:g} kg"),
            (weight > lim["WEIGHT_MAX"], w_txt + f" > {lim['WEIGHT_MAX']:g} kg"),
            (weight_ok.eq(True), w_txt),
        ],
        "no SCREENING weight",
    )
    flag = age_ok & weight_ok
    reason = age_txt + "; " + weight_txt
    return _outcome(flag, reason.mask(flag.isna(), f"{NOT_EVALUABLE}: " + reason))


def _cm_with_class(subjects: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    classes = study.drug_classes().set_index("CMDECOD")
    out = cm.copy()
    decod = out["CMDECOD"].astype("string").str.upper().str.strip()
    out["DRUG_CLASS"] = decod.map(classes["DRUG_CLASS"]).astype("string")
    out["PRED_FACTOR"] = decod.map(classes["PREDNISONE_FACTOR"]).astype("float64")
    out["ICDTC_SUBJ"] = out["USUBJID"].map(subjects["ICDTC"]).astype("string")
    return out


def derive_vars_daily_prednisone_mg(cm: pd.DataFrame, weight_kg: pd.Series) -> pd.DataFrame:
    """Add ``DAILY_MG`` (daily dose in mg: ``CMDOSE`` in mg, ``g`` x 1000, ``mg/kg`` x screening
    weight; times frequency per day, study/dose_frequencies.csv) and ``PRED_MG`` (x prednisone
    factor, study/drug_classes.csv). Missing when dose, unit, frequency or a needed weight is missing."""
    _require(
        cm, ["USUBJID", "CMDOSEN", "CMDOSU", "CMDOSFRQ", "PRED_FACTOR"], "derive_vars_daily_prednisone_mg"
    )
    units = study.dose_units().set_index("CMDOSU")
    per_day = pd.Series(study.dose_frequencies())
    out = cm.copy()
    to_mg = out["CMDOSU"].map(units["TO_MG"]).astype("float64")
    per_kg = out["CMDOSU"].map(units["PER_KG"]).eq("Y").fillna(False).astype(bool)
    weight = out["USUBJID"].map(weight_kg).astype("float64")
    mg = out["CMDOSEN"].astype("float64") * to_mg
    mg = mg.where(~per_kg, mg * weight)
    out["DAILY_MG"] = mg * out["CMDOSFRQ"].map(per_day).astype("float64")
    out["PRED_MG"] = out["DAILY_MG"] * out["PRED_FACTOR"]
    return out


def derive_in04_standard_treatment(
    subjects: pd.DataFrame, cm: pd.DataFrame, vs: pd.DataFrame
) -> pd.DataFrame:
    """IN04 "Inadequate response to standard treatment for >= 3 months; background corticosteroids
    <= 1.0 mg/kg, hydroxychloroquine, cyclophosphamide or mycophenolate mofetil".

    Rule: a standard-therapy medication (corticosteroid or other standard therapy,
    study/drug_classes.csv) started 90 or more days before ``ICDAT`` and ongoing at ``ICDAT``; and
    the total daily prednisone-equivalent dose of corticosteroids ongoing at ``ICDAT`` <= 1.0 mg per
    kg of screening weight (no corticosteroid ongoing: dose part met). A dose that cannot be
    computed (dose, unit, frequency or weight missing) or a corticosteroid whose dates cannot
    decide makes the dose part NOT EVALUABLE unless the known doses already exceed the limit.
    """
    _require(cm, FORM_COLUMNS["CM"], "derive_in04")
    lim = protocol_limits()
    idx = subjects.index
    weight = screening_weight(subjects, vs)
    meds = derive_vars_daily_prednisone_mg(_cm_with_class(subjects, cm), weight)
    ic = meds["ICDTC_SUBJ"]
    ongoing = ongoing_at_consent(meds["CMSTDTC"], meds["CMENDTC"], meds["CMONGO"], ic)
    long_enough = date_on_or_before(meds["CMSTDTC"], ic, days=int(lim["STANDARD_THERAPY_MIN_DAYS"])) & ongoing
    standard = meds["DRUG_CLASS"].isin(["CORTICOSTEROID", "STANDARD_OTHER"]).fillna(False).astype(bool)
    std_flag = any_by_subject(long_enough[standard], meds.loc[standard, "USUBJID"], idx)
    std_names = names_by_subject(
        meds.loc[standard & long_enough.eq(True), "CMDECOD"],
        meds.loc[standard & long_enough.eq(True), "USUBJID"],
        idx,
    )

    cortico = meds["DRUG_CLASS"].eq("CORTICOSTEROID").fillna(False).astype(bool)
    candidate = cortico & ongoing.ne(False).fillna(True)
    known = cortico & ongoing.eq(True).fillna(False) & meds["PRED_MG"].notna()
    unknown = candidate & ~known
    known_mg = meds.loc[known].groupby("USUBJID")["PRED_MG"].sum().reindex(idx).fillna(0.0)
    has_candidate = pd.Series(isin_text(idx, meds.loc[candidate, "USUBJID"]), index=idx)
    has_unknown = pd.Series(isin_text(idx, meds.loc[unknown, "USUBJID"]), index=idx)
    per_kg = _r(known_mg / weight)
    over = per_kg > lim["CORTICOSTEROID_MAX_MG_PER_KG"]
    dose_ok = pd.Series(True, index=idx, dtype="boolean")
    dose_ok = dose_ok.mask(has_candidate & (has_unknown | weight.isna()), pd.NA).mask(
        over.fillna(False), False
    )

    flag = std_flag & dose_ok
    std_txt = _choose(
        idx,
        [
            (std_flag.eq(True), "standard therapy >= 90 days and ongoing at consent: " + std_names),
            (
                std_flag.eq(False),
                "no standard therapy started >= 90 days before consent and ongoing at consent",
            ),
        ],
        "standard therapy dates cannot decide >= 90 days / ongoing at consent",
    )
    limit = f"{lim['CORTICOSTEROID_MAX_MG_PER_KG']:g} mg/kg"
    dose_txt = _choose(
        idx,
        [
            (~has_candidate, "no corticosteroid ongoing at consent"),
            (over.eq(True), "prednisone-equivalent " + _num(per_kg) + f" mg/kg/day > {limit}"),
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
    dose_txt = dose_txt.mask(
        dose_ok.eq(True) & has_candidate, "prednisone-equivalent " + _num(per_kg) + f" mg/kg/day <= {limit}"
    )
    reason = std_txt + "; " + dose_txt
    return _outcome(flag, reason.mask(flag.isna(), f"{NOT_EVALUABLE}: " + reason))


def _hcg_at_screening(subjects: pd.DataFrame, lb: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(any POSITIVE, any NEGATIVE) urine HCG at SCREENING per subject."""
    hcg = _at_screening(lb)
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


def derive_in05_negative_pregnancy_test(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """IN05 "Negative urine pregnancy test".

    Rule: ``HCG`` ``NEGATIVE`` at ``SCREENING`` for ``SEX = F`` (any ``POSITIVE`` at screening: not
    met); met for ``SEX = M``. A woman without a screening HCG result, or sex missing: NOT EVALUABLE.
    """
    _require(lb, FORM_COLUMNS["LB"], "derive_in05")
    pos, neg = _hcg_at_screening(subjects, lb)
    male = subjects["SEX"].eq("M").fillna(False)
    female = subjects["SEX"].eq("F").fillna(False)
    flag = pd.Series(pd.NA, index=subjects.index, dtype="boolean")
    flag = flag.mask(male | (female & neg), True).mask(female & pos, False)
    reason = _choose(
        subjects.index,
        [
            (male, "male: not applicable"),
            (female & pos, "screening urine HCG POSITIVE"),
            (female & neg, "screening urine HCG NEGATIVE"),
            (female, f"{NOT_EVALUABLE}: no screening urine HCG result"),
        ],
        f"{NOT_EVALUABLE}: sex missing",
    )
    return _outcome(flag, reason)


def derive_in06_informed_consent(subjects: pd.DataFrame, forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """IN06 "Written informed consent form".

    Rule: ``ICDAT`` present and on or before the earliest ``SCREENING`` date of any visit form
    (VS LB SLEDAI PGA BILAG FACS). No ``ICDAT``: not met. No dated screening record: NOT EVALUABLE.
    """
    parts = []
    for form, col in SCREENING_DATES.items():
        # the three columns used, before the filter re-takes them (LB alone has ~500,000 rows)
        df = _at_screening(form_frame(forms, form)[["USUBJID", "VISIT", col]])
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
    dates = dates[isin_text(dates["USUBJID"], subjects.index)].reset_index(drop=True)
    ic = dates["USUBJID"].map(subjects["ICDTC"]).astype("string")
    ok = date_on_or_before(ic, dates["DTC"])
    flag = all_by_subject(ok, dates["USUBJID"], subjects.index)
    no_ic = subjects["ICDTC"].isna()
    flag = flag.mask(no_ic, False)
    before = dates[ok.eq(False).to_numpy()]
    first_before = before.sort_values("DTC").drop_duplicates("USUBJID").set_index("USUBJID")
    late = first_before.reindex(subjects.index)
    reason = _choose(
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
    return _outcome(flag, reason)


# --------------------------------------------------------------------------------------------------
# exclusion criteria
# --------------------------------------------------------------------------------------------------


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
    _require(mh, FORM_COLUMNS["MH"], f"MH {category}")
    rec = mh[mh["MHCAT"].eq(category).fillna(False)].copy()
    ic = rec["USUBJID"].map(subjects["ICDTC"]).astype("string")
    if ended_within_days is None:
        hold = pd.Series(True, index=rec.index, dtype="boolean")
    else:
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
    reason = _choose(
        subjects.index,
        [
            (flag.eq(True), f"{category} {what}: " + terms_true),
            (flag.isna(), f"{NOT_EVALUABLE}: {category} dates or grade cannot decide ({what}): " + terms_na),
        ],
        f"no {category} {what}",
    )
    return _outcome(flag, reason)


def _cm_class_condition(
    subjects: pd.DataFrame, cm: pd.DataFrame, drug_class: str, what: str, ended_within_days: int
) -> pd.DataFrame:
    _require(cm, FORM_COLUMNS["CM"], f"CM {drug_class}")
    meds = _cm_with_class(subjects, cm)
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
    reason = _choose(
        subjects.index,
        [
            (flag.eq(True), f"{label} {what}: " + names_true),
            (flag.isna(), f"{NOT_EVALUABLE}: {label} dates cannot decide ({what}): " + names_na),
        ],
        f"no {label} {what}",
    )
    return _outcome(flag, reason)


def derive_ex01_allergy_data(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX01 "Allergic to IL-2, corticosteroids, hydroxychloroquine, cyclophosphamide or mycophenolate
    mofetil" -- data part.

    Rule: any ``MHCAT = ALLERGY_STUDY_DRUG`` (whatever its dates), or the investigator's answer on
    the IE form (combined in :func:`derive_eligibility`: data present, or answer ``Y``)."""
    return _mh_condition(subjects, mh, "ALLERGY_STUDY_DRUG", "recorded", ended_within_days=None)


def derive_ex02_severe_npsle(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX02 "Active severe neuropsychiatric manifestations of SLE".

    Rule: ``MHCAT = NPSLE_SEVERE`` ongoing at ``ICDAT``."""
    return _mh_condition(subjects, mh, "NPSLE_SEVERE", "ongoing at consent")


def _liver_test(
    subjects: pd.DataFrame, lb: pd.DataFrame, testcd: str, factor: float
) -> tuple[pd.Series, pd.Series]:
    """Per subject: last SCREENING ``testcd`` >= ``factor`` x ULN (three-valued) and its text."""
    scr = _at_screening(lb)
    rows = last_by_subject(scr[scr["LBTESTCD"].eq(testcd).fillna(False)], "LBDTC", "LBSTRESN").set_index(
        "USUBJID"
    )
    rows = rows.reindex(subjects.index)
    value = _r(rows["LBSTRESN"])
    limit = _r(rows["LBSTNRHI"].astype("float64") * factor)
    qual = rows["LBRESQUAL"].astype("string")
    high = value >= limit
    # "<x": the value is below x, so it is high only if x could be; ">x": above x.
    high = high.mask(qual.str.startswith("<").fillna(False) & high.eq(True), pd.NA)
    high = high.mask(qual.str.startswith(">").fillna(False) & high.eq(False), pd.NA)
    shown = qual.fillna("") + _num(value)
    text = _choose(
        subjects.index,
        [
            (
                high.eq(True),
                f"{testcd} " + shown + " U/L >= " + f"{factor:g} x ULN " + _num(limit / factor) + " U/L",
            ),
            (
                high.eq(False),
                f"{testcd} " + shown + " U/L < " + f"{factor:g} x ULN " + _num(limit / factor) + " U/L",
            ),
            (value.notna() & limit.isna(), f"{testcd} " + shown + " U/L without ULN"),
        ],
        f"no SCREENING {testcd}",
    )
    return high, text


def derive_ex03_liver_enzymes(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """EX03 "Hepatic insufficiency (ALT or AST >= 2 times the upper limit of normal)".

    Rule: the last ``SCREENING`` ALT or AST in standard units (U/L; ukat/L x 60) >= 2 x the site ULN
    converted the same way; both sides rounded to 6 decimals (1.4 ukat/L against ULN 0.7 ukat/L is
    exactly 2 x ULN: present). One test high is enough; otherwise both are needed to exclude it."""
    _require(lb, FORM_COLUMNS["LB"], "derive_ex03")
    factor = protocol_limits()["LIVER_MAX_XULN"]
    alt, alt_txt = _liver_test(subjects, lb, "ALT", factor)
    ast, ast_txt = _liver_test(subjects, lb, "AST", factor)
    flag = alt | ast
    reason = alt_txt + "; " + ast_txt
    return _outcome(flag, reason.mask(flag.isna(), f"{NOT_EVALUABLE}: " + reason))


def derive_ex04_pregnancy_data(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """EX04 "Pregnancy or lactation in females" -- data part.

    Rule: ``HCG`` ``POSITIVE`` at ``SCREENING`` (a woman with a NEGATIVE test: pregnancy absent;
    without a test: NOT EVALUABLE); lactation comes from the investigator's answer, combined in
    :func:`derive_eligibility`. Men: absent."""
    _require(lb, FORM_COLUMNS["LB"], "derive_ex04")
    pos, neg = _hcg_at_screening(subjects, lb)
    male = subjects["SEX"].eq("M").fillna(False)
    female = subjects["SEX"].eq("F").fillna(False)
    flag = pd.Series(pd.NA, index=subjects.index, dtype="boolean")
    flag = flag.mask(male | (female & neg & ~pos), False).mask(female & pos, True)
    reason = _choose(
        subjects.index,
        [
            (male, "male: not applicable"),
            (female & pos, "screening urine HCG POSITIVE"),
            (female & neg, "screening urine HCG NEGATIVE"),
            (female, f"{NOT_EVALUABLE}: no screening urine HCG result"),
        ],
        f"{NOT_EVALUABLE}: sex missing",
    )
    # Pregnancy and lactation concern women only: for a man the data decide, no answer is needed.
    return _outcome(flag, reason).assign(DATA_DECIDES=male.to_numpy())


def derive_ex05_malignancy(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX05 "Cancer or history of cancer cured for less than five years (except in situ carcinoma of
    the cervix or basocellular carcinoma)".

    Rule: ``MHCAT = MALIGNANCY`` ongoing or ended less than 1826 days before ``ICDAT``
    (``MALIGNANCY_EXEMPT`` is another category and does not count)."""
    days = int(protocol_limits()["MALIGNANCY_DAYS"])
    return _mh_condition(
        subjects, mh, "MALIGNANCY", f"ongoing or ended < {days} days before consent", days - 1
    )


def derive_ex06_infection(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX06 "Serious infection such as bacteremia, sepsis; history of chronic infection".

    Rule: ``INFECTION_SERIOUS`` ongoing or ended within 90 days before ``ICDAT`` (``ICDAT - end
    <= 90``); or any ``INFECTION_CHRONIC``."""
    days = int(protocol_limits()["SERIOUS_INFECTION_DAYS"])
    serious = _mh_condition(
        subjects, mh, "INFECTION_SERIOUS", f"ongoing or ended <= {days} days before consent", days
    )
    chronic = _mh_condition(subjects, mh, "INFECTION_CHRONIC", "recorded", ended_within_days=None)
    flag = serious["FLAG"] | chronic["FLAG"]
    reason = serious["REASON"] + "; " + chronic["REASON"]
    return _outcome(flag, reason.mask(flag.isna(), f"{NOT_EVALUABLE}: " + reason))


def derive_ex07_active_infection_serology(subjects: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """EX07 "Active infection (hepatitis B or C virus, Epstein-Barr virus, HIV or Mycobacterium
    tuberculosis)".

    Rule: any of ``HBSAG HCVAB HIVAB EBVDNA TBIGRA`` ``POSITIVE`` at ``SCREENING``. Absent only when
    all five have a result at screening; otherwise NOT EVALUABLE."""
    _require(lb, FORM_COLUMNS["LB"], "derive_ex07")
    tests = ["HBSAG", "HCVAB", "HIVAB", "EBVDNA", "TBIGRA"]
    scr = _at_screening(lb)
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
    have = resulted.drop_duplicates(["USUBJID", "LBTESTCD"])
    grid = pd.MultiIndex.from_product([subjects.index, tests], names=["USUBJID", "LBTESTCD"]).to_frame(
        index=False
    )
    grid = grid.merge(have[["USUBJID", "LBTESTCD"]].assign(H=True), how="left", on=["USUBJID", "LBTESTCD"])
    lacking = grid[grid["H"].isna()]
    missing = names_by_subject(lacking["LBTESTCD"], lacking["USUBJID"], subjects.index)
    reason = _choose(
        subjects.index,
        [
            (any_pos, "screening serology POSITIVE: " + pos_names),
            (flag.eq(False), "screening serology all NEGATIVE"),
        ],
        "",
    )
    reason = reason.mask(flag.isna(), f"{NOT_EVALUABLE}: no screening result for " + missing)
    return _outcome(flag, reason)


def derive_ex08_ocular(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX08 "History of vision and visual field disorders, cataract".

    Rule: any ``MHCAT = OCULAR`` (history: dates do not matter)."""
    return _mh_condition(subjects, mh, "OCULAR", "history", ended_within_days=None)


def derive_ex09_heart_failure(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX09 "Severe comorbidities including heart failure (>= grade III NYHA)".

    Rule: ``MHCAT = HEART_FAILURE`` with ``MHNYHA`` ``III`` or ``IV``, ongoing at ``ICDAT``; an
    ongoing heart failure without a grade is NOT EVALUABLE."""

    def grade_iii_iv(rec: pd.DataFrame) -> pd.Series:
        g = rec["MHNYHA"].astype("string")
        return g.isin(["III", "IV"]).astype("boolean").mask(g.isna(), pd.NA)

    return _mh_condition(subjects, mh, "HEART_FAILURE", "NYHA III/IV ongoing at consent", 0, grade_iii_iv)


def derive_ex10_peptic_ulcer(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX10 "Active peptic ulcers". Rule: ``MHCAT = PEPTIC_ULCER`` ongoing at ``ICDAT``."""
    return _mh_condition(subjects, mh, "PEPTIC_ULCER", "ongoing at consent")


def derive_ex11_other_autoimmune(subjects: pd.DataFrame, mh: pd.DataFrame) -> pd.DataFrame:
    """EX11 "Complicated with other autoimmune diseases". Rule: ``AUTOIMMUNE_OTHER`` ongoing at ``ICDAT``."""
    return _mh_condition(subjects, mh, "AUTOIMMUNE_OTHER", "ongoing at consent")


def derive_ex12_recent_biologic(subjects: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    """EX12 "History of administration of rituximab or other biologics within 6 months".

    Rule: a biologic (study/drug_classes.csv) ongoing at ``ICDAT`` or ended less than 183 days
    before it (ended 182 days before consent: present; 183 or more: absent)."""
    days = int(protocol_limits()["BIOLOGIC_DAYS"])
    return _cm_class_condition(
        subjects, cm, "BIOLOGIC", f"ongoing or ended < {days} days before consent", days - 1
    )


def derive_ex13_other_immunosuppressor(subjects: pd.DataFrame, cm: pd.DataFrame) -> pd.DataFrame:
    """EX13 "Therapy with other immunosuppressors". Rule: an other immunosuppressor ongoing at ``ICDAT``."""
    return _cm_class_condition(subjects, cm, "IMMUNOSUPPRESSOR", "ongoing at consent", 0)


# --------------------------------------------------------------------------------------------------
# investigator answers and assembly
# --------------------------------------------------------------------------------------------------


def investigator_answers(ie: pd.DataFrame) -> pd.DataFrame:
    """The IE form, one row per subject x criterion (the last ``RECID`` when repeated), with
    ``INV_ANSWER`` (``Y``/``N``/missing) and the row's lineage."""
    _require(ie, FORM_COLUMNS["IE"], "investigator_answers")
    ie = ie.sort_values(["USUBJID", "IETESTCD", "RECID"], kind="stable").drop_duplicates(
        ["USUBJID", "IETESTCD"], keep="last"
    )
    return ie.rename(columns={"IEORRES": "INV_ANSWER"})[
        ["USUBJID", "IETESTCD", "INV_ANSWER", "RECID", "SRC_EXPORT", "SRC_FILE", "SRC_LINE"]
    ].reset_index(drop=True)


# IETESTCD -> (function, forms it reads after ``subjects``); criteria with source IE_FORM have none.
CRITERIA_FUNCTIONS: dict[str, tuple[Callable[..., pd.DataFrame], tuple[str, ...]]] = {
    "IN02": (derive_in02_sledai_at_least_8, ("SLEDAI",)),
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


def _combine_with_investigator(data: pd.DataFrame, answer: pd.Series, source: str) -> pd.DataFrame:
    """RESULT flag and reason from the data part and the investigator's answer, by SOURCE.

    IE_FORM: the answer decides (missing -> NOT EVALUABLE). BOTH (exclusions EX01, EX04): present
    when the data show it or the investigator answers ``Y``; absent when the data do not show it and
    the answer is ``N``; otherwise NOT EVALUABLE (Kleene OR). DERIVED: the data decide."""
    inv = answer.map({"Y": True, "N": False}).astype("boolean")
    inv_txt = "investigator answer " + answer.fillna("missing").astype("string")
    if source == "IE_FORM":
        reason = inv_txt.mask(inv.isna(), f"{NOT_EVALUABLE}: investigator answer missing on the IE form")
        return _outcome(inv, reason)
    if source == "BOTH":
        decides = (
            data["DATA_DECIDES"] if "DATA_DECIDES" in data.columns else pd.Series(False, index=data.index)
        )
        flag = (data["FLAG"] | inv).mask(decides.astype(bool), data["FLAG"])
        reason = data["REASON"] + "; " + inv_txt
        return _outcome(
            flag,
            reason.mask(flag.isna() & ~reason.str.startswith(NOT_EVALUABLE), f"{NOT_EVALUABLE}: " + reason),
        )
    return data


def derive_eligibility(forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every screened subject (every subject in DM) x the 20 criteria of study/criteria.csv.

    Columns exactly :data:`ELIGIBILITY_COLUMNS`: ``RESULT`` ``MET``/``NOT MET``/``NOT EVALUABLE``
    (inclusion) or ``PRESENT``/``ABSENT``/``NOT EVALUABLE`` (exclusion); ``COUNTS_AGAINST`` when an
    inclusion is not ``MET`` or an exclusion not ``ABSENT``; ``INV_ANSWER`` the IE form's answer;
    ``AGREES`` whether that answer agrees with the derived result (DERIVED: answer equals the result;
    BOTH: false only when the data show the exclusion and the answer is ``N``; missing when either
    side is missing or the criterion comes from the IE form alone)."""
    dm = form_frame(forms, "DM")
    subjects = subjects_from_dm(dm)
    frames = {name: criteria_frame(forms, name) for name in FORM_COLUMNS}
    answers = investigator_answers(frames["IE"])
    criteria = study.criteria()
    rows = []
    for crit in criteria.itertuples():
        fn, needs = CRITERIA_FUNCTIONS.get(crit.IETESTCD, (None, ()))
        if fn is None:
            data = _outcome(
                pd.Series(pd.NA, index=subjects.index, dtype="boolean"), pd.Series("", index=subjects.index)
            )
        elif needs == ("*",):
            data = fn(subjects, frames)
        else:
            data = fn(subjects, *(frames[n] for n in needs))
        ans = (
            answers[answers["IETESTCD"] == crit.IETESTCD]
            .set_index("USUBJID")["INV_ANSWER"]
            .reindex(subjects.index)
        )
        out = _combine_with_investigator(data, ans.astype("string"), crit.SOURCE)
        inclusion = crit.IECAT == "INCLUSION"
        yes, no = ("MET", "NOT MET") if inclusion else ("PRESENT", "ABSENT")
        result = out["FLAG"].map({True: yes, False: no}).astype("string").fillna(NOT_EVALUABLE)
        expected = out["FLAG"].map({True: "Y", False: "N"}).astype("string")
        if crit.SOURCE == "DERIVED":
            agrees = (ans == expected).astype("boolean").mask(ans.isna() | expected.isna(), pd.NA)
        elif crit.SOURCE == "BOTH":
            shown = data["FLAG"].eq(True).fillna(False)
            agrees = (~(shown & ans.eq("N").fillna(False))).astype("boolean").mask(ans.isna(), pd.NA)
        else:
            agrees = pd.Series(pd.NA, index=subjects.index, dtype="boolean")
        rows.append(
            pd.DataFrame(
                {
                    "USUBJID": subjects["USUBJID"],
                    "SUBJID": subjects["SUBJID"],
                    "SITEID": subjects["SITEID"],
                    "IETESTCD": crit.IETESTCD,
                    "IECAT": crit.IECAT,
                    "IETEST": crit.IETEST,
                    "RESULT": result,
                    "COUNTS_AGAINST": result.ne(yes if inclusion else no),
                    "INV_ANSWER": ans,
                    "AGREES": agrees,
                    "REASON": out["REASON"],
                    "SOURCE": crit.SOURCE,
                    "ICDTC": subjects["ICDTC"],
                }
            )
        )
    if not rows or subjects.empty:
        return empty_eligibility()
    out = pd.concat(rows, ignore_index=True)
    for col in ELIGIBILITY_COLUMNS:
        if col not in ("COUNTS_AGAINST", "AGREES"):
            out[col] = out[col].astype("string")
    out["COUNTS_AGAINST"] = out["COUNTS_AGAINST"].astype(bool)
    out["AGREES"] = out["AGREES"].astype("boolean")
    return out[ELIGIBILITY_COLUMNS].sort_values(["USUBJID", "IETESTCD"], kind="stable").reset_index(drop=True)


def empty_eligibility() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="string") for c in ELIGIBILITY_COLUMNS})
    df["COUNTS_AGAINST"] = df["COUNTS_AGAINST"].astype(bool)
    df["AGREES"] = df["AGREES"].astype("boolean")
    return df


def derive_var_eligfl(eligibility: pd.DataFrame) -> pd.DataFrame:
    """Per subject ``ELIGFL`` = ``Y`` when no criterion counts against eligibility, else ``N``
    (derivations.md: every inclusion met and no exclusion present)."""
    _require(eligibility, ["USUBJID", "COUNTS_AGAINST"], "derive_var_eligfl")
    against = eligibility.groupby("USUBJID")["COUNTS_AGAINST"].any()
    return pd.DataFrame({"USUBJID": against.index, "ELIGFL": np.where(against.to_numpy(), "N", "Y")}).astype(
        "string"
    )


# --------------------------------------------------------------------------------------------------
# listings and data queries
# --------------------------------------------------------------------------------------------------


def derive_disagreement_findings(eligibility: pd.DataFrame, ie: pd.DataFrame) -> pd.DataFrame:
    """KIND ``IE_DISAGREES`` (WARNING): the investigator's answer differs from the derived result;
    lineage of the IE row."""
    _require(
        eligibility,
        ["USUBJID", "IETESTCD", "AGREES", "RESULT", "REASON", "INV_ANSWER", "SITEID", "SUBJID"],
        "derive_disagreement_findings",
    )
    bad = eligibility[eligibility["AGREES"].eq(False).fillna(False)]
    if ie is None or ie.empty or "IETESTCD" not in ie.columns:
        ie = form_frame({}, "IE")
    lineage = investigator_answers(form_frame({"IE": ie}, "IE"))
    bad = bad.merge(lineage.drop(columns="INV_ANSWER"), on=["USUBJID", "IETESTCD"], how="left")
    return pd.DataFrame(
        {
            "KIND": "IE_DISAGREES",
            "SEVERITY": "WARNING",
            "SITEID": bad["SITEID"],
            "SUBJID": bad["SUBJID"],
            "FORM": "IE",
            "RECID": bad["RECID"],
            "COLUMN": "IEORRES",
            "RULE": bad["IETESTCD"] + ":investigator_agrees_with_data",
            "VALUE": bad["INV_ANSWER"],
            "MESSAGE": bad["IETESTCD"]
            + ": investigator answered "
            + bad["INV_ANSWER"]
            + ", data say "
            + bad["RESULT"]
            + " ("
            + bad["REASON"]
            + ")",
            "SRC_EXPORT": bad["SRC_EXPORT"],
            "SRC_FILE": bad["SRC_FILE"],
            "SRC_LINE": bad["SRC_LINE"],
        }
    )


def derive_protocol_deviations(eligibility: pd.DataFrame, rand: pd.DataFrame) -> pd.DataFrame:
    """Subjects randomized (in the IWRS RAND export) while a criterion counts against eligibility:
    one row per such subject x criterion, with randomization number and date."""
    _require(eligibility, ELIGIBILITY_COLUMNS, "derive_protocol_deviations")
    cols = [
        "USUBJID",
        "SUBJID",
        "SITEID",
        "RANDNO",
        "RANDDTC",
        "IETESTCD",
        "IECAT",
        "IETEST",
        "RESULT",
        "INV_ANSWER",
        "REASON",
    ]
    if rand is None or rand.empty or "USUBJID" not in rand.columns:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    r = rand.sort_values(["USUBJID", "RANDNO"], kind="stable").drop_duplicates("USUBJID", keep="first")[
        ["USUBJID", "RANDNO", "RANDDTC"]
    ]
    against = eligibility[eligibility["COUNTS_AGAINST"]]
    out = against.merge(r, on="USUBJID", how="inner")
    return (
        out[cols].astype("string").sort_values(["USUBJID", "IETESTCD"], kind="stable").reset_index(drop=True)
    )


def derive_randomized_ineligible_findings(deviations: pd.DataFrame, rand: pd.DataFrame) -> pd.DataFrame:
    """KIND ``RANDOMIZED_INELIGIBLE`` (WARNING), one per subject, with the criteria; lineage of the
    RAND row (the subject is kept, flagged and listed as a protocol deviation)."""
    if deviations.empty:
        return pd.DataFrame()
    per = (
        deviations.groupby("USUBJID", sort=True)
        .agg(
            SITEID=("SITEID", "first"),
            SUBJID=("SUBJID", "first"),
            RANDNO=("RANDNO", "first"),
            CRITERIA=("IETESTCD", " ".join),
            REASONS=("REASON", " | ".join),
        )
        .reset_index()
    )
    lineage_cols = [c for c in ("SRC_EXPORT", "SRC_FILE", "SRC_LINE") if c in rand.columns]
    lin = rand.drop_duplicates("USUBJID")[["USUBJID", *lineage_cols]]
    per = per.merge(lin, on="USUBJID", how="left")
    return pd.DataFrame(
        {
            "KIND": "RANDOMIZED_INELIGIBLE",
            "SEVERITY": "WARNING",
            "SITEID": per["SITEID"],
            "SUBJID": per["SUBJID"],
            "FORM": "RAND",
            "RECID": per["RANDNO"],
            "COLUMN": "RANDNO",
            "RULE": "randomized_only_if_eligible",
            "VALUE": per["CRITERIA"],
            "MESSAGE": "randomized while ineligible: " + per["CRITERIA"] + " (" + per["REASONS"] + ")",
            **{c: per[c] for c in lineage_cols},
        }
    )


def derive_sledai_findings(sledai: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """SLEDAI-2K data queries (derivations.md, SLEDAI-2K), WARNING, lineage of the SLEDAI row:

    - ``SLTOTAL_MISMATCH``: the site's ``SLTOTAL`` differs from the recomputed total;
    - ``SLEDAI_MISSING_ITEM``: the total is missing because items are missing;
    - ``SLEDAI_LAB``: at the same subject and visit (``UNSCHEDULED``: same date too),
      ``THROMBO = Y`` with platelets >= 100 x 10^9/L or ``N`` with < 100; ``LEUKOPENIA = Y`` with
      WBC >= 3.0 x 10^9/L or ``N`` with < 3.0; ``PROTEINURIA = Y`` with 24 h protein <= 0.5 g or
      ``N`` with > 0.5 g (thresholds in study/protocol_limits.csv; the last result of the visit).
    """
    _require(
        sledai,
        ["USUBJID", "SITEID", "SUBJID", "RECID", "VISIT", "SLDTC", *study.sledai_weights()],
        "derive_sledai_findings",
    )
    lim = protocol_limits()
    scored = derive_var_sledai_total(sledai)
    lineage = {c: scored[c] if c in scored.columns else pd.NA for c in ("SRC_EXPORT", "SRC_FILE", "SRC_LINE")}
    base = pd.DataFrame(
        {
            "SITEID": scored["SITEID"],
            "SUBJID": scored["SUBJID"],
            "FORM": "SLEDAI",
            "RECID": scored["RECID"],
            "VISIT": scored["VISIT"],
            **lineage,
        }
    )
    parts = []
    site_total = pd.to_numeric(scored.get("SLTOTALN", pd.Series(np.nan, index=scored.index)), errors="coerce")
    recomputed = scored["SLEDAI_TOTAL"].astype("Float64")
    mismatch = (
        (site_total.notna() & recomputed.notna() & (site_total != recomputed)).fillna(False).astype(bool)
    )
    if mismatch.any():
        m = base[mismatch].copy()
        m["KIND"], m["SEVERITY"], m["COLUMN"], m["RULE"] = (
            "SLTOTAL_MISMATCH",
            "WARNING",
            "SLTOTAL",
            "sltotal_equals_recomputed",
        )
        m["VALUE"] = _num(site_total[mismatch])
        m["MESSAGE"] = (
            "site SLTOTAL "
            + _num(site_total[mismatch])
            + " differs from recomputed SLEDAI-2K "
            + _num(recomputed[mismatch])
        )
        parts.append(m)
    missing = recomputed.isna().to_numpy()
    if missing.any():
        m = base[missing].copy()
        items = scored.loc[missing, "SLEDAI_MISSING_ITEMS"].astype("string")
        m["KIND"], m["SEVERITY"], m["RULE"] = "SLEDAI_MISSING_ITEM", "WARNING", "all_items_answered"
        m["COLUMN"] = items.str.split(" ").str[0]
        m["VALUE"] = items
        m["MESSAGE"] = "SLEDAI-2K total missing: item(s) not answered: " + items
        parts.append(m)
    parts.append(_sledai_lab_findings(scored, base, lb, lim))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _sledai_lab_findings(
    scored: pd.DataFrame, base: pd.DataFrame, lb: pd.DataFrame, lim: dict
) -> pd.DataFrame:
    lb = form_frame({"LB": lb}, "LB")
    rules = [
        # item, lab test, threshold, Y is consistent with (value < t) or (value > t), unit
        ("THROMBO", "PLAT", lim["SLEDAI_THROMBO_PLAT_BELOW"], "below", "x 10^9/L platelets"),
        ("LEUKOPENIA", "WBC", lim["SLEDAI_LEUKOPENIA_WBC_BELOW"], "below", "x 10^9/L WBC"),
        ("PROTEINURIA", "PROT24", lim["SLEDAI_PROTEINURIA_PROT24_ABOVE"], "above", "g/24h urine protein"),
    ]
    # Only the rows of the rules' tests, and the columns used: keys are built for these rows only
    # (not for every row of LB), and the per-test filters below no longer re-take 25 columns.
    lb = lb.loc[
        lb["LBTESTCD"].isin([test for _, test, *_ in rules]).to_numpy(dtype=bool),
        ["USUBJID", "VISIT", "LBDTC", "LBTESTCD", "LBSTRESN", "RECID"],
    ]
    key_lb = lb["USUBJID"].astype("string") + "|" + lb["VISIT"].astype("string")
    key_lb = key_lb.mask(
        lb["VISIT"].eq("UNSCHEDULED").fillna(False), key_lb + "|" + lb["LBDTC"].astype("string")
    )
    lb = lb.assign(KEY=key_lb)
    key_sl = scored["USUBJID"].astype("string") + "|" + scored["VISIT"].astype("string")
    key_sl = key_sl.mask(
        scored["VISIT"].eq("UNSCHEDULED").fillna(False), key_sl + "|" + scored["SLDTC"].astype("string")
    )
    out = []
    for item, test, threshold, direction, unit in rules:
        vals = last_by_subject(lb[lb["LBTESTCD"].eq(test).fillna(False)], "LBDTC", "LBSTRESN", by=["KEY"])
        value = key_sl.map(vals.set_index("KEY")["LBSTRESN"]).astype("float64")
        v = _r(pd.Series(value, index=scored.index))
        abnormal = (v < threshold) if direction == "below" else (v > threshold)
        answer = scored[item].astype("string")
        bad = (
            ((answer.eq("Y") & abnormal.eq(False)) | (answer.eq("N") & abnormal.eq(True)))
            .fillna(False)
            .astype(bool)
        )
        if not bad.any():
            continue
        m = base[bad].copy()
        rel = np.where(
            abnormal[bad].eq(True),
            "<" if direction == "below" else ">",
            ">=" if direction == "below" else "<=",
        )
        m["KIND"], m["SEVERITY"], m["COLUMN"], m["RULE"] = (
            "SLEDAI_LAB",
            "WARNING",
            item,
            f"{item}:consistent_with_{test}",
        )
        m["VALUE"] = answer[bad]
        m["MESSAGE"] = (
            f"{item} = "
            + answer[bad]
            + f" but {test} "
            + _num(v[bad])
            + " "
            + pd.Series(rel, index=m.index)
            + f" {threshold:g} {unit} at the same visit"
        )
        out.append(m)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


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
    out["WEIGHT"] = _r(screening_weight(subjects, vs))
    scr = _at_screening(lb)
    for test in ("ALT", "AST"):
        rows = (
            last_by_subject(scr[scr["LBTESTCD"].eq(test).fillna(False)], "LBDTC", "LBSTRESN")
            .set_index("USUBJID")
            .reindex(subjects.index)
        )
        out[f"{test}_XULN"] = _r(rows["LBSTRESN"].astype("float64") / rows["LBSTNRHI"].astype("float64"))
    s = _at_screening(sl)
    scored = derive_var_sledai_total(s) if len(s) else s.assign(SLEDAI_TOTAL=pd.Series(dtype="Int64"))
    out["SLEDAI"] = (
        last_by_subject(scored, "SLDTC", "SLEDAI_TOTAL")
        .set_index("USUBJID")["SLEDAI_TOTAL"]
        .reindex(subjects.index)
        .astype("Float64")
    )
    return out.reset_index(drop=True)
