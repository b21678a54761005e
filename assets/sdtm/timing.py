"""Timing variables shared by every SDTM domain: reference dates, VISITNUM, EPOCH, visit windows.

derivations.md (Time): first dose = earliest ``EXSTDAT`` with ``EXADMIN = Y``; ``--DY`` has no day 0
and partial dates get none (``assets.common.dates.study_day``). Reference dates use complete dates
only: a partial injection date cannot say which injection was first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.dates import study_day
from assets.common.distinct import per_distinct
from assets.common.findings import make_findings
from assets.sdtm.mapping import iso_to_date_by_value, map_by_value, study_day_by_value
from study import facts

VISIT_FORMS = facts.visit_forms()
"""Visit-based forms and their harmonized date column (study/visit_forms.csv; site-export.md, Forms)."""

UNSCHEDULED = "UNSCHEDULED"
LINEAGE = ["RECID", "SRC_EXPORT", "SRC_FILE", "SRC_LINE"]
VISIT_COLUMNS = ["USUBJID", "SITEID", "SUBJID", "VISIT", "VISITNUM", *LINEAGE]
"""Columns of a visit-based form that :func:`visit_dates` uses besides the date."""


def derive_vars_reference_dates(dm: pd.DataFrame, ex: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """Per DM subject: ``RFICDTC``, ``RFXSTDTC``/``RFSTDTC`` (first given injection), ``RFXENDTC``/
    ``RFENDTC`` (last given injection), ``RFPENDTC`` (latest disposition date).

    RFENDTC is the last dose, not the end of participation (SDTMIG 3.4 DM allows either; the end of
    participation is RFPENDTC). Subjects never dosed have no RFSTDTC/RFENDTC.
    """
    require_columns(dm, ["USUBJID", "ICDTC"], "derive_vars_reference_dates(dm)")
    out = dm[["USUBJID", "ICDTC"]].rename(columns={"ICDTC": "RFICDTC"}).drop_duplicates("USUBJID")
    if len(ex):
        require_columns(ex, ["USUBJID", "EXADMIN", "EXSTDTC"], "derive_vars_reference_dates(ex)")
        given = ex[ex["EXADMIN"].eq("Y").fillna(False) & ex["EXSTDTC"].str.len().ge(10).fillna(False)]
        doses = given.groupby("USUBJID")["EXSTDTC"].agg(RFXSTDTC="min", RFXENDTC="max").reset_index()
    else:
        doses = pd.DataFrame(columns=["USUBJID", "RFXSTDTC", "RFXENDTC"], dtype="string")
    out = out.merge(doses, on="USUBJID", how="left")
    out["RFSTDTC"] = out["RFXSTDTC"]
    out["RFENDTC"] = out["RFXENDTC"]
    if len(ds):
        require_columns(ds, ["USUBJID", "DSSTDTC"], "derive_vars_reference_dates(ds)")
        last = ds.dropna(subset=["DSSTDTC"]).groupby("USUBJID")["DSSTDTC"].max().rename("RFPENDTC")
        out = out.merge(last.reset_index(), on="USUBJID", how="left")
    else:
        out["RFPENDTC"] = pd.NA
    cols = ["RFICDTC", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFPENDTC"]
    out[cols] = out[cols].astype("string")
    return out.reset_index(drop=True)


def end_of_treatment_day() -> int:
    """Last study day of the TREATMENT epoch: latest planned day + window of a TREATMENT visit."""
    v = study.visits()
    treat = v[v["EPOCH"] == "TREATMENT"]
    return int((treat["PLANNED_DAY"] + treat["WINDOW_DAYS"].fillna(0)).max())


def derive_var_epoch_by_date(dtc: pd.Series, rfstdtc: pd.Series, rficdtc: pd.Series) -> pd.Series:
    """EPOCH of a date: none before consent; SCREENING from consent to the day before first dose;
    TREATMENT from first dose to the end-of-treatment day; FOLLOW-UP after. Partial dates: none."""
    date = iso_to_date_by_value(dtc)
    day = study_day(date, iso_to_date_by_value(rfstdtc))
    consent = iso_to_date_by_value(rficdtc)
    after_consent = (date >= consent).fillna(False).to_numpy(dtype=bool)
    dosed = day.notna().to_numpy()
    dayv = day.fillna(0).to_numpy(dtype="int64")
    never_dosed = rfstdtc.isna().to_numpy() & after_consent & date.notna().to_numpy()
    epoch = np.select(
        [
            dosed & (dayv < 0) & after_consent,
            dosed & (dayv > 0) & (dayv <= end_of_treatment_day()),
            dosed & (dayv > end_of_treatment_day()),
            never_dosed,
        ],
        ["SCREENING", "TREATMENT", "FOLLOW-UP", "SCREENING"],
        default="",
    )
    return pd.Series(epoch, index=dtc.index, dtype="string").replace("", pd.NA)


def derive_var_epoch(visit: pd.Series, dtc: pd.Series, rfstdtc: pd.Series, rficdtc: pd.Series) -> pd.Series:
    """EPOCH of a visit-based record: the scheduled visit's epoch (study/visits.csv); for UNSCHEDULED
    (or an unknown label) the epoch of the date."""
    by_visit = map_by_value(visit, dict(zip(study.visits()["VISIT"], study.visits()["EPOCH"])))
    by_visit = by_visit.where(by_visit.str.len() > 0)
    by_date = by_visit.isna()
    if by_date.any():  # only unscheduled records need the (costlier) epoch of their date
        by_visit = by_visit.copy()
        by_visit[by_date] = derive_var_epoch_by_date(dtc[by_date], rfstdtc[by_date], rficdtc[by_date])
    return by_visit


def visit_dates(forms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long frame of every visit-based record: FORM, USUBJID, SITEID, SUBJID, VISIT, VISITNUM, DTC,
    lineage. Forms that were not delivered are skipped."""
    parts = []
    for form, dtc in VISIT_FORMS.items():
        df = forms.get(form)
        if df is None or df.empty:
            continue
        part = df[["USUBJID", "SITEID", "SUBJID", "VISIT", "VISITNUM", dtc, *LINEAGE]].rename(
            columns={dtc: "DTC"}
        )
        part.insert(0, "FORM", form)
        parts.append(part)
    cols = ["FORM", "USUBJID", "SITEID", "SUBJID", "VISIT", "VISITNUM", "DTC", *LINEAGE]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    out = pd.concat(parts, ignore_index=True)
    out["DTC"] = out["DTC"].astype("string")
    return out


