"""ADaM layer assets: thin wrappers that read SDTM (and the eligibility file), call the pure
derivations in this package and write ``<mode root>/adam/<dataset>.parquet`` with the labels of
study/adam_variables.csv; ``adam_stats`` writes ``<mode root>/stats/``.

Blinding (derivations.md, Populations): only ``adam_adsl`` may read the restricted randomization
list, only through ``read_randlist(restricted.randlist_path(warehouse))`` and only when the warehouse is in
unblinded mode; every other dataset takes treatment from ADSL.
"""

import dagster as dg
import pandas as pd
import pyarrow as pa

from assets.adam.adae import derive_adae
from assets.adam.adeff import NOT_YET_DUE, derive_adeff
from assets.adam.adlb import derive_adlb
from assets.adam.adsl import derive_adsl
from assets.adam.common import DATE32, dates_to_datetime, finalize
from assets.adam.stats import (
    sledai_change_plot,
    sledai_change_table,
    sri4_by_visit_table,
    sri4_response_plot,
    sri4_response_table,
    sri4_summary_mismatches,
    stats_dataset_label,
    stats_file,
    stats_keys,
    stats_labels,
)
from assets.common import keys
from assets.common.asset_metadata import count_values, subject_level, table_metadata
from assets.common.atomic import atomic_write_bytes
from assets.common.checks import check, checks_of_one_asset
from assets.common.data_cut import source_data_cuts
from assets.common.parquet import read_parquet, write_parquet
from assets.common.resources import RestrictedRandomization, Warehouse
from assets.ingest.reading import read_randlist
from assets.ingest.store import read_form, read_qa_table
from schemas.adam_conformance import conformance_failures
from study import facts, spec

GROUP = "adam"


def _sdtm(warehouse: Warehouse, domain: str) -> pd.DataFrame:
    path = warehouse.root / "sdtm" / f"{domain}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"SDTM {domain.upper()} not found at {path}: materialize sdtm_{domain} first")
    return read_parquet(path)


def _adam(warehouse: Warehouse, dataset: str, as_written: bool = False) -> pd.DataFrame:
    path = warehouse.root / "adam" / f"{dataset.lower()}.parquet"
    if as_written:
        # Parquet DATE columns stay Arrow date32, as finalize wrote them: the conformance check
        # accepts that, and it spares making a Python date object per value (10^5 in ADLB).
        return read_parquet(path, types_mapper={pa.date32(): DATE32}.get)
    return dates_to_datetime(read_parquet(path), dataset)


def _table_metadata(df: pd.DataFrame, dataset: str, warehouse: Warehouse) -> dict:
    """Row count, schema and preview; no preview rows in an unblinded run (derivations.md, (v2)
    Blinding covers the Dagster instance)."""
    return table_metadata(df, spec.labels("adam", dataset), unblinded=warehouse.unblinded)


