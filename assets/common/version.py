"""Which code produced an output: the package version, recorded beside the contract version.

Every Parquet file carries both in its schema metadata (``code_version``, ``contract_version``);
Dataset-JSON files name the code in ``sourceSystem`` and define.xml in the ODM root's
``SourceSystem``/``SourceSystemVersion``. Bump the version in ``pyproject.toml`` with every change
(CHANGELOG.md); ``make`` reinstalls the package when pyproject.toml changes.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import study

PACKAGE = "trialpipe"


def code_version() -> str:
    """The installed trialpipe version (``0+unknown`` when the code runs without being installed)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "0+unknown"


def contract_version() -> str:
    """The version of the site-export / derivations contract the code implements (study/study.yaml)."""
    return str(study.study()["contract_version"])
