"""Data-management consistency queries (derivations.md, (v2) Data-management consistency queries):
each rule on literal ingested rows, at its boundary (same day, equal values, partial dates)."""

from __future__ import annotations

import pandas as pd
import pytest

import study
from assets.common.findings import make_findings
from assets.sdtm.consistency.events import (
    derive_ae_coding_findings,
    derive_ae_date_findings,
    derive_ae_duplicate_findings,
    derive_ae_seriousness_findings,
    derive_cm_date_findings,
)
from assets.sdtm.consistency.results import (
    derive_bp_order_findings,
    derive_lab_range_findings,
    derive_randomization_findings,
)
from assets.sdtm.consistency.rules import derive_consistency_findings
from assets.sdtm.consistency.timeline import (
    derive_before_consent_findings,
    derive_dated_records,
    derive_death_findings,
    derive_dosing_after_discontinuation_findings,
    derive_visit_order_findings,
)

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def cdash(iso: str) -> str:
    """``2025-05-14`` -> ``14-MAY-2025``; ``2025-05`` -> ``UN-MAY-2025``; ``2019`` -> ``UN-UNK-2019``."""
    if not iso:
        return ""
    parts = iso.split("-")
    if len(parts) == 1:
        return f"UN-UNK-{parts[0]}"
    if len(parts) == 2:
        return f"UN-{MONTHS[int(parts[1]) - 1]}-{parts[0]}"
    return f"{parts[2]}-{MONTHS[int(parts[1]) - 1]}-{parts[0]}"


def frame(form: str, rows: list[dict], dates: dict[str, str]) -> pd.DataFrame:
    """Ingested rows of ``form``: common columns, lineage, each ISO ``--DTC`` of ``dates`` (DTC ->
    CDASH column) with its CDASH text; line numbers from 2."""
    out = []
    for i, r in enumerate(rows):
        subj = r.get("SUBJID", "101-0001")
        row = {
            "STUDYID": "LDIL2SLE",
            "SITEID": subj[:3],
            "SUBJID": subj,
            "USUBJID": f"LDIL2SLE-{subj}",
            "RECID": f"{form}-{i + 1:06d}",
            "SRC_EXPORT": "20260301T020000Z",
            "SRC_FILE": f"sites/{subj[:3]}/20260301T020000Z/{form}.csv",
            "SRC_LINE": i + 2,
            **{k: v for k, v in r.items() if k != "SUBJID"},
        }
        for dtc, dat in dates.items():
            iso = row.get(dtc) or ""
            row[dtc] = iso or None
            row[dat] = cdash(iso)
        out.append(row)
    df = pd.DataFrame(out)
    for col in df.columns:
        if col != "SRC_LINE" and col != "VISITNUM" and col != "VSSTRESN":
            df[col] = df[col].astype("string")
    return df


def ae(rows):
    base = {"AETERM": "Headache", "AEONGO": "N", "AESER": "N", "AEOUT": "RECOVERED/RESOLVED"}
    return frame("AE", [{**base, **r} for r in rows], {"AESTDTC": "AESTDAT", "AEENDTC": "AEENDAT"})


def cm(rows):
    base = {"CMTRT": "PREDNISONE", "CMONGO": "N"}
    return frame("CM", [{**base, **r} for r in rows], {"CMSTDTC": "CMSTDAT", "CMENDTC": "CMENDAT"})


def ds(rows):
    return frame("DS", rows, {"DSSTDTC": "DSSTDAT"})


def ex(rows):
    return frame("EX", [{"EXADMIN": "Y", **r} for r in rows], {"EXSTDTC": "EXSTDAT"})


def got(findings: pd.DataFrame, *cols: str) -> list[list]:
    cols = cols or ("RECID", "RULE", "COLUMN", "VALUE")
    return make_findings(findings)[list(cols)].astype(object).where(lambda d: d.notna(), None).values.tolist()


# ----------------------------------------------------------------------------------- rule metadata
def test_every_rule_has_one_kind_and_its_text_in_study_metadata():
    rules = study.table("consistency_rules")
    assert not rules["RULE"].duplicated().any()
    assert set(rules["KIND"]) == {
        "AE_DATES",
        "AE_SERIOUSNESS",
        "AE_CODING",
        "AE_DUPLICATE",
        "CM_DATES",
        "DEATH",
        "DOSING_AFTER_DISCONTINUATION",
        "VISIT_ORDER",
        "VS_BP_ORDER",
        "LAB_RANGE",
        "RANDOMIZATION",
        "BEFORE_CONSENT",
    }
    assert rules["TEXT"].str.contains("derivations.md").all()


