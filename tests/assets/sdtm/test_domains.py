"""Known answers per domain on the literal tiny trial (tests/assets/sdtm/trial.py), no Dagster."""

from __future__ import annotations

import pandas as pd

from assets.sdtm import events, findings, interventions, special, trial_design
from assets.sdtm.timing import find_visits_outside_window, unscheduled_visitnums, visit_dates

S1, S2, S3 = "LDIL2SLE-101-0001", "LDIL2SLE-101-0002", "LDIL2SLE-101-0003"
RANDLIST = pd.DataFrame({"RANDNO": ["R001", "R002"], "ARMCD": ["IL2M", "PBO"]}, dtype="string")
RAND = pd.DataFrame({"USUBJID": [S1, S2], "RANDNO": ["R001", "R002"]}, dtype="string")


def _dm(forms, randlist=None):
    return special.build_dm(forms["DM"], forms["EX"], forms["DS"], forms["AE"], RAND, randlist).set_index(
        "USUBJID"
    )


def _ref(forms):
    return _dm(forms).reset_index()[["USUBJID", "RFSTDTC", "RFENDTC", "RFICDTC", "ARMCD"]]


def test_trial_design_domains():
    assert len(trial_design.build_ti()) == 20
    assert trial_design.build_ti()["IETESTCD"].str.match(r"^(IN0[1-6]|EX(0[1-9]|1[0-4]))$").all()
    tv = trial_design.build_tv()
    assert tv["VISIT"].tolist()[0] == "SCREENING" and "UNSCHEDULED" not in tv["VISIT"].tolist()
    assert tv.set_index("VISIT").loc["WEEK 24", "VISITDY"] == 169
    ta = trial_design.build_ta(blinded=False)
    assert len(ta) == 4 * 3 and set(ta["EPOCH"]) == {"SCREENING", "TREATMENT", "FOLLOW-UP"}
    assert set(trial_design.build_te(blinded=False)["ETCD"]) == {"SCRN", "PBO", "IL2L", "IL2M", "IL2H", "FU"}


def test_blinded_trial_design_names_no_arm_and_no_dose():
    ta, te = trial_design.build_ta(blinded=True), trial_design.build_te(blinded=True)
    assert ta["ARMCD"].unique().tolist() == ["BLINDED"] and ta["ETCD"].tolist() == ["SCRN", "TRT", "FU"]
    assert set(te["ETCD"]) == {"SCRN", "TRT", "FU"}
    text = ta.to_csv() + te.to_csv()
    for forbidden in ("PBO", "IL2L", "IL2M", "IL2H", "Placebo", "MIU"):
        assert forbidden not in text
    ts = trial_design.build_ts().set_index("TSPARMCD")
    assert ts.loc["TBLIND", "TSVAL"] == "DOUBLE BLIND" and ts.loc["PLANSUB", "TSVAL"] == "500"
    assert {"TITLE", "TPHASE", "INDIC", "SPONSOR", "SSTDTC", "SENDTC", "NARMS"} <= set(ts.index)
    # planned ages from protocol_limits.csv as written there (18, not 18.0)
    assert ts.loc["AGEMIN", "TSVAL"] == "P18Y" and ts.loc["AGEMAX", "TSVAL"] == "P75Y"


def test_dm_blinded(forms):
    dm = _dm(forms)
    assert dm.loc[S1, ["RFSTDTC", "RFXENDTC", "RFICDTC"]].tolist() == [
        "2026-03-01T10:00",
        "2026-03-07",
        "2026-02-01",
    ]
    assert dm.loc[S1, "AGE"] == 45  # born UN-JUN-1980 -> 15-JUN-1980; consent 01-FEB-2026
    assert dm.loc[S2, "AGE"] == 35  # born 1990 -> 01-JUL-1990; consent 02-FEB-2026
    assert dm.loc[S1, ["ARMCD", "ARM", "ACTARMCD", "ACTARM"]].tolist() == ["BLINDED"] * 4
    assert dm.loc[S2, "ARMCD"] == "BLINDED" and pd.isna(dm.loc[S2, "ACTARMCD"])
    assert dm.loc[S2, "ARMNRS"] == "ASSIGNED, NOT TREATED"
    assert pd.isna(dm.loc[S3, "ARMCD"]) and dm.loc[S3, "ARMNRS"] == "SCREEN FAILURE"
    assert "BRTHDTC" not in dm.columns and (dm["COUNTRY"] == "CHN").all()


def test_dm_unblinded_arms_from_the_list(forms):
    dm = _dm(forms, RANDLIST)
    assert dm.loc[S1, ["ARMCD", "ARM", "ACTARMCD"]].tolist() == ["IL2M", "IL-2 0.5 MIU", "IL2M"]
    assert dm.loc[S2, "ARMCD"] == "PBO" and pd.isna(dm.loc[S2, "ACTARM"])


