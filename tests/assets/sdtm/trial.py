"""A tiny hand-built trial (tests/exports.py) with known answers for the SDTM layer.

Site 101, three subjects:
- 101-0001 randomized (RANDNO R001 -> IL2M), consent 01-FEB-2026, first dose 01-MAR-2026 10:00,
  injections 01/03/07-MAR given, 05-MAR not given; WEEK 4 dated on day 32 (window 26-32: inside),
  WEEK 8 dated on day 62 (window 54-60: outside); one UNSCHEDULED lab on 20-MAR-2026.
- 101-0002 randomized (R002 -> PBO), never dosed.
- 101-0003 screen failure (not randomized).
AE of 101-0001: Headache on 28-FEB-2026 (not serious), an injection site reaction in UN-MAR-2026,
ongoing and serious (other medically important), both coded (MedDRA 27.0).
"""

from __future__ import annotations

from pathlib import Path

from tests.exports import write_export

EXPORT_ID = "20260601T020000Z"
_CODING_COLUMNS = (
    "MEDDRAV AELLT AELLTCD AEDECOD AEPTCD AEHLT AEHLTCD AEHLGT AEHLGTCD AEBODSYS AEBDSYCD AESOC AESOCCD"
)
AE_CODING = {  # as the sponsor's coding team delivers it (site-export.md v2; codes of study/synth_meddra_terms.csv)
    term: dict(zip(_CODING_COLUMNS.split(), values.split("|")))
    for term, values in {
        "Headache": "27.0|HEADACHE|10019211|HEADACHE|10019211|HLT_0064|99100064|HLGT_0344|99200344|"
        "NERVOUS SYSTEM DISORDERS|10029205|NERVOUS SYSTEM DISORDERS|10029205",
        "Injection site reaction": "27.0|INJECTION SITE REACTION|99300001|INJECTION SITE REACTION|99300001|"
        "HLT_0901|99100901|HLGT_0901|99200901|GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS|10018065|"
        "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS|10018065",
    }.items()
}
ITEMS = (
    "SEIZURE PSYCHOSIS OBS VISUAL CRANIAL HEADACHE CVA VASCULITIS ARTHRITIS MYOSITIS CASTS HEMATURIA "
    "PROTEINURIA PYURIA RASH ALOPECIA MUCOSAL PLEURISY PERICARDITIS LOWCOMP DNABIND FEVER THROMBO LEUKOPENIA"
).split()
BILAG = "CONSTIT MUCOCUT NEUROPSY MUSCSKEL CARDRESP GASTRO OPHTHAL RENAL HAEM".split()


def _sledai(subj, recid, visit, date, yes=(), missing=(), total=""):
    row = {"SUBJID": subj, "RECID": recid, "VISIT": visit, "SLDAT": date, "SLTOTAL": total}
    for item in ITEMS:
        row[item] = "" if item in missing else ("Y" if item in yes else "N")
    return row


