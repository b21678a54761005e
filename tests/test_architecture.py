"""The layout rule as tests: the import contracts of pyproject.toml ([tool.importlinter]) hold,
they catch a back-import, and no module grows past a size one can read in one sitting."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assets", "pipelines", "schemas", "study", "synth")
CHECKED = ("assets", "pipelines", "schemas", "study")
MAX_LINES = 600
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def flat(result: subprocess.CompletedProcess[str]) -> str:
    """The output on one line: the tool wraps long contract names."""
    return " ".join((result.stdout + result.stderr).split())


def contract_names() -> dict[str, str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def test_import_contracts_hold_on_the_repo():
    result = lint_imports(ROOT)
    assert result.returncode == 0, flat(result)
    assert "0 broken" in flat(result)


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    "module, line, broken",
    [
        # SDTM reaching to its right, into QA.
        ("assets/sdtm/back_import.py", "import assets.qa  # noqa\n", "layers"),
        # A shared piece importing the Dagster wiring (and through it every layer).
        ("assets/common/columns.py", "import pipelines.definitions  # noqa\n", "pipelines-on-top"),
        # The pipeline code importing the generator whose ground truth tests it.
        ("assets/ingest/back_import.py", "import synth.generate  # noqa\n", "pipelines-on-top"),
        ("synth/back_import.py", "import assets.ingest.reading  # noqa\n", "synth-independent"),
        ("study/back_import.py", "import schemas.raw_forms  # noqa\n", "study-standalone"),
    ],
)
def test_a_back_import_breaks_its_contract(tree_copy: Path, module: str, line: str, broken: str):
    path = tree_copy / module
    text = path.read_text() if path.exists() else ""
    path.write_text(text + line)
    result = lint_imports(tree_copy)
    output = flat(result)
    assert result.returncode != 0, output
    assert f"{contract_names()[broken]} BROKEN" in output, output


def test_no_module_is_over_600_lines():
    too_long = {}
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                too_long[str(path.relative_to(ROOT))] = n
    assert not too_long, f"modules over {MAX_LINES} lines (split them): {too_long}"