def unscheduled_visitnums(visits: pd.DataFrame) -> pd.DataFrame:
    """UNSCHEDULED visits numbered per subject by date across all forms: 99.01, 99.02, ...

    SDTMIG: VISITNUM identifies one visit of a subject; every unscheduled date is a visit of its own.
    Returns USUBJID, VISITDATE (``YYYY-MM-DD`` or the partial date) and VISITNUM.
    """
    require_columns(visits, ["USUBJID", "VISIT", "DTC"], "unscheduled_visitnums")
    visits = visits[["USUBJID", "VISIT", "DTC"]]  # the filter below re-takes only these columns
    uns = visits[visits["VISIT"].eq(UNSCHEDULED).fillna(False) & visits["DTC"].notna()]
    dates = uns.assign(VISITDATE=uns["DTC"].str.slice(0, 10))[["USUBJID", "VISITDATE"]].drop_duplicates()
    dates = dates.sort_values(["USUBJID", "VISITDATE"], kind="stable")
    base = study.visitnum_map()[UNSCHEDULED]
    dates["VISITNUM"] = base + (dates.groupby("USUBJID").cumcount() + 1) / 100.0
    return dates.reset_index(drop=True)


def derive_var_visitnum(df: pd.DataFrame, dtc: str, unscheduled: pd.DataFrame) -> pd.DataFrame:
    """VISITNUM (float) from the schedule; UNSCHEDULED rows get their dated number (99.01, ...)."""
    require_columns(df, ["USUBJID", "VISIT", "VISITNUM", dtc], "derive_var_visitnum")
    is_uns = df["VISIT"].eq(UNSCHEDULED).fillna(False).to_numpy(dtype=bool)
    # Only the (few) UNSCHEDULED rows are looked up by subject and date, not every row.
    key = pd.DataFrame(
        {
            "USUBJID": df["USUBJID"][is_uns].astype("string"),
            "VISITDATE": df[dtc][is_uns].astype("string").str.slice(0, 10),
        }
    )
    uns = unscheduled.astype({"USUBJID": "string", "VISITDATE": "string"})
    dated = key.merge(uns, on=["USUBJID", "VISITDATE"], how="left")["VISITNUM"].to_numpy(dtype="float64")
    out = df.copy()
    visitnum = pd.to_numeric(df["VISITNUM"], errors="coerce").astype("float64").to_numpy(copy=True)
    visitnum[np.flatnonzero(is_uns)[~np.isnan(dated)]] = dated[~np.isnan(dated)]
    out["VISITNUM"] = visitnum
    return out


