"""SDTM layer assets: one asset per dataset (``sdtm_<domain>``), a multi-asset where a domain and its
SUPP-- come from one pass, and one conformance check per dataset (``sdtm_<domain>_conforms``),
declared on its asset and evaluated in the asset's step (a step of its own per check cost more
than most checks).

Assets are thin: read the ingested forms (and DM's reference dates), call the pure builders of this
package, write ``<mode root>/sdtm/<domain>.parquet`` with the spec's labels and keys. Only ``sdtm_dm``
may open the restricted randomization list, and only in an unblinded run; EX takes the arm from DM.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from assets.common import keys
from assets.common.asset_metadata import subject_level, table_metadata
from assets.common.data_cut import source_data_cuts
from assets.common.findings import make_findings
from assets.common.parquet import read_parquet, write_parquet
from assets.common.resources import RestrictedRandomization, Warehouse
from assets.ingest.reading import read_randlist
from assets.ingest.store import read_form, read_forms, read_qa_table
from assets.sdtm import events, findings, interventions, special, trial_design
from assets.sdtm.timing import (
    VISIT_COLUMNS,
    VISIT_FORMS,
    find_visits_outside_window,
    unscheduled_visitnums,
    visit_dates,
)
from schemas.sdtm_conformance import conformance_report
from study import spec

GROUP = "sdtm"
DATASETS = spec.datasets("sdtm")["DATASET"].tolist()


def dataset_path(warehouse: Warehouse, dataset: str) -> Path:
    return warehouse.layer("sdtm") / f"{dataset.lower()}.parquet"


def write_dataset(warehouse: Warehouse, dataset: str, df: pd.DataFrame) -> dict:
    """Write one dataset sorted by its spec keys with labels; return its materialization metadata."""
    write_parquet(
        df,
        dataset_path(warehouse, dataset),
        sort_by=spec.keys("sdtm", dataset),
        labels=spec.labels("sdtm", dataset),
        dataset_label=spec.dataset_label("sdtm", dataset),
    )
    meta = {
        # no preview rows in an unblinded run (derivations.md, (v2) Blinding covers the Dagster instance)
        **table_metadata(df, spec.labels("sdtm", dataset), unblinded=warehouse.unblinded),
        "rows": len(df),
        "path": str(dataset_path(warehouse, dataset)),
    }
    if "USUBJID" in df.columns and len(df):
        meta["subjects"] = int(df["USUBJID"].nunique())
    return meta


def conformance_spec(dataset: str) -> dg.AssetCheckSpec:
    """The conformance check of an SDTM dataset, declared on its asset (evaluated in the asset's own
    step, :func:`conformance_result`; blocking: a structural failure stops the assets downstream)."""
    return dg.AssetCheckSpec(
        f"sdtm_{dataset.lower()}_conforms",
        asset=keys.sdtm(dataset),
        blocking=True,
        description=f"{dataset} conforms to its spec-generated pandera schema (schemas/sdtm_conformance.py).",
    )


def conformance_result(warehouse: Warehouse, dataset: str) -> dg.AssetCheckResult:
    """The written dataset against its pandera schema: only structural failures are errors (they
    block downstream); off-codelist values and the like are warnings (data queries)."""
    report = conformance_report(read_parquet(dataset_path(warehouse, dataset)), dataset)
    severity = dg.AssetCheckSeverity.ERROR if report["structural"] else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=keys.sdtm(dataset),
        check_name=conformance_spec(dataset).name,
        passed=report["passed"],
        severity=severity,
        metadata={
            "structural_failures": report["structural"],
            "content_failures": report["content"],
            "by_check": dg.MetadataValue.json(report["by_check"]),
            "examples": subject_level(dg.MetadataValue.json(report["examples"]), warehouse.unblinded),
        },
    )


def materialized(warehouse: Warehouse, dataset: str, metadata: dict, **kwargs) -> dg.MaterializeResult:
    """The materialization of a written dataset with its conformance check's result."""
    return dg.MaterializeResult(
        metadata=metadata, check_results=[conformance_result(warehouse, dataset)], **kwargs
    )


def _ingest(warehouse: Warehouse) -> Path:
    return warehouse.root / "ingest"


def _reference(warehouse: Warehouse) -> pd.DataFrame:
    """USUBJID, RFSTDTC, RFENDTC, RFICDTC (and ARMCD) from the written DM."""
    return read_parquet(
        dataset_path(warehouse, "DM"), columns=["USUBJID", "RFSTDTC", "RFENDTC", "RFICDTC", "ARMCD"]
    )


def _visit_rows(warehouse: Warehouse) -> pd.DataFrame:
    # Only the columns visit_dates uses (SV needs the visit rows with their lineage).
    ingest = _ingest(warehouse)
    return visit_dates(
        {form: read_form(ingest, form, columns=[*VISIT_COLUMNS, dtc]) for form, dtc in VISIT_FORMS.items()}
    )