# ----------------------------------------------------------------------------------- AE dates
def test_ae_end_before_start_is_a_query_and_the_same_day_is_not():
    f = derive_ae_date_findings(
        ae(
            [
                {"AESTDTC": "2025-05-14", "AEENDTC": "2025-05-13"},
                {"AESTDTC": "2025-05-14", "AEENDTC": "2025-05-14"},
                {"AESTDTC": "2025-05-14", "AEENDTC": "2025-05"},  # partial: not certainly before
                {"AESTDTC": "2025-05-14", "AEENDTC": "2025-04"},  # partial, certainly before
            ]
        )
    )
    assert got(f) == [
        ["AE-000001", "ae_end_not_before_start", "AEENDAT", "13-MAY-2025"],
        ["AE-000004", "ae_end_not_before_start", "AEENDAT", "UN-APR-2025"],
    ]
    assert got(f, "KIND", "SEVERITY", "SITEID", "SUBJID", "FORM", "SRC_LINE", "MESSAGE")[0] == [
        "AE_DATES",
        "WARNING",
        "101",
        "101-0001",
        "AE",
        2,
        "AE end date 13-MAY-2025 is before its start date 14-MAY-2025",
    ]


def test_ae_ongoing_flag_against_the_end_date():
    f = derive_ae_date_findings(
        ae(
            [
                {"AESTDTC": "2025-05-14", "AEENDTC": "2025-05-20", "AEONGO": "Y"},
                {"AESTDTC": "2025-05-14", "AEENDTC": "", "AEONGO": "N"},
                {"AESTDTC": "2025-05-14", "AEENDTC": "", "AEONGO": "Y"},
                {"AESTDTC": "2025-05-14", "AEENDTC": "2025-05-20", "AEONGO": "N"},
                {"AESTDTC": "2025-05-14", "AEENDTC": "", "AEONGO": None},  # not answered: no query
            ]
        )
    )
    assert got(f) == [
        ["AE-000001", "ae_ongoing_has_no_end", "AEONGO", "Y"],
        ["AE-000002", "ae_ended_has_end", "AEONGO", "N"],
    ]


# ----------------------------------------------------------------------------------- AE seriousness, coding
CRITERIA = ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]


def serious(aeser: str, yes: list[str], empty: bool = False) -> dict:
    return {
        "AESTDTC": "2025-05-14",
        "AESER": aeser,
        **{c: (None if empty else ("Y" if c in yes else "N")) for c in CRITERIA},
    }


def test_aeser_needs_a_criterion_and_a_non_serious_event_none():
    f = derive_ae_seriousness_findings(
        ae(
            [
                serious("Y", []),
                serious("Y", ["AESHOSP"]),
                serious("N", ["AESMIE", "AESLIFE"]),
                serious("N", []),
                serious("N", [], empty=True),  # a site that leaves the criteria empty
                serious("Y", [], empty=True),
            ]
        )
    )
    assert got(f, "RECID", "RULE", "COLUMN", "VALUE", "MESSAGE") == [
        [
            "AE-000001",
            "ae_serious_has_criterion",
            "AESER",
            "Y",
            "AESER = Y but no seriousness criterion (AESDTH AESLIFE AESHOSP AESDISAB AESCONG AESMIE) is Y",
        ],
        [
            "AE-000003",
            "ae_not_serious_has_no_criterion",
            "AESER",
            "N",
            "AESER = N but seriousness criterion AESLIFE AESMIE is Y",
        ],
        [
            "AE-000006",
            "ae_serious_has_criterion",
            "AESER",
            "Y",
            "AESER = Y but no seriousness criterion (AESDTH AESLIFE AESHOSP AESDISAB AESCONG AESMIE) is Y",
        ],
    ]


def test_a_pre_v2_ae_form_without_criteria_is_not_checked():
    assert derive_ae_seriousness_findings(ae([{"AESTDTC": "2025-05-14", "AESER": "Y"}])).empty