def find_visits_outside_window(visits: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Findings (KIND VISIT_WINDOW, WARNING): a scheduled visit record dated outside its planned
    study day +- window (study/visits.csv), measured from the first dose (DM.RFSTDTC).

    One finding per subject, visit, form and date (the first record's lineage), so a late visit
    is one query per form rather than one per lab test. Visits without a planned day (SCREENING,
    UNSCHEDULED), subjects never dosed and partial dates are not checked.
    """
    require_columns(visits, ["USUBJID", "VISIT", "DTC", "FORM"], "find_visits_outside_window")
    require_columns(reference, ["USUBJID", "RFSTDTC"], "find_visits_outside_window(reference)")
    sched = study.visits().dropna(subset=["PLANNED_DAY"]).set_index("VISIT")[["PLANNED_DAY", "WINDOW_DAYS"]]
    rfstdtc = reference.set_index("USUBJID")["RFSTDTC"]

    # Looked up per distinct visit and subject on every row, rather than inner merges of every
    # column of ~800,000 rows; rows without a planned day or a DM subject get no study day or
    # planned day, so they are never off (as the inner merges dropped them). Only the few rows
    # off their window are then taken with their lineage.
    def planned(col: str) -> pd.Series:
        return per_distinct(visits["VISIT"], lambda v: v.map(sched[col])).astype("float64")

    df = visits.assign(PLANNED_DAY=planned("PLANNED_DAY"), WINDOW_DAYS=planned("WINDOW_DAYS"))
    day = study_day_by_value(df["DTC"], per_distinct(df["USUBJID"], lambda u: u.map(rfstdtc)))
    off = ((day - df["PLANNED_DAY"]).abs() > df["WINDOW_DAYS"].fillna(0)).fillna(False).to_numpy(dtype=bool)
    bad = df[off].assign(DY=day[off])
    bad = bad.sort_values(["USUBJID", "VISIT", "FORM", "DTC", "RECID"], kind="stable")
    bad = bad.drop_duplicates(["USUBJID", "VISIT", "FORM", "DTC"])
    lo = (bad["PLANNED_DAY"] - bad["WINDOW_DAYS"].fillna(0)).astype(int).astype(str)
    hi = (bad["PLANNED_DAY"] + bad["WINDOW_DAYS"].fillna(0)).astype(int).astype(str)
    findings = pd.DataFrame(
        {
            "KIND": "VISIT_WINDOW",
            "SEVERITY": "WARNING",
            "SITEID": bad["SITEID"],
            "SUBJID": bad["SUBJID"],
            "FORM": bad["FORM"],
            "RECID": bad["RECID"],
            "VISIT": bad["VISIT"],
            "COLUMN": bad["FORM"].map({f: dtc[:-3] + "DAT" for f, dtc in VISIT_FORMS.items()}),
            "RULE": "visit_in_window",
            "VALUE": bad["DTC"],
            "MESSAGE": bad["VISIT"]
            + " dated on study day "
            + bad["DY"].astype(str)
            + ", outside the window (day "
            + lo
            + " to "
            + hi
            + ")",
            "SRC_EXPORT": bad["SRC_EXPORT"],
            "SRC_FILE": bad["SRC_FILE"],
            "SRC_LINE": bad["SRC_LINE"],
            "DATE": bad["DTC"],  # the visit date (issue 17)
        }
    )
    return make_findings(findings)


def with_reference(df: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the subject's RFSTDTC and RFICDTC (from DM) joined by USUBJID, index kept."""
    require_columns(reference, ["USUBJID", "RFSTDTC", "RFICDTC"], "with_reference")
    ref = reference[["USUBJID", "RFSTDTC", "RFICDTC"]].drop_duplicates("USUBJID").set_index("USUBJID")
    out = df.drop(columns=[c for c in ("RFSTDTC", "RFICDTC") if c in df.columns])
    return out.join(ref, on="USUBJID")
