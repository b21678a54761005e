"""Blinding is a boundary (derivations.md, Populations; site-export.md, landing zone layout).

A small generated trial is run through the ``trialpipe run`` command (a fresh interpreter per run):

1. blinded, with the restricted list moved away (absent) and ``TRIALPIPE_RESTRICTED`` pointing at
   it as a lure: a Python audit hook records every ``open``/``listdir``/``stat``-like event on that
   path; none may occur, and the blinded ADaM/eligibility outputs must all be written;
2. no file under the blinded root holds an arm code, an arm label or a dose level (Parquet files are
   decoded cell by cell, every other file is scanned as bytes);
3. unblinded, with the list present: the same scan *does* find the arms there (the scanner works).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import study

pytestmark = pytest.mark.e2e

ARMS = study.arms()
ARM_CODES = set(ARMS["ARMCD"])  # PBO IL2L IL2M IL2H
ARM_LABELS = set(ARMS["ARM"])  # Placebo, IL-2 0.2 MIU, ...
# Dose levels as text anywhere ("0.2 MIU"), codes and labels as whole words ("Placebo-controlled" in
# the public study title is not the arm label).
TEXT_PATTERN = re.compile(
    r"\d+(?:\.\d+)?\s*MIU"
    + "".join(rf"|\b{re.escape(c)}\b" for c in sorted(ARM_CODES))
    + "".join(rf"|{re.escape(a)}(?![-\w])" for a in sorted(ARM_LABELS))
)
LONG_PATTERN = re.compile(
    r"\d+(?:\.\d+)? MIU" + "".join(rf"|{re.escape(a)}(?![-\w])" for a in sorted(ARM_LABELS))
)
MY_GROUPS = ("eligibility", "sledai_findings", "adam_")

# The run goes in a fresh interpreter (pipelines.definitions binds its resources at import time, so
# two modes in one process would share them); this prologue installs an audit hook there that logs
# every open/listdir/scandir/stat of the watched paths, then runs the CLI.
HOOKED_CLI = """
import json, os, sys
watched, log, args = sys.argv[1].split(os.pathsep), sys.argv[2], sys.argv[3:]
touched = []
def hook(event, hook_args):
    if event in ("open", "os.listdir", "os.scandir", "os.stat", "os.chdir") and hook_args:
        target = hook_args[0]
        if isinstance(target, bytes):
            target = target.decode(errors="replace")
        if isinstance(target, (str, os.PathLike)) and any(str(target).startswith(w) for w in watched):
            touched.append([event, str(target)])
sys.addaudithook(hook)
from pipelines.cli import main
code = 0
try:
    main(args, standalone_mode=False)
except SystemExit as exc:
    code = exc.code or 0
finally:
    with open(log, "w") as fh:
        json.dump(touched, fh)
sys.exit(code)
"""


def leaks(root: Path) -> list[tuple[str, str]]:
    """(file, offending text) for every arm code, arm label or dose level found under ``root``."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            meta = table.schema.metadata or {}
            texts = [v.decode(errors="replace") for v in meta.values()]
            for col in table.columns:
                values = pc.unique(col.cast(pa.string())) if not pa.types.is_nested(col.type) else []
                texts += [v for v in values.to_pylist() if v] if len(values) else []
            for t in texts:
                if t in ARM_CODES or t in ARM_LABELS or TEXT_PATTERN.search(t):
                    found.append((rel, t[:80]))
                    break
        else:
            data = path.read_bytes()
            try:
                m = TEXT_PATTERN.search(data.decode("utf-8"))
            except UnicodeDecodeError:
                # Binary (images of GX Data Docs, the PNG plot): random bytes spell a 3-4 letter code
                # by chance, so only labels and dose levels (long enough not to) are searched there.
                m = LONG_PATTERN.search(data.decode("latin-1"))
            if m:
                found.append((rel, m.group(0)))
    return found


