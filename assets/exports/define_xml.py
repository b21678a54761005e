"""define.xml 2.1 from the metadata spec and the written datasets, and its structural check.

Content (CDISC Define-XML 2.1 specification):
- ``ODM/Study/GlobalVariables`` and one ``MetaDataVersion`` with ``def:Standards`` (SDTMIG 3.4,
  ADaMIG 1.3, CDISC/NCI CT 2025-03-28 as far as used);
- one ``ItemGroupDef`` per written dataset (``Purpose`` Tabulation / Analysis, ``def:Structure``,
  ``def:Class``, ``def:leaf`` to its XPT file) with ``ItemRef``s (``OrderNumber``, ``Mandatory`` =
  ``Yes`` for ``CORE`` Req, ``KeySequence`` from the dataset keys, ``MethodOID`` for derived
  variables);
- one ``ItemDef`` per variable (``DataType``, ``Length``, label as ``Description``, ``def:Origin``,
  ``CodeListRef``, ``def:ValueListRef``);
- value-level metadata for ``--TESTCD`` findings domains: for ``--ORRES`` and ``--STRESN`` one
  ``ItemDef`` per test code, selected by a ``def:WhereClauseDef`` ``--TESTCD EQ <code>``;
- ``CodeList``s for the spec's NCI codelists, with the terms the data uses (all the codelist's
  terms when no data uses it), each with its NCI code as ``Alias``; a term the data uses that the
  codelist lacks is marked ``def:ExtendedValue="Yes"``;
- ``MethodDef``s with the spec's ``METHOD`` text for variables of origin ``Derived``.
Element order follows the Define-XML 2.1 schema. OIDs: ``IG.<DS>``, ``IT.<DS>.<VAR>``,
``IT.<DS>.<VAR>.<TESTCD>``, ``VL.<DS>.<VAR>``, ``WC.<DS>.<TESTCD>``, ``CL.<NCI code>``,
``MT.<DS>.<VAR>``, ``COM.<DS>[.<VAR>]``.

This module assembles the file; its parts live beside it: ``define_xml_base`` (namespaces, tags,
``Description`` and ``ItemDef`` elements), ``define_xml_values`` (value-level rows and used terms,
read from the data) and ``define_xml_codelists`` (CT, codelists, sponsor-defined test codes).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from assets.common.atomic import atomic_write_text
from assets.common.version import code_version
from assets.exports.define_xml_base import DEF_NS, NUMERIC_LENGTH, XLINK_NS, d, description, item_def, o
from assets.exports.define_xml_codelists import (
    CT_PATH,
    CT_STANDARD_OID,
    CT_VERSION,
    Codelist,
    build_codelists,
    codelist_codes,
    codelist_oid,
    draws_on_no_ct,
    load_ct,
    select_codelists,
    sponsor_parameter_codes,
    sponsor_test_codes,
)
from assets.exports.define_xml_dictionaries import (
    ExternalDictionary,
    build_external_codelists,
    dictionary_for,
    external_dictionaries,
)
from assets.exports.define_xml_values import (
    ValueLevel,
    collect_used_terms,
    collect_value_levels,
    value_levels_by_variable,
)
from assets.exports.metadata import Dataset, Variable
from assets.exports.not_written import NotWritten

__all__ = [  # the module's interface (build.py, define_html.py and the tests use these names)
    "CT_PATH",
    "DEF_NS",
    "NUMERIC_LENGTH",
    "XLINK_NS",
    "ValueLevel",
    "build_define",
    "codelist_codes",
    "collect_used_terms",
    "collect_value_levels",
    "d",
    "define_problems",
    "load_ct",
    "o",
    "write_define",
]

STANDARDS = {
    "sdtm": {"OID": "STD.SDTMIG.3.4", "Name": "SDTMIG", "Version": "3.4", "Purpose": "Tabulation"},
    "adam": {"OID": "STD.ADaMIG.1.3", "Name": "ADaMIG", "Version": "1.3", "Purpose": "Analysis"},
}
ORIGIN_TYPES = {
    "CRF": ("Collected", "Investigator"),
    "COLLECTED": ("Collected", "Investigator"),
    "EDT": ("Collected", "Vendor"),
    "DERIVED": ("Derived", "Sponsor"),
    "ASSIGNED": ("Assigned", "Sponsor"),
    "PROTOCOL": ("Protocol", "Sponsor"),
    "PREDECESSOR": ("Predecessor", None),
}


def _origin(parent: ET.Element, v: Variable) -> None:
    kind, source = ORIGIN_TYPES.get(v.origin.strip().upper(), ("Not Available", None))
    attrs = {"Type": kind}
    if source:
        attrs["Source"] = source
    origin = ET.SubElement(parent, d("Origin"), attrs)
    if kind == "Predecessor" and v.source:
        description(origin, v.source)
    elif kind in ("Assigned", "Protocol") and v.method:
        description(origin, v.method)


def method_oid(dataset: Dataset, v: Variable) -> str | None:
    return f"MT.{dataset.name}.{v.name}" if v.origin.strip().upper() == "DERIVED" and v.method else None


def build_define(
    datasets: list[Dataset],
    value_levels: list[ValueLevel],
    used_terms: dict[tuple[str, str], list[str]],
    ct: pd.DataFrame,
    study_info: dict,
    as_of: str,
    not_written: dict[str, list[NotWritten]] | None = None,
    empty_expected: set[tuple[str, str]] | None = None,
    absent_expected: dict[str, list[str]] | None = None,
) -> ET.ElementTree[ET.Element]:
    """The define.xml tree. ``study_info``: studyid, title, protocol, mode (blinded/unblinded).
    ``not_written``: dataset name -> its files a format could not hold (derivations.md v2), said
    in a ``def:CommentDef`` of the dataset; its ``def:leaf`` is then the file that was written.
    ``empty_expected``: (dataset, variable) of Expected variables without any value, and
    ``absent_expected``: dataset -> the spec's Expected variables it does not hold; each gets a
    comment (SDTMIG 3.4 section 4.1.4: an Expected variable not collected is explained).

    The parts of ``MetaDataVersion`` are added in the order the Define-XML 2.1 schema asks for."""
    comments: dict[str, str] = {}
    codelists = select_codelists(datasets, used_terms, ct)
    by_var = value_levels_by_variable(value_levels)
    odm = build_odm(study_info, as_of)
    mdv = build_study_metadata(odm, study_info)
    build_standards(mdv, datasets, codelists)
    build_value_lists(mdv, by_var, datasets, codelists, comments)
    build_item_group_defs(mdv, datasets, not_written or {}, comments, absent_expected or {})
    dictionaries = external_dictionaries(datasets)
    build_item_defs(mdv, datasets, codelists, by_var, empty_expected or set(), comments, dictionaries)
    build_value_level_item_defs(mdv, datasets, by_var)
    build_codelists(mdv, codelists)
    build_external_codelists(mdv, dictionaries)
    build_methods(mdv, datasets)
    build_comments(mdv, comments)
    ET.indent(odm, space="  ")
    return ET.ElementTree(odm)


def build_odm(study_info: dict, as_of: str) -> ET.Element:
    """The ``ODM`` root: a snapshot of the study's submission metadata, created ``as_of``."""
    studyid = study_info["studyid"]
    mode = study_info.get("mode", "blinded")
    return ET.Element(
        o("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"DEF.{studyid}.{mode}",
            "ODMVersion": "1.3.2",
            "CreationDateTime": as_of,
            "Originator": study_info.get("originator", "trialpipe"),
            "SourceSystem": "trialpipe",
            "SourceSystemVersion": code_version(),
            d("Context"): "Submission",
        },
    )


