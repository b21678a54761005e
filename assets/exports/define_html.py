"""An XSL-free HTML rendering of define.xml for reviewers (``qa/define.html``).

It is rendered from the define.xml file itself (parsed back), not from the spec, so what a
reviewer reads is what was submitted. jinja2 with autoescape: labels and methods are text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2

from assets.common.atomic import atomic_write_text
from assets.exports.define_xml import DEF_NS, XLINK_NS, d, o

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>define.xml {{ study }}</title>
<style>
body{font-family:sans-serif;margin:2em;font-size:14px} table{border-collapse:collapse;margin-bottom:2em}
th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top;text-align:left} th{background:#eee}
h2{margin-top:2em} .small{color:#555;font-size:12px}
</style></head><body>
<h1>define.xml: {{ study }}</h1>
<p class="small">{{ description }} &middot; created {{ created }} &middot; Define-XML {{ version }}</p>
<h2>Standards</h2>
<table><tr><th>Name</th><th>Type</th><th>Version</th></tr>
{% for s in standards %}<tr><td>{{ s.Name }}</td><td>{{ s.Type }}</td><td>{{ s.Version }}</td></tr>{% endfor %}
</table>
<h2>Datasets</h2>
<table><tr><th>Dataset</th><th>Label</th><th>Class</th><th>Structure</th><th>Purpose</th><th>Keys</th><th>File</th></tr>
{% for g in groups %}<tr><td><a href="#{{ g.oid }}">{{ g.name }}</a></td><td>{{ g.label }}</td><td>{{ g.class_ }}</td>
<td>{{ g.structure }}</td><td>{{ g.purpose }}</td><td>{{ g.key_names|join(', ') }}</td><td>{{ g.href }}</td></tr>{% endfor %}
</table>
{% for g in groups %}
<h2 id="{{ g.oid }}">{{ g.name }}: {{ g.label }}</h2>
{% if g.comment %}<p>{{ g.comment }}</p>{% endif %}
<table><tr><th>#</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Mandatory</th><th>Key</th>
<th>Codelist</th><th>Origin</th><th>Method / value level</th></tr>
{% for v in g.variables %}<tr><td>{{ v.order }}</td><td>{{ v.name }}</td><td>{{ v.label }}</td><td>{{ v.type }}{% if v.format %} ({{ v.format }}){% endif %}</td>
<td>{{ v.length }}</td><td>{{ v.mandatory }}</td><td>{{ v.key }}</td>
<td>{% if v.codelist %}<a href="#{{ v.codelist }}">{{ v.codelist_name }}</a>{% endif %}</td><td>{{ v.origin }}</td>
<td>{% if v.method %}<a href="#{{ v.method }}">{{ v.method_text }}</a>{% endif %}
{% if v.value_list %}<a href="#{{ v.value_list }}">value level ({{ v.value_count }})</a>{% endif %}
{% if v.comment %}<span class="small">{{ v.comment }}</span>{% endif %}</td></tr>{% endfor %}
</table>
{% endfor %}
{% if value_lists %}<h2>Value-level metadata</h2>
{% for vl in value_lists %}<h3 id="{{ vl.oid }}">{{ vl.oid }}</h3>
<table><tr><th>Where</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th></tr>
{% for r in vl.rows %}<tr><td>{{ r.where }}</td><td>{{ r.name }}</td><td>{{ r.label }}</td><td>{{ r.type }}</td><td>{{ r.length }}</td></tr>{% endfor %}
</table>{% endfor %}{% endif %}
<h2>Codelists</h2>
{% for c in codelists %}<h3 id="{{ c.oid }}">{{ c.name }} <span class="small">{{ c.code }} ({{ c.type }})</span></h3>
<table><tr><th>Term</th><th>NCI code</th><th>Extended</th></tr>
{% for t in c.terms %}<tr><td>{{ t.value }}</td><td>{{ t.code }}</td><td>{{ t.extended }}</td></tr>{% endfor %}
</table>{% endfor %}
<h2>Methods</h2>
<table><tr><th>Method</th><th>Type</th><th>Description</th></tr>
{% for m in methods %}<tr id="{{ m.oid }}"><td>{{ m.name }}</td><td>{{ m.type }}</td><td>{{ m.text }}</td></tr>{% endfor %}
</table>
</body></html>
"""


def _desc(el: ET.Element | None) -> str:
    if el is None:
        return ""
    tt = el.find(f"{o('Description')}/{o('TranslatedText')}")
    return (tt.text or "") if tt is not None else ""


def _required(parent: ET.Element, path: str) -> ET.Element:
    """The element at ``path`` under ``parent`` (a define.xml written here always has it)."""
    found = parent.find(path)
    if found is None:
        raise ValueError(f"define.xml: no {path} in {parent.tag}")
    return found


def _alias_name(el: ET.Element) -> str | None:
    """The ``Name`` (NCI code) of the first ``Alias`` of ``el``; "" without one."""
    alias = el.find(o("Alias"))
    return alias.get("Name") if alias is not None else ""


