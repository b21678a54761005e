"""SLEDAI-2K data queries (derivations.md, SLEDAI-2K), WARNING, lineage of the SLEDAI row:

- ``SLTOTAL_MISMATCH``: the site's ``SLTOTAL`` differs from the recomputed total;
- ``SLEDAI_MISSING_ITEM``: the total is missing because items are missing;
- ``SLEDAI_LAB``: an item that disagrees with the lab result at the same subject and visit
  (``UNSCHEDULED``: same date too), the last result of the visit. The item, test, threshold and
  direction of each rule are study data (``study/sledai_lab_rules.csv``, thresholds in
  ``study/protocol_limits.csv``): ``THROMBO = Y`` with platelets >= 100 x 10^9/L or ``N`` with
  < 100; ``LEUKOPENIA = Y`` with WBC >= 3.0 x 10^9/L or ``N`` with < 3.0; ``PROTEINURIA = Y`` with
  24 h protein <= 0.5 g or ``N`` with > 0.5 g.

The total itself is :func:`assets.sdtm.sledai.derive_var_sledai_total`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

import study
from assets.common.columns import require_columns
from assets.sdtm.eligibility.forms import form_frame
from assets.sdtm.eligibility.outcome import number_text, rounded
from assets.sdtm.eligibility.screening import last_by_subject
from assets.sdtm.sledai import derive_var_sledai_total

LINEAGE_COLUMNS = ("SRC_EXPORT", "SRC_FILE", "SRC_LINE")


class LabRule(NamedTuple):
    """One SLEDAI-2K lab-consistency rule: ``ITEM = Y`` is consistent with ``LBTESTCD`` beyond
    ``threshold`` in direction ``abnormal`` (``below``: value < threshold; ``above``: > threshold)."""

    item: str
    test: str
    threshold: float
    abnormal: str
    unit: str


def sledai_lab_rules() -> list[LabRule]:
    """The rules of study/sledai_lab_rules.csv, in file order, with their threshold."""
    limits = study.protocol_limits()
    rows = study.table("sledai_lab_rules").to_dict("records")
    return [
        LabRule(
            str(r["ITEM"]),
            str(r["LBTESTCD"]),
            limits[str(r["LIMIT"])],
            str(r["ABNORMAL"]),
            str(r["UNIT_TEXT"]),
        )
        for r in rows
    ]


def sledai_finding_base(scored: pd.DataFrame) -> pd.DataFrame:
    """The columns every SLEDAI finding carries from its row: site, subject, form, RECID, visit and
    lineage (missing when the frame has none)."""
    require_columns(scored, ["SITEID", "SUBJID", "RECID", "VISIT"], "sledai_finding_base")
    lineage = {c: scored[c] if c in scored.columns else pd.NA for c in LINEAGE_COLUMNS}
    return pd.DataFrame(
        {
            "SITEID": scored["SITEID"],
            "SUBJID": scored["SUBJID"],
            "FORM": "SLEDAI",
            "RECID": scored["RECID"],
            "VISIT": scored["VISIT"],
            **lineage,
            # the assessment date as the site sent it (issue 17), else its ISO 8601 form
            "DATE": scored["SLDAT"] if "SLDAT" in scored.columns else scored.get("SLDTC", pd.NA),
        }
    )


def derive_sltotal_mismatch_findings(scored: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """KIND ``SLTOTAL_MISMATCH``: the site's ``SLTOTAL`` (``SLTOTALN``) differs from the recomputed
    ``SLEDAI_TOTAL`` (derivations.md, SLEDAI-2K: the site total is checked, never trusted); empty when none."""
    require_columns(scored, ["SLEDAI_TOTAL"], "derive_sltotal_mismatch_findings")
    site_total = pd.to_numeric(scored.get("SLTOTALN", pd.Series(np.nan, index=scored.index)), errors="coerce")
    recomputed = scored["SLEDAI_TOTAL"].astype("Float64")
    mismatch = (
        (site_total.notna() & recomputed.notna() & (site_total != recomputed)).fillna(False).astype(bool)
    )
    if not mismatch.any():
        return pd.DataFrame()
    m = base[mismatch].copy()
    m["KIND"], m["SEVERITY"], m["COLUMN"], m["RULE"] = (
        "SLTOTAL_MISMATCH",
        "WARNING",
        "SLTOTAL",
        "sltotal_equals_recomputed",
    )
    m["VALUE"] = number_text(site_total[mismatch])
    m["MESSAGE"] = (
        "site SLTOTAL "
        + number_text(site_total[mismatch])
        + " differs from recomputed SLEDAI-2K "
        + number_text(recomputed[mismatch])
    )
    return m


def derive_sledai_missing_item_findings(scored: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """KIND ``SLEDAI_MISSING_ITEM``: the total is missing because items are not answered
    (derivations.md, SLEDAI-2K: a missing item makes the total missing and raises a query); empty when none."""
    require_columns(scored, ["SLEDAI_TOTAL", "SLEDAI_MISSING_ITEMS"], "derive_sledai_missing_item_findings")
    missing = scored["SLEDAI_TOTAL"].astype("Float64").isna().to_numpy()
    if not missing.any():
        return pd.DataFrame()
    m = base[missing].copy()
    items = scored.loc[missing, "SLEDAI_MISSING_ITEMS"].astype("string")
    m["KIND"], m["SEVERITY"], m["RULE"] = "SLEDAI_MISSING_ITEM", "WARNING", "all_items_answered"
    m["COLUMN"] = items.str.split(" ").str[0]
    m["VALUE"] = items
    m["MESSAGE"] = "SLEDAI-2K total missing: item(s) not answered: " + items
    return m


def _visit_key(usubjid: pd.Series, visit: pd.Series, dtc: pd.Series) -> pd.Series:
    """Subject|visit, and |date for ``UNSCHEDULED`` (several unscheduled visits are not one visit)."""
    key = usubjid.astype("string") + "|" + visit.astype("string")
    return key.mask(visit.eq("UNSCHEDULED").fillna(False), key + "|" + dtc.astype("string"))


def derive_sledai_lab_findings(scored: pd.DataFrame, base: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """KIND ``SLEDAI_LAB``: per rule of :func:`sledai_lab_rules`, an item answered ``Y`` while the
    last lab result of the same visit is not beyond the threshold, or ``N`` while it is; compared
    at :data:`assets.common.precision.DECIMALS` decimals. Empty when none."""
    require_columns(scored, ["USUBJID", "VISIT", "SLDTC"], "derive_sledai_lab_findings")
    lb = form_frame({"LB": lb}, "LB")
    rules = sledai_lab_rules()
    # Only the rows of the rules' tests, and the columns used: keys are built for these rows only
    # (not for every row of LB), and the per-test filters below no longer re-take 25 columns.
    lb = lb.loc[
        lb["LBTESTCD"].isin([rule.test for rule in rules]).to_numpy(dtype=bool),
        ["USUBJID", "VISIT", "LBDTC", "LBTESTCD", "LBSTRESN", "RECID"],
    ]
    lb = lb.assign(KEY=_visit_key(lb["USUBJID"], lb["VISIT"], lb["LBDTC"]))
    key_sl = _visit_key(scored["USUBJID"], scored["VISIT"], scored["SLDTC"])
    std_unit = dict(zip(study.lab_tests()["LBTESTCD"], study.lab_tests()["STD_UNIT"]))
    out = []
    for item, test, threshold, abnormal_side, unit in rules:
        vals = last_by_subject(lb[lb["LBTESTCD"].eq(test).fillna(False)], "LBDTC", "LBSTRESN", by=["KEY"])
        value = key_sl.map(vals.set_index("KEY")["LBSTRESN"]).astype("float64")
        v = rounded(pd.Series(value, index=scored.index))
        abnormal = (v < threshold) if abnormal_side == "below" else (v > threshold)
        answer = scored[item].astype("string")
        bad = (
            ((answer.eq("Y") & abnormal.eq(False)) | (answer.eq("N") & abnormal.eq(True)))
            .fillna(False)
            .astype(bool)
        )
        if not bad.any():
            continue
        m = base[bad].copy()
        rel = np.where(
            abnormal[bad].eq(True),
            "<" if abnormal_side == "below" else ">",
            ">=" if abnormal_side == "below" else "<=",
        )
        m["KIND"], m["SEVERITY"], m["COLUMN"], m["RULE"] = (
            "SLEDAI_LAB",
            "WARNING",
            item,
            f"{item}:consistent_with_{test}",
        )
        m["VALUE"] = answer[bad]
        # the lab test the item is checked against and the (standard) unit compared (issue 17)
        m["TESTCD"], m["UNIT"] = test, std_unit.get(test, pd.NA)
        m["MESSAGE"] = (
            f"{item} = "
            + answer[bad]
            + f" but {test} "
            + number_text(v[bad])
            + " "
            + pd.Series(rel, index=m.index, dtype="string")
            + f" {threshold:g} {unit} at the same visit"
        )
        out.append(m)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def derive_sledai_findings(sledai: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """Every SLEDAI-2K data query of the module docstring, in the order mismatch, missing item, lab;
    an empty frame when there is none."""
    require_columns(
        sledai,
        ["USUBJID", "SITEID", "SUBJID", "RECID", "VISIT", "SLDTC", *study.sledai_weights()],
        "derive_sledai_findings",
    )
    scored = derive_var_sledai_total(sledai)
    base = sledai_finding_base(scored)
    parts = [
        derive_sltotal_mismatch_findings(scored, base),
        derive_sledai_missing_item_findings(scored, base),
        derive_sledai_lab_findings(scored, base, lb),
    ]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