def test_an_ae_is_coded_when_both_preferred_term_and_soc_are_filled():
    f = derive_ae_coding_findings(
        ae(
            [
                {"AESTDTC": "2025-05-14", "AEDECOD": "Headache", "AEBODSYS": "Nervous system disorders"},
                {"AESTDTC": "2025-05-14", "AEDECOD": None, "AEBODSYS": None},
                {"AESTDTC": "2025-05-14", "AEDECOD": "Headache", "AEBODSYS": " "},
            ]
        )
    )
    assert got(f, "RECID", "COLUMN", "VALUE", "MESSAGE") == [
        ["AE-000002", "AEDECOD", "Headache", "AE 'Headache' not coded: AEDECOD is empty"],
        ["AE-000003", "AEBODSYS", "Headache", "AE 'Headache' not coded: AEBODSYS is empty"],
    ]
    assert derive_ae_coding_findings(ae([{"AESTDTC": "2025-05-14"}])).empty  # pre-v2 form


# ----------------------------------------------------------------------------------- AE duplicates
def test_same_term_and_start_date_of_one_subject_are_duplicates():
    f = derive_ae_duplicate_findings(
        ae(
            [
                {"AETERM": "Headache", "AESTDTC": "2025-05-14"},
                {"AETERM": " headache ", "AESTDTC": "2025-05-14"},  # case and blanks do not matter
                {"AETERM": "Headache", "AESTDTC": "2025-05-15"},  # next day: another event
                {"AETERM": "Nausea", "AESTDTC": "2025-05-14"},
                {"AETERM": "Headache", "AESTDTC": "2025-05-14", "SUBJID": "101-0002"},  # other subject
            ]
        )
    )
    assert got(f, "RECID", "RULE", "VALUE", "MESSAGE") == [
        [
            "AE-000001",
            "ae_unique_term_and_start",
            "Headache",
            "same AETERM 'Headache' and start date 2025-05-14 as another AE of the subject (RECIDs AE-000001 AE-000002)",
        ],
        [
            "AE-000002",
            "ae_unique_term_and_start",
            "headache",
            "same AETERM 'headache' and start date 2025-05-14 as another AE of the subject (RECIDs AE-000001 AE-000002)",
        ],
    ]


# ----------------------------------------------------------------------------------- CM dates
def test_cm_end_before_start_and_ongoing_with_an_end():
    f = derive_cm_date_findings(
        cm(
            [
                {"CMSTDTC": "2025-05-14", "CMENDTC": "2025-05-13"},
                {"CMSTDTC": "2025-05-14", "CMENDTC": "2025-05-14"},
                {"CMSTDTC": "2025-05-14", "CMENDTC": "2025-06-01", "CMONGO": "Y"},
                {"CMSTDTC": "2025-05-14", "CMENDTC": "", "CMONGO": "N"},  # not a CM rule
                {"CMSTDTC": "2019", "CMENDTC": "2019-06"},  # partial: inside the same year
            ]
        )
    )
    assert got(f) == [
        ["CM-000001", "cm_end_not_before_start", "CMENDAT", "13-MAY-2025"],
        ["CM-000003", "cm_ongoing_has_no_end", "CMONGO", "Y"],
    ]


# ----------------------------------------------------------------------------------- dated records
def visit_rows(form: str, rows: list[dict]) -> pd.DataFrame:
    dtc = {"VS": "VSDTC", "PGA": "PGADTC", "LB": "LBDTC"}[form]
    dat = dtc[:-3] + "DAT"
    vnum = study.visitnum_map()
    return frame(form, [{**r, "VISITNUM": vnum[r["VISIT"]]} for r in rows], {dtc: dat})


def test_dated_records_name_each_form_date_column_and_skip_undated_rows():
    pga = visit_rows("PGA", [{"VISIT": "DAY 1", "PGADTC": "2025-05-14"}, {"VISIT": "WEEK 4", "PGADTC": ""}])
    dated = derive_dated_records({"PGA": pga, "CM": cm([{"CMSTDTC": "2019"}])})
    assert dated[["FORM", "RECID", "DTC", "COLUMN", "VALUE", "BEFORE_CONSENT", "AFTER_DEATH"]].astype(
        object
    ).values.tolist() == [
        ["PGA", "PGA-000001", "2025-05-14", "PGADAT", "14-MAY-2025", True, True],
        ["CM", "CM-000001", "2019", "CMSTDAT", "UN-UNK-2019", False, True],
    ]


