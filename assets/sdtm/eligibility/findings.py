"""Eligibility data queries and listings (findings shape: :mod:`assets.common.findings`).

- ``IE_DISAGREES``: the investigator's answer differs from the derived criterion (derivations.md,
  Eligibility: "a difference is a data query");
- ``RANDOMIZED_INELIGIBLE`` and the protocol-deviation listing: randomized (IWRS) while a
  criterion counts against eligibility;
- ``PROTOCOL_LIMIT``: a true screening measurement outside a protocol limit
  (:mod:`schemas.protocol_rules`; site-export.md, Bad input: kept, never quarantined).
"""

from __future__ import annotations

import pandas as pd

from assets.common.columns import require_columns
from assets.sdtm.eligibility.assembly import ELIGIBILITY_COLUMNS, investigator_answers
from assets.sdtm.eligibility.forms import form_frame
from assets.sdtm.eligibility.screening import SCREENING

DEVIATION_COLUMNS = [
    "USUBJID",
    "SUBJID",
    "SITEID",
    "RANDNO",
    "RANDDTC",
    "IETESTCD",
    "IECAT",
    "IETEST",
    "RESULT",
    "INV_ANSWER",
    "REASON",
]


def derive_disagreement_findings(eligibility: pd.DataFrame, ie: pd.DataFrame | None) -> pd.DataFrame:
    """KIND ``IE_DISAGREES`` (WARNING): the investigator's answer differs from the derived result;
    lineage of the IE row."""
    require_columns(
        eligibility,
        ["USUBJID", "IETESTCD", "AGREES", "RESULT", "REASON", "INV_ANSWER", "SITEID", "SUBJID"],
        "derive_disagreement_findings",
    )
    bad = eligibility[eligibility["AGREES"].eq(False).fillna(False)]
    if ie is None or ie.empty or "IETESTCD" not in ie.columns:
        ie = form_frame({}, "IE")
    lineage = investigator_answers(form_frame({"IE": ie}, "IE"))
    bad = bad.merge(lineage.drop(columns="INV_ANSWER"), on=["USUBJID", "IETESTCD"], how="left")
    return pd.DataFrame(
        {
            "KIND": "IE_DISAGREES",
            "SEVERITY": "WARNING",
            "SITEID": bad["SITEID"],
            "SUBJID": bad["SUBJID"],
            "FORM": "IE",
            "RECID": bad["RECID"],
            "COLUMN": "IEORRES",
            "RULE": bad["IETESTCD"] + ":investigator_agrees_with_data",
            "VALUE": bad["INV_ANSWER"],
            "MESSAGE": bad["IETESTCD"]
            + ": investigator answered "
            + bad["INV_ANSWER"]
            + ", data say "
            + bad["RESULT"]
            + " ("
            + bad["REASON"]
            + ")",
            "SRC_EXPORT": bad["SRC_EXPORT"],
            "SRC_FILE": bad["SRC_FILE"],
            "SRC_LINE": bad["SRC_LINE"],
            "VISIT": SCREENING,  # the IE form is answered at screening (issue 17)
            "TESTCD": bad["IETESTCD"],
        }
    )


def derive_protocol_deviations(eligibility: pd.DataFrame, rand: pd.DataFrame | None) -> pd.DataFrame:
    """Subjects randomized (in the IWRS RAND export) while a criterion counts against eligibility:
    one row per such subject x criterion, with randomization number and date (the first RANDNO of a
    subject randomized twice)."""
    require_columns(eligibility, ELIGIBILITY_COLUMNS, "derive_protocol_deviations")
    if rand is None or rand.empty or "USUBJID" not in rand.columns:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in DEVIATION_COLUMNS})
    r = rand.sort_values(["USUBJID", "RANDNO"], kind="stable").drop_duplicates("USUBJID", keep="first")[
        ["USUBJID", "RANDNO", "RANDDTC"]
    ]
    against = eligibility[eligibility["COUNTS_AGAINST"]]
    out = against.merge(r, on="USUBJID", how="inner")
    return (
        out[DEVIATION_COLUMNS]
        .astype("string")
        .sort_values(["USUBJID", "IETESTCD"], kind="stable")
        .reset_index(drop=True)
    )


def derive_randomized_ineligible_findings(deviations: pd.DataFrame, rand: pd.DataFrame) -> pd.DataFrame:
    """KIND ``RANDOMIZED_INELIGIBLE`` (WARNING), one per subject, with the criteria; lineage of the
    RAND row (the subject is kept, flagged and listed as a protocol deviation)."""
    if deviations.empty:
        return pd.DataFrame()
    require_columns(
        deviations,
        ["USUBJID", "SITEID", "SUBJID", "RANDNO", "RANDDTC", "IETESTCD", "REASON"],
        "derive_randomized_ineligible_findings",
    )
    per = (
        deviations.groupby("USUBJID", sort=True)
        .agg(
            SITEID=("SITEID", "first"),
            SUBJID=("SUBJID", "first"),
            RANDNO=("RANDNO", "first"),
            RANDDTC=("RANDDTC", "first"),
            CRITERIA=("IETESTCD", " ".join),
            REASONS=("REASON", " | ".join),
        )
        .reset_index()
    )
    lineage_cols = [c for c in ("SRC_EXPORT", "SRC_FILE", "SRC_LINE") if c in rand.columns]
    lin = rand.drop_duplicates("USUBJID")[["USUBJID", *lineage_cols]]
    per = per.merge(lin, on="USUBJID", how="left")
    return pd.DataFrame(
        {
            "KIND": "RANDOMIZED_INELIGIBLE",
            "SEVERITY": "WARNING",
            "SITEID": per["SITEID"],
            "SUBJID": per["SUBJID"],
            "FORM": "RAND",
            "RECID": per["RANDNO"],
            "COLUMN": "RANDNO",
            "RULE": "randomized_only_if_eligible",
            "VALUE": per["CRITERIA"],
            "MESSAGE": "randomized while ineligible: " + per["CRITERIA"] + " (" + per["REASONS"] + ")",
            "DATE": per["RANDDTC"],  # the randomization date (issue 17)
            **{c: per[c] for c in lineage_cols},
        }
    )


def protocol_limit_findings(failures: pd.DataFrame) -> pd.DataFrame:
    """KIND ``PROTOCOL_LIMIT`` (WARNING): the failures of :func:`schemas.protocol_rules.protocol_limit_failures`,
    true screening measurements outside a limit, kept and recorded against the criterion (never
    quarantined)."""
    if failures.empty:
        return pd.DataFrame()
    require_columns(
        failures, ["SITEID", "SUBJID", "IETESTCD", "COLUMN", "RULE", "VALUE"], "protocol_limit_findings"
    )
    return pd.DataFrame(
        {
            "KIND": "PROTOCOL_LIMIT",
            "SEVERITY": "WARNING",
            "SITEID": failures["SITEID"],
            "SUBJID": failures["SUBJID"],
            "FORM": failures["IETESTCD"],
            "VISIT": SCREENING,
            "COLUMN": failures["COLUMN"],
            "RULE": failures["RULE"],
            "VALUE": failures["VALUE"],
            "MESSAGE": failures["IETESTCD"]
            + ": screening "
            + failures["COLUMN"]
            + " "
            + failures["VALUE"]
            + " outside the protocol limit ("
            + failures["RULE"]
            + ")",
        }
    )
