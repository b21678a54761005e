"""ADSL: one record per screened subject (every subject in SDTM DM, screen failures included).

derivations.md, "Populations and treatment (ADSL)". Blinding: :func:`derive_vars_treatment`
receives the restricted randomization list only in an unblinded run; with ``randlist=None``
(blinded) randomized subjects get ``BLINDED`` arm and treatment values and no numeric dose. The
IWRS randomization export (``RAND``: ``RANDNO RANDDAT STRATUM``) is not the restricted list: it holds
no arm, and both modes read it (``RANDNO``, ``RANDDT``, ``STRAT1R``).

Standard ADSL variables follow ADaMIG 1.3 and the pharmaverse/admiral ADSL template: the SDTM DM
reference dates, ``ARMNRS``, ``COUNTRY`` and ``DTHFL`` are copied from DM; ``TRTSDTM``/``TRTEDTM``
with their time imputation flags, ``DTHDT``/``DTHDTF`` and ``LSTALVDT`` are derived the admiral way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.adam.common import derive_vars_baseline, flag_yn
from assets.common.columns import require_columns
from assets.common.dates import iso_bounds, iso_to_date, study_day
from study import facts

BLINDED = "BLINDED"
DM_COPIED = ["COUNTRY", "RFICDTC", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "ARMNRS", "DTHFL", "DTHDTC"]
"""DM variables ADSL carries unchanged (Predecessor), ``DTHDTC`` only as the source of ``DTHDT``."""
DEATH = facts.disposition_term("DEATH")
FATAL = "FATAL"
"""``AEOUT`` of an event that ended in death (CDISC CT C66768)."""


def given_injections(ex: pd.DataFrame) -> pd.DataFrame:
    """EX rows of injections given: ``EXOCCUR != 'N'`` (all rows when EX has no ``EXOCCUR``)."""
    require_columns(ex, ["USUBJID", "EXSTDTC"], "given_injections")
    if "EXOCCUR" in ex.columns:
        ex = ex[ex["EXOCCUR"].ne("N").fillna(True)]
    return ex


def derive_adsl_subjects(dm: pd.DataFrame) -> pd.DataFrame:
    """The ADSL skeleton: DM identifiers and demographics, one row per subject."""
    require_columns(dm, ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX"], "derive_adsl_subjects")
    cols = [
        c
        for c in ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC")
        if c in dm.columns
    ]
    out = dm[cols].drop_duplicates("USUBJID").reset_index(drop=True).copy()
    for c in ("AGEU", "RACE", "ETHNIC"):
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["AGEU"] = out["AGEU"].fillna("YEARS").where(out["AGE"].notna())
    return out


def derive_vars_trt_dates(adsl: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """``TRTSDT``/``TRTEDT``: first and last given injection date (derivations.md: first dose is the
    earliest ``EXSTDAT`` with ``EXADMIN = Y``); ``TRTDURD = TRTEDT - TRTSDT + 1``; ``INJGIVN``: number
    of injections given."""
    require_columns(adsl, ["USUBJID"], "derive_vars_trt_dates")
    given = given_injections(ex).assign(D=lambda d: iso_to_date(d["EXSTDTC"].astype("string")))
    agg = given.groupby("USUBJID").agg(TRTSDT=("D", "min"), TRTEDT=("D", "max"), INJGIVN=("USUBJID", "size"))
    out = adsl.merge(agg, left_on="USUBJID", right_index=True, how="left")
    out["INJGIVN"] = out["INJGIVN"].fillna(0).astype("Int64")
    out["TRTDURD"] = ((out["TRTEDT"] - out["TRTSDT"]).dt.days + 1).astype("Int64")
    return out


def derive_vars_randomization(adsl: pd.DataFrame, rand: pd.DataFrame) -> pd.DataFrame:
    """``RANDFL`` (in the IWRS randomization export), ``RANDDT`` and ``RANDNO`` (the IWRS number, kept
    for traceability to the randomization records; a subject with two numbers, itself a data query,
    keeps the lowest)."""
    require_columns(adsl, ["USUBJID"], "derive_vars_randomization")
    if rand is None or rand.empty or "USUBJID" not in rand.columns:
        rand = pd.DataFrame(
            {
                "USUBJID": pd.Series(dtype="string"),
                "RANDNO": pd.Series(dtype="string"),
                "RANDDTC": pd.Series(dtype="string"),
            }
        )
    r = rand.sort_values(["USUBJID", "RANDNO"], kind="stable").drop_duplicates("USUBJID")[
        ["USUBJID", "RANDNO", "RANDDTC"]
    ]
    out = adsl.merge(r, on="USUBJID", how="left")
    out["RANDFL"] = flag_yn(out["RANDNO"].notna())
    out["RANDDT"] = iso_to_date(out["RANDDTC"].astype("string"))
    return out.drop(columns="RANDDTC")


def derive_vars_treatment(adsl: pd.DataFrame, randlist: pd.DataFrame | None) -> pd.DataFrame:
    """``ARMCD ARM ACTARMCD ACTARM TRT01P TRT01PN TRT01A TRT01AN``.

    Unblinded (``randlist`` given): planned arm from the list by ``RANDNO`` (study/arms.csv for
    labels and ``TRT01PN`` 0/0.2/0.5/1); actual = planned for a subject with a first dose
    (``TRTSDT``; no kit-level dispensing data exist to say otherwise). Blinded (``randlist`` None):
    ``BLINDED`` for randomized subjects, numeric codes missing. A randomized subject never dosed has
    ``ACTARMCD``/``ACTARM``/``TRT01A``/``TRT01AN`` missing in both modes, as SDTM DM has them (SDTMIG
    3.4: null actual arm with ``ARMNRS = ASSIGNED, NOT TREATED``; "dosed" there is ``RFXSTDTC``, the
    first given injection with a complete date, which is ``TRTSDT``). Not randomized (screen
    failures): all missing (``ARMNRS`` explains, copied from DM)."""
    require_columns(adsl, ["USUBJID", "RANDNO", "RANDFL", "TRTSDT"], "derive_vars_treatment")
    out = adsl.copy()
    randomized = out["RANDFL"].eq("Y")
    treated = out["TRTSDT"].notna()
    na_text = pd.Series(pd.NA, index=out.index, dtype="string")
    if randlist is None:
        armcd = na_text.mask(randomized, BLINDED)
        arm = armcd.copy()
        pn = pd.Series(np.nan, index=out.index, dtype="Float64")
    else:
        require_columns(randlist, ["RANDNO", "ARMCD"], "derive_vars_treatment(randlist)")
        arms = study.arms().set_index("ARMCD")
        codes = randlist.drop_duplicates("RANDNO").set_index("RANDNO")["ARMCD"]
        armcd = out["RANDNO"].map(codes).astype("string").where(randomized)
        arm = armcd.map(arms["ARM"]).astype("string")
        pn = armcd.map(arms["TRT01PN"]).astype("Float64")
    out["ARMCD"], out["ARM"] = armcd, arm
    out["ACTARMCD"] = armcd.where(treated)
    out["ACTARM"] = arm.where(treated)
    out["TRT01P"], out["TRT01PN"] = arm, pn
    out["TRT01A"] = arm.where(treated)
    out["TRT01AN"] = pn.where(treated)
    return out


def derive_var_eligfl(adsl: pd.DataFrame, eligibility: pd.DataFrame) -> pd.DataFrame:
    """``ELIGFL = Y`` when every inclusion criterion is met and no exclusion criterion is present
    (no row of the subject counts against eligibility; derivations.md, Eligibility)."""
    require_columns(eligibility, ["USUBJID", "COUNTS_AGAINST"], "derive_var_eligfl")
    against = eligibility.groupby("USUBJID")["COUNTS_AGAINST"].any()
    evaluated = adsl["USUBJID"].isin(against.index)
    out = adsl.copy()
    out["ELIGFL"] = flag_yn(evaluated & ~adsl["USUBJID"].map(against).fillna(True).astype(bool))
    return out


def sledai_records(rs: pd.DataFrame) -> pd.DataFrame:
    """SLEDAI-2K totals from RS (``RSCAT = SLEDAI-2K``, ``RSTESTCD = SLEDTOT``: the recomputed total)."""
    require_columns(rs, ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSDTC", "VISIT"], "sledai_records")
    return rs[rs["RSCAT"].eq("SLEDAI-2K").fillna(False) & rs["RSTESTCD"].eq("SLEDTOT").fillna(False)]


def derive_var_sledaibl(adsl: pd.DataFrame, rs: pd.DataFrame) -> pd.DataFrame:
    """``SLEDAIBL``: the baseline SLEDAI-2K total (last non-missing total on or before the first
    dose date; derivations.md, SLEDAI-2K)."""
    require_columns(adsl, ["USUBJID", "TRTSDT"], "derive_var_sledaibl")
    # only the columns used: filtering the whole of SDTM RS (~10^6 records) re-takes every column
    used = ["USUBJID", "RSCAT", "RSTESTCD", "RSSTRESN", "RSDTC", "VISIT", "VISITNUM"]
    s = sledai_records(rs[[c for c in used if c in rs.columns]])
    bds = pd.DataFrame(
        {
            "USUBJID": s["USUBJID"].to_numpy(),
            "PARAMCD": "SLEDAI",
            "AVAL": pd.to_numeric(s["RSSTRESN"], errors="coerce").to_numpy(),
            "ADT": iso_to_date(s["RSDTC"].astype("string")).to_numpy(),
            "AVISITN": pd.to_numeric(s["VISITNUM"], errors="coerce").to_numpy()
            if "VISITNUM" in s
            else np.nan,
        }
    )
    bds = bds.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    base = derive_vars_baseline(bds)
    values = base[base["ABLFL"].eq("Y")].set_index("USUBJID")["AVAL"]
    out = adsl.copy()
    out["SLEDAIBL"] = out["USUBJID"].map(values).astype("Float64")
    return out


def derive_var_weightbl(adsl: pd.DataFrame, vs: pd.DataFrame) -> pd.DataFrame:
    """``WEIGHTBL`` (kg): the last weight on or before the first dose; for a subject never dosed,
    the last weight at ``SCREENING`` (derivations.md, ADSL)."""
    require_columns(vs, ["USUBJID", "VSTESTCD", "VSSTRESN", "VSDTC", "VISIT"], "derive_var_weightbl")
    used = [c for c in ("USUBJID", "VSTESTCD", "VSSTRESN", "VSDTC", "VISIT", "VSSEQ") if c in vs.columns]
    w = vs.loc[(vs["VSTESTCD"].eq("WEIGHT").fillna(False) & vs["VSSTRESN"].notna()).to_numpy(), used]
    w["D"] = iso_to_date(w["VSDTC"].astype("string"))
    w = w.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    seq = [c for c in ("VSSEQ",) if c in w.columns]
    dosed = (
        w[(w["D"] <= w["TRTSDT"]).fillna(False)]
        .sort_values(["USUBJID", "D", *seq])
        .groupby("USUBJID")
        .tail(1)
    )
    never = w[w["TRTSDT"].isna() & w["VISIT"].eq("SCREENING").fillna(False)]
    never = never.sort_values(["USUBJID", "VSDTC", *seq]).groupby("USUBJID").tail(1)
    values = pd.concat([dosed, never]).set_index("USUBJID")["VSSTRESN"]
    out = adsl.copy()
    out["WEIGHTBL"] = out["USUBJID"].map(values).astype("Float64")
    return out


def derive_vars_disposition(adsl: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """``EOSSTT`` (``COMPLETED``, ``DISCONTINUED`` or ``ONGOING``), ``EOSDT`` and ``DCSREAS`` from
    DS: the last completion or discontinuation event (``DSDECOD`` with an ``EOSSTT`` in
    study/disposition.csv); ``ONGOING`` without one."""
    require_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], "derive_vars_disposition")
    status = facts.end_of_study_status()
    ends = ds[ds["DSDECOD"].isin(list(status)).fillna(False)]
    ends = (
        ends.sort_values(["USUBJID", "DSSTDTC"], kind="stable", na_position="first")
        .groupby("USUBJID")
        .tail(1)
    )
    ends = ends.set_index("USUBJID")
    out = adsl.copy()
    decod = out["USUBJID"].map(ends["DSDECOD"]).astype("string")
    out["EOSSTT"] = decod.map(status).astype("string").fillna("ONGOING")
    out["EOSDT"] = iso_to_date(out["USUBJID"].map(ends["DSSTDTC"]).astype("string"))
    out["DCSREAS"] = decod.where(out["EOSSTT"].eq("DISCONTINUED"))
    return out


def derive_vars_populations(adsl: pd.DataFrame) -> pd.DataFrame:
    """``SAFFL``: randomized and at least one injection; ``FASFL``: ``SAFFL`` and a baseline
    SLEDAI-2K; ``PPROTFL``: ``FASFL``, ``ELIGFL`` and at least 17 of 21 injections given."""
    require_columns(adsl, ["RANDFL", "INJGIVN", "SLEDAIBL", "ELIGFL"], "derive_vars_populations")
    out = adsl.copy()
    out["SAFFL"] = flag_yn(out["RANDFL"].eq("Y") & out["INJGIVN"].fillna(0).ge(1))
    out["FASFL"] = flag_yn(out["SAFFL"].eq("Y") & out["SLEDAIBL"].notna())
    need = study.protocol_limits()["PPROT_MIN_INJECTIONS"]
    out["PPROTFL"] = flag_yn(out["FASFL"].eq("Y") & out["ELIGFL"].eq("Y") & out["INJGIVN"].fillna(0).ge(need))
    return out


def derive_vars_dm(adsl: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """``COUNTRY``, the DM reference dates ``RFICDTC RFSTDTC RFENDTC RFXSTDTC RFXENDTC``, ``ARMNRS``
    and ``DTHFL`` copied from SDTM DM by ``USUBJID`` (ADaMIG 1.3 ADSL: Predecessor; ``DTHDTC`` is
    carried for :func:`derive_vars_dthdt`). The ISO text keeps the precision DM has (a time when the
    first injection's time was collected)."""
    require_columns(dm, ["USUBJID", *DM_COPIED], "derive_vars_dm")
    require_columns(adsl, ["USUBJID"], "derive_vars_dm")
    copied = dm.drop_duplicates("USUBJID").set_index("USUBJID")
    out = adsl.copy()
    for col in DM_COPIED:
        out[col] = out["USUBJID"].map(copied[col]).astype("string")
    return out


def derive_vars_agegr1(adsl: pd.DataFrame) -> pd.DataFrame:
    """``AGEGR1``/``AGEGR1N``: the age group of ``AGE`` in study/age_groups.csv (``AGE_LO`` to
    ``AGE_HI``, both inclusive, an empty bound open); missing ``AGE``: missing. The groups are those of
    the pharmaverse ADSL (``18-64``, ``>64``) with ``<18`` for screened subjects below the
    protocol's minimum age."""
    require_columns(adsl, ["AGE"], "derive_vars_agegr1")
    groups = study.table("age_groups")
    age = pd.to_numeric(adsl["AGE"], errors="coerce")
    out = adsl.copy()
    out["AGEGR1"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["AGEGR1N"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    for label, number, age_lo, age_hi in groups[["AGEGR1", "AGEGR1N", "AGE_LO", "AGE_HI"]].itertuples(
        index=False
    ):
        lo = float(str(age_lo)) if age_lo else -np.inf
        hi = float(str(age_hi)) if age_hi else np.inf
        inside = ((age >= lo) & (age <= hi)).fillna(False)
        out["AGEGR1"] = out["AGEGR1"].mask(inside, str(label))
        out["AGEGR1N"] = out["AGEGR1N"].mask(inside, int(str(number)))
    return out


def _dtm_imputed(iso: pd.Series, last: bool) -> pd.DataFrame:
    """``DTM`` and ``TMF`` of ISO ``--DTC`` values with a complete date (admiral
    ``derive_vars_dtm``, ``highest_imputation = "h"``): a missing time becomes ``00:00:00``
    (``last``: ``23:59:59``) with flag ``H``, missing minutes likewise (``:00:00`` / ``:59:59``) with
    flag ``M``; seconds are never collected (times are ``HH:MM``), so imputing them (``00`` / ``59``)
    sets no flag (ADaMIG 1.3, section 3.1.3; admiral ``ignore_seconds_flag``). Partial dates:
    missing."""
    text = iso.astype("string")
    date_ok = iso_to_date(text).notna()
    time = text.str.slice(11, 19).fillna("")
    fill = "23:59:59" if last else "00:00:00"
    n = time.str.len()
    full = time.copy()
    for k in (0, 2, 5):
        full = full.mask(n.eq(k), time + fill[k:])  # "" -> 00:00:00, "14" -> 14:00:00, "14:10" -> 14:10:00
    stamp = (text.str.slice(0, 10) + "T" + full).where(date_ok)
    dtm = pd.to_datetime(stamp, format="%Y-%m-%dT%H:%M:%S", errors="coerce")
    flag = pd.Series(np.select([n.eq(0), n.eq(2)], ["H", "M"], ""), index=iso.index).replace("", pd.NA)
    return pd.DataFrame({"DTM": dtm, "TMF": flag.astype("string").where(date_ok)}, index=iso.index)


def derive_vars_trt_dtm(adsl: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """``TRTSDTM``/``TRTSTMF``: date and time of the first given injection; ``TRTEDTM``/``TRTETMF``:
    of the last (admiral ADSL template: ``EXSTDTC`` imputed with the earliest time, ``EXENDTC`` with the
    latest; here one injection per EX record, ``EXENDTC = EXSTDTC``, so both come from ``EXSTDTC``).
    Injection times are collected (site-export.md, EX ``EXSTTIM``); an injection without a time gets
    ``00:00:00`` / ``23:59:59`` and the flag ``H``. Ties on the imputed datetime: the lowest / highest
    ``EXSEQ``. Only complete dates count, so ``date(TRTSDTM) = TRTSDT``."""
    require_columns(adsl, ["USUBJID"], "derive_vars_trt_dtm")
    require_columns(ex, ["USUBJID", "EXSTDTC"], "derive_vars_trt_dtm")
    given = given_injections(ex)
    seq = given["EXSEQ"] if "EXSEQ" in given.columns else pd.Series(range(len(given)), index=given.index)
    out = adsl.copy()
    for target, flag, last in (("TRTSDTM", "TRTSTMF", False), ("TRTEDTM", "TRTETMF", True)):
        imputed = _dtm_imputed(given["EXSTDTC"], last).assign(USUBJID=given["USUBJID"], SEQ=seq)
        imputed = imputed.dropna(subset=["DTM"]).sort_values(["USUBJID", "DTM", "SEQ"], kind="stable")
        pick = imputed.drop_duplicates("USUBJID", keep="last" if last else "first").set_index("USUBJID")
        out[target] = out["USUBJID"].map(pick["DTM"]).astype("datetime64[s]")
        out[flag] = out["USUBJID"].map(pick["TMF"]).astype("string")
    return out


def derive_var_strat1r(adsl: pd.DataFrame, rand: pd.DataFrame) -> pd.DataFrame:
    """``STRAT1R``: the randomization stratum as the IWRS used it (``RAND.STRATUM``, ``SLEDAI<10`` or
    ``SLEDAI>=10``; ADaMIG 1.3 stratification ``STRATwR``, "value used for randomization"), taken from
    the record of the subject's ``RANDNO`` (the one :func:`derive_vars_randomization` keeps). The IWRS
    export is blinded (no arm): both modes carry it. Not randomized: missing."""
    require_columns(adsl, ["USUBJID", "RANDNO"], "derive_var_strat1r")
    if rand is None or rand.empty:
        return adsl.assign(STRAT1R=pd.Series(pd.NA, index=adsl.index, dtype="string"))
    require_columns(rand, ["USUBJID", "RANDNO", "STRATUM"], "derive_var_strat1r")
    by_number = rand.drop_duplicates(["USUBJID", "RANDNO"]).set_index(["USUBJID", "RANDNO"])["STRATUM"]
    out = adsl.copy()
    keys = pd.MultiIndex.from_arrays([out["USUBJID"], out["RANDNO"]])
    out["STRAT1R"] = pd.Series(by_number.reindex(keys).to_numpy(), index=out.index, dtype="string")
    return out


def end_of_treatment_visit() -> tuple[int, int]:
    """(``VISITNUM``, last study day of its window) of the end-of-treatment visit: the last visit of
    the ``TREATMENT`` epoch in study/visits.csv (``WEEK 12``: day 85 + 3)."""
    v = study.visits()
    treat = v[v["EPOCH"] == "TREATMENT"].sort_values("VISITNUM")
    last = treat.iloc[-1]
    return int(last["VISITNUM"]), int(last["PLANNED_DAY"] + (last["WINDOW_DAYS"] or 0))


def derive_vars_eot(adsl: pd.DataFrame, sv: pd.DataFrame) -> pd.DataFrame:
    """``EOTSTT`` (End of Treatment Status) and ``DCTREAS`` (its discontinuation reason), for subjects
    with a first dose (missing otherwise). Treatment ends at the end-of-treatment visit
    (:func:`end_of_treatment_visit`, ``WEEK 12``), the study at ``WEEK 24``; the site exports record
    only the end of study (DS), so:

    - ``COMPLETED`` when the subject reached the end of treatment: a scheduled visit at or after it
      in SV, ``EOSSTT = COMPLETED``, or a discontinuation (``EOSDT``) after the last day of its window;
    - ``DISCONTINUED`` when the subject left the study before that (``DCTREAS = DCSREAS``);
    - ``ONGOING`` otherwise (still in the treatment period at the data cut).
    """
    require_columns(adsl, ["USUBJID", "TRTSDT", "EOSSTT", "EOSDT", "DCSREAS"], "derive_vars_eot")
    require_columns(sv, ["USUBJID", "VISITNUM"], "derive_vars_eot")
    eot_visitnum, eot_day = end_of_treatment_visit()
    visitnum = pd.to_numeric(sv["VISITNUM"], errors="coerce")
    scheduled = set(study.visits().loc[lambda v: v["PLANNED_DAY"].notna(), "VISITNUM"])
    reached_visits = set(sv.loc[(visitnum >= eot_visitnum) & visitnum.isin(scheduled), "USUBJID"])
    out = adsl.copy()
    dosed = out["TRTSDT"].notna()
    eos_day = study_day(pd.to_datetime(out["EOSDT"]), pd.to_datetime(out["TRTSDT"]))
    reached = (
        out["USUBJID"].isin(reached_visits)
        | out["EOSSTT"].eq("COMPLETED").fillna(False)
        | (out["EOSSTT"].eq("DISCONTINUED") & eos_day.gt(eot_day)).fillna(False)
    )
    stopped = out["EOSSTT"].eq("DISCONTINUED").fillna(False) & ~reached
    status = np.select([reached, stopped], ["COMPLETED", "DISCONTINUED"], "ONGOING")
    out["EOTSTT"] = pd.Series(status, index=out.index, dtype="string").where(dosed)
    out["DCTREAS"] = out["DCSREAS"].astype("string").where(dosed & stopped)
    return out


def derive_vars_dthdt(adsl: pd.DataFrame) -> pd.DataFrame:
    """``DTHDT``/``DTHDTF`` from DM ``DTHDTC`` (the DS ``DEATH`` date), as the admiral ADSL template
    (``derive_vars_dt``, ``highest_imputation = "M"``, ``date_imputation = "first"``): a missing
    day becomes the 1st (``DTHDTF = D``), missing month and day 1 January (``M``)."""
    require_columns(adsl, ["DTHDTC"], "derive_vars_dthdt")
    text = adsl["DTHDTC"].astype("string")
    out = adsl.copy()
    out["DTHDT"] = iso_bounds(text)["lo"].astype("datetime64[ns]")
    n = text.str.slice(0, 10).str.len()
    flag = pd.Series(
        np.select([n.eq(7).fillna(False), n.eq(4).fillna(False)], ["D", "M"], ""), index=text.index
    )
    out["DTHDTF"] = flag.replace("", pd.NA).astype("string")
    return out


def _complete_dates(iso: pd.Series) -> pd.Series:
    return iso_to_date(iso.astype("string"))


def derive_var_lstalvdt(adsl: pd.DataFrame, ae: pd.DataFrame, sv: pd.DataFrame) -> pd.DataFrame:
    """``LSTALVDT`` (Date Last Known Alive): the latest complete date among the subject's dated
    records, as admiral's ``derive_vars_extreme_event`` in the ADSL template (complete dates only,
    no imputation): informed consent (``RFICDTC``), AE start and end (``AESTDTC``, ``AEENDTC`` but
    not the end of an event with ``AEOUT = FATAL``, which is the death date), every subject visit
    (SV ``SVSTDTC``/``SVENDTC``: the dated vital signs, labs, SLEDAI-2K, PGA, BILAG and flow
    cytometry records) and the last dose (``TRTEDT``). A death date itself is never a day known
    alive. No complete date: missing."""
    require_columns(adsl, ["USUBJID", "RFICDTC", "TRTEDT"], "derive_var_lstalvdt")
    require_columns(ae, ["USUBJID", "AESTDTC", "AEENDTC", "AEOUT"], "derive_var_lstalvdt(ae)")
    require_columns(sv, ["USUBJID", "SVSTDTC", "SVENDTC"], "derive_var_lstalvdt(sv)")
    not_fatal = ~ae["AEOUT"].eq(FATAL).fillna(False)
    parts = [
        pd.DataFrame({"USUBJID": adsl["USUBJID"], "D": _complete_dates(adsl["RFICDTC"])}),
        pd.DataFrame({"USUBJID": adsl["USUBJID"], "D": pd.to_datetime(adsl["TRTEDT"])}),
        pd.DataFrame({"USUBJID": ae["USUBJID"], "D": _complete_dates(ae["AESTDTC"])}),
        pd.DataFrame({"USUBJID": ae["USUBJID"], "D": _complete_dates(ae["AEENDTC"]).where(not_fatal)}),
        pd.DataFrame({"USUBJID": sv["USUBJID"], "D": _complete_dates(sv["SVSTDTC"])}),
        pd.DataFrame({"USUBJID": sv["USUBJID"], "D": _complete_dates(sv["SVENDTC"])}),
    ]
    dates = pd.concat([p for p in parts if len(p)], ignore_index=True).dropna(subset=["D"])
    last = dates.groupby("USUBJID")["D"].max()
    out = adsl.copy()
    out["LSTALVDT"] = pd.to_datetime(out["USUBJID"].map(last))
    return out


def derive_adsl(
    dm: pd.DataFrame,
    ex: pd.DataFrame,
    ds: pd.DataFrame,
    vs: pd.DataFrame,
    rs: pd.DataFrame,
    rand: pd.DataFrame,
    eligibility: pd.DataFrame,
    randlist: pd.DataFrame | None,
    *,
    sv: pd.DataFrame | None = None,
    ae: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ADSL before spec conformance. ``sv`` and ``ae`` (SDTM SV and AE) feed ``EOTSTT`` and
    ``LSTALVDT``; None stands for a domain without records."""
    sv = sv if sv is not None else pd.DataFrame(columns=["USUBJID", "VISITNUM", "SVSTDTC", "SVENDTC"])
    ae = ae if ae is not None else pd.DataFrame(columns=["USUBJID", "AESTDTC", "AEENDTC", "AEOUT"])
    adsl = derive_adsl_subjects(dm)
    adsl = derive_vars_dm(adsl, dm)
    adsl = derive_vars_agegr1(adsl)
    adsl = derive_vars_trt_dates(adsl, ex)
    adsl = derive_vars_trt_dtm(adsl, ex)
    adsl = derive_vars_randomization(adsl, rand)
    adsl = derive_var_strat1r(adsl, rand)
    adsl = derive_vars_treatment(adsl, randlist)
    adsl = derive_var_eligfl(adsl, eligibility)
    adsl = derive_var_sledaibl(adsl, rs)
    adsl = derive_var_weightbl(adsl, vs)
    adsl = derive_vars_disposition(adsl, ds)
    adsl = derive_vars_eot(adsl, sv)
    adsl = derive_vars_populations(adsl)
    adsl = derive_vars_dthdt(adsl)
    return derive_var_lstalvdt(adsl, ae, sv)