def build_study_metadata(odm: ET.Element, study_info: dict) -> ET.Element:
    """``Study`` with its ``GlobalVariables`` and the (still empty) ``MetaDataVersion``, returned."""
    studyid = study_info["studyid"]
    mode = study_info.get("mode", "blinded")
    study_el = ET.SubElement(odm, o("Study"), {"OID": f"ST.{studyid}"})
    gv = ET.SubElement(study_el, o("GlobalVariables"))
    ET.SubElement(gv, o("StudyName")).text = studyid
    ET.SubElement(gv, o("StudyDescription")).text = study_info.get("title", studyid)
    ET.SubElement(gv, o("ProtocolName")).text = study_info.get("protocol", studyid)
    mdv = ET.SubElement(
        study_el,
        o("MetaDataVersion"),
        {
            "OID": f"MDV.{studyid}.{mode}",
            "Name": f"{studyid} {mode} submission metadata",
            # ODM 1.3.2: the MetaDataVersion's description is an attribute, not an element
            "Description": f"Study {studyid}: SDTM and ADaM datasets ({mode} warehouse)",
            d("DefineVersion"): "2.1.0",
        },
    )
    return mdv


def build_standards(mdv: ET.Element, datasets: list[Dataset], codelists: dict[str, Codelist]) -> None:
    """``def:Standards``: the implementation guides of the standards written, and CDISC CT when a
    codelist is drawn from it."""
    standards = ET.SubElement(mdv, d("Standards"))
    for std in [s for s in STANDARDS if any(ds.standard == s for ds in datasets)]:
        meta = STANDARDS[std]
        ET.SubElement(
            standards,
            d("Standard"),
            {
                "OID": meta["OID"],
                "Name": meta["Name"],
                "Type": "IG",
                "Version": meta["Version"],
                "Status": "Final",
            },
        )
    if any(c.in_ct for c in codelists.values()):
        ET.SubElement(
            standards,
            d("Standard"),
            {
                "OID": CT_STANDARD_OID,
                "Name": "CDISC/NCI",
                "Type": "CT",
                "PublishingSet": "SDTM",
                "Version": CT_VERSION,
                "Status": "Final",
            },
        )


