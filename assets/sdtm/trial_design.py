"""Trial design domains from study metadata: TS, TA, TE, TV, TI (SDTMIG 3.4 section 7).

No subject data is read. TS adds one fact the sites deliver: the MedDRA version of the AE coding
(``MEDDRAV``, site-export.md v2), the same in blinded and unblinded runs; the other datasets are
the same for every run of the same metadata.
"""

from __future__ import annotations

import pandas as pd

import study
from assets.sdtm import metadata
from assets.sdtm.mapping import map_to_spec


def derive_param_dictver(ae: pd.DataFrame | None) -> pd.DataFrame:
    """TS parameter rows of the MedDRA version the AE coding was delivered in: one row per distinct
    ``MEDDRAV`` of the ingested AE form (sorted; none while nothing is coded), ``TSVAL`` and
    ``TSVCDVER`` the version, ``TSVCDREF`` ``MedDRA`` (C66788). The parameter is sponsor-defined
    (``study/trial_design.yaml`` ``dictionary_version``; TSPARMCD C66738 is extensible and CT
    2025-03-28 has no term for a dictionary version)."""
    param = metadata.trial_design()["dictionary_version"]
    versions: list[str] = []
    if ae is not None and "MEDDRAV" in ae.columns:
        delivered = ae["MEDDRAV"].astype("string").str.strip().dropna()
        versions = sorted(set(delivered[delivered.str.len() > 0]))
    return pd.DataFrame(
        {
            "TSPARMCD": param["TSPARMCD"],
            "TSPARM": param["TSPARM"],
            "TSVAL": versions,
            "TSVALCD": "",
            "TSVCDREF": param["TSVCDREF"],
            "TSVCDVER": versions,
        },
        index=range(len(versions)),
        dtype="string",
    )


def build_ts(ae: pd.DataFrame | None = None) -> pd.DataFrame:
    """TS: one row per parameter value of ``study/trial_summary.csv`` (TSVAL filled from study.yaml
    and protocol_limits.csv), then the MedDRA version(s) of the ingested AE form
    (:func:`derive_param_dictver`); TSSEQ numbers repeated parameters (two TTYPE rows -> 1, 2)."""
    ts = pd.concat([metadata.trial_summary(), derive_param_dictver(ae)], ignore_index=True)
    ts["TSSEQ"] = ts.groupby("TSPARMCD", sort=False).cumcount() + 1
    return map_to_spec(ts, "TS").reset_index(drop=True)


def _elements(blinded: bool) -> pd.DataFrame:
    """TE rows: in a blinded run the arm elements collapse into the one blinded treatment element
    of trial_design.yaml, so no arm code, arm label or dose level reaches a blinded output
    (derivations.md, Populations: blinding is a security boundary)."""
    design = metadata.trial_design()
    te = pd.DataFrame(design["elements"])
    if not blinded:
        return te
    arm_codes = set(study.arms()["ARMCD"])
    return pd.concat(
        [te[~te["ETCD"].isin(arm_codes)], pd.DataFrame([design["blinded_element"]])], ignore_index=True
    )


def _arms(blinded: bool) -> list[dict]:
    if blinded:
        label = metadata.trial_design()["blinded_arm"]
        return [
            {"ARMCD": label, "ARM": label, "ELEMENT_CODE": metadata.trial_design()["blinded_element"]["ETCD"]}
        ]
    return [
        {**arm, "ELEMENT_CODE": arm["ARMCD"]} for arm in study.arms()[["ARMCD", "ARM"]].to_dict("records")
    ]


def build_te(blinded: bool = True) -> pd.DataFrame:
    """TE: the elements of ``study/trial_design.yaml`` (arm elements only in an unblinded run)."""
    return map_to_spec(_elements(blinded), "TE").reset_index(drop=True)


def build_ta(blinded: bool = True) -> pd.DataFrame:
    """TA: every arm of study/arms.csv through the element pattern of trial_design.yaml
    (SCRN -> the arm's own element -> FU); ``{ARM}``/``{ARMCD}`` are filled per arm. A blinded run
    has one arm, ``BLINDED``, through the blinded treatment element."""
    design = metadata.trial_design()
    elements = _elements(blinded).set_index("ETCD")["ELEMENT"]
    rows = []
    for arm in _arms(blinded):
        arm = {**arm, "ARMCD_ELEMENT": arm.pop("ELEMENT_CODE")}
        for step in design["arm_elements"]:
            etcd = step["ETCD"].replace("{ARMCD}", arm["ARMCD_ELEMENT"]).format(**arm)
            rows.append(
                {
                    "ARMCD": arm["ARMCD"],
                    "ARM": arm["ARM"],
                    "TAETORD": step["TAETORD"],
                    "ETCD": etcd,
                    "ELEMENT": elements[etcd],
                    "TABRANCH": step["TABRANCH"].format(**arm),
                    "TATRANS": step["TATRANS"].format(**arm),
                    "EPOCH": step["EPOCH"],
                }
            )
    ta = pd.DataFrame(rows)
    return map_to_spec(ta, "TA").reset_index(drop=True)


def _window_rule(row_day: pd.Series, window: pd.Series, visit: pd.Series) -> pd.Series:
    day = row_day.astype("Int64").astype("string")
    win = window.fillna(0).astype(int).astype("string")
    rule = "Study day " + day + " +/- " + win + " days"
    return rule.fillna("Day -28 to -1 before first dose").where(
        visit.ne("SCREENING"), "Day -28 to -1 before first dose"
    )


def build_tv() -> pd.DataFrame:
    """TV: the planned visits of study/visits.csv (UNSCHEDULED is not planned); VISITDY the planned
    study day, TVSTRL the window (site-export.md, Visit schedule). The schedule is the same in every
    arm, so ARMCD is null."""
    v = study.visits()
    v = v[v["VISIT"] != "UNSCHEDULED"].copy()
    v["VISITDY"] = v["PLANNED_DAY"]
    v["TVSTRL"] = _window_rule(v["PLANNED_DAY"], v["WINDOW_DAYS"], v["VISIT"])
    v["TVENRL"] = ""
    v["ARMCD"] = pd.NA
    return map_to_spec(v, "TV").reset_index(drop=True)


def build_ti() -> pd.DataFrame:
    """TI: the 20 criteria of study/criteria.csv (registration wording), TIRL the derivation rule."""
    ti = study.criteria().rename(columns={"RULE": "TIRL"})
    return map_to_spec(ti, "TI").reset_index(drop=True)
