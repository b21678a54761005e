"""Eligibility and SLEDAI-2K data-query assets: thin wrappers around :mod:`assets.sdtm.eligibility`
and :mod:`assets.sdtm.sledai_queries`.

Outputs (``<mode root>`` = ``<warehouse>/<blinded|unblinded>``):

- ``derived/eligibility.parquet``: every screened subject x criterion (read by ``sdtm_ie``, ADSL);
- ``qa/eligibility_listing.parquet``: the same for QA reviewers (derived result, investigator
  answer, agreement, reason);
- ``qa/protocol_deviations.parquet``: subjects randomized (IWRS) while ineligible, with criteria;
- ``qa/findings/eligibility.parquet``: ``IE_DISAGREES``, ``RANDOMIZED_INELIGIBLE``, ``PROTOCOL_LIMIT``;
- ``qa/findings/sledai.parquet``: ``SLTOTAL_MISMATCH``, ``SLEDAI_MISSING_ITEM``, ``SLEDAI_LAB``.

Nothing here reads the restricted randomization list: eligibility is the same in both modes.
"""

import dagster as dg
import pandas as pd

import study
from assets.common import keys
from assets.common.asset_metadata import subject_level
from assets.common.checks import check, checks_of_one_asset
from assets.common.findings import make_findings
from assets.common.parquet import read_parquet, write_parquet
from assets.common.resources import Warehouse
from assets.ingest.store import read_form, read_forms
from assets.sdtm.eligibility.assembly import derive_eligibility
from assets.sdtm.eligibility.findings import (
    derive_disagreement_findings,
    derive_protocol_deviations,
    derive_randomized_ineligible_findings,
    protocol_limit_findings,
)
from assets.sdtm.eligibility.forms import form_frame
from assets.sdtm.eligibility.outcome import NOT_EVALUABLE
from assets.sdtm.eligibility.screening import derive_screening_values
from assets.sdtm.sledai_queries import derive_sledai_findings
from schemas.protocol_rules import protocol_limit_failures

GROUP = "sdtm"
ELIGIBILITY_FILE = ("derived", "eligibility.parquet")

LISTING_LABELS = {
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "IETESTCD": "Inclusion/Exclusion Criterion Short Name",
    "IECAT": "Inclusion/Exclusion Category",
    "IETEST": "Inclusion/Exclusion Criterion",
    "RESULT": "Derived Result",
    "COUNTS_AGAINST": "Counts Against Eligibility",
    "INV_ANSWER": "Investigator Answer on IE Form",
    "AGREES": "Investigator Answer Agrees with Data",
    "REASON": "Reason for the Derived Result",
    "SOURCE": "Source of the Criterion (DERIVED/IE_FORM)",
    "ICDTC": "Date of Informed Consent",
    "RANDNO": "Randomization Number",
    "RANDDTC": "Date of Randomization",
}


def _counts(counts: pd.Series) -> dict[str, int]:
    """Counts by value as JSON metadata, in the order of ``counts``."""
    return {str(k): int(v) for k, v in counts.items()}