def build_value_lists(
    mdv: ET.Element,
    by_var: dict[tuple[str, str], list[ValueLevel]],
    datasets: list[Dataset] | None = None,
    codelists: dict[str, Codelist] | None = None,
    comments: dict[str, str] | None = None,
) -> None:
    """One ``def:ValueListDef`` per value-level variable (an ``ItemRef`` per test code, with the
    parent variable's method when it is derived), then one ``def:WhereClauseDef`` ``--TESTCD EQ
    <code>`` per dataset and test code, commented when the code is sponsor defined (not in the
    CDISC CT of its ``--TESTCD`` codelist, or the variable has no CDISC CT codelist). Both come before the ItemGroupDefs (schema order)."""
    by_name = {ds.name: ds for ds in datasets or []}
    comments = comments if comments is not None else {}
    where_clauses: dict[str, ValueLevel] = {}
    for (ds_name, var), rows in sorted(by_var.items()):
        vld = ET.SubElement(mdv, d("ValueListDef"), {"OID": f"VL.{ds_name}.{var}"})
        ds = by_name.get(ds_name)
        method = method_oid(ds, ds.variable(var)) if ds is not None else None
        for i, vl in enumerate(sorted(rows, key=lambda r: r.key), start=1):
            attrs = {"ItemOID": f"IT.{ds_name}.{var}.{vl.key}", "OrderNumber": str(i), "Mandatory": "No"}
            if method:
                attrs["MethodOID"] = method
            ref = ET.SubElement(vld, o("ItemRef"), attrs)
            wc_oid = f"WC.{ds_name}.{vl.key}"
            ET.SubElement(ref, d("WhereClauseRef"), {"WhereClauseOID": wc_oid})
            where_clauses[wc_oid] = vl
    sponsor = sponsor_test_codes(by_name, codelists or {})
    for wc_oid, vl in sorted(where_clauses.items()):
        wc_attrs = {"OID": wc_oid}
        why = _why_sponsor_defined(vl, by_name, codelists or {}, sponsor)
        if why:
            wc_attrs[d("CommentOID")] = f"COM.{vl.dataset}.TESTCD.{vl.testcd}"
            comments[wc_attrs[d("CommentOID")]] = (
                f"Sponsor-defined test code {vl.testcd}"
                + (f" ({vl.test})" if vl.test and vl.test != vl.testcd else "")
                + f": {why}."
            )
        wc = ET.SubElement(mdv, d("WhereClauseDef"), wc_attrs)
        rc = ET.SubElement(
            wc,
            o("RangeCheck"),
            {"Comparator": "EQ", "SoftHard": "Soft", d("ItemOID"): f"IT.{vl.dataset}.{vl.testcd_var}"},
        )
        ET.SubElement(rc, o("CheckValue")).text = vl.testcd
        if vl.spec_var:  # and the specimen (all range checks of a where clause must hold)
            rc = ET.SubElement(
                wc,
                o("RangeCheck"),
                {"Comparator": "EQ", "SoftHard": "Soft", d("ItemOID"): f"IT.{vl.dataset}.{vl.spec_var}"},
            )
            ET.SubElement(rc, o("CheckValue")).text = vl.spec