# ----------------------------------------------------------------------------------- consent
def test_records_before_consent_except_history_and_medications():
    dm = pd.DataFrame({"USUBJID": ["LDIL2SLE-101-0001"], "ICDTC": ["2025-03-04"]}, dtype="string")
    forms = {
        "PGA": visit_rows(
            "PGA",
            [
                {"VISIT": "SCREENING", "PGADTC": "2025-03-03"},
                {"VISIT": "SCREENING", "PGADTC": "2025-03-04"},  # the consent day: consistent
            ],
        ),
        "AE": ae([{"AESTDTC": "2025-03"}, {"AESTDTC": "2025-02"}]),  # same month: not certain; before
        "CM": cm([{"CMSTDTC": "2024-01-01"}]),  # prior medication
        "MH": frame("MH", [{"MHSTDTC": "2010"}], {"MHSTDTC": "MHSTDAT"}),
    }
    f = derive_before_consent_findings(derive_dated_records(forms), dm)
    assert got(f, "FORM", "RECID", "RULE", "COLUMN", "VALUE", "MESSAGE") == [
        [
            "AE",
            "AE-000002",
            "no_record_before_consent",
            "AESTDAT",
            "UN-FEB-2025",
            "dated UN-FEB-2025, before informed consent on 2025-03-04",
        ],
        [
            "PGA",
            "PGA-000001",
            "no_record_before_consent",
            "PGADAT",
            "03-MAR-2025",
            "dated 03-MAR-2025, before informed consent on 2025-03-04",
        ],
    ]
    assert got(f, "KIND", "VISIT", "DATE")[1] == ["BEFORE_CONSENT", "SCREENING", "03-MAR-2025"]


# ----------------------------------------------------------------------------------- death
def test_death_needs_both_a_fatal_ae_and_a_ds_death_record():
    events = ae(
        [
            {"AESTDTC": "2025-05-01", "AEOUT": "FATAL"},  # 0001: has DS DEATH
            {"AESTDTC": "2025-05-01", "AESDTH": "Y", "SUBJID": "101-0002"},  # no DS DEATH
            {"AESTDTC": "2025-05-01", "SUBJID": "101-0003"},  # DS DEATH without a fatal AE
        ]
    )
    disp = ds(
        [
            {"DSDECOD": "DEATH", "DSSTDTC": "2025-05-10"},
            {"DSDECOD": "DEATH", "DSSTDTC": "2025-05-10", "SUBJID": "101-0003"},
            {"DSDECOD": "WITHDRAWAL BY SUBJECT", "DSSTDTC": "2025-05-10", "SUBJID": "101-0002"},
        ]
    )
    f = derive_death_findings(events, disp, derive_dated_records({"AE": events, "DS": disp}))
    assert got(f, "FORM", "SUBJID", "RULE", "COLUMN", "VALUE") == [
        ["AE", "101-0002", "fatal_ae_has_ds_death", "AESDTH", "Y"],
        ["DS", "101-0003", "ds_death_has_fatal_ae", "DSDECOD", "DEATH"],
    ]


def test_a_record_after_the_death_date_and_not_on_it():
    events = ae(
        [{"AESTDTC": "2025-05-01", "AEOUT": "FATAL"}, {"AESTDTC": "2025-05-11"}, {"AESTDTC": "2025-05-10"}]
    )
    disp = ds(
        [{"DSDECOD": "DEATH", "DSSTDTC": "2025-05-10"}, {"DSDECOD": "COMPLETED", "DSSTDTC": "2025-05-12"}]
    )
    pga = visit_rows("PGA", [{"VISIT": "WEEK 4", "PGADTC": "2025-05"}])  # partial: not certainly after
    dated = derive_dated_records({"AE": events, "DS": disp, "PGA": pga})
    f = derive_death_findings(events, disp, dated)
    assert got(f, "FORM", "RECID", "RULE", "COLUMN", "VALUE", "MESSAGE") == [
        [
            "AE",
            "AE-000002",
            "no_record_after_death",
            "AESTDAT",
            "11-MAY-2025",
            "dated 11-MAY-2025, after the death on 2025-05-10",
        ],
        [
            "DS",
            "DS-000002",
            "no_record_after_death",
            "DSSTDAT",
            "12-MAY-2025",
            "dated 12-MAY-2025, after the death on 2025-05-10",
        ],
    ]


