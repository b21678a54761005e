"""What define.xml says about the data themselves, read from the written tables (Arrow): the
value-level rows of ``--TESTCD`` findings (per result variable and test code, and per specimen
for a code measured in more than one) and the terms each codelist variable uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.exports.define_xml_base import NUMERIC_LENGTH
from assets.exports.metadata import Dataset, per_value, value_type

VALUE_LEVEL_RESULTS = ("ORRES", "STRESN")


@dataclass(frozen=True)
class ValueLevel:
    """One value-level ItemDef: ``variable`` of ``dataset`` where ``testcd_var`` = ``testcd``."""

    dataset: str
    variable: str
    testcd_var: str
    testcd: str
    test: str
    define_type: str
    length: int
    spec_var: str = ""  # --SPEC, when the test code is measured in more than one specimen
    spec: str = ""

    @property
    def key(self) -> str:
        """The OID part of the row: the test code, then the specimen when it takes part."""
        return f"{self.testcd}.{self.spec}" if self.spec_var else self.testcd


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column without its dictionary encoding (an all-missing null column as text)."""
    if pa.types.is_null(col.type):
        return col.cast(pa.string())
    return col.cast(value_type(col.type)) if pa.types.is_dictionary(col.type) else col


def _not_number(values: pa.Array) -> pa.Array:
    """Per value: not missing, not empty and not read as a number by ``pandas.to_numeric`` (the
    rule that decides ``float`` or ``text``); run on the distinct values only (:func:`per_value`)."""
    text = pd.Series(values.to_pandas(), dtype="string")
    numeric = pd.to_numeric(text, errors="coerce")
    flags = text.notna() & (text != "") & numeric.isna()
    return pa.array(flags.to_numpy(dtype=bool, na_value=False), pa.bool_())


def collect_value_levels(dataset: Dataset, table: pa.Table) -> list[ValueLevel]:
    """Value-level rows of a ``--TESTCD`` findings dataset: per result variable present (``--ORRES``,
    ``--STRESN``) and test code, the data type (``float`` when every value of ``--ORRES`` for that
    test is a number) and the longest value (UTF-8 bytes). Lengths and number tests are computed
    per distinct value (the columns come dictionary encoded), then aggregated per test code in
    Arrow."""
    prefix = dataset.name[:2] if dataset.standard == "sdtm" else ""
    testcd_var = f"{prefix}TESTCD"
    if not prefix or testcd_var not in table.column_names:
        return []
    codes = _plain(table.column(testcd_var))
    has_code = pc.is_valid(codes)
    keys, spec_var = _test_keys(table, prefix, codes)
    tests = _plain(table.column(f"{prefix}TEST")) if f"{prefix}TEST" in table.column_names else codes
    # the test name of a code is the one on its first row (missing -> "")
    first = (
        pa.table({"TESTCD": codes, "ROW": pa.array(np.arange(len(codes)))})
        .filter(has_code)
        .group_by("TESTCD")
        .aggregate([("ROW", "min")])
    )
    test_name = dict(
        zip(
            first["TESTCD"].to_pylist(),
            pc.fill_null(tests.take(first["ROW_min"]), "").to_pylist(),
            strict=True,
        )
    )
    out = []
    for suffix in VALUE_LEVEL_RESULTS:
        var = f"{prefix}{suffix}"
        if var not in table.column_names:
            continue
        parent = dataset.variable(var)
        col = table.column(var)
        if parent.type == "Char":
            col = col.cast(pa.string()) if pa.types.is_null(col.type) else col
            length = per_value(col, pc.binary_length).cast(pa.int64())
            not_number = pc.fill_null(per_value(col, _not_number), False)
        else:
            length = pa.repeat(pa.scalar(NUMERIC_LENGTH, pa.int64()), len(codes))
            not_number = pa.repeat(pa.scalar(False), len(codes))
        stats = (
            pa.table({"KEY": keys, "LEN": length, "NOT_NUMBER": not_number})
            .filter(has_code)
            .group_by("KEY")
            .aggregate([("LEN", "max"), ("NOT_NUMBER", "any")])
            .sort_by("KEY")
        )
        for key, longest, not_num in zip(
            stats["KEY"].to_pylist(),
            stats["LEN_max"].to_pylist(),
            stats["NOT_NUMBER_any"].to_pylist(),
            strict=True,
        ):
            code, sep, spec = str(key).partition(KEY_SEPARATOR)
            if parent.type == "Char":
                kind = "text" if not_num else "float"
            else:
                kind = parent.define_type
            out.append(
                ValueLevel(
                    dataset.name,
                    var,
                    testcd_var,
                    code,
                    str(test_name.get(code, "")),
                    kind,
                    max(longest or 1, 1),  # no value: length 1
                    spec_var if sep else "",
                    spec,
                )
            )
    return out


KEY_SEPARATOR = "\x1f"


def _test_keys(table: pa.Table, prefix: str, codes: pa.ChunkedArray) -> tuple[pa.Array, str]:
    """Per row, what selects its value-level metadata: the test code, and for a code measured in
    more than one specimen (``--SPEC``: leukocytes in blood and in urine, derivations.md v2) the
    code and the specimen; and the specimen variable's name."""
    spec_var = f"{prefix}SPEC"
    plain_codes = codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
    if spec_var not in table.column_names:
        return plain_codes, spec_var
    specs = pc.fill_null(_plain(table.column(spec_var)).cast(pa.string()), "").combine_chunks()
    counted = (
        pa.table({"TESTCD": plain_codes, "SPEC": specs})
        .group_by("TESTCD")
        .aggregate([("SPEC", "count_distinct")])
    )
    multi = counted.filter(pc.greater(counted["SPEC_count_distinct"], 1))["TESTCD"].combine_chunks()
    if len(multi) == 0:
        return plain_codes, spec_var
    joined = pc.binary_join_element_wise(plain_codes, specs, KEY_SEPARATOR)
    return pc.if_else(pc.is_in(plain_codes, value_set=multi), joined, plain_codes), spec_var


def collect_used_terms(dataset: Dataset, table: pa.Table) -> dict[str, list[str]]:
    """Variable -> sorted distinct non-empty values, for the variables that have a codelist."""
    out = {}
    for v in dataset.variables:
        if not v.codelist or v.name not in table.column_names:
            continue
        out[v.name] = sorted({u for u in _distinct(table.column(v.name)) if u not in (None, "")})
    return out


def _distinct(col: pa.ChunkedArray) -> set:
    """The distinct values of a column as text (missing as None). A dictionary-encoded chunk gives
    the dictionary entries its rows use, without decoding every row."""
    out = set()
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary.take(pc.unique(chunk.indices))
        out.update(pc.unique(chunk.cast(pa.string())).to_pylist())
    return out


def value_levels_by_variable(value_levels: list[ValueLevel]) -> dict[tuple[str, str], list[ValueLevel]]:
    """(dataset, variable) -> its value-level rows, in the order given."""
    by_var: dict[tuple[str, str], list[ValueLevel]] = {}
    for vl in value_levels:
        by_var.setdefault((vl.dataset, vl.variable), []).append(vl)
    return by_var