def define_context(tree: ET.ElementTree[ET.Element]) -> dict:
    """The define.xml content as plain dicts for the template."""
    root = tree.getroot()
    study = _required(root, o("Study"))
    mdv = _required(study, o("MetaDataVersion"))
    items = {e.get("OID"): e for e in mdv.iter(o("ItemDef"))}
    codelists = {e.get("OID"): e for e in mdv.iter(o("CodeList"))}
    methods = {e.get("OID"): e for e in mdv.iter(o("MethodDef"))}
    value_lists = {e.get("OID"): e for e in mdv.iter(d("ValueListDef"))}
    comments = {e.get("OID"): _desc(e) for e in mdv.iter(d("CommentDef"))}
    where = {}
    for wc in mdv.iter(d("WhereClauseDef")):
        parts = []
        for rc in wc.iter(o("RangeCheck")):
            target = items.get(rc.get(d("ItemOID")))
            name = target.get("Name") if target is not None else rc.get(d("ItemOID"))
            values = ", ".join(cv.text or "" for cv in rc.iter(o("CheckValue")))
            parts.append(f"{name} {rc.get('Comparator')} {values}")
        where[wc.get("OID")] = " and ".join(parts)

    def variable_row(ref: ET.Element) -> dict:
        item = items.get(ref.get("ItemOID"))
        clr = item.find(o("CodeListRef")) if item is not None else None
        origin = item.find(d("Origin")) if item is not None else None
        vlr = item.find(d("ValueListRef")) if item is not None else None
        cl = codelists.get(clr.get("CodeListOID")) if clr is not None else None
        method = methods.get(ref.get("MethodOID")) if ref.get("MethodOID") else None
        vl = value_lists.get(vlr.get("ValueListOID")) if vlr is not None else None
        return {
            "order": ref.get("OrderNumber"),
            "name": item.get("Name") if item is not None else ref.get("ItemOID"),
            "label": _desc(item),
            "type": item.get("DataType") if item is not None else "",
            "format": item.get(d("DisplayFormat")) if item is not None else None,
            "length": item.get("Length", "") if item is not None else "",
            "mandatory": ref.get("Mandatory"),
            "key": ref.get("KeySequence", ""),
            "codelist": cl.get("OID") if cl is not None else None,
            "codelist_name": cl.get("Name") if cl is not None else "",
            "origin": (
                origin.get("Type", "") + (f" ({origin.get('Source')})" if origin.get("Source") else "")
            )
            if origin is not None
            else "",
            "method": method.get("OID") if method is not None else None,
            "method_text": _desc(method),
            "value_list": vl.get("OID") if vl is not None else None,
            "value_count": len(vl.findall(o("ItemRef"))) if vl is not None else 0,
            "comment": comments.get(item.get(d("CommentOID"))) if item is not None else None,
        }

    groups = []
    for ig in mdv.iter(o("ItemGroupDef")):
        refs = ig.findall(o("ItemRef"))
        keyed = sorted((int(seq), r) for r in refs if (seq := r.get("KeySequence")))
        cls = ig.find(d("Class"))
        leaf = ig.find(d("leaf"))
        groups.append(
            {
                "oid": ig.get("OID"),
                "name": ig.get("Name"),
                "label": _desc(ig),
                "class_": cls.get("Name") if cls is not None else "",
                "structure": ig.get(d("Structure")),
                "purpose": ig.get("Purpose"),
                "key_names": [
                    items[r.get("ItemOID")].get("Name") for _, r in keyed if r.get("ItemOID") in items
                ],
                "href": leaf.get(f"{{{XLINK_NS}}}href") if leaf is not None else "",
                "comment": comments.get(ig.get(d("CommentOID"))),
                "variables": [variable_row(r) for r in refs],
            }
        )
    vls = []
    for oid, vl in value_lists.items():
        rows = []
        for ref in vl.findall(o("ItemRef")):
            item = items.get(ref.get("ItemOID"))
            wcr = ref.find(d("WhereClauseRef"))
            rows.append(
                {
                    "where": where.get(wcr.get("WhereClauseOID"), "") if wcr is not None else "",
                    "name": item.get("Name") if item is not None else ref.get("ItemOID"),
                    "label": _desc(item),
                    "type": item.get("DataType") if item is not None else "",
                    "length": item.get("Length", "") if item is not None else "",
                }
            )
        vls.append({"oid": oid, "rows": rows})
    cls_out = []
    for oid, cl in codelists.items():
        cls_out.append(
            {
                "oid": oid,
                "name": cl.get("Name"),
                "code": _alias_name(cl),
                "type": cl.get("DataType"),
                "terms": [
                    {
                        "value": it.get("CodedValue"),
                        "code": _alias_name(it),
                        "extended": it.get(d("ExtendedValue"), ""),
                    }
                    for it in list(cl.iter(o("EnumeratedItem"))) + list(cl.iter(o("CodeListItem")))
                ],
            }
        )
    return {
        "study": _required(study, f"{o('GlobalVariables')}/{o('StudyName')}").text,
        "description": mdv.get("Description") or _desc(mdv),  # an attribute in ODM 1.3.2
        "created": root.get("CreationDateTime"),
        "version": mdv.get(f"{{{DEF_NS}}}DefineVersion"),
        "standards": [s.attrib for s in mdv.iter(d("Standard"))],
        "groups": groups,
        "value_lists": vls,
        "codelists": cls_out,
        "methods": [
            {"oid": m.get("OID"), "name": m.get("Name"), "type": m.get("Type"), "text": _desc(m)}
            for m in methods.values()
        ],
    }


def render_define_html(define_path: Path) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(**define_context(ET.parse(define_path)))


def write_define_html(define_path: Path, html_path: Path) -> Path:
    atomic_write_text(Path(html_path), render_define_html(define_path))
    return Path(html_path)