def test_ex_given_injections_only_and_dose_only_when_unblinded(forms):
    ref = _ref(forms)
    blinded = interventions.build_ex(forms["EX"], ref)
    ex = blinded["EX"]
    assert ex["EXSTDTC"].tolist() == ["2026-03-01T10:00", "2026-03-03", "2026-03-07"]
    assert ex["EXSTDY"].tolist() == [1, 3, 7] and ex["EXSEQ"].tolist() == [1, 2, 3]
    assert ex["EXDOSE"].isna().all() and (ex["EXTRT"] == "IL-2 OR PLACEBO").all()
    assert blinded["SUPPEX"]["QVAL"].tolist() == ["K1", "K1", "K2"]
    unblinded = interventions.build_ex(forms["EX"], ref, pd.Series({S1: "IL2M"}))["EX"]
    assert unblinded["EXDOSE"].tolist() == [0.5] * 3 and (unblinded["EXDOSU"] == "10^6 IU").all()
    assert (unblinded["EXTRT"] == "INTERLEUKIN-2").all()


def test_lb_units_ranges_indicator_and_unscheduled_visit(forms):
    unscheduled = unscheduled_visitnums(visit_dates(forms))
    lb = findings.build_lb(forms["LB"], _ref(forms), unscheduled).set_index(["USUBJID", "LBTESTCD", "LBSPEC"])
    alt = lb.loc[(S1, "ALT", "SERUM")]
    assert (alt["LBORRES"], alt["LBORRESU"], alt["LBSTRESN"], alt["LBSTRESU"]) == (
        "0.9",
        "ukat/L",
        54.0,
        "U/L",
    )
    assert alt["LBSTNRHI"] == 36.0 and alt["LBNRIND"] == "HIGH" and alt["LBDY"] == -24
    prot = lb.loc[(S1, "PROT", "URINE")]
    assert prot["LBSTRESC"] == "<0.05" and pd.isna(prot["LBSTRESN"])
    plat = lb.loc[(S1, "PLAT", "BLOOD")]
    assert plat["VISITNUM"] == 99.01 and plat["VISIT"] == "UNSCHEDULED" and plat["LBNRIND"] == "LOW"
    assert plat["EPOCH"] == "TREATMENT"
    assert lb.loc[(S1, "HCG", "URINE"), "LBNRIND"] == "NORMAL"
    assert lb.loc[(S3, "WBC", "URINE"), "LBCAT"] == "URINALYSIS"  # UWBC -> WBC in urine


def test_vs_and_cp(forms):
    unscheduled = unscheduled_visitnums(visit_dates(forms))
    vs = findings.build_vs(forms["VS"], _ref(forms), unscheduled).set_index(["USUBJID", "VSTESTCD"])
    # 132.0 LB = 59.8742 kg, rounded once to WEIGHT's 1 decimal (study/vital_signs.csv STD_DECIMALS)
    weight = vs.loc[(S1, "WEIGHT")]
    assert (weight["VSSTRESN"], weight["VSSTRESC"], weight["VSSTRESU"]) == (59.9, "59.9", "kg")
    assert vs.loc[(S1, "TEMP"), "VSSTRESC"] == "37"
    cp = findings.build_cp(forms["FACS"], _ref(forms), unscheduled).set_index("CPTESTCD")
    assert cp.loc["TLHRTLH", "CPSTRESN"] == 4.2 and cp.loc["TLHRTLH", "CPMRKSTR"] == "CD4+CD25+FOXP3+"
    assert cp.loc["TFH", "CPORRESU"] == "%" and cp.loc["TFH", "CPDY"] == 1


def test_rs_sledai_recomputed_total_pga_bilag_and_site_total_in_supp(forms):
    unscheduled = unscheduled_visitnums(visit_dates(forms))
    built = findings.build_rs(forms["SLEDAI"], forms["PGA"], forms["BILAG"], _ref(forms), unscheduled)
    rs = built["RS"]
    tot = rs[rs["RSTESTCD"] == "SLEDTOT"].set_index("VISIT")
    # screening: ARTHRITIS 4 + RASH 2 + LOWCOMP 2 + DNABIND 2 = 10; DAY 1: FEVER missing -> no total
    assert tot.loc["SCREENING", "RSSTRESN"] == 10 and tot.loc["SCREENING", "RSDRVFL"] == "Y"
    assert pd.isna(tot.loc["DAY 1", "RSSTRESN"]) and tot.loc["DAY 1", "RSSTAT"] == "NOT DONE"
    assert tot.loc["DAY 1", "RSREASND"] == "Items not answered: FEVER"
    items = rs[(rs["RSCAT"] == "SLEDAI-2K") & (rs["VISIT"] == "SCREENING") & (rs["RSTESTCD"] != "SLEDTOT")]
    assert len(items) == 24 and items.set_index("RSTESTCD").loc["SLED09", "RSORRES"] == "Y"  # ARTHRITIS
    assert rs[rs["RSTESTCD"] == "PGA"]["RSSTRESN"].tolist() == [1.5]
    assert rs[(rs["RSCAT"] == "BILAG-2004")].set_index("RSTESTCD").loc["MUCOCUT", "RSSTRESC"] == "B"
    supp = built["SUPPRS"]
    assert supp["QVAL"].tolist() == ["10", "4"] and (supp["QNAM"] == "SLTOTSIT").all()
    linked = rs.set_index("RSSEQ").loc[supp["IDVARVAL"].astype(int), "RSTESTCD"]
    assert (linked == "SLEDTOT").all()


