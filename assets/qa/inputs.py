"""What the QA assets read: the files other layers (and earlier QA steps) wrote, and study inputs.

No Dagster here: paths in, frames (or plain values) out. A file that does not exist yet reads as
empty, so a QA step can run before every producer has run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from assets.common.parquet import read_labels, read_parquet
from assets.ingest.store import read_form
from assets.sdtm.sledai import derive_var_sledai_total

OUTPUT_STANDARDS = ("sdtm", "adam")
"""The layers whose Parquet files QA validates and lists in the report."""


def read_parquet_or_empty(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame; an empty frame when the file does not exist."""
    return pq.read_table(path).to_pandas() if Path(path).is_file() else pd.DataFrame()


def read_findings(qa_dir: Path) -> dict[str, pd.DataFrame]:
    """Every producer's findings file, by producer (file stem)."""
    folder = Path(qa_dir) / "findings"
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return {f.stem: pq.read_table(f).to_pandas() for f in files}


def read_run(qa_dir: Path) -> dict[str, Any]:
    """``qa/run.json`` (run timestamp, run id, mode) as ``qa_queries`` wrote it; empty before."""
    path = Path(qa_dir) / "run.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def ct_path() -> Path | None:
    """The CDISC CT parquet in force (vendored subset unless ``TRIALPIPE_CT`` is set): study/ct.py;
    None when that file does not exist."""
    from study.ct import ct_path as study_ct_path

    path = study_ct_path()
    return path if path.exists() else None


def read_ct(path: Path) -> pd.DataFrame:
    """The CDISC CT parquet (``clst_code is_clst code term ext ...``)."""
    return pq.read_table(path).to_pandas()


def spec_for(standard: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(datasets, variables) of a standard; empty frames while the spec file does not exist yet."""
    from study import spec

    try:
        return spec.datasets(standard), spec.variables(standard)
    except FileNotFoundError:
        return pd.DataFrame(columns=["DATASET", "KEYS"]), pd.DataFrame(columns=["DATASET", "VARIABLE"])


def _output_parquet_files(mode_root: Path, layer: str) -> list[Path]:
    folder = Path(mode_root) / layer
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def read_output_tables(mode_root: Path) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(standard, DATASET, frame) of every SDTM then ADaM Parquet file, in file name order, read
    one by one; dates as datetime64, not Python date objects, so no expectation reads them as text."""
    for standard in OUTPUT_STANDARDS:
        for f in _output_parquet_files(mode_root, standard):
            yield standard, f.stem.upper(), read_parquet(f, date_as_object=False)


def output_files(mode_root: Path) -> pd.DataFrame:
    """Every SDTM/ADaM Parquet file with its row count and dataset label."""
    rows = []
    for layer in OUTPUT_STANDARDS:
        for f in _output_parquet_files(mode_root, layer):
            _, ds_label = read_labels(f)
            rows.append(
                {
                    "LAYER": layer,
                    "DATASET": f.stem.upper(),
                    "LABEL": ds_label or "",
                    "ROWS": pq.read_metadata(f).num_rows,
                }
            )
    return pd.DataFrame(rows, columns=["LAYER", "DATASET", "LABEL", "ROWS"])


def read_sledai_scored(ingest_dir: Path) -> pd.DataFrame:
    """The SLEDAI-2K form with its total per assessment (``VISIT VISITNUM SLEDAI_TOTAL`` ...); the
    three columns without rows before the form has been ingested."""
    sledai = read_form(ingest_dir, "SLEDAI")
    if sledai.empty:
        return pd.DataFrame(columns=["VISIT", "VISITNUM", "SLEDAI_TOTAL"])
    return derive_var_sledai_total(sledai)