def _concat_findings(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The non-empty parts as one findings frame (an empty one when all are empty)."""
    found = [p for p in parts if len(p)]
    return make_findings(pd.concat(found, ignore_index=True) if found else pd.DataFrame())


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST, keys.IWRS_INGEST],
    kinds={"python", "parquet"},
    description=f"The {len(study.criteria())} registration criteria per screened subject (derivations.md, "
    "Eligibility), the QA eligibility listing, protocol deviations (randomized while ineligible) and "
    "eligibility findings.",
)
def eligibility(warehouse: Warehouse) -> dg.MaterializeResult:
    ingest_dir = warehouse.root / "ingest"
    forms = read_forms(ingest_dir, study.FORMS)
    rand = read_form(ingest_dir, "RAND")
    result = derive_eligibility(forms)
    derived = warehouse.layer("derived")
    qa_dir = warehouse.layer("qa")
    write_parquet(
        result,
        derived / ELIGIBILITY_FILE[1],
        sort_by=["USUBJID", "IETESTCD"],
        labels=LISTING_LABELS,
        dataset_label="Eligibility per Subject and Criterion",
    )
    write_parquet(
        result,
        qa_dir / "eligibility_listing.parquet",
        sort_by=["SITEID", "USUBJID", "IETESTCD"],
        labels=LISTING_LABELS,
        dataset_label="Eligibility Listing",
    )
    deviations = derive_protocol_deviations(result, rand)
    write_parquet(
        deviations,
        qa_dir / "protocol_deviations.parquet",
        sort_by=["SITEID", "USUBJID", "IETESTCD"],
        labels=LISTING_LABELS,
        dataset_label="Randomized While Ineligible",
    )
    limits = protocol_limit_failures(derive_screening_values(forms))
    findings = _concat_findings(
        [
            derive_disagreement_findings(result, forms.get("IE")),
            derive_randomized_ineligible_findings(deviations, rand),
            protocol_limit_findings(limits),
        ]
    )
    write_parquet(findings, qa_dir / "findings" / "eligibility.parquet")
    subjects = result["USUBJID"].nunique()
    ineligible = int(result.groupby("USUBJID")["COUNTS_AGAINST"].any().sum()) if subjects else 0
    return dg.MaterializeResult(
        metadata={
            "subjects": subjects,
            "eligible": subjects - ineligible,
            "ineligible": ineligible,
            "not_evaluable_results": int((result["RESULT"] == NOT_EVALUABLE).sum()),
            "investigator_disagreements": int(result["AGREES"].eq(False).sum()),
            "randomized_ineligible": int(deviations["USUBJID"].nunique()),
            "protocol_limit_failures": len(limits),
            "counts_against_by_criterion": dg.MetadataValue.json(
                _counts(result[result["COUNTS_AGAINST"]].groupby("IETESTCD").size())
            ),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST],
    kinds={"python", "parquet"},
    description="SLEDAI-2K data queries: site SLTOTAL vs recomputed total, missing items, lab consistency.",
)
def sledai_findings(warehouse: Warehouse) -> dg.MaterializeResult:
    ingest_dir = warehouse.root / "ingest"
    sledai = form_frame({"SLEDAI": read_form(ingest_dir, "SLEDAI")}, "SLEDAI")
    # an export without SLEDAI rows has no site/subject columns; the findings still need them
    for col in ("SITEID", "SUBJID"):
        if col not in sledai.columns:
            sledai[col] = pd.Series(pd.NA, index=sledai.index, dtype="string")
    findings = make_findings(derive_sledai_findings(sledai, read_form(ingest_dir, "LB")))
    write_parquet(findings, warehouse.layer("qa") / "findings" / "sledai.parquet")
    by_kind = _counts(findings["KIND"].value_counts().sort_index())
    return dg.MaterializeResult(
        metadata={
            "assessments": len(sledai),
            "findings": len(findings),
            "by_kind": dg.MetadataValue.json(by_kind),
        }
    )


def _read(warehouse: Warehouse, *parts: str) -> pd.DataFrame:
    path = warehouse.root.joinpath(*parts)
    return read_parquet(path) if path.exists() else pd.DataFrame()


@check(
    asset=eligibility,
    blocking=True,
    description="One row per screened subject (DM) and criterion (study/criteria.csv), no more.",
)
def eligibility_has_every_subject_and_criterion(warehouse: Warehouse) -> dg.AssetCheckResult:
    result = _read(warehouse, *ELIGIBILITY_FILE)
    dm = read_form(warehouse.root / "ingest", "DM")
    n_subjects = dm["USUBJID"].nunique() if "USUBJID" in dm.columns else 0
    n_criteria = len(study.criteria())
    duplicates = int(result.duplicated(["USUBJID", "IETESTCD"]).sum()) if len(result) else 0
    return dg.AssetCheckResult(
        passed=len(result) == n_subjects * n_criteria and duplicates == 0,
        metadata={"rows": len(result), "expected": n_subjects * n_criteria, "duplicates": duplicates},
    )


@check(
    asset=eligibility,
    blocking=False,
    description="Every protocol-limit failure (schemas/protocol_rules.py) counts against its criterion.",
)
def protocol_limit_failures_count_against_their_criterion(warehouse: Warehouse) -> dg.AssetCheckResult:
    result = _read(warehouse, *ELIGIBILITY_FILE)
    findings = _read(warehouse, "qa", "findings", "eligibility.parquet")
    limits = findings[findings["KIND"] == "PROTOCOL_LIMIT"] if len(findings) else findings
    if limits.empty:
        return dg.AssetCheckResult(passed=True, metadata={"protocol_limit_failures": 0})
    keyed = result.assign(K=result["SUBJID"] + "|" + result["IETESTCD"]).set_index("K")["COUNTS_AGAINST"]
    against = (limits["SUBJID"] + "|" + limits["FORM"]).map(keyed).fillna(False).astype(bool)
    missed = limits.loc[~against.to_numpy(), ["SUBJID", "FORM", "COLUMN", "VALUE"]]
    return dg.AssetCheckResult(
        passed=missed.empty,
        metadata={
            "protocol_limit_failures": len(limits),
            "not_reflected": subject_level(
                dg.MetadataValue.json(missed.astype(str).to_dict("records")), warehouse.unblinded
            ),
        },
    )


@check(
    asset=eligibility,
    blocking=False,
    description="The investigator's IE answers agree with the derived criteria (warning: data queries).",
)
def investigator_answers_agree_with_data(warehouse: Warehouse) -> dg.AssetCheckResult:
    result = _read(warehouse, *ELIGIBILITY_FILE)
    bad = result[result["AGREES"].eq(False).fillna(False)] if len(result) else result
    return dg.AssetCheckResult(
        passed=bad.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "disagreements": len(bad),
            "by_criterion": dg.MetadataValue.json(
                _counts(bad.groupby("IETESTCD").size()) if len(bad) else {}
            ),
        },
    )


@check(
    asset=eligibility,
    blocking=False,
    description="No subject was randomized while a criterion counts against eligibility.",
)
def no_subject_randomized_while_ineligible(warehouse: Warehouse) -> dg.AssetCheckResult:
    dev = _read(warehouse, "qa", "protocol_deviations.parquet")
    return dg.AssetCheckResult(
        passed=dev.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"subjects": int(dev["USUBJID"].nunique()) if len(dev) else 0, "rows": len(dev)},
    )


@check(
    asset=sledai_findings,
    blocking=False,
    description="Site SLEDAI-2K totals equal the recomputed totals and every item is answered.",
)
def site_sledai_totals_match_recomputed(warehouse: Warehouse) -> dg.AssetCheckResult:
    f = _read(warehouse, "qa", "findings", "sledai.parquet")
    by_kind = _counts(f["KIND"].value_counts()) if len(f) else {}
    return dg.AssetCheckResult(
        passed=not by_kind.get("SLTOTAL_MISMATCH") and not by_kind.get("SLEDAI_MISSING_ITEM"),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"by_kind": dg.MetadataValue.json(by_kind)},
    )


ELIGIBILITY_ASSETS = [eligibility, sledai_findings]
ELIGIBILITY_CHECKS = [
    checks_of_one_asset(
        [
            eligibility_has_every_subject_and_criterion,
            protocol_limit_failures_count_against_their_criterion,
            investigator_answers_agree_with_data,
            no_subject_randomized_while_ineligible,
        ]
    ),
    checks_of_one_asset([site_sledai_totals_match_recomputed]),
]