# ----------------------------------------------------------------------------------- dosing
def test_an_injection_given_after_discontinuation_and_not_on_its_day():
    disp = ds(
        [
            {"DSDECOD": "RANDOMIZED", "DSSTDTC": "2025-04-01"},
            {"DSDECOD": "LOST TO FOLLOW-UP", "DSSTDTC": "2025-05-10"},
        ]
    )
    doses = ex(
        [
            {"EXSTDTC": "2025-05-10"},
            {"EXSTDTC": "2025-05-11"},
            {"EXSTDTC": "2025-05-12", "EXADMIN": "N"},  # not given
            {"EXSTDTC": "2025-05-12", "SUBJID": "101-0002"},  # not discontinued
        ]
    )
    f = derive_dosing_after_discontinuation_findings(doses, disp)
    assert got(f, "RECID", "RULE", "COLUMN", "VALUE", "MESSAGE") == [
        [
            "EX-000002",
            "no_dose_after_discontinuation",
            "EXSTDAT",
            "11-MAY-2025",
            "injection given on 11-MAY-2025, after discontinuation on 2025-05-10",
        ]
    ]
    assert derive_dosing_after_discontinuation_findings(doses, disp.iloc[:1]).empty  # randomized only


# ----------------------------------------------------------------------------------- visit order
def test_a_visit_dated_before_an_earlier_visit():
    pga = visit_rows(
        "PGA",
        [
            {"VISIT": "SCREENING", "PGADTC": "2025-03-04"},
            {"VISIT": "DAY 1", "PGADTC": "2025-03-20"},
            {"VISIT": "WEEK 4", "PGADTC": "2025-04-17"},
            {"VISIT": "WEEK 8", "PGADTC": "2025-04-16"},  # before WEEK 4 (and WEEK 6 of VS)
            {"VISIT": "UNSCHEDULED", "PGADTC": "2025-03-01"},  # unscheduled: never out of order
        ],
    )
    vs = visit_rows(
        "VS",
        [
            {"VISIT": "WEEK 6", "VSDTC": "2025-04-30", "VSTESTCD": "PULSE"},
            {"VISIT": "WEEK 12", "VSDTC": "2025-04-30", "VSTESTCD": "PULSE"},
        ],
    )
    f = derive_visit_order_findings(derive_dated_records({"PGA": pga, "VS": vs}))
    # WEEK 12 on the same day as WEEK 6 is not before it.
    assert got(f, "FORM", "RECID", "VISIT", "RULE", "COLUMN", "VALUE", "MESSAGE") == [
        [
            "PGA",
            "PGA-000004",
            "WEEK 8",
            "visits_in_order",
            "PGADAT",
            "16-APR-2025",
            "WEEK 8 dated 16-APR-2025, before a record of an earlier visit dated 2025-04-30",
        ]
    ]


def test_visit_order_across_forms_when_the_forms_are_checked_one_at_a_time():
    """derive_consistency_findings checks the dated records form by form (a first pass for the
    visit days of every form): a PGA visit dated before a lower VS visit is still found, once, and
    the other dated-record rules see every form."""
    pga = visit_rows(
        "PGA",
        [
            {"VISIT": "SCREENING", "PGADTC": "2025-03-04"},
            {"VISIT": "DAY 1", "PGADTC": "2025-03-20"},
            {"VISIT": "WEEK 8", "PGADTC": "2025-04-16"},  # before VS WEEK 6
            {"VISIT": "WEEK 4", "PGADTC": "2025-04-01", "SUBJID": "101-0002"},  # in order
        ],
    )
    vs = visit_rows(
        "VS",
        [
            {"VISIT": "WEEK 6", "VSDTC": "2025-04-30", "VSTESTCD": "PULSE"},
            {"VISIT": "SCREENING", "VSDTC": "2025-03-01", "VSTESTCD": "PULSE", "SUBJID": "101-0002"},
        ],
    )
    dm = pd.DataFrame(
        {"USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002"], "ICDTC": ["2025-03-04", "2025-03-02"]},
        dtype="string",
    )
    f = derive_consistency_findings({"PGA": pga, "VS": vs, "DM": dm})
    assert got(f, "SUBJID", "FORM", "RECID", "VISIT", "RULE", "MESSAGE") == [
        [
            "101-0001",
            "PGA",
            "PGA-000003",
            "WEEK 8",
            "visits_in_order",
            "WEEK 8 dated 16-APR-2025, before a record of an earlier visit dated 2025-04-30",
        ],
        [
            "101-0002",
            "VS",
            "VS-000002",
            "SCREENING",
            "no_record_before_consent",
            "dated 01-MAR-2025, before informed consent on 2025-03-02",
        ],
    ]
    together = derive_visit_order_findings(derive_dated_records({"PGA": pga, "VS": vs}))
    assert make_findings(f[f["RULE"].eq("visits_in_order")]).equals(make_findings(together))


