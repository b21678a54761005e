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
from assets.adam.adeff import derive_adeff
from assets.adam.adlb import derive_adlb
from assets.adam.adsl import derive_adsl
from assets.adam.common import DATE32, dates_to_datetime, finalize
from assets.adam.stats import sledai_change_plot, sledai_change_table, sri4_response_table
from assets.common import keys
from assets.common.asset_metadata import count_values, subject_level, table_metadata
from assets.common.atomic import atomic_write_bytes
from assets.common.parquet import read_parquet, write_parquet
from assets.common.resources import RestrictedRandomization, Warehouse
from assets.ingest.reading import read_randlist
from assets.ingest.store import read_form
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
    deps=[*(keys.sdtm(d) for d in ("DM", "EX", "DS", "VS", "RS")), keys.ELIGIBILITY, keys.IWRS_INGEST],
    kinds={"python", "parquet"},
    description="ADSL: one record per screened subject; populations, treatment per blinding mode, "
    "TRTSDT/TRTEDT/RANDDT, SLEDAIBL, WEIGHTBL, ELIGFL, disposition.",
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
    deps=[keys.adam("ADSL"), keys.sdtm("RS")],
    kinds={"python", "parquet"},
    description="ADEFF: SLEDAI-2K total, PGA (baseline, change) and SRI-4 response at WEEK 4..WEEK 24.",
)
def adam_adeff(warehouse: Warehouse):
    out = _write(warehouse, derive_adeff(_adam(warehouse, "ADSL"), _sdtm(warehouse, "rs")), "ADEFF")
    sri4 = out[(out["PARAMCD"] == "SRI4") & (out["AVISIT"] == facts.primary_endpoint_visit())]
    return dg.MaterializeResult(
        metadata={
            **_table_metadata(out, "ADEFF", warehouse),
            "records": len(out),
            "by_param": dg.MetadataValue.json(count_values(out["PARAMCD"])),
            "sri4_week24_records": len(sri4),
            "sri4_week24_responders": int((sri4["AVALC"] == "Y").sum()),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.adam("ADSL"), keys.sdtm("LB")],
    kinds={"python", "parquet"},
    description="ADLB: numeric labs in standard units with A1HI, R2A1HI, ANRIND, BNRIND, BASE, CHG, SHIFT1.",
)
def adam_adlb(warehouse: Warehouse):
    out = _write(warehouse, derive_adlb(_sdtm(warehouse, "lb"), _adam(warehouse, "ADSL")), "ADLB")
    return dg.MaterializeResult(
        metadata={
            **_table_metadata(out, "ADLB", warehouse),
            "records": len(out),
            "parameters": int(out["PARAMCD"].nunique()),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[keys.adam("ADSL"), keys.sdtm("AE")],
    kinds={"python", "parquet"},
    description="ADAE: analysis dates (ASTDT, AENDT, ASTDY) and TRTEMFL (first dose to last dose + 28 days).",
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
    deps=[keys.adam("ADEFF")],
    kinds={"python", "parquet"},
    description=f"For statisticians: SRI-4 at {facts.primary_endpoint_visit()} (n, responders, %, 95% CI) "
    "and mean SLEDAI-2K change by visit, by arm when unblinded and pooled when blinded; Parquet tables "
    "and a PNG plot in stats/.",
)
def adam_stats(warehouse: Warehouse):
    blinded = not warehouse.unblinded
    adeff = _adam(warehouse, "ADEFF")
    stats_dir = warehouse.layer("stats")
    sri4 = sri4_response_table(adeff, blinded)
    change = sledai_change_table(adeff, blinded)
    write_parquet(
        sri4,
        stats_dir / "sri4_week24.parquet",
        sort_by=["GROUPN", "GROUP"],
        dataset_label="SRI-4 Response at Week 24, Full Analysis Set",
    )
    write_parquet(
        change,
        stats_dir / "sledai_change.parquet",
        sort_by=["GROUPN", "GROUP", "AVISITN"],
        dataset_label="SLEDAI-2K Change from Baseline by Visit, Full Analysis Set",
    )
    atomic_write_bytes(stats_dir / "sledai_change.png", sledai_change_plot(change, blinded))
    return dg.MaterializeResult(
        metadata={
            "groups": len(sri4),
            # by arm when unblinded: arm-level, so not in the instance blinded runs share
            "sri4_week24": subject_level(
                dg.MetadataValue.md(sri4.to_markdown(index=False) if _has_tabulate() else sri4.to_string()),
                not blinded,
            ),
            "plot": str(stats_dir / "sledai_change.png"),
        }
    )


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _conformance_check(dataset: str):
    @dg.asset_check(
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


@dg.asset_check(
    asset=adam_adsl, blocking=True, description="ADSL holds every screened subject of SDTM DM, once."
)
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


@dg.asset_check(
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
        },
    )


ADAM_ASSETS = [adam_adsl, adam_adeff, adam_adlb, adam_adae, adam_stats]
ADAM_CHECKS = [
    *(_conformance_check(ds) for ds in ("ADSL", "ADEFF", "ADLB", "ADAE")),
    adsl_has_every_screened_subject_once,
    every_fas_subject_has_sri4_at_every_visit,
]
