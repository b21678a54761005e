"""XML plumbing of define.xml: the ODM / Define-XML / XLink namespaces (registered so the file
uses the usual prefixes), qualified tag names, ``Description`` texts and ``ItemDef`` elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ET.register_namespace("", ODM_NS)
ET.register_namespace("def", DEF_NS)
ET.register_namespace("xlink", XLINK_NS)

NUMERIC_LENGTH = 8  # SAS numeric storage length, given as Length of numeric ItemDefs


def o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def description(parent: ET.Element, text: str) -> None:
    """A ``Description`` child of ``parent`` holding ``text`` in English."""
    desc = ET.SubElement(parent, o("Description"))
    ET.SubElement(desc, o("TranslatedText"), {XML_LANG: "en"}).text = text


def item_def(parent: ET.Element, oid: str, name: str, define_type: str, length, label: str) -> ET.Element:
    """An ``ItemDef`` (``Length`` for text and numbers, the SAS numeric length when none), labelled."""
    attrs = {"OID": oid, "Name": name, "DataType": define_type}
    if define_type in ("text", "integer", "float"):
        attrs["Length"] = str(length or NUMERIC_LENGTH)
    attrs["SASFieldName"] = name
    item = ET.SubElement(parent, o("ItemDef"), attrs)
    description(item, label)
    return item