def _unscheduled(warehouse: Warehouse) -> pd.DataFrame:
    """:func:`unscheduled_visitnums` of the visit rows, reading only the three columns it uses: LB,
    VS, CP and RS each need it, and converting the lineage of ~800,000 visit rows each time cost."""
    ingest = _ingest(warehouse)
    columns = ["USUBJID", "VISIT", "DTC"]
    parts = [
        read_form(ingest, form, columns=["USUBJID", "VISIT", dtc]).rename(columns={dtc: "DTC"})
        for form, dtc in VISIT_FORMS.items()
    ]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return unscheduled_visitnums(pd.DataFrame({c: pd.Series(dtype="string") for c in columns}))
    visits = pd.concat(parts, ignore_index=True)
    visits["DTC"] = visits["DTC"].astype("string")  # as visit_dates
    return unscheduled_visitnums(visits)


def _trial_design_asset(dataset: str, builder):
    @dg.asset(
        name=f"sdtm_{dataset.lower()}",
        group_name=GROUP,
        kinds={"python", "parquet"},
        description=f"SDTM {dataset} ({spec.dataset_label('sdtm', dataset)}) from study metadata.",
        check_specs=[conformance_spec(dataset)],
    )
    def _asset(warehouse: Warehouse) -> dg.MaterializeResult:
        table = builder(blinded=not warehouse.unblinded) if dataset in ("TA", "TE") else builder()
        return materialized(warehouse, dataset, write_dataset(warehouse, dataset, table))

    return _asset


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST],
    kinds={"python", "parquet"},
    description="SDTM TS (Trial Summary) from study metadata and the MedDRA version of the AE coding.",
    check_specs=[conformance_spec("TS")],
)
def sdtm_ts(warehouse: Warehouse) -> dg.MaterializeResult:
    ae = read_form(_ingest(warehouse), "AE")  # a small form; MEDDRAV is all TS reads of it
    return materialized(warehouse, "TS", write_dataset(warehouse, "TS", trial_design.build_ts(ae)))


TRIAL_DESIGN = [
    sdtm_ts,
    *(
        _trial_design_asset(name, builder)
        for name, builder in (
            ("TA", trial_design.build_ta),
            ("TE", trial_design.build_te),
            ("TV", trial_design.build_tv),
            ("TI", trial_design.build_ti),
        )
    ),
]


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST, keys.IWRS_INGEST],
    kinds={"python", "parquet"},
    description="SDTM DM: one record per screened subject; arms BLINDED unless the run is unblinded.",
    check_specs=[conformance_spec("DM")],
)
def sdtm_dm(
    context: dg.AssetExecutionContext, warehouse: Warehouse, restricted: RestrictedRandomization
) -> dg.MaterializeResult:
    forms = read_forms(_ingest(warehouse), ("DM", "EX", "DS", "AE"))
    rand = read_form(_ingest(warehouse), "RAND")
    # The restricted list is opened only here and only when unblinded (the resource refuses otherwise).
    randlist = read_randlist(restricted.randlist_path(warehouse)) if warehouse.unblinded else None
    dm = special.build_dm(forms["DM"], forms["EX"], forms["DS"], forms["AE"], rand, randlist)
    meta = write_dataset(warehouse, "DM", dm)
    meta["unblinded"] = warehouse.unblinded
    meta["dosed"] = int(dm["RFSTDTC"].notna().sum())
    return materialized(warehouse, "DM", meta)


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST, keys.sdtm("DM")],
    kinds={"python", "parquet"},
    description="SDTM SV: subject visits from every visit-based form; visit-window findings to QA.",
    check_specs=[conformance_spec("SV")],
)
def sdtm_sv(warehouse: Warehouse) -> dg.MaterializeResult:
    visits = _visit_rows(warehouse)
    reference = _reference(warehouse)
    subjects = read_parquet(dataset_path(warehouse, "DM"), columns=["USUBJID", "SITEID", "RFSTDTC"])
    ds = read_form(_ingest(warehouse), "DS", columns=["USUBJID", "DSDECOD", "DSSTDTC"])
    site_cuts = source_data_cuts(read_qa_table(_ingest(warehouse), "inventory"))
    sv = special.build_sv(visits, subjects, ds, site_cuts)
    meta = write_dataset(warehouse, "SV", sv)
    meta["missed_visits"] = int(sv["SVOCCUR"].eq("N").sum()) if len(sv) else 0
    late = find_visits_outside_window(visits, reference) if len(visits) else make_findings(pd.DataFrame())
    write_parquet(late, warehouse.layer("qa") / "findings" / "visits.parquet")
    meta["visit_window_findings"] = len(late)
    return materialized(warehouse, "SV", meta)


def _findings_asset(dataset: str, form: str, builder):
    @dg.asset(
        name=f"sdtm_{dataset.lower()}",
        group_name=GROUP,
        deps=[keys.SITE_INGEST, keys.sdtm("DM")],
        kinds={"python", "parquet"},
        description=f"SDTM {dataset} ({spec.dataset_label('sdtm', dataset)}) from the {form} form.",
        check_specs=[conformance_spec(dataset)],
    )
    def _asset(warehouse: Warehouse) -> dg.MaterializeResult:
        unscheduled = _unscheduled(warehouse)
        frame = builder(read_form(_ingest(warehouse), form), _reference(warehouse), unscheduled)
        return materialized(warehouse, dataset, write_dataset(warehouse, dataset, frame))

    return _asset