def _why_sponsor_defined(
    vl: ValueLevel,
    datasets: dict[str, Dataset],
    codelists: dict[str, Codelist],
    sponsor: dict[tuple[str, str], str],
) -> str:
    """Why the test code of a value-level row is sponsor defined ("" when it is CDISC CT): its
    ``--TESTCD`` codelist is drawn from CDISC CT but lacks the code, or the variable draws on no
    CDISC CT codelist at all (IETESTCD; RSTESTCD, whose instruments have no QRS codes). ``sponsor``:
    :func:`sponsor_test_codes` of the datasets."""
    if (vl.dataset, vl.testcd) in sponsor:
        return f"not a term of CDISC CT {sponsor[(vl.dataset, vl.testcd)]} ({CT_VERSION})"
    ds = datasets.get(vl.dataset)
    if ds is not None and draws_on_no_ct(ds, vl.testcd_var, codelists):
        return (
            f"{vl.testcd_var} draws on no CDISC CT codelist (CDISC CT {CT_VERSION} has none for these codes)"
        )
    return ""


def build_item_group_defs(
    mdv: ET.Element,
    datasets: list[Dataset],
    not_written: dict[str, list[NotWritten]] | None = None,
    comments: dict[str, str] | None = None,
    absent_expected: dict[str, list[str]] | None = None,
) -> None:
    """One ``ItemGroupDef`` per dataset: its ``ItemRef``s, ``def:Class`` and ``def:leaf``. A dataset
    with a file not written gets a comment saying which and why (added to ``comments``, OID ->
    text) and the leaf of the format that was written (none when neither was); so does a dataset
    without some of the spec's Expected variables."""
    not_written = not_written or {}
    absent_expected = absent_expected or {}
    comments = comments if comments is not None else {}
    for ds in datasets:
        attrs = _item_group_attributes(ds)
        missing = not_written.get(ds.name, [])
        refused = {m.format for m in missing}
        if refused >= {"xpt", "json"}:
            del attrs[d("ArchiveLocationID")]  # no file to point at
        said = [m.sentence + "." for m in missing]
        if absent_expected.get(ds.name):
            said.append(
                f"Expected variables not in this dataset: {', '.join(absent_expected[ds.name])} "
                "(not collected in this study, or no record needs them)."
            )
        if said:
            attrs[d("CommentOID")] = f"COM.{ds.name}"
            comments[attrs[d("CommentOID")]] = " ".join(said)
        ig = ET.SubElement(mdv, o("ItemGroupDef"), attrs)
        description(ig, ds.label)
        for v in ds.variables:
            ET.SubElement(ig, o("ItemRef"), _item_ref_attributes(ds, v))
        if ds.class_:
            ET.SubElement(ig, d("Class"), {"Name": define_class(ds.class_)})
        if "xpt" not in refused:
            build_leaf(ig, ds)
        elif "json" not in refused:
            build_leaf(ig, ds, "json")


def define_class(spec_class: str) -> str:
    """The ``def:Class`` name of a spec ``CLASS``: upper case, words separated by blanks, as the
    Define-XML 2.1 enumeration spells them (``SPECIAL PURPOSE``, not ``SPECIAL-PURPOSE``)."""
    return " ".join(spec_class.replace("-", " ").upper().split())


