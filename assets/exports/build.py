"""Build the submission formats and the DuckDB catalog from an existing warehouse mode root.

Shared by the Dagster assets (``assets/exports/assets.py``) and ``trialpipe export``
(``assets/exports/cli.py``), so both write exactly the same files:

```
<mode root>/submission/sdtm/<name>.xpt  .json      <mode root>/submission/adam/<name>.xpt  .json
<mode root>/submission/define.xml                  <mode root>/qa/define.html
<mode root>/qa/findings/exports.parquet            <mode root>/warehouse.duckdb
```
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import study
from assets.common.findings import empty_findings, make_findings
from assets.common.parquet import write_parquet
from assets.common.version import code_version
from assets.exports import dataset_json, define_xml, duckdb_catalog, xpt
from assets.exports.define_html import write_define_html
from assets.exports.metadata import (
    Dataset,
    data_cut_timestamp,
    describe_written,
    inputs_timestamp,
    is_text,
    load_spec,
    per_value,
    read_written_table,
    written_tables,
)
from assets.exports.not_written import NotWritten, files_not_written

SUBMISSION = "submission"
FINDINGS_FILE = Path("qa") / "findings" / "exports.parquet"
DATASET_JSON_FINDINGS_FILE = Path("qa") / "findings" / "dataset_json.parquet"
"""Values Dataset-JSON cannot hold (non-finite numbers): the dataset is not written, each is a query."""
ORIGINATOR = "trialpipe"


def submission_dir(mode_root: Path, standard: str | None = None) -> Path:
    folder = Path(mode_root) / SUBMISSION
    return folder / standard if standard else folder


def as_of(mode_root: Path, datasets: list[Dataset]) -> str:
    """The timestamp written into Dataset-JSON and define.xml: the data cut (newest export in
    force), or, without an ingest inventory, the newest input file's modification time."""
    return data_cut_timestamp(mode_root) or inputs_timestamp([ds.path for ds in datasets if ds.path])


def _remove_stale(mode_root: Path, datasets: list[Dataset], suffix: str) -> None:
    """Delete ``*.<suffix>`` files of datasets no longer written (a dataset dropped upstream must not
    survive in the submission folder)."""
    for standard in ("sdtm", "adam"):
        keep = {f"{ds.file_stem}{suffix}" for ds in datasets if ds.standard == standard}
        folder = submission_dir(mode_root, standard)
        if folder.is_dir():
            for f in folder.glob(f"*{suffix}"):
                if f.name not in keep:
                    f.unlink()


def build_xpt(mode_root: Path, datasets: list[Dataset] | None = None) -> tuple[list[Path], pd.DataFrame]:
    """Every dataset as XPORT v5; returns the files written and the findings (also written to
    ``qa/findings/exports.parquet``). A dataset with findings is not written."""
    datasets = describe_written(mode_root) if datasets is None else datasets
    # The data cut as the header time (not the wall clock), so a rerun writes the same bytes.
    created = time.strptime(as_of(mode_root, datasets)[:19], "%Y-%m-%dT%H:%M:%S")
    written, problems = [], []
    for ds in datasets:
        path = submission_dir(mode_root, ds.standard) / f"{ds.file_stem}.xpt"
        table = read_written_table(ds)
        found = xpt.write_xpt(ds, table, path, created=created)
        if found.empty:
            written.append(path)
        else:
            problems.append(found)
    _remove_stale(mode_root, datasets, ".xpt")
    findings = make_findings(pd.concat(problems, ignore_index=True)) if problems else empty_findings()
    write_parquet(findings, Path(mode_root) / FINDINGS_FILE)
    return written, findings


def read_xpt_findings(mode_root: Path) -> pd.DataFrame:
    path = Path(mode_root) / FINDINGS_FILE
    return pd.read_parquet(path) if path.is_file() else empty_findings()


def _file_stems(mode_root: Path) -> dict[str, str]:
    """Dataset name -> ``<standard>/<file stem>`` of every written table."""
    return {p.stem.upper(): f"{std}/{p.stem}" for std, p in written_tables(mode_root)}


def not_written(mode_root: Path) -> list[NotWritten]:
    """The XPT and Dataset-JSON files the last export did not write, and why (from the findings
    files; derivations.md v2: the run summary says which files are missing and why)."""
    stems = _file_stems(mode_root)
    out = []
    for fmt, name in (("xpt", FINDINGS_FILE), ("json", DATASET_JSON_FINDINGS_FILE)):
        path = Path(mode_root) / name
        findings = pd.read_parquet(path) if path.is_file() else empty_findings()
        out += files_not_written(findings, fmt, str(name), stems)
    return out


