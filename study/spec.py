"""The SDTM/ADaM metadata spec (sdtm.oak / metacore style): datasets and variables as data.

Files, one pair per standard (``sdtm``, ``adam``) in this folder:

``<std>_datasets.csv``  DATASET, LABEL, CLASS, STRUCTURE, KEYS (space-separated sort keys)
``<std>_variables.csv`` DATASET, ORDER, VARIABLE, LABEL, TYPE (Char|Num), LENGTH, CODELIST (NCI
                        codelist code, e.g. C66731, or empty), CORE (Req|Exp|Perm|Cond), ORIGIN
                        (CRF|Derived|Assigned|Protocol|Predecessor), SOURCE (e.g. ``DM.SEX``),
                        ALGORITHM (mapping rule name, e.g. ``direct``, ``assign``, ``iso_dtc``),
                        METHOD (derivation text for define.xml)

The mapping code, the conformance schemas, the Parquet labels and define.xml all read these.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from study import STUDY_DIR

STANDARDS = ("sdtm", "adam")


@cache
def _read(standard: str, kind: str) -> pd.DataFrame:
    if standard not in STANDARDS:
        raise ValueError(f"standard must be one of {STANDARDS}, not {standard!r}")
    path = STUDY_DIR / f"{standard}_{kind}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if kind == "variables":
        df["ORDER"] = df["ORDER"].astype(int)
        df["LENGTH"] = pd.to_numeric(df["LENGTH"].replace("", None), errors="coerce").astype("Int64")
        df = df.sort_values(["DATASET", "ORDER"], kind="stable").reset_index(drop=True)
    return df


def datasets(standard: str) -> pd.DataFrame:
    """All datasets of a standard with label, class, structure and keys."""
    return _read(standard, "datasets").copy()


def variables(standard: str, dataset: str | None = None) -> pd.DataFrame:
    """Variables in spec order, of one dataset or all."""
    df = _read(standard, "variables")
    if dataset is not None:
        df = df[df["DATASET"] == dataset.upper()]
    return df.reset_index(drop=True).copy()


def dataset_row(standard: str, dataset: str) -> dict:
    df = _read(standard, "datasets")
    rows = df[df["DATASET"] == dataset.upper()]
    if rows.empty:
        raise KeyError(f"{dataset} is not in {standard}_datasets.csv")
    return rows.iloc[0].to_dict()


def labels(standard: str, dataset: str) -> dict[str, str]:
    """Variable -> label for one dataset."""
    v = variables(standard, dataset)
    return dict(zip(v["VARIABLE"], v["LABEL"], strict=True))


def keys(standard: str, dataset: str) -> list[str]:
    """Sort keys of a dataset (the stable order of its rows)."""
    return dataset_row(standard, dataset)["KEYS"].split()


def dataset_label(standard: str, dataset: str) -> str:
    return dataset_row(standard, dataset)["LABEL"]


def conform(df: pd.DataFrame, standard: str, dataset: str) -> pd.DataFrame:
    """Columns in spec order; a spec variable the frame lacks raises (names them), extra columns
    raise too: the spec is the single source of what a dataset holds."""
    order = variables(standard, dataset)["VARIABLE"].tolist()
    missing = [c for c in order if c not in df.columns]
    extra = [c for c in df.columns if c not in order]
    if missing or extra:
        raise KeyError(f"{standard.upper()} {dataset}: missing {missing}, not in spec {extra}")
    return df[order]