def test_visit_priors_are_the_latest_earliest_day_of_the_lower_visits():
    from assets.sdtm.consistency.timeline import visit_priors

    days = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A", "A", "B", "B"],
            "VISITNUM": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0],
            "LO": ["2025-03-10", "2025-03-05", None, "2025-04-01", "2024-01-01", "2024-02-01"],
        }
    ).astype({"LO": "string"})
    # A visit without a day passes none on; B's first visit has no prior (the subjects stay apart).
    assert visit_priors(days)["PRIOR"].astype(object).where(lambda s: s.notna(), None).tolist() == [
        None,
        "2025-03-10",
        "2025-03-10",
        None,
        None,
        "2024-01-01",
    ]


# ----------------------------------------------------------------------------------- VS, LB, RAND
def test_sysbp_must_be_greater_than_diabp_of_the_same_visit_and_date():
    rows = []
    for visit, date, sys_bp, dia_bp in [
        ("DAY 1", "2025-03-20", 120, 80),
        ("WEEK 2", "2025-04-03", 80, 80),  # equal: a query
        ("WEEK 4", "2025-04-17", 76, 84),
    ]:
        rows += [
            {
                "VISIT": visit,
                "VSDTC": date,
                "VSTESTCD": "SYSBP",
                "VSORRES": str(sys_bp),
                "VSSTRESN": float(sys_bp),
            },
            {
                "VISIT": visit,
                "VSDTC": date,
                "VSTESTCD": "DIABP",
                "VSORRES": str(dia_bp),
                "VSSTRESN": float(dia_bp),
            },
        ]
    rows.append(
        {"VISIT": "WEEK 6", "VSDTC": "2025-05-01", "VSTESTCD": "SYSBP", "VSORRES": "60", "VSSTRESN": 60.0}
    )
    rows.append(
        {"VISIT": "WEEK 6", "VSDTC": "2025-05-02", "VSTESTCD": "DIABP", "VSORRES": "90", "VSSTRESN": 90.0}
    )
    f = derive_bp_order_findings(visit_rows("VS", rows))
    assert got(f, "RECID", "RULE", "COLUMN", "VALUE", "TESTCD", "UNIT", "MESSAGE") == [
        [
            "VS-000003",
            "sysbp_above_diabp",
            "VSORRES",
            "80",
            "SYSBP",
            None,
            "SYSBP 80.0 not greater than DIABP 80.0 (RECID VS-000004) at the same visit and date",
        ],
        [
            "VS-000005",
            "sysbp_above_diabp",
            "VSORRES",
            "76",
            "SYSBP",
            None,
            "SYSBP 76.0 not greater than DIABP 84.0 (RECID VS-000006) at the same visit and date",
        ],
    ]