def _write(warehouse: Warehouse, df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    out = finalize(df, dataset)
    write_parquet(
        out,
        warehouse.layer("adam") / f"{dataset.lower()}.parquet",
        sort_by=spec.keys("adam", dataset),
        labels=spec.labels("adam", dataset),
        dataset_label=spec.dataset_label("adam", dataset),
    )
    return out


@dg.asset(
    group_name=GROUP,
    deps=[
        *(keys.sdtm(d) for d in ("DM", "EX", "DS", "VS", "RS", "SV", "AE")),
        keys.ELIGIBILITY,
        keys.IWRS_INGEST,
    ],
    kinds={"python", "parquet"},
    description="ADSL: one record per screened subject; populations, treatment per blinding mode, "
    "randomization number and stratum (IWRS), DM reference dates, TRTSDT(M)/TRTEDT(M)/RANDDT, SLEDAIBL, "
    "WEIGHTBL, ELIGFL, AGEGR1, end of treatment and of study, death, last known alive date.",
)
def adam_adsl(warehouse: Warehouse, restricted: RestrictedRandomization):
    randlist = read_randlist(restricted.randlist_path(warehouse)) if warehouse.unblinded else None
    eligibility = read_parquet(warehouse.root / "derived" / "eligibility.parquet")
    adsl = derive_adsl(
        _sdtm(warehouse, "dm"),
        _sdtm(warehouse, "ex"),
        _sdtm(warehouse, "ds"),
        _sdtm(warehouse, "vs"),
        _sdtm(warehouse, "rs"),
        read_form(warehouse.root / "ingest", "RAND"),
        eligibility,
        randlist,
        sv=_sdtm(warehouse, "sv"),
        ae=_sdtm(warehouse, "ae"),
    )
    out = _write(warehouse, adsl, "ADSL")
    counts = {fl: int((out[fl] == "Y").sum()) for fl in ("RANDFL", "SAFFL", "FASFL", "PPROTFL", "ELIGFL")}
    return dg.MaterializeResult(
        metadata={
            **_table_metadata(out, "ADSL", warehouse),
            "subjects": len(out),
            "mode": "unblinded" if warehouse.unblinded else "blinded",
            **counts,
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.adam("ADSL"), keys.sdtm("RS"), keys.SITE_INGEST],
    kinds={"python", "parquet"},
    description="ADEFF: SLEDAI-2K total, PGA (baseline, change, percent change) and SRI-4 response at "
    "WEEK 4..WEEK 24 (NOT YET DUE where the visit window ends after the site's data cut), with the "
    "ADSL covariates.",
)
def adam_adeff(warehouse: Warehouse):
    # the data cut of each site: its export in force (ingest inventory; derivations.md, v2)
    cuts = source_data_cuts(read_qa_table(warehouse.root / "ingest", "inventory"))
    out = _write(warehouse, derive_adeff(_adam(warehouse, "ADSL"), _sdtm(warehouse, "rs"), cuts), "ADEFF")
    sri4 = out[(out["PARAMCD"] == "SRI4") & (out["AVISIT"] == facts.primary_endpoint_visit())]
    return dg.MaterializeResult(
        metadata={
            **_table_metadata(out, "ADEFF", warehouse),
            "records": len(out),
            "by_param": dg.MetadataValue.json(count_values(out["PARAMCD"])),
            "sri4_week24_records": len(sri4),
            "sri4_week24_evaluable": int(sri4["AVALC"].notna().sum()),
            "sri4_week24_responders": int((sri4["AVALC"] == "Y").sum()),
            "sri4_week24_not_yet_due": int((sri4["NRREAS"] == NOT_YET_DUE).sum()),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.adam("ADSL"), keys.sdtm("LB")],
    kinds={"python", "parquet"},
    description="ADLB: numeric labs in standard units, one parameter per test and specimen, with PARCAT1, "
    "A1LO/A1HI, R2A1HI, ANRIND, BASETYPE, BASE, BNRIND, CHG, PCHG, SHIFT1, ONTRTFL, ANL01FL, DTYPE for "
    "censored results, CTCAE v5.0 grades (ATOXGR/BTOXGR by direction) and the SDTM LB traceability copies.",
)
def adam_adlb(warehouse: Warehouse):
    out = _write(warehouse, derive_adlb(_sdtm(warehouse, "lb"), _adam(warehouse, "ADSL")), "ADLB")
    return dg.MaterializeResult(
        metadata={
            **_table_metadata(out, "ADLB", warehouse),
            "records": len(out),
            "parameters": int(out["PARAMCD"].nunique()),
            "censored_imputed": int(out["DTYPE"].notna().sum()),
            "grade_3_or_4": int(out["ATOXGR"].isin(["3", "4", "-3", "-4"]).sum()),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.adam("ADSL"), keys.sdtm("AE")],
    kinds={"python", "parquet"},
    description="ADAE: MedDRA coding and seriousness criteria from AE, ADSL covariates, analysis dates "
    "(ASTDT, AENDT, ASTDY), duration, TRTEMFL (first dose to last dose + 28 days), ASEVN and the "
    "first-occurrence flags AOCCIFL/AOCCPFL/AOCCSIFL.",
)
def adam_adae(warehouse: Warehouse):
    out = _write(warehouse, derive_adae(_sdtm(warehouse, "ae"), _adam(warehouse, "ADSL")), "ADAE")
    return dg.MaterializeResult(
        metadata={
            **_table_metadata(out, "ADAE", warehouse),
            "records": len(out),
            "treatment_emergent": int((out["TRTEMFL"] == "Y").sum()),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.adam("ADSL"), keys.adam("ADEFF")],
    kinds={"python", "parquet"},
    description=f"For statisticians: SRI-4 by visit and at {facts.primary_endpoint_visit()} (FAS, n evaluable, "
    "responders, non-responders, not yet due, %, exact 95% CI) and mean SLEDAI-2K change by visit, by arm "
    "when unblinded and pooled when blinded; labelled Parquet tables and PNG plots in stats/.",
)
def adam_stats(warehouse: Warehouse):
    blinded = not warehouse.unblinded
    adsl, adeff = _adam(warehouse, "ADSL"), _adam(warehouse, "ADEFF")
    stats_dir = warehouse.layer("stats")
    by_visit = sri4_by_visit_table(adeff, adsl, blinded)
    tables = {
        "SRI4_WEEK24": sri4_response_table(adeff, adsl, blinded),
        "SRI4_BY_VISIT": by_visit,
        "SLEDAI_CHANGE": sledai_change_table(adeff, blinded),
    }
    for dataset, table in tables.items():
        write_parquet(
            table,
            stats_dir / stats_file(dataset),
            sort_by=stats_keys(dataset),
            labels=stats_labels(dataset),
            dataset_label=stats_dataset_label(dataset),
        )
    atomic_write_bytes(stats_dir / "sledai_change.png", sledai_change_plot(tables["SLEDAI_CHANGE"], blinded))
    atomic_write_bytes(stats_dir / "sri4_response.png", sri4_response_plot(by_visit, blinded))
    sri4 = tables["SRI4_WEEK24"]
    return dg.MaterializeResult(
        metadata={
            "groups": len(sri4),
            # by arm when unblinded: arm-level, so not in the instance blinded runs share
            "sri4_week24": subject_level(
                dg.MetadataValue.md(sri4.to_markdown(index=False) if _has_tabulate() else sri4.to_string()),
                not blinded,
            ),
            "plots": dg.MetadataValue.json(
                [str(stats_dir / "sledai_change.png"), str(stats_dir / "sri4_response.png")]
            ),
        }
    )


@dg.asset_check(
    asset=adam_stats,
    blocking=False,
    description="SRI-4 tables: responders + non-responders + not yet due = subjects in the FAS, per group "
    "and visit (derivations.md, SRI-4).",
)
def sri4_summary_adds_up_to_the_fas(warehouse: Warehouse) -> dg.AssetCheckResult:
    by_visit = read_parquet(warehouse.root / "stats" / stats_file("SRI4_BY_VISIT"))
    bad = sri4_summary_mismatches(by_visit)
    return dg.AssetCheckResult(
        passed=bad.empty and len(by_visit) > 0,
        metadata={
            "rows": len(by_visit),
            "rows_not_adding_up": len(bad),
            # visits only (no arm), so safe in the instance whatever the mode
            "visits_not_adding_up": dg.MetadataValue.json(sorted(set(bad["AVISIT"].astype(str)))),
        },
    )


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _conformance_check(dataset: str):
    @check(
        name=f"{dataset.lower()}_conforms_to_adam_spec",
        asset=keys.adam(dataset),
        blocking=True,
        description=f"{dataset} matches study/adam_variables.csv (order, types, lengths, flags, unique keys"
        "; in blinded mode no arm or dose value).",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        failures = conformance_failures(
            _adam(warehouse, dataset, as_written=True), dataset, blinded=not warehouse.unblinded
        )
        by_check = (
            failures.groupby(["column", "check"]).size().astype(int).reset_index(name="n")
            if len(failures)
            else failures
        )
        return dg.AssetCheckResult(
            passed=failures.empty,
            metadata={
                "failures": len(failures),
                "by_check": dg.MetadataValue.json(by_check.astype(str).to_dict("records")),
            },
        )

    return _check


@check(asset=adam_adsl, blocking=True, description="ADSL holds every screened subject of SDTM DM, once.")
def adsl_has_every_screened_subject_once(warehouse: Warehouse) -> dg.AssetCheckResult:
    adsl, dm = _adam(warehouse, "ADSL"), _sdtm(warehouse, "dm")
    missing = sorted(set(dm["USUBJID"]) - set(adsl["USUBJID"]))
    return dg.AssetCheckResult(
        passed=not missing and adsl["USUBJID"].is_unique,
        metadata={
            "adsl": len(adsl),
            "dm": int(dm["USUBJID"].nunique()),
            "missing": subject_level(dg.MetadataValue.json(missing[:50]), warehouse.unblinded),
        },
    )


ARM_VARIABLES = ["ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS"]


@check(
    asset=adam_adsl,
    blocking=True,
    description="ADSL ARMCD ARM ACTARMCD ACTARM ARMNRS equal SDTM DM's for every subject (a randomized "
    "subject never dosed: null actual arm in both).",
)
def adsl_arms_agree_with_dm(warehouse: Warehouse) -> dg.AssetCheckResult:
    adsl = _adam(warehouse, "ADSL").set_index("USUBJID")[ARM_VARIABLES]
    dm = _sdtm(warehouse, "dm").drop_duplicates("USUBJID").set_index("USUBJID")[ARM_VARIABLES]
    dm = dm.reindex(adsl.index).astype("string").fillna("")
    differ = adsl.astype("string").fillna("").ne(dm)
    subjects = sorted(differ.index[differ.any(axis=1)])
    return dg.AssetCheckResult(
        passed=not subjects,
        metadata={
            "subjects_differing": len(subjects),
            "by_variable": dg.MetadataValue.json({c: int(differ[c].sum()) for c in ARM_VARIABLES}),
            "subjects": subject_level(dg.MetadataValue.json(subjects[:50]), warehouse.unblinded),
        },
    )


@check(
    asset=adam_adeff,
    blocking=False,
    description="Every FASFL = Y subject has an SRI4 record at each post-baseline SLEDAI visit.",
)
def every_fas_subject_has_sri4_at_every_visit(warehouse: Warehouse) -> dg.AssetCheckResult:
    from assets.adam.adeff import sri4_visits

    adsl, adeff = _adam(warehouse, "ADSL"), _adam(warehouse, "ADEFF")
    fas = set(adsl.loc[adsl["FASFL"] == "Y", "USUBJID"])
    sri4 = adeff[adeff["PARAMCD"] == "SRI4"]
    expected = len(fas) * len(sri4_visits())
    have = sri4[sri4["USUBJID"].isin(fas)].drop_duplicates(["USUBJID", "AVISIT"])
    return dg.AssetCheckResult(
        passed=len(have) == expected and len(sri4) == expected,
        metadata={
            "fas_subjects": len(fas),
            "expected": expected,
            "records": len(sri4),
            "non_responders_without_reason": int(((sri4["AVALC"] == "N") & sri4["NRREAS"].isna()).sum()),
            "not_yet_due": int((sri4["NRREAS"] == NOT_YET_DUE).sum()),
        },
    )


ADAM_ASSETS = [adam_adsl, adam_adeff, adam_adlb, adam_adae, adam_stats]
ADAM_CHECKS = [
    checks_of_one_asset(
        [_conformance_check("ADSL"), adsl_has_every_screened_subject_once, adsl_arms_agree_with_dm]
    ),
    checks_of_one_asset([_conformance_check("ADEFF"), every_fas_subject_has_sri4_at_every_visit]),
    checks_of_one_asset([_conformance_check("ADLB")]),
    checks_of_one_asset([_conformance_check("ADAE")]),
    sri4_summary_adds_up_to_the_fas,
]
