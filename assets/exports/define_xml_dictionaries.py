"""External dictionaries in define.xml: the MedDRA coding of AE (site-export.md v2, AE MedDRA coding).

The coding is delivered by the sponsor's coding team, so its variables draw on no CDISC codelist but
on MedDRA at the version delivered. Define-XML 2.1 says so with a ``CodeList`` holding an
``ExternalCodeList`` (dictionary and version), referenced by every coded variable's ``ItemDef``.
Which variables, and where the version is read (TS ``DICTVER`` with ``TSVCDREF = MedDRA``), is study
metadata: ``study/external_dictionaries.csv``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pandas as pd

import study
from assets.exports.define_xml_base import o
from assets.exports.metadata import Dataset


@dataclass(frozen=True)
class ExternalDictionary:
    oid: str
    dictionary: str
    version: str
    data_type: str
    variables: frozenset[str]


def dictionary_versions(ts: pd.DataFrame | None, parmcd: str, reference: str) -> list[str]:
    """The versions TS records for a dictionary (``TSVAL`` of ``TSPARMCD`` rows whose ``TSVCDREF``
    is ``reference``), sorted; empty when TS has none (no coded data yet)."""
    if ts is None or ts.empty or not {"TSPARMCD", "TSVAL", "TSVCDREF"} <= set(ts.columns):
        return []
    rows = ts[ts["TSPARMCD"].eq(parmcd).fillna(False) & ts["TSVCDREF"].eq(reference).fillna(False)]
    return sorted(rows["TSVAL"].dropna().astype(str).unique())


def external_dictionaries(datasets: list[Dataset]) -> list[ExternalDictionary]:
    """The external dictionaries the data use, with the version from the TS dataset's file. When TS
    records several versions (sites coded with different releases) they are all named."""
    ts_path = next((ds.path for ds in datasets if ds.name == "TS" and ds.path is not None), None)
    ts = pd.read_parquet(ts_path) if ts_path is not None and ts_path.exists() else None
    present = {v.name for ds in datasets for v in ds.variables}
    out = []
    for row in study.table("external_dictionaries").astype(str).to_dict("records"):
        versions = dictionary_versions(ts, row["TSPARMCD"], row["TSVCDREF"])
        variables = frozenset(row["VARIABLES"].split()) & present
        if versions and variables:
            out.append(
                ExternalDictionary(
                    row["CODELIST_OID"], row["DICTIONARY"], ", ".join(versions), row["DATATYPE"], variables
                )
            )
    return out


def dictionary_for(variable: str, dictionaries: list[ExternalDictionary]) -> ExternalDictionary | None:
    return next((x for x in dictionaries if variable in x.variables), None)


def build_external_codelists(mdv: ET.Element, dictionaries: list[ExternalDictionary]) -> None:
    """One ``CodeList`` with an ``ExternalCodeList`` per dictionary and data type."""
    for x in dictionaries:
        cl = ET.SubElement(
            mdv, o("CodeList"), {"OID": x.oid, "Name": f"{x.dictionary} {x.version}", "DataType": x.data_type}
        )
        ET.SubElement(cl, o("ExternalCodeList"), {"Dictionary": x.dictionary, "Version": x.version})
