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
``MT.<DS>.<VAR>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.common.atomic import atomic_write_text
from assets.common.version import code_version
from assets.exports.metadata import Dataset, Variable, per_value, value_type
from assets.exports.not_written import NotWritten
from study.ct import ct_path

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ET.register_namespace("", ODM_NS)
ET.register_namespace("def", DEF_NS)
ET.register_namespace("xlink", XLINK_NS)

CT_PATH = ct_path()
"""NCI EVS SDTM terminology as Parquet: the vendored subset of study/ct.py; TRIALPIPE_CT overrides."""
CT_VERSION = "2025-03-28"
STANDARDS = {
    "sdtm": {"OID": "STD.SDTMIG.3.4", "Name": "SDTMIG", "Version": "3.4", "Purpose": "Tabulation"},
    "adam": {"OID": "STD.ADaMIG.1.3", "Name": "ADaMIG", "Version": "1.3", "Purpose": "Analysis"},
}
CT_STANDARD_OID = f"STD.CT.SDTM.{CT_VERSION}"
ORIGIN_TYPES = {
    "CRF": ("Collected", "Investigator"),
    "COLLECTED": ("Collected", "Investigator"),
    "EDT": ("Collected", "Vendor"),
    "DERIVED": ("Derived", "Sponsor"),
    "ASSIGNED": ("Assigned", "Sponsor"),
    "PROTOCOL": ("Protocol", "Sponsor"),
    "PREDECESSOR": ("Predecessor", None),
}
VALUE_LEVEL_RESULTS = ("ORRES", "STRESN")
NUMERIC_LENGTH = 8  # SAS numeric storage length, given as Length of numeric ItemDefs


def o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


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


def load_ct(path: Path = CT_PATH, codelists: set[str] | None = None) -> pd.DataFrame:
    """The CDISC CT rows (codelists and terms) of ``codelists`` (all when None); no rows when the
    terminology file is absent (codelists then list the data's terms without NCI codes)."""
    columns = ["clst_code", "is_clst", "code", "term", "ext", "name", "nci"]
    if not Path(path).is_file():
        return pd.DataFrame({c: pd.Series(dtype=bool if c == "is_clst" else object) for c in columns})
    ct = pd.read_parquet(path, columns=columns)
    return ct if codelists is None else ct[ct["clst_code"].isin(codelists)].reset_index(drop=True)


def _description(parent: ET.Element, text: str) -> None:
    desc = ET.SubElement(parent, o("Description"))
    ET.SubElement(desc, o("TranslatedText"), {XML_LANG: "en"}).text = text


def _origin(parent: ET.Element, v: Variable) -> None:
    kind, source = ORIGIN_TYPES.get(v.origin.strip().upper(), ("Not Available", None))
    attrs = {"Type": kind}
    if source:
        attrs["Source"] = source
    origin = ET.SubElement(parent, d("Origin"), attrs)
    if kind == "Predecessor" and v.source:
        _description(origin, v.source)
    elif kind in ("Assigned", "Protocol") and v.method:
        _description(origin, v.method)


def _item_def(parent: ET.Element, oid: str, name: str, define_type: str, length, label: str) -> ET.Element:
    attrs = {"OID": oid, "Name": name, "DataType": define_type}
    if define_type in ("text", "integer", "float"):
        attrs["Length"] = str(length or NUMERIC_LENGTH)
    attrs["SASFieldName"] = name
    item = ET.SubElement(parent, o("ItemDef"), attrs)
    _description(item, label)
    return item


def method_oid(dataset: Dataset, v: Variable) -> str | None:
    return f"MT.{dataset.name}.{v.name}" if v.origin.strip().upper() == "DERIVED" and v.method else None


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


def _codelists(
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


def value_levels_by_variable(value_levels: list[ValueLevel]) -> dict[tuple[str, str], list[ValueLevel]]:
    """(dataset, variable) -> its value-level rows, in the order given."""
    by_var: dict[tuple[str, str], list[ValueLevel]] = {}
    for vl in value_levels:
        by_var.setdefault((vl.dataset, vl.variable), []).append(vl)
    return by_var


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
    codelists = _codelists(datasets, used_terms, ct)
    by_var = value_levels_by_variable(value_levels)
    odm = build_odm(study_info, as_of)
    mdv = build_study_metadata(odm, study_info)
    build_standards(mdv, datasets, codelists)
    build_value_lists(mdv, by_var, datasets, codelists, comments)
    build_item_group_defs(mdv, datasets, not_written or {}, comments, absent_expected or {})
    build_item_defs(mdv, datasets, codelists, by_var, empty_expected or set(), comments)
    build_value_level_item_defs(mdv, datasets, by_var)
    build_codelists(mdv, codelists)
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
    CDISC CT of its ``--TESTCD`` codelist). Both come before the ItemGroupDefs (schema order)."""
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
    sponsor = _sponsor_test_codes(by_name, codelists or {})
    for wc_oid, vl in sorted(where_clauses.items()):
        wc_attrs = {"OID": wc_oid}
        if (vl.dataset, vl.testcd) in sponsor:
            wc_attrs[d("CommentOID")] = f"COM.{vl.dataset}.TESTCD.{vl.testcd}"
            comments[wc_attrs[d("CommentOID")]] = (
                f"Sponsor-defined test code {vl.testcd}"
                + (f" ({vl.test})" if vl.test and vl.test != vl.testcd else "")
                + f": not a term of CDISC CT {sponsor[(vl.dataset, vl.testcd)]} ({CT_VERSION})."
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


def _sponsor_test_codes(
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
        _description(ig, ds.label)
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
) -> None:
    """One ``ItemDef`` per variable, with its display format, ``CodeListRef``, ``def:Origin`` and
    ``def:ValueListRef``; an Expected variable without any value gets a comment saying so."""
    empty_expected = empty_expected or set()
    comments = comments if comments is not None else {}
    for ds in datasets:
        for v in ds.variables:
            item = _item_def(mdv, f"IT.{ds.name}.{v.name}", v.name, v.define_type, v.length, v.label)
            if (ds.name, v.name) in empty_expected:
                oid = f"COM.{ds.name}.{v.name}"
                item.set(d("CommentOID"), oid)
                comments[oid] = (
                    f"Expected variable without a value in these data: {ds.name}.{v.name} was not "
                    "collected, or does not apply, for any record."
                )
            if v.display_format:
                item.set(d("DisplayFormat"), v.display_format)
            if v.codelist in codelists:
                ET.SubElement(item, o("CodeListRef"), {"CodeListOID": codelist_oid(v.codelist)})
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
            item = _item_def(mdv, f"IT.{ds_name}.{var}.{vl.key}", var, vl.define_type, vl.length, label)
            _origin(item, parent)


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
                _description(md, v.method)


def build_comments(mdv: ET.Element, comments: dict[str, str]) -> None:
    """One ``def:CommentDef`` per comment (OID -> text), in OID order, after the MethodDefs."""
    for oid, text in sorted(comments.items()):
        _description(ET.SubElement(mdv, d("CommentDef"), {"OID": oid}), text)


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
