"""Fixtures: the tiny trial of trial.py, harmonized form by form (as ingest writes them), and the
SDTM layer run on it once per module (blinded twice for byte determinism, unblinded once)."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.ingest.harmonize import drop_helper_columns, harmonize_form
from tests.assets.sdtm.pipeline import run_sdtm_layer
from tests.assets.sdtm.trial import EXPORT_ID, site_forms, write_trial


def harmonized(form: str, rows: list[dict]) -> pd.DataFrame:
    """Rows of a form as ingest would store them: text columns + harmonized ones + lineage."""
    import study

    cols = study.required_columns(form)
    df = pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows], dtype="string")
    df["STUDYID"], df["SITEID"] = "LDIL2SLE", "101"
    df = df.replace("", pd.NA)
    df["SRC_EXPORT"] = EXPORT_ID
    df["SRC_FILE"] = f"sites/101/{EXPORT_ID}/{form}.csv"
    df["SRC_LINE"] = pd.Series(range(2, len(df) + 2), dtype="Int64")
    return drop_helper_columns(harmonize_form(df, form))


@pytest.fixture(scope="module")
def forms() -> dict[str, pd.DataFrame]:
    return {form: harmonized(form, rows) for form, rows in site_forms().items()}


@pytest.fixture(scope="module")
def sdtm_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdtm_trial")
    landing, restricted = write_trial(root)
    first = run_sdtm_layer(landing, root / "wh1")
    second = run_sdtm_layer(landing, root / "wh2")
    unblinded = run_sdtm_layer(landing, root / "wh1", unblinded=True, restricted=restricted)
    return {"root": root, "first": first, "second": second, "unblinded": unblinded}
