"""pandera conformance schemas of the ADaM datasets, generated from study/adam_variables.csv.

Per dataset: every spec variable present in spec order and nothing else; names upper case and 8
characters at most, labels 40 at most (checked on the spec); ``Char`` variables text of at most
200 bytes; ``Num`` numeric; ``date`` variables Arrow ``date32``, ``datetime`` ones datetime64; the
spec keys unique; flag values from their codelists (``*FL`` population flags ``Y``/``N``; record flags
``ABLFL ANL01FL ONTRTFL TRTEMFL DTHFL AOCC*FL`` ``Y`` or missing). ``blinded=True`` adds the blinding
rule: arm and treatment variables only ``BLINDED`` or missing, numeric treatment codes missing
(derivations.md, Populations).
"""

from __future__ import annotations

import datetime
from functools import cache

import pandas as pd
import pandera.pandas as pa

from schemas.sdtm_conformance import byte_length_ok
from study import spec

YN_FLAGS = {"RANDFL", "SAFFL", "FASFL", "PPROTFL", "ELIGFL"}
Y_OR_NULL_FLAGS = {"ABLFL", "ANL01FL", "ONTRTFL", "TRTEMFL", "DTHFL", "AOCCIFL", "AOCCPFL", "AOCCSIFL"}
TREATMENT_TEXT = {"ARMCD", "ARM", "ACTARMCD", "ACTARM", "TRT01P", "TRT01A", "TRTP", "TRTA"}
TREATMENT_NUM = {"TRT01PN", "TRT01AN", "TRTPN", "TRTAN"}


def _is_date32(s: pd.Series) -> bool:
    """Arrow ``date32`` in memory, or ``datetime.date`` objects as pyarrow reads a DATE column back."""
    if str(s.dtype) == "date32[day][pyarrow]":
        return True
    # The set of the values' types is built in C (map, set), not a Python-level loop per value; it
    # stays exact (a datetime is a date subclass and must fail, which pyarrow inference would accept).
    return s.dtype == object and set(map(type, s.dropna())) <= {datetime.date}


def spec_problems(dataset: str) -> list[str]:
    """Spec-level rules (names, labels) for one dataset; empty when conform."""
    v = spec.variables("adam", dataset)
    bad = v[~v["VARIABLE"].str.fullmatch(r"[A-Z][A-Z0-9]{0,7}")]["VARIABLE"].tolist()
    long = v[v["LABEL"].str.len() > 40]["VARIABLE"].tolist()
    return [f"bad name {n}" for n in bad] + [f"label > 40 characters: {n}" for n in long]


@cache
def adam_schema(dataset: str, blinded: bool = False) -> pa.DataFrameSchema:
    """The conformance schema of one ADaM dataset (as written by ``assets.adam.common.finalize``)."""
    v = spec.variables("adam", dataset)
    columns: dict[str, pa.Column] = {}
    for row in v.itertuples():
        variable = str(row.VARIABLE)  # spec tables are read as text
        checks: list[pa.Check] = []
        if row.ALGORITHM == "date":
            checks.append(pa.Check(_is_date32, element_wise=False, name="date32"))
        elif row.ALGORITHM == "datetime":
            checks.append(pa.Check(pd.api.types.is_datetime64_dtype, element_wise=False, name="datetime"))
        elif row.TYPE == "Char":
            checks.append(pa.Check(byte_length_ok, name="char_max_200_bytes"))
        if variable in YN_FLAGS:
            checks.append(pa.Check.isin(["Y", "N"], name="flag_y_n"))
        if variable in Y_OR_NULL_FLAGS:
            checks.append(pa.Check.isin(["Y"], name="flag_y_or_null"))
        if blinded and variable in TREATMENT_TEXT:
            # a randomized subject never dosed has a null actual arm (SDTM DM: ARMNRS says why)
            checks.append(pa.Check.isin(["BLINDED"], name="blinded_treatment"))
        if blinded and variable in TREATMENT_NUM:
            checks.append(pa.Check(lambda s: s.isna(), name="blinded_no_dose_code"))
        dtype = None if row.ALGORITHM in ("date", "datetime") else ("string" if row.TYPE == "Char" else None)
        nullable = variable not in {"STUDYID", "USUBJID"} | (YN_FLAGS & {variable})
        columns[variable] = pa.Column(dtype, checks=checks, nullable=nullable, required=True)
    keys = spec.keys("adam", dataset)
    num_cols = [
        r.VARIABLE for r in v.itertuples() if r.TYPE == "Num" and r.ALGORITHM not in ("date", "datetime")
    ]
    frame_checks = [
        pa.Check(lambda d: list(d.columns) == v["VARIABLE"].tolist(), element_wise=False, name="spec_order"),
        pa.Check(lambda d: ~d.duplicated(keys), name="keys_unique"),
        pa.Check(
            lambda d: all(pd.api.types.is_numeric_dtype(d[c]) for c in num_cols),
            element_wise=False,
            name="num_numeric",
        ),
    ]
    if dataset == "ADEFF":
        frame_checks.append(
            pa.Check(
                # (v2) missing only for a visit not yet due at the data cut
                lambda d: (
                    (d["PARAMCD"] != "SRI4")
                    | d["AVALC"].isin(["Y", "N"]).fillna(False)
                    | (d["AVALC"].isna() & d["AVAL"].isna() & d["NRREAS"].eq("NOT YET DUE").fillna(False))
                ),
                name="sri4_avalc_y_n_or_not_yet_due",
            )
        )
        frame_checks.append(
            pa.Check(
                lambda d: (d["PARAMCD"] != "SRI4") | d["AVALC"].eq("Y").fillna(False) | d["NRREAS"].notna(),
                name="sri4_non_response_has_reason",
            )
        )
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True, name=f"adam_{dataset.lower()}")


def conformance_failures(df: pd.DataFrame, dataset: str, blinded: bool = False) -> pd.DataFrame:
    """Failure cases (column, check, value) of a dataset; empty when it conforms."""
    from pandera.errors import SchemaErrors

    problems = spec_problems(dataset)
    try:
        adam_schema(dataset, blinded).validate(df, lazy=True)
        cases = pd.DataFrame(columns=["column", "check", "failure_case"])
    except SchemaErrors as err:
        cases = err.failure_cases[["column", "check", "failure_case"]].astype("string")
    if problems:
        cases = pd.concat([cases, pd.DataFrame({"column": "spec", "check": problems, "failure_case": ""})])
    return cases.reset_index(drop=True)
