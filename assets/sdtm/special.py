"""Special-purpose domains: DM (one record per screened subject) and SV (subject visits)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.dates import age_in_years, export_cut_date, impute_birth_date, iso_to_date
from assets.sdtm import metadata
from assets.sdtm.mapping import empty_dataset, isin_text, map_to_spec
from assets.sdtm.timing import (
    UNSCHEDULED,
    derive_var_visitnum,
    derive_vars_reference_dates,
    unscheduled_visitnums,
)
from study import facts

DEATH = facts.disposition_term("DEATH")
SCREEN_FAILURE = facts.disposition_term("SCREEN FAILURE")
"""The DS terms (study/disposition.csv ROLE) that give DTHDTC/DTHFL and ARMNRS SCREEN FAILURE."""


def derive_var_age(dm: pd.DataFrame) -> pd.DataFrame:
    """AGE in whole years from BRTHDTC to ICDTC; birth day missing -> 15th, month and day missing ->
    1 July (derivations.md, Time). AGEU is assigned by the spec."""
    require_columns(dm, ["BRTHDTC", "ICDTC"], "derive_var_age")
    out = dm.copy()
    out["AGE"] = age_in_years(impute_birth_date(dm["BRTHDTC"]), iso_to_date(dm["ICDTC"]))
    return out


def derive_vars_death(dm: pd.DataFrame, ds: pd.DataFrame, ae: pd.DataFrame) -> pd.DataFrame:
    """DTHDTC: date of the DS record DEATH; DTHFL = Y when DS says DEATH or an AE outcome is FATAL."""
    require_columns(dm, ["USUBJID"], "derive_vars_death")
    out = dm.copy()
    deaths = (
        ds[ds["DSDECOD"].eq(DEATH).fillna(False)] if len(ds) else pd.DataFrame(columns=["USUBJID", "DSSTDTC"])
    )
    first = deaths.groupby("USUBJID")["DSSTDTC"].min() if len(deaths) else pd.Series(dtype="string")
    fatal = ae.loc[ae["AEOUT"].eq("FATAL").fillna(False), "USUBJID"] if len(ae) else pd.Series(dtype="str")
    out["DTHDTC"] = out["USUBJID"].map(first).astype("string")
    dead = isin_text(out["USUBJID"], pd.concat([deaths["USUBJID"], fatal], ignore_index=True))
    out["DTHFL"] = pd.Series("Y", index=out.index, dtype="string").where(dead)
    return out


def derive_vars_arm(
    dm: pd.DataFrame, rand: pd.DataFrame, ds: pd.DataFrame, randlist: pd.DataFrame | None
) -> pd.DataFrame:
    """ARMCD ARM ACTARMCD ACTARM ARMNRS (SDTMIG 3.4 DM; derivations.md, Populations).

    ``randlist`` is None in a blinded run: randomized subjects then get the blinded label and nothing
    from the restricted list. Unblinded: ARMCD from the list by the subject's IWRS RANDNO, ARM from
    study/arms.csv. Actual arm = planned arm when at least one injection was given (``RFXSTDTC``), as
    no dispensing record says otherwise. Null arms carry ARMNRS: SCREEN FAILURE (not randomized, DS
    SCREEN FAILURE), NOT ASSIGNED (not randomized otherwise), ASSIGNED, NOT TREATED (randomized, never
    dosed), UNPLANNED TREATMENT (dosed without randomization).
    """
    require_columns(dm, ["USUBJID", "RFXSTDTC"], "derive_vars_arm")
    out = dm.copy()
    randomized = pd.Series(
        isin_text(out["USUBJID"], rand["USUBJID"]) if len(rand) else False, index=out.index
    )
    if randlist is None:
        label = metadata.trial_design()["blinded_arm"]
        armcd = pd.Series(label, index=out.index, dtype="string").where(randomized)
        arm = armcd
    else:
        require_columns(randlist, ["RANDNO", "ARMCD"], "derive_vars_arm(randlist)")
        by_subject = rand[["USUBJID", "RANDNO"]].merge(randlist[["RANDNO", "ARMCD"]], on="RANDNO", how="left")
        armcd = out["USUBJID"].map(by_subject.drop_duplicates("USUBJID").set_index("USUBJID")["ARMCD"])
        armcd = armcd.astype("string").where(randomized)
        arm = armcd.map(dict(zip(study.arms()["ARMCD"], study.arms()["ARM"]))).astype("string")
    dosed = out["RFXSTDTC"].notna()
    screen_failed = (
        pd.Series(
            isin_text(out["USUBJID"], ds.loc[ds["DSDECOD"].eq(SCREEN_FAILURE).fillna(False), "USUBJID"]),
            index=out.index,
        )
        if len(ds)
        else False
    )
    out["ARMCD"], out["ARM"] = armcd, arm
    out["ACTARMCD"] = armcd.where(dosed)
    out["ACTARM"] = arm.where(dosed)
    nrs = pd.Series(pd.NA, index=out.index, dtype="string")
    nrs = nrs.mask(~randomized & dosed, "UNPLANNED TREATMENT")
    nrs = nrs.mask(~randomized & ~dosed, "NOT ASSIGNED")
    nrs = nrs.mask(~randomized & ~dosed & screen_failed, "SCREEN FAILURE")
    nrs = nrs.mask(randomized & ~dosed, "ASSIGNED, NOT TREATED")
    out["ARMNRS"] = nrs
    return derive_var_actarmud(out)


def derive_var_actarmud(dm: pd.DataFrame) -> pd.DataFrame:
    """ACTARMUD (SDTMIG 3.4 DM, Description of Unplanned Actual Arm) for ARMNRS = UNPLANNED
    TREATMENT: a subject dosed without randomization received the study treatment of an arm nobody
    assigned, so the description is the treatment as blinded EX names it (study/trial_design.yaml
    ``blinded_extrt``: no arm, no dose). Null for every other subject."""
    require_columns(dm, ["ARMNRS"], "derive_var_actarmud")
    out = dm.copy()
    unplanned = dm["ARMNRS"].eq("UNPLANNED TREATMENT").fillna(False)
    text = metadata.trial_design()["blinded_extrt"]
    out["ACTARMUD"] = pd.Series(text, index=dm.index, dtype="string").where(unplanned)
    return out


def build_dm(
    dm: pd.DataFrame,
    ex: pd.DataFrame,
    ds: pd.DataFrame,
    ae: pd.DataFrame,
    rand: pd.DataFrame,
    randlist: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """DM: one record per subject of the DM form. BRTHDTC is not carried (privacy); ``randlist``
    only in an unblinded run (see :func:`derive_vars_arm`)."""
    if dm.empty:
        return empty_dataset("DM")
    require_columns(dm, ["USUBJID", "SUBJID", "SITEID", "BRTHDTC", "ICDTC", "SEX"], "build_dm")
    work = dm.drop_duplicates("USUBJID").merge(
        derive_vars_reference_dates(dm, ex, ds).drop(columns="RFICDTC"), on="USUBJID", how="left"
    )
    work = derive_var_age(work)
    work = derive_vars_death(work, ds, ae)
    work = derive_vars_arm(work, rand, ds, randlist)
    work["COUNTRY"] = metadata.trial_design()["country"]
    return map_to_spec(work, "DM").reset_index(drop=True)


def planned_visits() -> pd.DataFrame:
    """The visits of the schedule (study/visits.csv without UNSCHEDULED): the visits of TV."""
    v = study.visits()
    return v[v["VISIT"] != UNSCHEDULED].reset_index(drop=True)


def derive_vars_sv_presp_occur(sv: pd.DataFrame) -> pd.DataFrame:
    """SVPRESP and SVOCCUR of attended visits: Y and Y for a visit of the schedule (TV: every visit
    of study/visits.csv but UNSCHEDULED), null and null for an unscheduled one (SDTMIG 3.4 SV;
    CDISC CORE-000035/000037/000038/000040: SVOCCUR only on pre-specified visits)."""
    require_columns(sv, ["VISIT"], "derive_vars_sv_presp_occur")
    out = sv.copy()
    planned = (
        pd.Series(isin_text(out["VISIT"], planned_visits()["VISIT"]), index=out.index)
        if len(out)
        else pd.Series(False, index=out.index)
    )
    out["SVPRESP"] = pd.Series("Y", index=out.index, dtype="string").where(planned)
    out["SVOCCUR"] = out["SVPRESP"]
    return out


def end_of_study_dates(ds: pd.DataFrame) -> pd.Series:
    """Per USUBJID the earliest date of a disposition event (study/disposition.csv DSCAT
    DISPOSITION EVENT: completion, discontinuation, death), as ISO text; protocol milestones
    (consent, randomization) are not an end."""
    if ds.empty:
        return pd.Series(dtype="string")
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], "end_of_study_dates")
    events = facts.disposition()
    ending = events.loc[events["DSCAT"] == "DISPOSITION EVENT", "DSDECOD"]
    rows = ds[pd.Series(isin_text(ds["DSDECOD"], ending), index=ds.index) & ds["DSSTDTC"].notna()]
    return rows.groupby("USUBJID")["DSSTDTC"].min().astype("string")


def derive_sv_missed_visits(
    attended: pd.DataFrame,
    subjects: pd.DataFrame,
    end_of_study: pd.Series,
    site_cuts: Mapping[str, str],
) -> pd.DataFrame:
    """SV records for scheduled visits not attended (SVPRESP Y, SVOCCUR N, no dates; VISITDY the
    planned day). A visit is missed when the subject was dosed (complete DM.RFSTDTC), the visit has a
    planned study day, no visit-based record of the subject names it (``attended``: USUBJID VISIT,
    dated or not), and its window has closed: the last day of the window (planned study day + window
    from the first dose) lies before the data cut of the subject's site (``site_cuts``: SITEID ->
    EXPORT_ID in force), and not after the subject's end of study (``end_of_study``, a disposition
    event: a visit after it was no longer planned). Otherwise a visit without an assessment is not yet due
    (derivations.md, SRI-4, v2) and has no record. No form says why a visit was missed, so
    SVREASOC is not derived."""
    require_columns(attended, ["USUBJID", "VISIT"], "derive_sv_missed_visits(attended)")
    require_columns(subjects, ["USUBJID", "SITEID", "RFSTDTC"], "derive_sv_missed_visits(subjects)")
    cols = ["USUBJID", "VISIT", "VISITNUM", "VISITDY", "SVPRESP", "SVOCCUR"]
    sched = planned_visits().dropna(subset=["PLANNED_DAY"])
    first = iso_to_date(
        subjects["RFSTDTC"]
        .astype("string")
        .str.slice(0, 10)
        .where(subjects["RFSTDTC"].astype("string").str.len().ge(10))
    )
    cut_id = subjects["SITEID"].astype("string").map(dict(site_cuts)).astype("string")
    cut = iso_to_date(export_cut_date(cut_id))
    eos_text = subjects["USUBJID"].map(end_of_study).astype("string")
    eos = iso_to_date(eos_text.where(eos_text.str.len().ge(10)))
    subj = pd.DataFrame(
        {
            "USUBJID": subjects["USUBJID"].astype("string"),
            "FIRST": first,
            "CUT": cut,
            "EOS": eos,
            "EOS_PARTIAL": eos_text.notna() & eos_text.str.len().lt(10),
        }
    ).dropna(subset=["FIRST", "CUT"])
    grid = subj.merge(sched[["VISIT", "VISITNUM", "PLANNED_DAY", "WINDOW_DAYS"]], how="cross")
    last_day = grid["PLANNED_DAY"] + grid["WINDOW_DAYS"].fillna(0)
    window_end = grid["FIRST"] + pd.to_timedelta(last_day - 1, unit="D")
    closed = window_end < grid["CUT"]
    in_study = (grid["EOS"].isna() | (window_end <= grid["EOS"])) & ~grid["EOS_PARTIAL"]
    seen = attended[["USUBJID", "VISIT"]].astype("string").drop_duplicates().assign(SEEN=True)
    grid = grid.merge(seen, on=["USUBJID", "VISIT"], how="left")
    missed = grid[(closed & in_study).to_numpy(dtype=bool) & grid["SEEN"].isna().to_numpy(dtype=bool)]
    out = pd.DataFrame(
        {
            "USUBJID": missed["USUBJID"],
            "VISIT": missed["VISIT"].astype("string"),
            "VISITNUM": missed["VISITNUM"].astype("float64"),
            "VISITDY": missed["PLANNED_DAY"].astype("float64"),
            "SVPRESP": "Y",
            "SVOCCUR": "N",
        }
    )
    return out[cols].reset_index(drop=True)


def build_sv(
    visits: pd.DataFrame,
    subjects: pd.DataFrame,
    ds: pd.DataFrame,
    site_cuts: Mapping[str, str],
) -> pd.DataFrame:
    """SV: one record per subject and visit that has any dated visit-based record (VS LB SLEDAI PGA
    BILAG FACS); SVSTDTC/SVENDTC the earliest/latest date (date part) of the records of that visit;
    SVPRESP/SVOCCUR (:func:`derive_vars_sv_presp_occur`); and one record per scheduled visit missed
    (:func:`derive_sv_missed_visits`, SVOCCUR N).

    ``visits`` is :func:`assets.sdtm.timing.visit_dates`; ``subjects`` has DM's USUBJID SITEID
    RFSTDTC; ``ds`` the DS form (USUBJID DSDECOD DSSTDTC); ``site_cuts`` SITEID -> EXPORT_ID in force.
    """
    require_columns(visits, ["USUBJID", "VISIT", "VISITNUM", "DTC"], "build_sv")
    require_columns(subjects, ["USUBJID", "SITEID", "RFSTDTC"], "build_sv(subjects)")
    dated = visits.dropna(subset=["DTC"])
    planned = study.visits().set_index("VISIT")["PLANNED_DAY"]
    if dated.empty:
        sv = pd.DataFrame({c: pd.Series(dtype="string") for c in ("USUBJID", "VISIT", "SVSTDTC", "SVENDTC")})
        sv["VISITNUM"] = pd.Series(dtype="float64")
    else:
        dated = derive_var_visitnum(dated, "DTC", unscheduled_visitnums(dated))
        dated = dated.assign(DAY=dated["DTC"].str.slice(0, 10))
        sv = dated.groupby(["USUBJID", "VISITNUM"], as_index=False).agg(
            VISIT=("VISIT", "first"), SVSTDTC=("DAY", "min"), SVENDTC=("DAY", "max")
        )
    sv["VISITDY"] = sv["VISIT"].map(planned).astype("float64")
    sv = derive_vars_sv_presp_occur(sv)
    missed = derive_sv_missed_visits(visits, subjects, end_of_study_dates(ds), site_cuts)
    sv = pd.concat([sv, missed], ignore_index=True) if len(missed) else sv
    if sv.empty:
        return empty_dataset("SV")
    sv = sv.merge(subjects[["USUBJID", "RFSTDTC"]].drop_duplicates("USUBJID"), on="USUBJID", how="left")
    return map_to_spec(sv, "SV").reset_index(drop=True)