def test_events_cm_mh_ds(forms):
    ref = _ref(forms)
    ae = events.build_ae(forms["AE"], ref)
    assert ae["AESTDY"].tolist()[0] == -1 and pd.isna(ae["AESTDY"].tolist()[1])  # 28-FEB and UN-MAR
    assert ae["AEDECOD"].tolist() == ["HEADACHE", "INJECTION SITE REACTION"]  # the delivered PTs
    assert ae["AEPTCD"].tolist() == [10019211, 99300001] and ae["AESMIE"].fillna("").tolist() == ["", "Y"]
    assert ae["AEENRTPT"].tolist()[1] == "ONGOING" and ae["AEENTPT"].tolist()[1] == "2026-06-01"
    cm = interventions.build_cm(forms["CM"], ref)
    assert cm.iloc[0][["CMDOSFRQ", "CMROUTE", "CMENRF"]].tolist() == ["EVERY WEEK", "ORAL", "ONGOING"]
    mh = events.build_mh(forms["MH"], ref)
    assert mh["SUPPMH"]["QVAL"].tolist() == ["II"]
    ds = events.build_ds(forms["DS"], ref).set_index(["USUBJID", "DSDECOD"])
    assert ds.loc[(S1, "RANDOMIZED"), "DSCAT"] == "PROTOCOL MILESTONE"
    assert ds.loc[(S2, "WITHDRAWAL BY SUBJECT"), "DSTERM"] == "Withdrew consent"


def test_sv_and_visit_window_findings(forms):
    visits = visit_dates(forms)
    ref = _ref(forms)
    subjects = _dm(forms).reset_index()[["USUBJID", "SITEID", "RFSTDTC"]]
    sv = special.build_sv(visits, subjects, forms["DS"], {})
    s1 = sv[sv["USUBJID"] == S1].set_index("VISIT")
    assert s1.loc["WEEK 4", "SVSTDY"] == 32 and s1.loc["UNSCHEDULED", "VISITNUM"] == 99.01
    late = find_visits_outside_window(visits, ref)
    # WEEK 4 on day 32 is inside 29 +- 3; WEEK 8 on day 62 is outside 57 +- 3
    assert late[["SUBJID", "VISIT", "FORM", "KIND", "SEVERITY"]].values.tolist() == [
        ["101-0001", "WEEK 8", "LB", "VISIT_WINDOW", "WARNING"]
    ]
    assert late["SRC_FILE"].iloc[0].endswith("LB.csv") and late["RECID"].iloc[0] == "LB5"


def test_ie_only_criteria_counting_against():
    eligibility = pd.DataFrame(
        {
            "USUBJID": [S1, S1, S1, S3],
            "SUBJID": ["101-0001"] * 3 + ["101-0003"],
            "SITEID": "101",
            "IETESTCD": ["IN02", "EX03", "IN01", "EX07"],
            "IECAT": ["INCLUSION", "EXCLUSION", "INCLUSION", "EXCLUSION"],
            "RESULT": ["NOT MET", "PRESENT", "MET", "NOT EVALUABLE"],
            "COUNTS_AGAINST": [True, True, False, True],
            "ICDTC": ["2026-02-01"] * 3 + ["2026-02-03"],
        }
    )
    ref = pd.DataFrame(
        {"USUBJID": [S1, S3], "RFSTDTC": ["2026-03-01", pd.NA], "RFICDTC": ["2026-02-01", "2026-02-03"]}
    )
    ie = findings.build_ie(eligibility, ref)
    assert ie[["USUBJID", "IETESTCD", "IEORRES", "IESEQ"]].values.tolist() == [
        [S1, "EX03", "Y", 1],
        [S1, "IN02", "N", 2],
        [S3, "EX07", "Y", 1],
    ]
    assert (
        ie["IETEST"].iloc[1].startswith("SLE disease activity index") and (ie["VISIT"] == "SCREENING").all()
    )
    assert ie["IEDY"].tolist()[0] == -28
