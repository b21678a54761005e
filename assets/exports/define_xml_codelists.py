"""The ``CodeList``s of define.xml: CDISC/NCI controlled terminology (``load_ct``), the terms of
each spec codelist the data use with their NCI codes (``select_codelists``), the sponsor-defined
test codes (terms a CDISC ``--TESTCD`` codelist lacks) and the ``CodeList`` elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from assets.exports.define_xml_base import d, o
from assets.exports.metadata import Dataset, Variable
from study.ct import ct_path

CT_PATH = ct_path()
"""NCI EVS SDTM terminology as Parquet: the vendored subset of study/ct.py; TRIALPIPE_CT overrides."""
CT_VERSION = "2025-03-28"
CT_STANDARD_OID = f"STD.CT.SDTM.{CT_VERSION}"


def load_ct(path: Path = CT_PATH, codelists: set[str] | None = None) -> pd.DataFrame:
    """The CDISC CT rows (codelists and terms) of ``codelists`` (all when None); no rows when the
    terminology file is absent (codelists then list the data's terms without NCI codes)."""
    columns = ["clst_code", "is_clst", "code", "term", "ext", "name", "nci"]
    if not Path(path).is_file():
        return pd.DataFrame({c: pd.Series(dtype=bool if c == "is_clst" else object) for c in columns})
    ct = pd.read_parquet(path, columns=columns)
    return ct if codelists is None else ct[ct["clst_code"].isin(codelists)].reset_index(drop=True)


def codelist_oid(codelist: str) -> str:
    """``CL.<NCI code>``; a variable drawing on several codelists (``C66727 C114118``: DSDECOD takes
    completion reasons and protocol milestones) gets one combined list ``CL.C66727_C114118``."""
    return "CL." + "_".join(codelist.split())


def codelist_codes(datasets: list[Dataset]) -> set[str]:
    """Every NCI codelist code the datasets' variables refer to."""
    return {code for ds in datasets for v in ds.variables for code in v.codelist.split()}


@dataclass(frozen=True)
class Codelist:
    """One ``CodeList`` to write: its name, the NCI codes of the codelists it is made of (those in
    the terminology), whether any of them is CDISC CT, its data type and its terms in order."""

    name: str
    nci_codes: list[str]
    in_ct: bool
    data_type: str
    items: list[tuple[str, str | None, bool]]  # (term, NCI code or None, extended)


def select_codelists(
    datasets: list[Dataset], used: dict[tuple[str, str], list[str]], ct: pd.DataFrame
) -> dict[str, Codelist]:
    """Spec codelist -> the :class:`Codelist` of the terms the data uses (all its terms when no data
    uses it); a codelist with no term at all is left out."""
    terms_of: dict[str, set[str]] = {}
    types_of: dict[str, set[str]] = {}
    for ds in datasets:
        for v in ds.variables:
            if not v.codelist.strip():
                continue
            terms_of.setdefault(v.codelist, set()).update(used.get((ds.name, v.name), []))
            types_of.setdefault(v.codelist, set()).add(v.define_type if v.type == "Num" else "text")
    out = {}
    for spec_code in sorted(terms_of):
        codes = spec_code.split()
        rows = ct[ct["clst_code"].isin(codes)]
        heads = rows[rows["is_clst"]].set_index("clst_code")
        terms = rows[~rows["is_clst"]].sort_values("term", kind="stable").drop_duplicates("term")
        by_term = dict(zip(terms["term"], terms["code"], strict=True))
        chosen = sorted(terms_of[spec_code]) or sorted(by_term)
        if not chosen:
            continue
        types = types_of[spec_code]
        out[spec_code] = Codelist(
            name=" / ".join(str(heads["name"].get(c, c)) for c in codes),
            nci_codes=[c for c in codes if c in heads.index],
            in_ct=not heads.empty,
            data_type=types.pop() if types in ({"integer"}, {"float"}) else "text",
            items=[(t, by_term.get(t), t not in by_term) for t in chosen],
        )
    return out


def sponsor_test_codes(
    datasets: dict[str, Dataset], codelists: dict[str, Codelist]
) -> dict[tuple[str, str], str]:
    """(dataset, test code) -> its codelist's name, for the codes a ``--TESTCD`` codelist drawn
    from CDISC CT does not hold (the terms marked ``def:ExtendedValue``)."""
    out = {}
    for ds in datasets.values():
        for v in ds.variables:
            cl = codelists.get(v.codelist)
            if v.name.endswith("TESTCD") and cl is not None and cl.in_ct:
                out.update({(ds.name, term): cl.name for term, _, extended in cl.items if extended})
    return out


def draws_on_no_ct(ds: Dataset, variable: str, codelists: dict[str, Codelist]) -> bool:
    """Whether ``variable`` of ``ds`` (a ``--TESTCD``) takes its codes from no CDISC CT codelist
    (none in the spec, as for IETESTCD and the QRS codes of RSTESTCD, or a sponsor codelist): every
    code it holds is then sponsor defined."""
    if all(v.name != variable for v in ds.variables):
        return False
    cl = codelists.get(ds.variable(variable).codelist)
    return cl is None or not cl.in_ct


def sponsor_parameter_codes(v: Variable, codelists: dict[str, Codelist]) -> tuple[str, list[str]]:
    """For a ``--PARMCD`` variable (TSPARMCD) on a CDISC CT codelist: the codelist's name and the
    codes the data use that it does not hold (sponsor-defined parameters, ``def:ExtendedValue``);
    no codes otherwise."""
    cl = codelists.get(v.codelist)
    if not v.name.endswith("PARMCD") or cl is None or not cl.in_ct:
        return "", []
    return cl.name, [term for term, _, extended in cl.items if extended]


def build_codelists(mdv: ET.Element, codelists: dict[str, Codelist]) -> None:
    """One ``CodeList`` per codelist: ``EnumeratedItem``s (NCI code as ``Alias``, terms CDISC CT
    lacks marked ``def:ExtendedValue``), then the codelists' own NCI codes as ``Alias``."""
    for code, cl in codelists.items():
        attrs = {"OID": codelist_oid(code), "Name": cl.name, "DataType": cl.data_type}
        if cl.in_ct:
            attrs[d("StandardOID")] = CT_STANDARD_OID
        cl_el = ET.SubElement(mdv, o("CodeList"), attrs)
        for rank, (term, nci, extended) in enumerate(cl.items, start=1):
            item_attrs = {"CodedValue": term, "OrderNumber": str(rank)}
            if extended and cl.in_ct:
                item_attrs[d("ExtendedValue")] = "Yes"
            enum = ET.SubElement(cl_el, o("EnumeratedItem"), item_attrs)
            if nci:
                ET.SubElement(enum, o("Alias"), {"Context": "nci:ExtCodeID", "Name": nci})
        # a CodeList has at most one NCI code (Define-XML 2.1): a list combined from several
        # codelists (DSDECOD) keeps its terms' codes but names no single codelist code
        if len(cl.nci_codes) == 1:
            ET.SubElement(cl_el, o("Alias"), {"Context": "nci:ExtCodeID", "Name": cl.nci_codes[0]})