def site_forms() -> dict[str, list[dict]]:
    s1, s2, s3 = "101-0001", "101-0002", "101-0003"
    dm = [
        {
            "SUBJID": s1,
            "RECID": "DM1",
            "BRTHDAT": "UN-JUN-1980",
            "SEX": "F",
            "RACE": "ASIAN",
            "ETHNIC": "NOT HISPANIC OR LATINO",
            "ICDAT": "01-FEB-2026",
        },
        {
            "SUBJID": s2,
            "RECID": "DM2",
            "BRTHDAT": "UN-UNK-1990",
            "SEX": "M",
            "RACE": "ASIAN",
            "ETHNIC": "NOT HISPANIC OR LATINO",
            "ICDAT": "02-FEB-2026",
        },
        {
            "SUBJID": s3,
            "RECID": "DM3",
            "BRTHDAT": "10-MAR-1970",
            "SEX": "F",
            "RACE": "WHITE",
            "ETHNIC": "NOT REPORTED",
            "ICDAT": "03-FEB-2026",
        },
    ]
    ex = [
        {
            "SUBJID": s1,
            "RECID": "EX1",
            "EXSTDAT": "01-MAR-2026",
            "EXSTTIM": "10:00",
            "KITNO": "K1",
            "EXADMIN": "Y",
        },
        {"SUBJID": s1, "RECID": "EX2", "EXSTDAT": "03-MAR-2026", "KITNO": "K1", "EXADMIN": "Y"},
        {
            "SUBJID": s1,
            "RECID": "EX3",
            "EXSTDAT": "05-MAR-2026",
            "KITNO": "K1",
            "EXADMIN": "N",
            "EXREASND": "AE",
        },
        {"SUBJID": s1, "RECID": "EX4", "EXSTDAT": "07-MAR-2026", "KITNO": "K2", "EXADMIN": "Y"},
        {
            "SUBJID": s2,
            "RECID": "EX5",
            "EXSTDAT": "02-MAR-2026",
            "KITNO": "K3",
            "EXADMIN": "N",
            "EXREASND": "WITHDREW",
        },
    ]
    vs = [
        {
            "SUBJID": s1,
            "RECID": "VS1",
            "VISIT": "SCREENING",
            "VSDAT": "05-FEB-2026",
            "VSTESTCD": "WEIGHT",
            "VSORRES": "132",
            "VSORRESU": "LB",
        },
        {
            "SUBJID": s1,
            "RECID": "VS2",
            "VISIT": "DAY 1",
            "VSDAT": "01-MAR-2026",
            "VSTESTCD": "TEMP",
            "VSORRES": "98.6",
            "VSORRESU": "F",
        },
        {
            "SUBJID": s3,
            "RECID": "VS3",
            "VISIT": "SCREENING",
            "VSDAT": "06-FEB-2026",
            "VSTESTCD": "WEIGHT",
            "VSORRES": "60",
            "VSORRESU": "kg",
        },
    ]
    lb = [
        {
            "SUBJID": s1,
            "RECID": "LB1",
            "VISIT": "SCREENING",
            "LBDAT": "05-FEB-2026",
            "LBTESTCD": "ALT",
            "LBORRES": "0.9",
            "LBORRESU": "ukat/L",
            "LBORNRLO": "0.1",
            "LBORNRHI": "0.6",
            "LBNAM": "LAB A",
        },
        {
            "SUBJID": s1,
            "RECID": "LB2",
            "VISIT": "SCREENING",
            "LBDAT": "05-FEB-2026",
            "LBTESTCD": "HCG",
            "LBORRES": "NEGATIVE",
            "LBNAM": "LAB A",
        },
        {
            "SUBJID": s1,
            "RECID": "LB3",
            "VISIT": "WEEK 4",
            "LBDAT": "01-APR-2026",
            "LBTESTCD": "PROT24",
            "LBORRES": "<50",
            "LBORRESU": "mg/24h",
            "LBORNRLO": "0",
            "LBORNRHI": "150",
            "LBNAM": "LAB A",
        },
        {
            "SUBJID": s1,
            "RECID": "LB4",
            "VISIT": "UNSCHEDULED",
            "LBDAT": "20-MAR-2026",
            "LBTESTCD": "PLAT",
            "LBORRES": "90",
            "LBORRESU": "10^9/L",
            "LBORNRLO": "100",
            "LBORNRHI": "300",
            "LBNAM": "LAB A",
        },
        {
            "SUBJID": s1,
            "RECID": "LB5",
            "VISIT": "WEEK 8",
            "LBDAT": "01-MAY-2026",
            "LBTESTCD": "WBC",
            "LBORRES": "5",
            "LBORRESU": "10^9/L",
            "LBORNRLO": "4",
            "LBORNRHI": "10",
            "LBNAM": "LAB A",
        },
        {
            "SUBJID": s3,
            "RECID": "LB6",
            "VISIT": "SCREENING",
            "LBDAT": "06-FEB-2026",
            "LBTESTCD": "UWBC",
            "LBORRES": "3",
            "LBORRESU": "/HPF",
            "LBNAM": "LAB B",
        },
    ]
    sledai = [
        _sledai(
            s1, "SL1", "SCREENING", "05-FEB-2026", yes=("ARTHRITIS", "RASH", "LOWCOMP", "DNABIND"), total="10"
        ),
        _sledai(s1, "SL2", "DAY 1", "01-MAR-2026", yes=("ARTHRITIS",), missing=("FEVER",), total="4"),
    ]
    pga = [{"SUBJID": s1, "RECID": "PG1", "VISIT": "DAY 1", "PGADAT": "01-MAR-2026", "PGASCORE": "1.5"}]
    bilag = [
        {
            "SUBJID": s1,
            "RECID": "BL1",
            "VISIT": "DAY 1",
            "BLDAT": "01-MAR-2026",
            **dict.fromkeys(BILAG, "D"),
            "MUCOCUT": "B",
        }
    ]
    facs = [
        {
            "SUBJID": s1,
            "RECID": "FC1",
            "VISIT": "DAY 1",
            "FCDAT": "01-MAR-2026",
            "FCTESTCD": "TREG",
            "FCORRES": "4.2",
            "FCORRESU": "%",
        },
        {
            "SUBJID": s1,
            "RECID": "FC2",
            "VISIT": "DAY 1",
            "FCDAT": "01-MAR-2026",
            "FCTESTCD": "TFH",
            "FCORRES": "11",
            "FCORRESU": "%",
        },
    ]
    cm = [
        {
            "SUBJID": s1,
            "RECID": "CM1",
            "CMTRT": "Prednisone",
            "CMDECOD": "PREDNISONE",
            "CMDOSE": "10",
            "CMDOSU": "mg",
            "CMDOSFRQ": "QW",
            "CMROUTE": "oral",
            "CMSTDAT": "UN-JAN-2025",
            "CMONGO": "Y",
            "CMINDC": "SLE",
        }
    ]
    mh = [
        {
            "SUBJID": s1,
            "RECID": "MH1",
            "MHTERM": "Lupus",
            "MHCAT": "SLE",
            "MHSTDAT": "UN-UNK-2018",
            "MHONGO": "Y",
        },
        {
            "SUBJID": s1,
            "RECID": "MH2",
            "MHTERM": "Heart failure",
            "MHCAT": "HEART_FAILURE",
            "MHSTDAT": "01-JAN-2020",
            "MHENDAT": "01-JAN-2021",
            "MHONGO": "N",
            "MHNYHA": "II",
        },
    ]
    ae = [
        {
            "SUBJID": s1,
            "RECID": "AE1",
            "AETERM": "Headache",
            "AESTDAT": "28-FEB-2026",
            "AEENDAT": "01-MAR-2026",
            "AEONGO": "N",
            "AESEV": "MILD",
            "AESER": "N",
            "AEREL": "NOT RELATED",
            "AEACN": "DOSE NOT CHANGED",
            "AEOUT": "RECOVERED/RESOLVED",
            **AE_CODING["Headache"],
        },
        {
            "SUBJID": s1,
            "RECID": "AE2",
            "AETERM": "Injection site reaction",
            "AESTDAT": "UN-MAR-2026",
            "AEONGO": "Y",
            "AESEV": "MILD",
            "AESER": "Y",
            "AEREL": "RELATED",
            "AEACN": "DOSE NOT CHANGED",
            "AEOUT": "NOT RECOVERED/NOT RESOLVED",
            **dict.fromkeys(("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG"), "N"),
            "AESMIE": "Y",
            **AE_CODING["Injection site reaction"],
        },
    ]
    ds = [
        {"SUBJID": s1, "RECID": "DS1", "DSDECOD": "INFORMED CONSENT OBTAINED", "DSSTDAT": "01-FEB-2026"},
        {"SUBJID": s1, "RECID": "DS2", "DSDECOD": "RANDOMIZED", "DSSTDAT": "27-FEB-2026"},
        {"SUBJID": s2, "RECID": "DS3", "DSDECOD": "RANDOMIZED", "DSSTDAT": "28-FEB-2026"},
        {
            "SUBJID": s2,
            "RECID": "DS4",
            "DSDECOD": "WITHDRAWAL BY SUBJECT",
            "DSSTDAT": "03-MAR-2026",
            "DSTERM": "Withdrew consent",
        },
        {"SUBJID": s3, "RECID": "DS5", "DSDECOD": "SCREEN FAILURE", "DSSTDAT": "10-FEB-2026"},
    ]
    return {
        "DM": dm,
        "EX": ex,
        "VS": vs,
        "LB": lb,
        "SLEDAI": sledai,
        "PGA": pga,
        "BILAG": bilag,
        "FACS": facs,
        "CM": cm,
        "MH": mh,
        "AE": ae,
        "DS": ds,
    }


def write_trial(root: Path) -> tuple[Path, Path]:
    """Landing zone and restricted folder under ``root``; returns (landing, restricted)."""
    landing, restricted = Path(root) / "landing", Path(root) / "restricted"
    write_export(landing, "101", EXPORT_ID, site_forms())
    rand = [
        {"SUBJID": "101-0001", "RANDNO": "R001", "RANDDAT": "27-FEB-2026", "STRATUM": "SLEDAI>=10"},
        {"SUBJID": "101-0002", "RANDNO": "R002", "RANDDAT": "28-FEB-2026", "STRATUM": "SLEDAI<10"},
    ]
    write_export(
        landing, "IWRS", EXPORT_ID, {"RAND": [{**r, "SITEID": "101"} for r in rand]}, all_forms=False
    )
    restricted.mkdir(parents=True, exist_ok=True)
    (restricted / "RANDLIST.csv").write_text("RANDNO,ARMCD\nR001,IL2M\nR002,PBO\nR003,IL2H\n")
    return landing, restricted