def test_lab_range_order_and_numeric_result_without_unit():
    lb = visit_rows(
        "LB",
        [
            {
                "VISIT": "WEEK 4",
                "LBDTC": "2025-04-17",
                "LBTESTCD": "ALT",
                "LBORRES": "20",
                "LBORRESU": "U/L",
                "LBORNRLO": "40",
                "LBORNRHI": "7",
            },
            {
                "VISIT": "WEEK 4",
                "LBDTC": "2025-04-17",
                "LBTESTCD": "AST",
                "LBORRES": "20",
                "LBORRESU": "U/L",
                "LBORNRLO": "10",
                "LBORNRHI": "10",
            },
            {
                "VISIT": "WEEK 4",
                "LBDTC": "2025-04-17",
                "LBTESTCD": "CREAT",
                "LBORRES": "<5",
                "LBORRESU": None,
                "LBORNRLO": None,
                "LBORNRHI": None,
            },
            {
                "VISIT": "WEEK 4",
                "LBDTC": "2025-04-17",
                "LBTESTCD": "HCG",
                "LBORRES": "NEGATIVE",
                "LBORRESU": None,
                "LBORNRLO": None,
                "LBORNRHI": None,
            },
        ],
    )
    f = derive_lab_range_findings(lb)
    assert got(f, "RECID", "RULE", "COLUMN", "VALUE", "MESSAGE") == [
        [
            "LB-000001",
            "lab_range_low_not_above_high",
            "LBORNRLO",
            "40",
            "ALT reference range low 40 is above its high 7",
        ],
        ["LB-000003", "lab_numeric_result_has_unit", "LBORRESU", "<5", "CREAT numeric result <5 has no unit"],
    ]


def rand(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return frame(
        "RAND", [{"SUBJID": s, "RANDNO": n, "RANDDTC": "2025-03-18"} for s, n in rows], {"RANDDTC": "RANDDAT"}
    ).drop(columns="RECID")


def test_a_subject_randomized_twice_and_a_randno_for_two_subjects():
    f = derive_randomization_findings(
        rand(
            [
                ("101-0001", "10001"),
                ("101-0001", "10005"),
                ("101-0002", "10002"),
                ("101-0003", "10002"),
                ("101-0004", "10003"),
            ]
        )
    )
    assert got(f, "SUBJID", "RECID", "RULE", "VALUE", "SRC_LINE", "MESSAGE") == [
        [
            "101-0001",
            None,
            "subject_randomized_once",
            "10001",
            2,
            "subject randomized more than once (RANDNO 10001 10005)",
        ],
        [
            "101-0001",
            None,
            "subject_randomized_once",
            "10005",
            3,
            "subject randomized more than once (RANDNO 10001 10005)",
        ],
        [
            "101-0002",
            None,
            "randno_for_one_subject",
            "10002",
            4,
            "RANDNO used for more than one subject (LDIL2SLE-101-0002 LDIL2SLE-101-0003)",
        ],
        [
            "101-0003",
            None,
            "randno_for_one_subject",
            "10002",
            5,
            "RANDNO used for more than one subject (LDIL2SLE-101-0002 LDIL2SLE-101-0003)",
        ],
    ]


# ----------------------------------------------------------------------------------- all rules, bad input
def test_all_rules_on_consistent_forms_raise_nothing_and_empty_forms_are_fine():
    forms = {
        "AE": ae([{"AESTDTC": "2025-05-14", "AEENDTC": "2025-05-15"}]),
        "DM": pd.DataFrame({"USUBJID": ["LDIL2SLE-101-0001"], "ICDTC": ["2025-03-04"]}, dtype="string"),
        "DS": ds([{"DSDECOD": "INFORMED CONSENT OBTAINED", "DSSTDTC": "2025-03-04"}]),
        "EX": pd.DataFrame(),
        "RAND": pd.DataFrame(),
    }
    assert derive_consistency_findings(forms).empty
    assert derive_consistency_findings({}).empty


def test_a_rule_names_the_columns_it_lacks():
    with pytest.raises(KeyError, match="derive_ae_date_findings"):
        derive_ae_date_findings(pd.DataFrame({"USUBJID": ["x"]}))


def test_columns_read_names_every_column_a_rule_reads_and_their_harmonized_forms():
    from assets.sdtm.consistency.common import columns_read

    needed = {"AESTDTC", "AEENDTC", "CMENDTC", "ICDTC", "VSSTRESN", "EXSTDTC", "DSSTDTC", "LBDTC"}
    needed |= {"AEDECOD", "AEBODSYS", "AESMIE", "LBORNRLO", "RANDNO", "VISITNUM", "SRC_LINE", "LBTESTCD"}
    assert needed <= columns_read()
    assert not {"STUDYID", "AEREL", "SEIZURE", "CMTRT"} & columns_read()