def _item_group_attributes(ds: Dataset) -> dict[str, str]:
    """The ``ItemGroupDef`` attributes of a dataset (``Domain`` for SDTM domains, not SUPP--)."""
    std = STANDARDS[ds.standard]
    attrs = {
        "OID": f"IG.{ds.name}",
        "Name": ds.name,
        "SASDatasetName": ds.name,
        "Repeating": "No" if ds.keys and ds.keys[-1] in ("USUBJID",) else "Yes",
        "IsReferenceData": "Yes" if ds.class_.strip().upper() == "TRIAL DESIGN" else "No",
        "Purpose": std["Purpose"],
        d("Structure"): ds.structure or "Not specified",
        d("StandardOID"): std["OID"],
        d("ArchiveLocationID"): f"LF.{ds.name}",
    }
    if ds.standard == "sdtm" and not ds.name.startswith("SUPP"):
        attrs["Domain"] = ds.name
    return attrs


def _item_ref_attributes(ds: Dataset, v: Variable) -> dict[str, str]:
    """A variable's ``ItemRef``: order, mandatory (``CORE`` Req), key sequence, derivation method."""
    ref = {
        "ItemOID": f"IT.{ds.name}.{v.name}",
        "OrderNumber": str(v.order),
        "Mandatory": "Yes" if v.core.strip().lower() == "req" else "No",
    }
    if v.key_sequence:
        ref["KeySequence"] = str(v.key_sequence)
    method = method_oid(ds, v)
    if method:
        ref["MethodOID"] = method
    return ref


def build_leaf(ig: ET.Element, ds: Dataset, suffix: str = "xpt") -> None:
    """The ``def:leaf`` of a dataset: its XPT file (or ``suffix``), relative to define.xml."""
    leaf = ET.SubElement(
        ig,
        d("leaf"),
        {"ID": f"LF.{ds.name}", f"{{{XLINK_NS}}}href": f"{ds.standard}/{ds.file_stem}.{suffix}"},
    )
    ET.SubElement(leaf, d("title")).text = f"{ds.file_stem}.{suffix}"


def build_item_defs(
    mdv: ET.Element,
    datasets: list[Dataset],
    codelists: dict[str, Codelist],
    by_var: dict[tuple[str, str], list[ValueLevel]],
    empty_expected: set[tuple[str, str]] | None = None,
    comments: dict[str, str] | None = None,
    dictionaries: list[ExternalDictionary] | None = None,
) -> None:
    """One ``ItemDef`` per variable, with its display format, ``CodeListRef`` (a CDISC or sponsor
    codelist, or an external dictionary such as MedDRA), ``def:Origin`` and
    ``def:ValueListRef``; an Expected variable without any value gets a comment saying so, and a
    ``--PARMCD`` (TSPARMCD) one naming its sponsor-defined codes (not in its CDISC CT codelist)."""
    empty_expected = empty_expected or set()
    comments = comments if comments is not None else {}
    for ds in datasets:
        for v in ds.variables:
            item = item_def(mdv, f"IT.{ds.name}.{v.name}", v.name, v.define_type, v.length, v.label)
            said = []
            if (ds.name, v.name) in empty_expected:
                said.append(
                    f"Expected variable without a value in these data: {ds.name}.{v.name} was not "
                    "collected, or does not apply, for any record."
                )
            ct_name, sponsor_codes = sponsor_parameter_codes(v, codelists)
            if sponsor_codes:
                said.append(
                    f"Sponsor-defined parameter codes, not terms of CDISC CT {ct_name} ({CT_VERSION}): "
                    + ", ".join(sponsor_codes)
                    + "."
                )
            if said:
                oid = f"COM.{ds.name}.{v.name}"
                item.set(d("CommentOID"), oid)
                comments[oid] = " ".join(said)
            if v.display_format:
                item.set(d("DisplayFormat"), v.display_format)
            external = dictionary_for(v.name, dictionaries or [])
            if v.codelist in codelists:
                ET.SubElement(item, o("CodeListRef"), {"CodeListOID": codelist_oid(v.codelist)})
            elif external is not None:
                ET.SubElement(item, o("CodeListRef"), {"CodeListOID": external.oid})
            _origin(item, v)
            if (ds.name, v.name) in by_var:
                ET.SubElement(item, d("ValueListRef"), {"ValueListOID": f"VL.{ds.name}.{v.name}"})


