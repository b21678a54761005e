"""MedDRA as an external dictionary in define.xml (site-export.md v2, AE MedDRA coding)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd

from assets.exports.define_xml_base import o
from assets.exports.define_xml_dictionaries import (
    ExternalDictionary,
    build_external_codelists,
    dictionary_for,
    dictionary_versions,
    external_dictionaries,
)
from assets.exports.metadata import Dataset, Variable


def _var(name: str, order: int) -> Variable:
    return Variable(name, name, "Char", "string", "text", 20, order)


def _ts(tmp_path, rows: list[tuple[str, str, str]]) -> Dataset:
    path = tmp_path / "ts.parquet"
    pd.DataFrame(rows, columns=["TSPARMCD", "TSVAL", "TSVCDREF"]).to_parquet(path)
    names = ("TSPARMCD", "TSVAL", "TSVCDREF")
    return Dataset(
        "sdtm",
        "TS",
        "Trial Summary",
        "TRIAL DESIGN",
        "",
        (),
        tuple(_var(n, i) for i, n in enumerate(names, 1)),
        len(rows),
        path,
    )


def _ae() -> Dataset:
    names = ("AETERM", "AEDECOD", "AEPTCD", "AESOC")
    return Dataset(
        "sdtm", "AE", "Adverse Events", "EVENTS", "", (), tuple(_var(n, i) for i, n in enumerate(names, 1)), 3
    )


def test_the_version_comes_from_ts_and_names_every_version_delivered():
    ts = pd.DataFrame(
        {
            "TSPARMCD": ["DICTVER", "DICTVER", "DICTVER", "TITLE"],
            "TSVAL": ["27.0", "26.1", "9.9", "x"],
            "TSVCDREF": ["MedDRA", "MedDRA", "WHODrug", None],
        }
    )
    assert dictionary_versions(ts, "DICTVER", "MedDRA") == ["26.1", "27.0"]
    assert dictionary_versions(ts.iloc[3:], "DICTVER", "MedDRA") == []
    assert dictionary_versions(None, "DICTVER", "MedDRA") == []


def test_coded_variables_of_the_data_refer_to_meddra_at_the_delivered_version(tmp_path):
    found = external_dictionaries([_ts(tmp_path, [("DICTVER", "27.0", "MedDRA")]), _ae()])
    assert found == [
        ExternalDictionary("CL.MEDDRA", "MedDRA", "27.0", "text", frozenset({"AEDECOD", "AESOC"})),
        ExternalDictionary("CL.MEDDRA.CODE", "MedDRA", "27.0", "integer", frozenset({"AEPTCD"})),
    ]
    assert dictionary_for("AEPTCD", found).oid == "CL.MEDDRA.CODE"
    assert dictionary_for("AETERM", found) is None
    mdv = ET.Element(o("MetaDataVersion"))
    build_external_codelists(mdv, found)
    lists = mdv.findall(o("CodeList"))
    assert [(c.get("OID"), c.get("Name"), c.get("DataType")) for c in lists] == [
        ("CL.MEDDRA", "MedDRA 27.0", "text"),
        ("CL.MEDDRA.CODE", "MedDRA 27.0", "integer"),
    ]
    assert [c.find(o("ExternalCodeList")).attrib for c in lists] == [
        {"Dictionary": "MedDRA", "Version": "27.0"}
    ] * 2


def test_no_coded_data_no_dictionary(tmp_path):
    assert external_dictionaries([_ts(tmp_path, [("TITLE", "x", "")]), _ae()]) == []
    assert external_dictionaries([_ae()]) == []