def _run(args: list[str], watched: list[str], log: Path, env: dict | None = None) -> tuple[int, str, list]:
    proc = subprocess.run(
        [sys.executable, "-c", HOOKED_CLI, os.pathsep.join(watched), str(log), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GX_ANALYTICS_ENABLED": "false", **(env or {})},
        timeout=600,
    )
    touched = json.loads(log.read_text()) if log.exists() else None
    return proc.returncode, proc.stdout + proc.stderr, touched


def _failed_steps(output: str) -> list[str]:
    return re.findall(r"step '([^']+)' failed", output)


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    from synth.generate import generate_trial

    base = tmp_path_factory.mktemp("blinding")
    generate_trial(base / "landing", base / "restricted", sites=2, subjects=24, seed=11, defects=0.0)
    return base


@pytest.fixture(scope="module")
def blinded(trial):
    hidden = trial / "restricted_hidden"
    shutil.move(trial / "restricted", hidden)  # absent during the blinded run
    lure = str((trial / "restricted").resolve())
    try:
        # TRIALPIPE_RESTRICTED points at the (absent) location as a lure: the blinded CLI must drop it
        code, output, touched = _run(
            ["run", "--landing", str(trial / "landing"), "--warehouse", str(trial / "wh")],
            watched=[lure, str(hidden.resolve())],
            log=trial / "blinded_touched.json",
            env={"TRIALPIPE_RESTRICTED": lure},
        )
    finally:
        shutil.move(hidden, trial / "restricted")
    return code, output, trial / "wh" / "blinded", touched


def test_blinded_run_never_opens_the_restricted_location(blinded):
    code, output, root, touched = blinded
    assert touched == [], f"blinded run touched the restricted location: {touched and touched[:5]}"
    mine = [s for s in _failed_steps(output) if s.startswith(MY_GROUPS)]
    assert code == 0 or (not mine and _failed_steps(output)), output[-2000:]
    for rel in (
        "adam/adsl.parquet",
        "adam/adeff.parquet",
        "adam/adlb.parquet",
        "adam/adae.parquet",
        "derived/eligibility.parquet",
        "qa/eligibility_listing.parquet",
        "stats/sri4_week24.parquet",
        "stats/sledai_change.png",
    ):
        assert (root / rel).is_file(), rel
    adsl = pq.read_table(root / "adam" / "adsl.parquet").to_pandas()
    randomized = adsl[adsl["RANDFL"] == "Y"]
    assert (
        len(randomized) and (randomized["TRT01P"] == "BLINDED").all() and randomized["TRT01PN"].isna().all()
    )


def test_no_blinded_file_holds_an_arm_code_label_or_dose_level(blinded):
    _, _, root, _ = blinded
    assert leaks(root) == []


def test_unblinded_run_reads_the_list_and_the_scan_finds_the_arms(trial, blinded):
    code, output, _ = _run(
        [
            "run",
            "--landing",
            str(trial / "landing"),
            "--warehouse",
            str(trial / "wh"),
            "--unblinded",
            "--restricted",
            str(trial / "restricted"),
        ],
        watched=[],
        log=trial / "unblinded_touched.json",
    )
    mine = [s for s in _failed_steps(output) if s.startswith(MY_GROUPS)]
    assert code == 0 or not mine, output[-2000:]
    root = trial / "wh" / "unblinded"
    assert (root / "adam" / "adsl.parquet").is_file(), f"exit {code}: {output[-1500:]}"
    adsl = pq.read_table(root / "adam" / "adsl.parquet").to_pandas()
    assert set(adsl.loc[adsl["RANDFL"] == "Y", "TRT01P"]) <= ARM_LABELS
    assert any(rel == "adam/adsl.parquet" for rel, _ in leaks(root))  # positive control of the scanner
    sri4 = pq.read_table(root / "stats" / "sri4_week24.parquet").to_pandas()
    assert set(sri4["GROUP"]) <= ARM_LABELS and len(sri4) >= 2
