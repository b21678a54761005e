"""The generator's data cut option (issue 16): an interim look at the same trial calendar."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from synth.generate import DataCutError, generate_trial
from synth.params import params

SITES, SUBJECTS, SEED = 2, 30, 4
CUT = "2025-11-30"


def snapshot(base: Path) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


@pytest.fixture(scope="module")
def interim(tmp_path_factory):
    root = tmp_path_factory.mktemp("cut")
    summary = generate_trial(root / "landing", root / "restricted", SITES, SUBJECTS, SEED, 0.0, data_cut=CUT)
    return root, summary


def test_interim_cut_leaves_out_subjects_not_yet_screened(interim):
    root, s = interim
    assert s["data_cut"] == CUT and s["subjects_planned"] == SUBJECTS
    assert 0 < s["subjects"] < SUBJECTS and s["screen_failures"] + s["randomized"] == s["subjects"]
    newest = {
        site.name: max(p.name for p in site.iterdir()) for site in (root / "landing" / "sites").iterdir()
    }
    assert set(newest.values()) == {e for e in s["in_force_exports"].values()}
    assert all(e.startswith("20251201T") for e in newest.values())  # the export runs the day after the cut
    dm = [r for site, e in newest.items() for r in rows(root / "landing" / "sites" / site / e / "DM.csv")]
    assert len(dm) == s["subjects"]
    # every subject kept keeps its number: 1..k within each site
    for site in newest:
        numbers = sorted(int(r["SUBJID"].split("-")[1]) for r in dm if r["SITEID"] == site)
        assert numbers == list(range(1, len(numbers) + 1))


def test_same_arguments_same_bytes_and_the_default_cut_is_no_cut(interim, tmp_path):
    root, _ = interim
    generate_trial(
        tmp_path / "a" / "landing", tmp_path / "a" / "restricted", SITES, SUBJECTS, SEED, 0.0, data_cut=CUT
    )
    assert snapshot(tmp_path / "a") == snapshot(root)
    default = params()["data_cut"]
    generate_trial(tmp_path / "b" / "landing", tmp_path / "b" / "restricted", SITES, SUBJECTS, SEED, 0.0)
    generate_trial(
        tmp_path / "c" / "landing",
        tmp_path / "c" / "restricted",
        SITES,
        SUBJECTS,
        SEED,
        0.0,
        data_cut=default,
    )
    assert snapshot(tmp_path / "b") == snapshot(tmp_path / "c") != snapshot(root)


@pytest.mark.parametrize(
    ("cut", "message"),
    [("2026-13-01", "ISO date"), ("30-11-2025", "ISO date"), ("2025-03-01", "no subject of site")],
)
def test_bad_or_too_early_cut_is_refused(cut, message, tmp_path):
    with pytest.raises(DataCutError, match=message):
        generate_trial(tmp_path / "l", tmp_path / "r", SITES, SUBJECTS, SEED, 0.0, data_cut=cut)


def test_cli_option(tmp_path):
    args = ["generate", "--out", str(tmp_path / "l"), "--restricted-out", str(tmp_path / "r")]
    args += ["--sites", "2", "--subjects", "20", "--seed", "4"]
    ok = CliRunner().invoke(main, [*args, "--data-cut", CUT])
    assert ok.exit_code == 0 and f"data_cut: {CUT}" in ok.output
    bad = CliRunner().invoke(main, [*args, "--data-cut", "tomorrow"])
    assert bad.exit_code == 2 and "--data-cut" in bad.output
