"""CDISC CORE rule conditions checked directly on the SDTM of a small generated trial (issue 15
item 2). CORE itself is not a project dependency: each test names the rule, states its condition
(the rule text of the CORE rules cache, SDTMIG 3.4) and asserts that no record meets it.

One module-scoped trial (generated with defects, run blinded) is shared by every test. To check
another warehouse's SDTM instead (e.g. a 200-subject trial, or an unblinded run), point
``TRIALPIPE_CORE_SDTM`` at its ``<mode>/sdtm`` folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import study
from study import spec

pytestmark = pytest.mark.e2e

FINDINGS = ("LB", "VS", "CP", "RS")
NUMERIC_TEXT = r"-?(0|[1-9]\d*)(\.\d+)?"
"""CORE-000542's test of a numeric ``--STRESC`` (``^-?(0|[1-9]\\d*)(\\.\\d+)?$``)."""


def _run_trial(base: Path) -> Path:
    trialpipe = [sys.executable, "-m", "pipelines.cli"]
    subprocess.run(
        [*trialpipe, "generate", "--out", str(base / "landing"), "--restricted-out", str(base / "restricted")]
        + ["--seed", "5", "--sites", "3", "--subjects", "30", "--defects", "0.02"],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [*trialpipe, "run", "--landing", str(base / "landing"), "--warehouse", str(base / "wh")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return base / "wh" / "blinded" / "sdtm"


@pytest.fixture(scope="module")
def sdtm_folder(tmp_path_factory) -> Path:
    if os.environ.get("TRIALPIPE_CORE_SDTM"):
        return Path(os.environ["TRIALPIPE_CORE_SDTM"])
    return _run_trial(tmp_path_factory.mktemp("core_conditions"))


@pytest.fixture(scope="module")
def sdtm(sdtm_folder) -> dict[str, pd.DataFrame]:
    return {p.stem.upper(): pd.read_parquet(p) for p in sorted(sdtm_folder.glob("*.parquet"))}


@pytest.fixture(scope="module")
def site_cut_dates(sdtm_folder) -> dict[str, pd.Timestamp]:
    """SITEID -> date of the export in force (ingest inventory), as the pipeline reads it."""
    inv = pd.read_parquet(sdtm_folder.parent / "ingest" / "qa" / "inventory")
    inv = inv[inv["IN_FORCE"].astype(bool)]
    return {
        str(s): pd.Timestamp(str(e)[:8]) for s, e in zip(inv["SOURCE"], inv["EXPORT_ID"]) if str(s) != "IWRS"
    }


# --- rule conditions: each returns the records that meet it (a finding each) -------------------


def core_000542(df: pd.DataFrame, domain: str) -> pd.DataFrame:
    """--STRESC is numeric and --STRESN is null or not equal to it."""
    stresc, stresn = df[f"{domain}STRESC"].astype("string"), df[f"{domain}STRESN"].astype("float64")
    numeric = stresc.str.fullmatch(NUMERIC_TEXT).fillna(False)
    as_number = pd.to_numeric(stresc.where(numeric), errors="coerce")
    return df[numeric & (stresn.isna() | (as_number != stresn))]


def core_000177(df: pd.DataFrame, domain: str, dm: pd.DataFrame) -> pd.DataFrame:
    """DM.RFENDTC is empty and --ENRF is not empty."""
    rfendtc = df["USUBJID"].map(dm.set_index("USUBJID")["RFENDTC"])
    return df[rfendtc.isna() & df[f"{domain}ENRF"].notna()]


def _tv_visits(sdtm) -> tuple[set, set]:
    tv = sdtm["TV"]
    return set(tv["VISIT"]), set(tv["VISITNUM"].astype(float))


# --- tests ------------------------------------------------------------------------------------


def test_core_000542_stresn_equals_numeric_stresc(sdtm):
    """CORE-000542: --STRESC is populated with a numeric value, but --STRESN is not populated or
    --STRESN is not equal to --STRESC (every findings domain; converted units round once)."""
    checked = 0
    for domain in FINDINGS:
        df = sdtm[domain]
        assert core_000542(df, domain).empty, (domain, core_000542(df, domain).head())
        checked += len(df)
    converted = sdtm["VS"][sdtm["VS"]["VSORRESU"].ne(sdtm["VS"]["VSSTRESU"]).fillna(False)]
    assert checked and len(converted)  # unit conversions were exercised


def test_core_000177_no_enrf_without_reference_period(sdtm):
    """CORE-000177: DM.RFENDTC is empty and --ENRF is not empty (CM, AE)."""
    dm = sdtm["DM"]
    for domain in ("CM", "AE"):
        if f"{domain}ENRF" in sdtm[domain]:
            assert core_000177(sdtm[domain], domain, dm).empty, domain
    cm = sdtm["CM"]
    ongoing_sf = (
        cm["CMENRTPT"].eq("ONGOING").fillna(False)
        & cm["USUBJID"].map(dm.set_index("USUBJID")["RFENDTC"]).isna()
    )
    assert cm.loc[ongoing_sf, "CMENTPT"].notna().all()  # the end is relative to a time point instead


def test_core_000084_000106_000171_enrtpt_with_entpt(sdtm):
    """CORE-000084/000171: --ENTPT exists without --ENRTPT (or the reverse); CORE-000106: --ENTPT
    completed and --ENRTPT not completed (CM, MH, AE)."""
    for domain in ("CM", "MH", "AE"):
        df = sdtm[domain]
        assert (f"{domain}ENTPT" in df) == (f"{domain}ENRTPT" in df), domain
        if f"{domain}ENTPT" in df:
            assert df[df[f"{domain}ENTPT"].notna() & df[f"{domain}ENRTPT"].isna()].empty, domain


def test_core_000892_end_timing_has_a_start(sdtm):
    """CORE-000892: --ENDTC, --ENRF or --ENRTPT populated while --STDTC (and --STRF, --STRTPT) is
    empty (CM, MH)."""
    for domain in ("CM", "MH"):
        df = sdtm[domain]
        end = df[f"{domain}ENDTC"].notna() | df[f"{domain}ENRTPT"].notna()
        if f"{domain}ENRF" in df:
            end |= df[f"{domain}ENRF"].notna()
        assert df[end & df[f"{domain}STDTC"].isna()].empty, domain


def test_core_000334_expected_variables_present(sdtm):
    """CORE-000334: an expected variable is not present in the dataset. Every Exp variable of the
    spec is a column, and the spec names the SDTMIG 3.4 Exp variables this change adds."""
    added = {"DM": ["ACTARMUD"], "LB": ["LBLOBXFL"], "VS": ["VSLOBXFL"], "SV": ["SVPRESP", "SVOCCUR"]}
    for domain, names in added.items():
        exp = spec.variables("sdtm", domain)
        assert set(names) <= set(exp.loc[exp["CORE"] == "Exp", "VARIABLE"]), domain
    for domain, df in sdtm.items():
        exp = spec.variables("sdtm", domain)
        missing = set(exp.loc[exp["CORE"] == "Exp", "VARIABLE"]) - set(df.columns)
        assert not missing, (domain, missing)


def test_core_000328_000776_study_days_beside_dates(sdtm):
    """CORE-000328: --STDTC present and --STDY not; CORE-000776: --ENDTC present and --ENDY not
    (every domain of the Events, Interventions, Findings and Special-Purpose classes)."""
    for domain, df in sdtm.items():
        if domain.startswith("SUPP") or domain in ("TA", "TE", "TI", "TS", "TV", "DM"):
            continue
        for dtc, dy in (("STDTC", "STDY"), ("ENDTC", "ENDY")):
            if f"{domain}{dtc}" in df:
                assert f"{domain}{dy}" in df, (domain, dy)
    mh = sdtm["MH"]
    dosed = mh["USUBJID"].map(sdtm["DM"].set_index("USUBJID")["RFSTDTC"]).notna()
    full = mh["MHSTDTC"].str.len().ge(10).fillna(False)
    assert mh.loc[full & dosed, "MHSTDY"].notna().all() and mh.loc[~(full & dosed), "MHSTDY"].isna().all()
    assert (mh.loc[full & dosed, "MHSTDY"] < 0).all()  # history starts before the first dose


def test_core_000558_study_days_non_zero_integers(sdtm):
    """CORE-000558: --DY must be a non-zero integer (including the new MHSTDY/MHENDY)."""
    for domain, df in sdtm.items():
        for col in [c for c in df.columns if c.endswith("DY") and c != "VISITDY"]:
            days = df[col].dropna().astype("float64")
            assert (days != 0).all() and (days == np.round(days)).all(), (domain, col)


def test_core_lobxfl_rules(sdtm):
    """CORE-000170: --LOBXFL not Y or null. CORE-000105: --LOBXFL = Y and --STRESC empty.
    CORE-000083: --ORRES empty with --LOBXFL = Y (no --DRVFL). CORE-000915: more than one record with
    --LOBXFL = Y and --STRESC per USUBJID, --TESTCD, --CAT, --SCAT, --SPEC, --METHOD (LB, VS)."""
    dm = sdtm["DM"].set_index("USUBJID")
    for domain, keys in (("LB", ["LBTESTCD", "LBCAT", "LBSPEC"]), ("VS", ["VSTESTCD"])):
        df = sdtm[domain]
        flag = df[f"{domain}LOBXFL"]
        assert set(flag.dropna()) == {"Y"}, domain  # 000170, and some flags are set
        flagged = df[flag.eq("Y").fillna(False)]
        assert flagged[f"{domain}STRESC"].notna().all() and flagged[f"{domain}ORRES"].notna().all()
        assert not flagged.duplicated(["USUBJID", *keys]).any(), domain
        # before exposure: on or before the first dose date, and only dosed subjects
        first = flagged["USUBJID"].map(dm["RFSTDTC"]).str.slice(0, 10)
        assert (flagged[f"{domain}DTC"].str.slice(0, 10) <= first).all(), domain


def test_core_sv_presp_occur_rules(sdtm):
    """SV (SDTMIG 3.4): CORE-000035 SVPRESP null and VISITDY not null; CORE-000037 SVPRESP not Y
    or null; CORE-000038 SVOCCUR not null and SVPRESP not Y; CORE-000039/000036 SVPRESP = Y and
    VISITNUM (VISIT) not in TV; CORE-000040 SVPRESP null and VISITNUM in TV; CORE-000204 a TV
    VISITNUM twice for a subject; SVOCCUR = N records have no SVSTDTC/SVENDTC."""
    sv = sdtm["SV"]
    tv_visit, tv_num = _tv_visits(sdtm)
    presp, occur = sv["SVPRESP"], sv["SVOCCUR"]
    in_tv = sv["VISITNUM"].astype(float).isin(tv_num)
    assert sv[presp.isna() & sv["VISITDY"].notna()].empty  # 000035
    assert set(presp.dropna()) == {"Y"}  # 000037
    assert sv[occur.notna() & presp.ne("Y").fillna(True)].empty  # 000038
    assert sv[presp.eq("Y").fillna(False) & ~in_tv].empty  # 000039
    assert sv[presp.eq("Y").fillna(False) & ~sv["VISIT"].isin(tv_visit)].empty  # 000036
    assert sv[presp.isna() & in_tv].empty  # 000040
    assert not sv[in_tv].duplicated(["USUBJID", "VISITNUM"]).any()  # 000204
    missed = sv[occur.eq("N").fillna(False)]
    assert missed["SVSTDTC"].isna().all() and missed["SVENDTC"].isna().all()
    assert set(occur.dropna()) <= {"Y", "N"}


def test_missed_visits_are_due_and_unattended(sdtm):
    """SVOCCUR = N only for a dosed subject's scheduled visit with no record in any visit-based
    domain; every other SV record has a date."""
    sv = sdtm["SV"]
    missed = sv[sv["SVOCCUR"].eq("N").fillna(False)]
    dosed = set(sdtm["DM"].loc[sdtm["DM"]["RFSTDTC"].notna(), "USUBJID"])
    assert set(missed["USUBJID"]) <= dosed
    seen = pd.concat([sdtm[d][["USUBJID", "VISIT"]] for d in FINDINGS]).drop_duplicates()
    both = missed.merge(seen, on=["USUBJID", "VISIT"])
    assert both.empty
    assert sv.loc[sv["SVOCCUR"].ne("N").fillna(True), "SVSTDTC"].notna().all()


def test_every_due_visit_has_an_sv_record(sdtm, site_cut_dates):
    """SV (SDTMIG 3.4: one record per actual or planned visit): every scheduled visit of a dosed
    subject whose window closed before the site's data cut, and not after the subject's
    disposition event, has a record, attended (SVOCCUR Y) or missed (SVOCCUR N)."""
    dm, sv, ds = sdtm["DM"], sdtm["SV"], sdtm["DS"]
    sched = study.visits().dropna(subset=["PLANNED_DAY"])
    ends = ds[
        ds["DSCAT"].eq("DISPOSITION EVENT").fillna(False) & ds["DSSTDTC"].str.len().ge(10).fillna(False)
    ]
    eos = pd.to_datetime(ends.groupby("USUBJID")["DSSTDTC"].min())
    dosed = dm[dm["RFSTDTC"].str.len().ge(10).fillna(False)]
    have = set(zip(sv["USUBJID"], sv["VISIT"]))
    due = 0
    for subject, site, first in dosed[["USUBJID", "SITEID", "RFSTDTC"]].itertuples(index=False):
        for visit, day, window in sched[["VISIT", "PLANNED_DAY", "WINDOW_DAYS"]].itertuples(index=False):
            end = pd.Timestamp(first[:10]) + pd.Timedelta(
                days=int(day + (0 if pd.isna(window) else window) - 1)
            )
            if end < site_cut_dates[site] and (subject not in eos.index or end <= eos[subject]):
                due += 1
                assert (subject, visit) in have, (subject, visit)
    assert due > 0


def test_core_000168_visitnum_in_sv(sdtm):
    """CORE-000168: VISITNUM not null and not among the subject's SV.VISITNUM (findings domains)."""
    sv = sdtm["SV"][["USUBJID", "VISITNUM"]].drop_duplicates().assign(IN_SV=True)
    for domain in FINDINGS:
        df = sdtm[domain][["USUBJID", "VISITNUM"]].dropna().drop_duplicates()
        joined = df.merge(sv, on=["USUBJID", "VISITNUM"], how="left")
        assert joined["IN_SV"].notna().all(), domain


def test_core_000289_record_censored_dsdna_has_lbnrind(sdtm):
    """CORE-000289/290/298/299 flag a censored result (``<10``) that has a reference range: they
    stay (not a mapping defect), but LBNRIND is decided where the limit decides it: anti-dsDNA
    ``<x`` within a range starting at 0 with x <= LBSTNRHI is NORMAL."""
    lb = sdtm["LB"]
    censored = lb[lb["LBSTRESC"].str.startswith("<").fillna(False) & lb["LBSTNRHI"].notna()]
    limit = pd.to_numeric(censored["LBSTRESC"].str.lstrip("<="), errors="coerce")
    decidable = censored[(censored["LBSTNRLO"].fillna(0) <= 0) & (limit <= censored["LBSTNRHI"])]
    assert len(decidable) and decidable["LBNRIND"].eq("NORMAL").all()


def test_actarmud_only_for_unplanned_treatment(sdtm):
    """DM ACTARMUD (CORE-000334 expected): populated exactly when ARMNRS = UNPLANNED TREATMENT."""
    dm = sdtm["DM"]
    unplanned = dm["ARMNRS"].eq("UNPLANNED TREATMENT").fillna(False)
    assert (dm["ACTARMUD"].notna() == unplanned).all()
    assert study.studyid() in set(dm["STUDYID"])
