"""Validate a define.xml against the official Define-XML 2.1 schema (with ODM 1.3.2), as shipped
in the PyPI package ``odmlib`` (a dev dependency): every error, not only the first."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from lxml import etree

DEFINE_XSD = "schemas/define/2.1/define2-1-0.xsd"


@cache
def define_schema() -> etree.XMLSchema:
    path = Path(str(files("odmlib").joinpath(DEFINE_XSD)))
    return etree.XMLSchema(etree.parse(str(path)))


def define_xsd_errors(path: Path) -> list[str]:
    """Every schema error of the define.xml at ``path`` (``line: message``); empty when valid."""
    schema = define_schema()
    schema.validate(etree.parse(str(path)))
    return [f"{e.line}: {e.message}" for e in schema.error_log]


def assert_define_valid(path: Path) -> None:
    errors = define_xsd_errors(path)
    assert errors == [], f"{len(errors)} Define-XML 2.1 schema errors in {path}:\n" + "\n".join(errors)
