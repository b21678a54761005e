"""The Define-XML 2.1 schema check itself: it reports every error, not only the first."""

from tests.define_xsd import define_xsd_errors


def test_reports_every_schema_error(tmp_path):
    # two independent errors: a def:Class name outside the enumeration, and an ItemDef DataType
    # outside ODM's list
    path = tmp_path / "define.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1"'
        ' FileType="Snapshot" FileOID="F" ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00"'
        ' def:Context="Submission"><Study OID="S"><GlobalVariables><StudyName>S</StudyName>'
        "<StudyDescription>S</StudyDescription><ProtocolName>S</ProtocolName></GlobalVariables>"
        '<MetaDataVersion OID="M" Name="M" def:DefineVersion="2.1.0">'
        '<def:Standards><def:Standard OID="STD" Name="SDTMIG" Type="IG" Version="3.4" Status="Final"/>'
        "</def:Standards>"
        '<ItemGroupDef OID="IG.DM" Name="DM" Repeating="No" IsReferenceData="No" Purpose="Tabulation"'
        ' def:Structure="x" def:StandardOID="STD"><ItemRef ItemOID="IT.A" Mandatory="Yes"/>'
        '<def:Class Name="SPECIAL-PURPOSE"/></ItemGroupDef>'
        '<ItemDef OID="IT.A" Name="A" DataType="words"/>'
        "</MetaDataVersion></Study></ODM>\n",
        encoding="utf-8",
    )
    errors = define_xsd_errors(path)
    assert len(errors) >= 2, errors
    assert any("SPECIAL-PURPOSE" in e for e in errors) and any("words" in e for e in errors)
