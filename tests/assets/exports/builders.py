"""A small hand-built warehouse mode root (SDTM DM, LB; ADaM ADSL, ADEFF; QA findings) with known
values, written with the project's Parquet writer (labels in field metadata)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from assets.common.findings import make_findings
from assets.common.parquet import write_parquet

DM = pd.DataFrame(
    {
        "STUDYID": ["LDIL2SLE"] * 3,
        "DOMAIN": ["DM"] * 3,
        "USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002", "LDIL2SLE-102-0001"],
        "SUBJID": ["0001", "0002", "0001"],
        "RFSTDTC": ["2026-01-05", None, "2026-01-07T09:30"],
        "SITEID": ["101", "101", "102"],
        "AGE": pd.array([34, 51, None], dtype="Int64"),
        "SEX": ["F", "F", "M"],
    }
)
DM_LABELS = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "RFSTDTC": "Subject Reference Start Date/Time",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "SEX": "Sex",
}
LB = pd.DataFrame(
    {
        "STUDYID": ["LDIL2SLE"] * 4,
        "DOMAIN": ["LB"] * 4,
        "USUBJID": ["LDIL2SLE-101-0001"] * 2 + ["LDIL2SLE-101-0002"] * 2,
        "LBSEQ": pd.array([1, 2, 1, 2], dtype="Int64"),
        "LBTESTCD": ["ALT", "HCG", "ALT", "HCG"],
        "LBTEST": [
            "Alanine Aminotransferase",
            "Choriogonadotropin Beta",
            "Alanine Aminotransferase",
            "Choriogonadotropin Beta",
        ],
        "LBORRES": ["31", "NEGATIVE", "12.5", "NEGATIVE"],
        "LBSTRESN": [31.0, None, 12.5, None],
        "LBSTRESU": ["U/L", None, "U/L", None],
        "VISITNUM": [1.0, 1.0, 1.0, 1.0],
        "LBDTC": ["2026-01-01", "2026-01-01", "2026-01-02", "2026-01-02"],
    }
)
LB_LABELS = {
    "LBTESTCD": "Lab Test or Examination Short Name",
    "LBTEST": "Lab Test or Examination Name",
    "LBORRES": "Result or Finding in Original Units",
    "LBSTRESN": "Numeric Result/Finding in Standard Units",
}
ADSL = pd.DataFrame(
    {
        "STUDYID": ["LDIL2SLE"] * 3,
        "USUBJID": DM["USUBJID"],
        "SITEID": DM["SITEID"],
        "TRT01P": ["Placebo", "IL-2 1 MIU", ""],
        "TRT01PN": [0.0, 1.0, None],
        "RANDFL": ["Y", "Y", "N"],
        "SAFFL": ["Y", "Y", "N"],
        "FASFL": ["Y", "Y", "N"],
        "PPROTFL": ["Y", "N", "N"],
        "TRTSDT": [dt.date(2026, 1, 5), dt.date(1960, 1, 1), None],
        "SLEDAIBL": [12.0, 8.0, None],
    }
)
ADSL_LABELS = {
    "USUBJID": "Unique Subject Identifier",
    "TRT01P": "Planned Treatment for Period 01",
    "FASFL": "Full Analysis Set Population Flag",
    "TRTSDT": "Date of First Exposure to Treatment",
    "SLEDAIBL": "Baseline SLEDAI-2K Total",
}
ADEFF = pd.DataFrame(
    {
        "STUDYID": ["LDIL2SLE"] * 4,
        "USUBJID": ["LDIL2SLE-101-0001", "LDIL2SLE-101-0002"] * 2,
        "PARAMCD": ["SRI4"] * 4,
        "AVISIT": ["WEEK 24", "WEEK 24", "WEEK 12", "WEEK 12"],
        "AVALC": ["Y", "N", "N", "N"],
        "AVAL": [1.0, 0.0, 0.0, 0.0],
    }
)
QUERIES = pd.DataFrame(
    {
        "QUERY_ID": ["Q1", "Q2", "Q3"],
        "STATUS": ["OPEN", "OPEN", "RESOLVED"],
        "SITEID": ["101", "101", "102"],
        "KIND": ["SCHEMA"] * 3,
    }
)
FINDINGS = make_findings(
    pd.DataFrame(
        {
            "KIND": ["SCHEMA", "SCHEMA", "DUPLICATE"],
            "SITEID": ["101", "102", "101"],
            "SEVERITY": ["ERROR"] * 3,
        }
    )
)


def build_mode_root(root: Path) -> Path:
    """``root`` as a blinded mode root: sdtm/{dm,lb}, adam/{adsl,adeff}, qa/queries, qa/findings/ingest."""
    root = Path(root)
    write_parquet(DM, root / "sdtm" / "dm.parquet", labels=DM_LABELS, dataset_label="Demographics")
    write_parquet(LB, root / "sdtm" / "lb.parquet", labels=LB_LABELS, dataset_label="Laboratory Test Results")
    write_parquet(
        ADSL,
        root / "adam" / "adsl.parquet",
        labels=ADSL_LABELS,
        dataset_label="Subject-Level Analysis Dataset",
    )
    write_parquet(ADEFF, root / "adam" / "adeff.parquet", dataset_label="Efficacy Analysis Dataset")
    write_parquet(FINDINGS, root / "qa" / "findings" / "ingest.parquet")
    write_parquet(QUERIES, root / "qa" / "queries.parquet", dataset_label="Data queries")
    return root