def _events_asset(dataset: str, form: str, builder):
    @dg.asset(
        name=f"sdtm_{dataset.lower()}",
        group_name=GROUP,
        deps=[keys.SITE_INGEST, keys.sdtm("DM")],
        kinds={"python", "parquet"},
        description=f"SDTM {dataset} ({spec.dataset_label('sdtm', dataset)}) from the {form} form.",
        check_specs=[conformance_spec(dataset)],
    )
    def _asset(warehouse: Warehouse) -> dg.MaterializeResult:
        frame = builder(read_form(_ingest(warehouse), form), _reference(warehouse))
        return materialized(warehouse, dataset, write_dataset(warehouse, dataset, frame))

    return _asset


FINDINGS = [
    _findings_asset("LB", "LB", findings.build_lb),
    _findings_asset("VS", "VS", findings.build_vs),
    _findings_asset("CP", "FACS", findings.build_cp),
]
EVENTS = [
    _events_asset("AE", "AE", events.build_ae),
    _events_asset("DS", "DS", events.build_ds),
    _events_asset("CM", "CM", interventions.build_cm),
]


def _outs(*datasets: str) -> dict[str, dg.AssetOut]:
    return {
        f"sdtm_{d.lower()}": dg.AssetOut(
            group_name=GROUP,
            kinds={"python", "parquet"},
            description=f"SDTM {d} ({spec.dataset_label('sdtm', d)}).",
        )
        for d in datasets
    }


def _with_supp(domain: str) -> dict:
    """The multi-asset of a domain and its SUPP-- from one pass: outs, deps and both conformance checks."""
    datasets = (domain, f"SUPP{domain}")
    return {
        "outs": _outs(*datasets),
        "deps": [keys.SITE_INGEST, keys.sdtm("DM")],
        "check_specs": [conformance_spec(d) for d in datasets],
    }


def _materialize_each(warehouse: Warehouse, built: dict[str, pd.DataFrame], datasets: tuple[str, ...]):
    """Write each of ``datasets`` and yield its materialization with its conformance check."""
    for dataset in datasets:
        meta = write_dataset(warehouse, dataset, built[dataset])
        yield materialized(warehouse, dataset, meta, asset_key=keys.sdtm(dataset))


@dg.multi_asset(**_with_supp("EX"))
def sdtm_ex(warehouse: Warehouse):
    """EX (given injections; dose from DM's arm only when unblinded) and SUPPEX (kit numbers)."""
    reference = _reference(warehouse)
    armcd = reference.set_index("USUBJID")["ARMCD"] if warehouse.unblinded else None
    built = interventions.build_ex(read_form(_ingest(warehouse), "EX"), reference, armcd)
    yield from _materialize_each(warehouse, built, ("EX", "SUPPEX"))


@dg.multi_asset(**_with_supp("MH"))
def sdtm_mh(warehouse: Warehouse):
    """MH and SUPPMH (NYHA class); study days from DM's RFSTDTC."""
    built = events.build_mh(read_form(_ingest(warehouse), "MH"), _reference(warehouse))
    yield from _materialize_each(warehouse, built, ("MH", "SUPPMH"))


@dg.multi_asset(**_with_supp("RS"))
def sdtm_rs(warehouse: Warehouse):
    """RS: SLEDAI-2K items and recomputed total, PGA, BILAG-2004; SUPPRS: the site's SLEDAI-2K total."""
    forms = read_forms(_ingest(warehouse), ("SLEDAI", "PGA", "BILAG"))
    unscheduled = _unscheduled(warehouse)
    built = findings.build_rs(
        forms["SLEDAI"], forms["PGA"], forms["BILAG"], _reference(warehouse), unscheduled
    )
    yield from _materialize_each(warehouse, built, ("RS", "SUPPRS"))


@dg.asset(
    group_name=GROUP,
    deps=[keys.ELIGIBILITY, keys.sdtm("DM")],
    kinds={"python", "parquet"},
    description="SDTM IE: per subject the inclusion criteria not met and the exclusion criteria present.",
    check_specs=[conformance_spec("IE")],
)
def sdtm_ie(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    path = warehouse.root / "derived" / "eligibility.parquet"
    if path.exists():
        eligibility = read_parquet(path)
    else:
        context.log.warning(f"{path} not found: IE written empty until the eligibility asset runs")
        eligibility = pd.DataFrame()
    meta = write_dataset(warehouse, "IE", findings.build_ie(eligibility, _reference(warehouse)))
    meta["eligibility_found"] = path.exists()
    return materialized(warehouse, "IE", meta)


SDTM_ASSETS = [*TRIAL_DESIGN, sdtm_dm, sdtm_sv, *FINDINGS, *EVENTS, sdtm_ex, sdtm_mh, sdtm_rs, sdtm_ie]
