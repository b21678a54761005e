"""Literal SDTM-shaped frames for ADaM tests (standard SDTMIG 3.4 variables only)."""

from __future__ import annotations

import pandas as pd

import study

STUDYID = "LDIL2SLE"
VISITNUM = study.visitnum_map()
DM_COPIED = ["RFICDTC", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "ARMNRS", "DTHFL", "DTHDTC"]


AE_CODING = {
    "AELLT": "HEADACHE",
    "AELLTCD": 10019211,
    "AEPTCD": 10019211,
    "AEHLT": "HLT_0064",
    "AEHLTCD": 10019233,  # codes: the 8-digit form, not real MedDRA codes
    "AEHLGT": "HLGT_0344",
    "AEHLGTCD": 10019231,
    "AEBODSYS": "NERVOUS SYSTEM DISORDERS",
    "AEBDSYCD": 10029205,
    "AESOC": "NERVOUS SYSTEM DISORDERS",
    "AESOCCD": 10029205,
    **dict.fromkeys(["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"], "N"),
    "AEACN": "DOSE NOT CHANGED",
    "AEOUT": "RECOVERED/RESOLVED",
}
"""MedDRA coding (a headache; terms as the pharmaverse SDTM AE names them), seriousness criteria, action and
outcome of a non-serious event: the contract v2 AE columns ADAE carries, for AE literals."""


def usubjid(n: int) -> str:
    return f"{STUDYID}-101-{n:04d}"


def dm(*subjects: int, sex: str = "F", age: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": STUDYID,
            "USUBJID": [usubjid(n) for n in subjects],
            "SUBJID": [f"101-{n:04d}" for n in subjects],
            "SITEID": "101",
            "AGE": age,
            "AGEU": "YEARS",
            "SEX": sex,
            "RACE": "ASIAN",
            "ETHNIC": "NOT HISPANIC OR LATINO",
            # SDTM DM variables ADSL copies; tests of them give their own values
            **{c: pd.Series([None] * len(subjects), dtype="string") for c in DM_COPIED},
            "COUNTRY": "CHN",
        }
    )


def ex(subject: int, first: str, n: int, every_days: int = 2) -> pd.DataFrame:
    dates = pd.date_range(first, periods=n, freq=f"{every_days}D").strftime("%Y-%m-%d")
    return pd.DataFrame({"USUBJID": usubjid(subject), "EXSTDTC": list(dates), "EXSEQ": range(1, n + 1)})


def rand(*subjects: int, date: str = "2026-01-01") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [usubjid(n) for n in subjects],
            "RANDNO": [f"R{n:04d}" for n in subjects],
            "RANDDTC": date,
            "STRATUM": "SLEDAI>=10",
        }
    )


def eligibility(*subjects: int, ineligible: tuple[int, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(
        {"USUBJID": [usubjid(n) for n in subjects], "COUNTS_AGAINST": [n in ineligible for n in subjects]}
    )


def ds(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [usubjid(s) for s, _, _ in rows],
            "DSDECOD": [d for _, d, _ in rows],
            "DSSTDTC": [t for _, _, t in rows],
        }
    )


def vs_weight(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": [usubjid(s) for s, _, _, _ in rows],
            "VSTESTCD": "WEIGHT",
            "VISIT": [v for _, v, _, _ in rows],
            "VSDTC": [d for _, _, d, _ in rows],
            "VSSTRESN": [w for _, _, _, w in rows],
        }
    )


def rs(
    subject: int, visit: str, date: str, sledai, pga: float | None, bilag: dict | str | None
) -> pd.DataFrame:
    """One assessment visit: SLEDAI-2K total (None: total missing, ``"absent"``: no assessment), PGA
    (None: not done) and the nine BILAG grades (one letter for all, or a dict over grade D, or None)."""
    rows = []
    base = {"USUBJID": usubjid(subject), "VISIT": visit, "VISITNUM": VISITNUM[visit], "RSDTC": date}
    if sledai != "absent":
        rows.append(
            {**base, "RSCAT": "SLEDAI-2K", "RSTESTCD": "SLEDTOT", "RSSTRESN": sledai, "RSSTRESC": None}
        )  # noqa: E501
    if pga is not None:
        rows.append({**base, "RSCAT": "PGA", "RSTESTCD": "PGA", "RSSTRESN": pga, "RSSTRESC": str(pga)})
    if bilag is not None:
        grades = (
            {d: bilag for d in study.bilag_domains()}
            if isinstance(bilag, str)
            else {**{d: "D" for d in study.bilag_domains()}, **bilag}
        )
        for domain, grade in grades.items():
            rows.append(
                {**base, "RSCAT": "BILAG-2004", "RSTESTCD": domain, "RSSTRESN": None, "RSSTRESC": grade}
            )
    return pd.DataFrame(rows)


def rs_all(*parts: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat(parts, ignore_index=True)
    out["RSSEQ"] = range(1, len(out) + 1)
    out["RSSTRESN"] = pd.to_numeric(out["RSSTRESN"], errors="coerce")
    return out