def build_dataset_json(mode_root: Path, datasets: list[Dataset] | None = None) -> list[Path]:
    """Every dataset as Dataset-JSON 1.1; returns the files written. A dataset holding a value
    Dataset-JSON cannot hold (a non-finite number) is not written: each such value is a finding in
    ``qa/findings/dataset_json.parquet`` naming dataset, variable and row."""
    datasets = describe_written(mode_root) if datasets is None else datasets
    stamp = as_of(mode_root, datasets)
    studyid = study.studyid()
    mode = Path(mode_root).name
    written: list[Path] = []
    problems: list[pd.DataFrame] = []
    for ds in datasets:
        header = dataset_json.dataset_json_header(
            ds,
            as_of=stamp,
            study_oid=f"ST.{studyid}",
            metadata_version_oid=f"MDV.{studyid}.{mode}",
            originator=ORIGINATOR,
            source_system={"name": "trialpipe", "version": code_version()},
            file_oid=f"{studyid}.{mode}.{ds.standard.upper()}.{ds.name}",
        )
        path = submission_dir(mode_root, ds.standard) / f"{ds.file_stem}.json"
        # the table XPT and define.xml read too (read once, cached), in batches of rows
        table = read_written_table(ds)
        found = dataset_json.write_checked(path, header, ds, table)
        if found.empty:
            written.append(path)
        else:
            problems.append(found)
    _remove_stale(mode_root, datasets, ".json")
    findings = make_findings(pd.concat(problems, ignore_index=True)) if problems else empty_findings()
    write_parquet(findings, Path(mode_root) / DATASET_JSON_FINDINGS_FILE)
    return written


def build_define(mode_root: Path, datasets: list[Dataset] | None = None) -> tuple[Path, Path, list[str]]:
    """define.xml (from the spec and the written data) and its HTML rendering; returns the two
    paths and the structural problems found in the written define.xml (empty when sound)."""
    datasets = describe_written(mode_root) if datasets is None else datasets
    value_levels, used = [], {}
    missing: dict[str, list[NotWritten]] = {}
    empty_expected: set[tuple[str, str]] = set()
    for ds in datasets:
        table = read_written_table(ds)
        empty_expected |= {(ds.name, name) for name in expected_without_value(ds, table)}
        # the files of this dataset the formats refuse (the same rules as their writers, so
        # define.xml says so whichever asset runs first)
        stem = {ds.name: f"{ds.standard}/{ds.file_stem}"}
        for fmt, found, name in (
            ("xpt", xpt.xpt_problems(ds, table), FINDINGS_FILE),
            ("json", dataset_json.dataset_json_problems(ds, table), DATASET_JSON_FINDINGS_FILE),
        ):
            missing.setdefault(ds.name, []).extend(files_not_written(found, fmt, str(name), stem))
        value_levels += define_xml.collect_value_levels(ds, table)
        used.update(
            {(ds.name, var): terms for var, terms in define_xml.collect_used_terms(ds, table).items()}
        )
    ct = define_xml.load_ct(codelists=define_xml.codelist_codes(datasets))
    facts = study.study()
    info = {
        "studyid": facts["studyid"],
        "title": facts.get("title", facts["studyid"]),
        "protocol": facts.get("registry_id", facts["studyid"]),
        "mode": Path(mode_root).name,
        "originator": facts.get("sponsor", ORIGINATOR),
    }
    tree = define_xml.build_define(
        datasets,
        value_levels,
        used,
        ct,
        info,
        as_of(mode_root, datasets),
        not_written=missing,
        empty_expected=empty_expected,
        absent_expected=absent_expected(datasets),
    )
    define_path = define_xml.write_define(tree, submission_dir(mode_root) / "define.xml")
    html_path = write_define_html(define_path, Path(mode_root) / "qa" / "define.html")
    problems = define_xml.define_problems(ET.parse(define_path), [ds.name for ds in datasets])
    return define_path, html_path, problems


def expected_without_value(ds: Dataset, table: pa.Table) -> list[str]:
    """The Expected variables (spec ``CORE`` Exp) of ``ds`` that no row of ``table`` gives a value
    (missing or empty text)."""
    out = []
    for v in ds.variables:
        if v.core.strip().lower() != "exp" or v.name not in table.column_names:
            continue
        col = table.column(v.name)
        if pa.types.is_dictionary(col.type) or is_text(col.type):
            lengths = per_value(col, pc.utf8_length) if len(col) else pa.chunked_array([], pa.int32())
            has_value = bool(pc.any(pc.greater(pc.fill_null(lengths, 0), 0)).as_py() or False)
        else:
            has_value = col.null_count < len(col)
        if not has_value:
            out.append(v.name)
    return out


def absent_expected(datasets: list[Dataset]) -> dict[str, list[str]]:
    """Dataset -> the spec's Expected variables it does not hold (in spec order)."""
    specs = {std: load_spec(std)[1] for std in {ds.standard for ds in datasets}}
    out = {}
    for ds in datasets:
        spec = specs[ds.standard]
        rows = spec[(spec["DATASET"] == ds.name) & (spec["CORE"].astype(str).str.lower() == "exp")]
        held = {v.name for v in ds.variables}
        absent = [str(n) for n in rows.sort_values("ORDER", kind="stable")["VARIABLE"] if n not in held]
        if absent:
            out[ds.name] = absent
    return out


def build_duckdb(mode_root: Path) -> tuple[Path, list[dict]]:
    return duckdb_catalog.build_catalog(mode_root)


def build_all(mode_root: Path) -> dict:
    """Every format; a summary for the command line."""
    datasets = describe_written(mode_root)
    xpts, findings = build_xpt(mode_root, datasets)
    jsons = build_dataset_json(mode_root, datasets)
    define_path, html_path, define_issues = build_define(mode_root, datasets)
    db_path, views = build_duckdb(mode_root)
    return {
        "datasets": len(datasets),
        "xpt_written": len(xpts),
        "xpt_findings": findings,
        "dataset_json_written": len(jsons),
        "define": define_path,
        "define_html": html_path,
        "define_problems": define_issues,
        "duckdb": db_path,
        "duckdb_views": len(views),
    }