def build_value_level_item_defs(
    mdv: ET.Element, datasets: list[Dataset], by_var: dict[tuple[str, str], list[ValueLevel]]
) -> None:
    """One ``ItemDef`` per value-level row (``IT.<DS>.<VAR>.<TESTCD>``), labelled after its
    variable and test, with the variable's origin."""
    for (ds_name, var), rows in sorted(by_var.items()):
        ds = next(x for x in datasets if x.name == ds_name)
        parent = ds.variable(var)
        for vl in sorted(rows, key=lambda r: r.key):
            label = (
                f"{parent.label} for {vl.testcd}"
                + (f" ({vl.test})" if vl.test and vl.test != vl.testcd else "")
                + (f" in {vl.spec}" if vl.spec_var else "")
            )
            item = item_def(mdv, f"IT.{ds_name}.{var}.{vl.key}", var, vl.define_type, vl.length, label)
            _origin(item, parent)


def build_methods(mdv: ET.Element, datasets: list[Dataset]) -> None:
    """One ``MethodDef`` (``Computation``, the spec's ``METHOD`` text) per derived variable."""
    for ds in datasets:
        for v in ds.variables:
            oid = method_oid(ds, v)
            if oid:
                md = ET.SubElement(
                    mdv,
                    o("MethodDef"),
                    {"OID": oid, "Name": f"Algorithm for {ds.name}.{v.name}", "Type": "Computation"},
                )
                description(md, v.method)


def build_comments(mdv: ET.Element, comments: dict[str, str]) -> None:
    """One ``def:CommentDef`` per comment (OID -> text), in OID order, after the MethodDefs."""
    for oid, text in sorted(comments.items()):
        description(ET.SubElement(mdv, d("CommentDef"), {"OID": oid}), text)


def define_problems(tree: ET.ElementTree[ET.Element], dataset_names: list[str] | None = None) -> list[str]:
    """Broken references in a define.xml tree, as messages (empty = structurally sound): every
    ItemRef -> ItemDef, CodeListRef -> CodeList, MethodOID -> MethodDef, ValueListRef ->
    ValueListDef, WhereClauseRef -> WhereClauseDef, RangeCheck def:ItemOID -> ItemDef, each OID
    unique, and an ItemGroupDef for every dataset in ``dataset_names``."""
    root = tree.getroot()
    problems = []
    oids: dict[str, set[str | None]] = {}  # None: an element without OID
    for tag in ("ItemGroupDef", "ItemDef", "CodeList", "MethodDef"):
        found = [e.get("OID") for e in root.iter(o(tag))]
        dupes = sorted({x for x in found if found.count(x) > 1}, key=str)
        problems += [f"duplicate {tag} OID {x}" for x in dupes]
        oids[tag] = set(found)
    for tag in ("ValueListDef", "WhereClauseDef", "CommentDef"):
        oids[tag] = {e.get("OID") for e in root.iter(d(tag))}
    checks = [
        (o("ItemRef"), "ItemOID", "ItemDef"),
        (o("CodeListRef"), "CodeListOID", "CodeList"),
        (o("ItemRef"), "MethodOID", "MethodDef"),
        (d("ValueListRef"), "ValueListOID", "ValueListDef"),
        (d("WhereClauseRef"), "WhereClauseOID", "WhereClauseDef"),
        (o("RangeCheck"), d("ItemOID"), "ItemDef"),
        *((o(tag), d("CommentOID"), "CommentDef") for tag in ("ItemGroupDef", "ItemDef")),
        (d("WhereClauseDef"), d("CommentOID"), "CommentDef"),
    ]
    for tag, attr, target in checks:
        for el in root.iter(tag):
            ref = el.get(attr)
            if ref is not None and ref not in oids[target]:
                problems.append(f"{tag.split('}')[1]} {attr.split('}')[-1]}={ref} resolves to no {target}")
    names = {e.get("Name") for e in root.iter(o("ItemGroupDef"))}
    problems += [f"dataset {n} has no ItemGroupDef" for n in dataset_names or [] if n.upper() not in names]
    return problems


def write_define(tree: ET.ElementTree[ET.Element], path: Path) -> Path:
    """Serialize with an XML declaration, atomically."""
    body = ET.tostring(tree.getroot(), encoding="unicode")
    atomic_write_text(Path(path), '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n")
    return Path(path)
