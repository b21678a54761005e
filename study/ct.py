"""CDISC controlled terminology, vendored: the codelists the SDTM/ADaM spec references.

The full NCI EVS SDTM package (Q1-2025, ``../shared/reference/cdisc_ct``) is 44,856 rows; the
project ships only the codelists named in ``study/sdtm_variables.csv`` and ``study/adam_variables.csv``
(whole codelists, every term), so a fresh clone runs without the reference folder.
``TRIALPIPE_CT`` may point at another CT parquet of the same columns. Refresh the subset after a
spec change with ``python -m study.ct /path/to/sdtm_ct_YYYY-MM-DD.parquet``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

CT_DIR = Path(__file__).resolve().parent / "terminology"
SUBSET = CT_DIR / "sdtm_ct_2025-03-28_subset.parquet"
CT_ENV = "TRIALPIPE_CT"
COLUMNS = ["clst_code", "is_clst", "code", "term", "ext", "name", "syn", "nci"]


def ct_path() -> Path:
    """The CT parquet in force: ``TRIALPIPE_CT`` when set, else the vendored subset."""
    return Path(os.environ.get(CT_ENV) or SUBSET)


def spec_codelists() -> set[str]:
    from study import STUDY_DIR

    codes: set[str] = set()
    for std in ("sdtm", "adam"):
        v = pd.read_csv(STUDY_DIR / f"{std}_variables.csv", dtype=str, keep_default_na=False)
        codes |= {c for cell in v["CODELIST"] for c in cell.split() if c}
    return codes


def write_subset(source: Path) -> Path:
    """Extract the spec's codelists from a full CT parquet into the vendored subset."""
    ct = pd.read_parquet(source)
    sub = ct[ct["clst_code"].isin(spec_codelists())][COLUMNS]
    sub = sub.sort_values(["clst_code", "is_clst", "term"], ascending=[True, False, True], kind="stable")
    sub.reset_index(drop=True).to_parquet(SUBSET, compression="zstd", index=False)
    return SUBSET


if __name__ == "__main__":
    print(write_subset(Path(sys.argv[1])))
