"""Tests of the synthetic-trial generator (synth.generate_trial).

The data are checked with small independent pandas computations (not the generator's own labels):
manifests, columns, value sets, date forms, eligibility of every screened subject, SLEDAI totals
and lab items, visit windows, and the ground truth of planted faults.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import study
from synth.generate import generate_trial

SITES, SUBJECTS, SEED = 6, 120, 2026
DATE_FULL = re.compile(r"^\d{2}-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)-\d{4}$")
DATE_ANY = re.compile(r"^(\d{2}|UN)-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|UNK)-\d{4}$")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
LABRESULT = re.compile(r"^[<>]?\d+(\.\d+)?$")
VISIT_FORMS = ("VS", "LB", "SLEDAI", "PGA", "BILAG", "FACS")
SCREENING_FORMS = VISIT_FORMS


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    summary = generate_trial(root / "landing", root / "restricted", SITES, SUBJECTS, SEED, 0.0)
    return root, summary


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    root = tmp_path_factory.mktemp("dirty")
    summary = generate_trial(root / "landing", root / "restricted", SITES, SUBJECTS, SEED, 0.02)
    return root, summary


# ----------------------------------------------------------------------------- helpers
def data_rows(data: bytes) -> int:
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)


def verify(folder: Path) -> str:
    """'' when the export is complete, else why not."""
    mf = folder / "MANIFEST.json"
    if not mf.exists():
        return "no manifest"
    manifest = json.loads(mf.read_text())
    for name, entry in manifest["files"].items():
        path = folder / name
        if not path.exists():
            return f"missing {name}"
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return f"checksum {name}"
        if data_rows(data) != entry["rows"]:
            return f"rows {name}"
    return ""


@cache
def complete_exports(landing: Path) -> dict[str, list[Path]]:
    return {
        site.name: sorted(p for p in site.iterdir() if not verify(p))
        for site in sorted((landing / "sites").iterdir())
    }


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def load(landing: Path, form: str) -> pd.DataFrame:
    """A form from every site's newest complete export (a fresh copy of a cached read)."""
    return _load(landing, form).copy()


@cache
def _load(landing: Path, form: str) -> pd.DataFrame:
    return pd.concat(
        [read(exps[-1] / f"{form}.csv") for exps in complete_exports(landing).values()], ignore_index=True
    )


def ground_truth(root: Path) -> pd.DataFrame:
    return read(root / "landing" / "GROUND_TRUTH.csv")


def day(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%d-%b-%Y", errors="coerce")


def date_bounds(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Earliest and latest date a (possibly partial) CDASH date can mean."""
    full = day(s)
    year = s.str[-4:].where(s != "")
    month = s.str[3:6]
    lo = full.copy()
    hi = full.copy()
    m = s.str.startswith("UN-") & (month != "UNK")
    lo[m] = pd.to_datetime("01-" + s[m].str[3:], format="%d-%b-%Y")
    hi[m] = lo[m] + pd.offsets.MonthEnd(0)
    y = s.str.startswith("UN-UNK-")
    lo[y] = pd.to_datetime(year[y] + "-01-01")
    hi[y] = pd.to_datetime(year[y] + "-12-31")
    return lo, hi


def factor(domain: str, test: pd.Series, unit: pd.Series) -> pd.Series:
    uc = study.unit_conversions()
    uc = uc[uc["DOMAIN"] == domain]
    key = dict(zip(zip(uc["TESTCD"], uc["UNIT"]), uc["FACTOR"]))
    return pd.Series([key.get((t, u), np.nan) for t, u in zip(test, unit)], index=test.index)


# --------------------------------------------------------------- independent eligibility
def derived_failures(landing: Path) -> pd.DataFrame:
    """Per subject, True where the data fail a derivable criterion (derivations.md table)."""
    dm = load(landing, "DM").set_index("SUBJID")
    ic = day(dm["ICDAT"])
    out = pd.DataFrame(index=dm.index)
    # IN02
    sl = load(landing, "SLEDAI")
    sl = sl[sl["VISIT"] == "SCREENING"].set_index("SUBJID")
    total = sum((sl[k] == "Y") * w for k, w in study.sledai_weights().items())
    out["IN02"] = (total < 8).reindex(dm.index, fill_value=True)
    out["SLEDAI_SCR"] = total.reindex(dm.index)
    # IN03
    birth = dm["BRTHDAT"]
    lo, _ = date_bounds(birth)
    imputed = lo.copy()
    mon = birth.str.startswith("UN-") & ~birth.str.startswith("UN-UNK")
    imputed[mon] = lo[mon] + pd.Timedelta(days=14)
    yr = birth.str.startswith("UN-UNK")
    imputed[yr] = pd.to_datetime(birth[yr].str[-4:] + "-07-01")
    age = (
        ic.dt.year
        - imputed.dt.year
        - (
            (ic.dt.month < imputed.dt.month)
            | ((ic.dt.month == imputed.dt.month) & (ic.dt.day < imputed.dt.day))
        )
    )
    vs = load(landing, "VS")
    w = vs[(vs["VISIT"] == "SCREENING") & (vs["VSTESTCD"] == "WEIGHT")].copy()
    w["KG"] = w["VSORRES"].astype(float) * factor("VS", w["VSTESTCD"], w["VSORRESU"])
    w = w.assign(D=day(w["VSDAT"])).sort_values("D").groupby("SUBJID").last()
    kg = w["KG"].reindex(dm.index)
    out["AGE"], out["KG"], out["WT_TEXT"], out["WT_UNIT"] = age, kg, w["VSORRES"], w["VSORRESU"]
    out["IN03"] = ~((age >= 18) & (age <= 75) & (kg >= 45) & (kg <= 80))
    # IN04
    cm = load(landing, "CM").merge(study.drug_classes(), on="CMDECOD", how="left")
    cm["ICD"] = ic.reindex(cm["SUBJID"]).to_numpy()
    slo, shi = date_bounds(cm["CMSTDAT"])
    end = day(cm["CMENDAT"])
    ongoing = (shi <= cm["ICD"]) & ((cm["CMONGO"] == "Y") | (end >= cm["ICD"]))
    std = cm["DRUG_CLASS"].isin(["CORTICOSTEROID", "STANDARD_OTHER"])
    long = std & ongoing & (shi <= cm["ICD"] - pd.Timedelta(days=90))
    has_std = long.groupby(cm["SUBJID"]).any().reindex(dm.index, fill_value=False)
    per_day = cm["CMDOSFRQ"].map(study.dose_frequencies())
    to_mg = cm["CMDOSU"].map(dict(zip(study.dose_units()["CMDOSU"], study.dose_units()["TO_MG"])))
    mg = pd.to_numeric(cm["CMDOSE"], errors="coerce") * to_mg
    mg = mg.where(cm["CMDOSU"] != "mg/kg", mg * kg.reindex(cm["SUBJID"]).to_numpy())
    pred = (mg * per_day * cm["PREDNISONE_FACTOR"]).where(ongoing & (cm["DRUG_CLASS"] == "CORTICOSTEROID"), 0)
    pred = pred.groupby(cm["SUBJID"]).sum().reindex(dm.index, fill_value=0)
    out["PRED_MG_KG"] = pred / kg
    out["IN04"] = ~has_std | (pred > kg)
    # IN05, EX03, EX04, EX07
    lb = load(landing, "LB")
    scr = lb[lb["VISIT"] == "SCREENING"]
    hcg = scr[scr["LBTESTCD"] == "HCG"].set_index("SUBJID")["LBORRES"].reindex(dm.index)
    out["IN05"] = (dm["SEX"] == "F") & (hcg != "NEGATIVE")
    out["EX04"] = hcg == "POSITIVE"
    enz = scr[scr["LBTESTCD"].isin(["ALT", "AST"])].copy()
    f = factor("LB", enz["LBTESTCD"], enz["LBORRESU"])
    enz["RATIO"] = enz["LBORRES"].str.lstrip("<>").astype(float) * f / (enz["LBORNRHI"].astype(float) * f)
    ratio = enz.pivot_table(index="SUBJID", columns="LBTESTCD", values="RATIO", aggfunc="max")
    out["ALT_RATIO"], out["AST_RATIO"] = ratio["ALT"], ratio["AST"]
    out["EX03"] = (ratio.max(axis=1) >= 2).reindex(dm.index, fill_value=True)
    sero = scr[scr["LBTESTCD"].isin(["HBSAG", "HCVAB", "HIVAB", "EBVDNA", "TBIGRA"])]
    out["EX07"] = (
        (sero["LBORRES"] == "POSITIVE").groupby(sero["SUBJID"]).any().reindex(dm.index, fill_value=False)
    )
    # IN06: consent on or before the earliest SCREENING date of any visit form
    first = []
    for form in SCREENING_FORMS:
        t = load(landing, form)
        col = [c for c in t.columns if c.endswith("DAT")][0]
        t = t[t["VISIT"] == "SCREENING"]
        first.append(day(t[col]).groupby(t["SUBJID"]).min())
    out["IN06"] = ~(ic <= pd.concat(first, axis=1).min(axis=1).reindex(dm.index))
    # MH-based exclusions
    mh = load(landing, "MH")
    mh["ICD"] = ic.reindex(mh["SUBJID"]).to_numpy()
    _, mhi = date_bounds(mh["MHSTDAT"])
    mend = day(mh["MHENDAT"])
    mongo = (mhi <= mh["ICD"]) & ((mh["MHONGO"] == "Y") | (mend >= mh["ICD"]))

    def any_subj(mask):
        return mask.groupby(mh["SUBJID"]).any().reindex(dm.index, fill_value=False)

    cat = mh["MHCAT"]
    out["EX01"] = any_subj(cat == "ALLERGY_STUDY_DRUG")
    out["EX02"] = any_subj((cat == "NPSLE_SEVERE") & mongo)
    out["EX05"] = any_subj((cat == "MALIGNANCY") & (mongo | (mend > mh["ICD"] - pd.Timedelta(days=1826))))
    out["EX06"] = any_subj(
        ((cat == "INFECTION_SERIOUS") & (mongo | (mend >= mh["ICD"] - pd.Timedelta(days=90))))
        | (cat == "INFECTION_CHRONIC")
    )
    out["EX08"] = any_subj(cat == "OCULAR")
    out["EX09"] = any_subj((cat == "HEART_FAILURE") & mh["MHNYHA"].isin(["III", "IV"]) & mongo)
    out["EX10"] = any_subj((cat == "PEPTIC_ULCER") & mongo)
    out["EX11"] = any_subj((cat == "AUTOIMMUNE_OTHER") & mongo)
    # CM-based exclusions
    bio = cm["DRUG_CLASS"] == "BIOLOGIC"
    out["EX12"] = (
        (bio & (ongoing | (end > cm["ICD"] - pd.Timedelta(days=183))))
        .groupby(cm["SUBJID"])
        .any()
        .reindex(dm.index, fill_value=False)
    )
    out["EX13"] = (
        ((cm["DRUG_CLASS"] == "IMMUNOSUPPRESSOR") & ongoing)
        .groupby(cm["SUBJID"])
        .any()
        .reindex(dm.index, fill_value=False)
    )
    return out


CRITERIA = [
    "IN02",
    "IN03",
    "IN04",
    "IN05",
    "IN06",
    "EX01",
    "EX02",
    "EX03",
    "EX04",
    "EX05",
    "EX06",
    "EX07",
    "EX08",
    "EX09",
    "EX10",
    "EX11",
    "EX12",
    "EX13",
]


def randomized(landing: Path) -> set[str]:
    iwrs = sorted((landing / "iwrs").iterdir())[-1]
    return set(read(iwrs / "RAND.csv")["SUBJID"])


# ----------------------------------------------------------------------------- tests
def test_summary_shape(clean):
    _, s = clean
    assert s["sites"] == SITES and s["subjects"] == SUBJECTS
    assert s["screen_failures"] + s["randomized"] == SUBJECTS
    assert 0.2 <= s["screen_failures"] / SUBJECTS <= 0.25
    assert s["defects"] == {}
    assert set(s["rows_per_form"]) == set(study.FORMS)


def test_deterministic_bytes(clean, tmp_path):
    root, _ = clean
    generate_trial(tmp_path / "a" / "landing", tmp_path / "a" / "restricted", SITES, SUBJECTS, SEED, 0.0)
    generate_trial(tmp_path / "b" / "landing", tmp_path / "b" / "restricted", SITES, SUBJECTS, SEED + 1, 0.0)

    def snapshot(base: Path) -> dict[str, bytes]:
        return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}

    assert snapshot(root) == snapshot(tmp_path / "a")
    other = snapshot(tmp_path / "b")
    assert other.keys() == snapshot(root).keys()
    assert other != snapshot(root)


def test_refuses_foreign_folder(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "precious.txt").write_text("x")
    with pytest.raises(FileExistsError):
        generate_trial(tmp_path / "landing", tmp_path / "restricted", 2, 10)
    assert (tmp_path / "landing" / "precious.txt").exists()


def test_rerun_clears_own_output(tmp_path):
    generate_trial(tmp_path / "l", tmp_path / "r", 2, 20, defects=0.05)
    generate_trial(tmp_path / "l", tmp_path / "r", 2, 20, defects=0.0)
    assert len(read(tmp_path / "l" / "GROUND_TRUTH.csv")) == 0
    assert all(not verify(p) for site in (tmp_path / "l" / "sites").iterdir() for p in site.iterdir())


def test_layout_and_manifests(clean):
    root, _ = clean
    landing = root / "landing"
    for site in (landing / "sites").iterdir():
        exports = sorted(site.iterdir())
        assert len(exports) >= 2
        for e in exports:
            assert re.fullmatch(r"\d{8}T\d{6}Z", e.name)
            assert verify(e) == "", e
            m = json.loads((e / "MANIFEST.json").read_text())
            assert m["study"] == "LDIL2SLE" and m["site"] == site.name and m["export_id"] == e.name
            assert set(m["files"]) == {f"{f}.csv" for f in study.FORMS}
    for e in (landing / "iwrs").iterdir():
        assert verify(e) == "" and json.loads((e / "MANIFEST.json").read_text())["site"] == "IWRS"
    rl = read(root / "restricted" / "RANDLIST.csv")
    assert list(rl.columns) == ["RANDNO", "ARMCD"]
    assert set(rl["ARMCD"]) == set(study.valueset("ARMCD"))
    # permuted blocks of one of each arm
    for _, g in rl.groupby(rl["RANDNO"].str[0]):
        arms = g.sort_values("RANDNO")["ARMCD"].tolist()
        for i in range(0, len(arms), 4):
            assert sorted(arms[i : i + 4]) == sorted(study.valueset("ARMCD"))
    rand = read(sorted((landing / "iwrs").iterdir())[-1] / "RAND.csv")
    assert list(rand.columns) == ["STUDYID", "SITEID", "SUBJID", "RANDNO", "RANDDAT", "STRATUM"]
    assert set(rand["RANDNO"]) <= set(rl["RANDNO"])


def test_every_form_has_contract_columns(clean):
    root, _ = clean
    for exports in complete_exports(root / "landing").values():
        for e in exports:
            for form in study.FORMS:
                cols = list(read(e / f"{form}.csv").columns)
                assert sorted(cols) == sorted(study.required_columns(form)), (e, form)


def test_site_habits(clean):
    root, _ = clean
    newest = {s: e[-1] for s, e in complete_exports(root / "landing").items()}
    raw = {s: (e / "VS.csv").read_bytes() for s, e in newest.items()}
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values())
    assert any(b"\r\n" in b for b in raw.values())
    assert any(b"\r\n" not in b and not b.startswith(b"\xef\xbb\xbf") for b in raw.values())
    headers = {s: list(read(e / "LB.csv").columns) for s, e in newest.items()}
    assert any(h != study.required_columns("LB") for h in headers.values())
    vs, lb = load(root / "landing", "VS"), load(root / "landing", "LB")
    assert {"LB", "in", "F"} <= set(vs["VSORRESU"])
    units = set(zip(lb["LBTESTCD"], lb["LBORRESU"]))
    for pair in [
        ("ALT", "ukat/L"),
        ("AST", "ukat/L"),
        ("CREAT", "mg/dL"),
        ("HGB", "g/dL"),
        ("C3", "mg/dL"),
        ("PROT24", "mg/24h"),
    ]:
        assert pair in units
    assert {"<5", "<10"} & set(lb["LBORRES"])
    cm, mh = load(root / "landing", "CM"), load(root / "landing", "MH")
    assert cm["CMSTDAT"].str.startswith("UN-").any() and mh["MHSTDAT"].str.startswith("UN-").any()
    dm = load(root / "landing", "DM")
    assert dm["BRTHDAT"].str.startswith("UN-").any()
    # RFC 4180 quoting of a term with a comma or a quote
    ae = b"".join((e / "AE.csv").read_bytes() for e in newest.values())
    assert b'"Rash, maculo-papular"' in ae or b'""burning""' in ae


def test_values_in_value_sets_and_forms(clean):
    """RATE=0: every coded value in its value set, dates CDASH, numbers numeric, units accepted."""
    root, _ = clean
    landing = root / "landing"
    qual = study.lab_tests().set_index("LBTESTCD")["QUALITATIVE_VALUES"]
    uc = study.unit_conversions()
    accepted = set(zip(uc["DOMAIN"].replace({"FC": "FACS"}), uc["TESTCD"], uc["UNIT"]))
    for form in study.FORMS:
        t = load(landing, form)
        assert (t["STUDYID"] == "LDIL2SLE").all()
        assert t["SUBJID"].str.fullmatch(r"\d{3}-\d{4}").all()
        assert (t["SUBJID"].str[:3] == t["SITEID"]).all()
        assert not t.duplicated(["SITEID", "RECID"]).any()
        for _, row in study.form_columns(form).iterrows():
            col, typ, req, vs = row["COLUMN"], row["TYPE"], row["REQUIRED"], row["VALUESET"]
            v = t[col]
            if req == "Y":
                assert (v != "").all(), (form, col)
            v = v[v != ""]
            if typ == "CODE":
                assert set(v) <= set(study.valueset(vs)), (form, col, set(v) - set(study.valueset(vs)))
            elif typ == "DATE":
                assert v.str.fullmatch(DATE_ANY).all(), (form, col)
                if col not in ("BRTHDAT", "CMSTDAT", "MHSTDAT"):
                    assert v.str.fullmatch(DATE_FULL).all(), (form, col)
                assert day(v[v.str.fullmatch(DATE_FULL)]).notna().all()
            elif typ == "TIME":
                assert v.str.fullmatch(TIME).all()
            elif typ in ("NUMBER", "INTEGER"):
                assert v.str.fullmatch(NUMBER).all(), (form, col)
            elif typ == "LABRESULT":
                words = t.loc[v.index, "LBTESTCD"].map(qual)
                ok = v.str.fullmatch(LABRESULT) | pd.Series(
                    [x in (w or "").split("|") for x, w in zip(v, words)], index=v.index
                )
                assert ok.all()
        if form in ("VS", "LB", "FACS"):
            test, unit = {
                "VS": ("VSTESTCD", "VSORRESU"),
                "LB": ("LBTESTCD", "LBORRESU"),
                "FACS": ("FCTESTCD", "FCORRESU"),
            }[form]
            numeric = t[t[unit] != ""]
            assert all((form, a, b) in accepted for a, b in zip(numeric[test], numeric[unit]))
            if form == "LB":
                assert (t.loc[t[unit] == "", "LBTESTCD"].map(qual) != "").all()
                ranged = t[t[unit] != ""]
                assert ranged["LBORNRHI"].str.fullmatch(NUMBER).all()
    pga = load(landing, "PGA")["PGASCORE"]
    assert pga.str.fullmatch(r"[0-3]\.\d").all() and pga.astype(float).max() <= 3.0


def test_physical_plausibility_clean(clean):
    root, _ = clean
    vs = load(root / "landing", "VS")
    std = vs["VSORRES"].astype(float)
    f = factor("VS", vs["VSTESTCD"], vs["VSORRESU"])
    std = np.where(vs["VSORRESU"] == "F", (std - 32) * 5 / 9, std * f)
    lim = study.vital_signs().set_index("VSTESTCD")
    assert (
        (std >= vs["VSTESTCD"].map(lim["PLAUSIBLE_LO"])) & (std <= vs["VSTESTCD"].map(lim["PLAUSIBLE_HI"]))
    ).all()
    w = vs[vs["VSTESTCD"] == "WEIGHT"]["VSORRES"]
    assert w.str.fullmatch(r"\d+\.\d").all()


def test_screen_failure_coverage(clean):
    """Each derivable criterion fails for at least one subject, and those subjects are screen failures."""
    root, _ = clean
    landing = root / "landing"
    d = derived_failures(landing)
    rand = randomized(landing)
    ds = load(landing, "DS")
    sf = set(ds.loc[ds["DSDECOD"] == "SCREEN FAILURE", "SUBJID"])
    for c in CRITERIA:
        failing = set(d.index[d[c].astype(bool)])
        assert failing, f"no subject fails {c}"
        assert failing <= sf and not failing & rand, c
    # the specific situations the protocol limits invite
    assert (d.loc[d["IN02"], "SLEDAI_SCR"] == 7).any()
    assert (d["AGE"] == 76).any()
    assert ((d["WT_UNIT"] == "kg") & (d["WT_TEXT"] == "82.0")).any()
    lb_over = d[(d["WT_UNIT"] == "LB") & (d["KG"] > 80)]
    assert ((lb_over["KG"] - 80) < 0.1).any()
    assert ((d["ALT_RATIO"] >= 2.4) & (d["ALT_RATIO"] <= 2.6)).any()
    lb = load(landing, "LB")
    ukat_ast = lb[(lb["LBTESTCD"] == "AST") & (lb["LBORRESU"] == "ukat/L")]["SUBJID"]
    assert (d.loc[d.index.isin(ukat_ast), "AST_RATIO"] >= 2).any()
    assert d.loc[d["IN05"], :].index.isin(load(landing, "DM").query("SEX == 'F'")["SUBJID"]).all()
    assert (d["PRED_MG_KG"] > 1).any()
    cm = load(landing, "CM")
    assert (cm["CMDECOD"] == "RITUXIMAB").any()
    assert ((lb["LBTESTCD"] == "HBSAG") & (lb["LBORRES"] == "POSITIVE")).any()
    # no subject fails without being a screen failure; every screened subject is one or the other
    assert sf | rand == set(d.index) and not sf & rand


def test_randomized_subjects_are_eligible_and_boundaries_pass(clean):
    root, _ = clean
    landing = root / "landing"
    d = derived_failures(landing)
    rand = sorted(randomized(landing))
    assert not d.loc[rand, CRITERIA].any().any()
    r = d.loc[rand]
    assert ((r["WT_UNIT"] == "kg") & (r["WT_TEXT"] == "45.0")).any()
    assert ((r["WT_UNIT"] == "kg") & (r["WT_TEXT"] == "80.0")).any()
    assert (r["SLEDAI_SCR"] == 8).any()
    assert ((r["ALT_RATIO"] >= 1.98) & (r["ALT_RATIO"] < 2)).any()
    assert 10 <= r["SLEDAI_SCR"].median() <= 13


def test_ie_answers_agree_with_data(clean):
    root, _ = clean
    landing = root / "landing"
    d = derived_failures(landing)
    ie = load(landing, "IE")
    assert (ie.groupby("SUBJID").size() == len(study.criteria())).all()
    ans = ie.pivot(index="SUBJID", columns="IETESTCD", values="IEORRES")
    for c in CRITERIA:
        fails = ans[c] == ("N" if c.startswith("IN") else "Y")
        if c in ("EX01", "EX04"):  # also answered from the IE form alone (other allergies, lactation)
            assert fails[d[c].reindex(ans.index)].all(), c
            continue
        assert (fails == d[c].reindex(ans.index)).all(), c


def test_sledai_totals_and_lab_items_consistent(clean):
    root, _ = clean
    landing = root / "landing"
    sl = load(landing, "SLEDAI")
    total = sum((sl[k] == "Y") * w for k, w in study.sledai_weights().items())
    assert (total == sl["SLTOTAL"].astype(int)).all()
    lb = load(landing, "LB")
    lb = lb[lb["LBTESTCD"].isin(["PLAT", "WBC", "PROT24"])].copy()
    lb["STD"] = lb["LBORRES"].astype(float) * factor("LB", lb["LBTESTCD"], lb["LBORRESU"])
    wide = lb.pivot_table(index=["SUBJID", "VISIT"], columns="LBTESTCD", values="STD", aggfunc="first")
    m = sl.set_index(["SUBJID", "VISIT"]).join(wide, how="inner")
    assert len(m) == len(sl)
    assert ((m["THROMBO"] == "Y") == (m["PLAT"] < 100)).all()
    assert ((m["LEUKOPENIA"] == "Y") == (m["WBC"] < 3.0)).all()
    assert ((m["PROTEINURIA"] == "Y") == (m["PROT24"] > 0.5)).all()


def first_doses(landing: Path) -> pd.Series:
    ex = load(landing, "EX")
    return day(ex.loc[ex["EXADMIN"] == "Y", "EXSTDAT"]).groupby(ex["SUBJID"]).min()


def visit_days(landing: Path) -> pd.DataFrame:
    """Study day of every (subject, visit) date seen in the visit forms."""
    first = first_doses(landing)
    parts = []
    for form in VISIT_FORMS:
        t = load(landing, form)
        col = [c for c in t.columns if c.endswith("DAT")][0]
        parts.append(pd.DataFrame({"SUBJID": t["SUBJID"], "VISIT": t["VISIT"], "D": day(t[col])}))
    v = pd.concat(parts).drop_duplicates()
    v = v[v["SUBJID"].isin(first.index)]
    v["DY"] = (v["D"] - first.reindex(v["SUBJID"]).to_numpy()).dt.days + 1
    sched = study.visits().set_index("VISIT")
    v["PLANNED"] = v["VISIT"].map(sched["PLANNED_DAY"])
    v["WINDOW"] = v["VISIT"].map(sched["WINDOW_DAYS"])
    return v


def test_visits_in_window_and_exposure(clean):
    root, _ = clean
    landing = root / "landing"
    v = visit_days(landing)
    sched = v[v["PLANNED"].notna()]
    assert ((sched["DY"] - sched["PLANNED"]).abs() <= sched["WINDOW"]).all()
    assert (
        v.groupby(["SUBJID", "VISIT"])["D"].nunique()[lambda s: s.index.get_level_values(1) != "UNSCHEDULED"]
        == 1
    ).all()
    assert (v["VISIT"] == "UNSCHEDULED").any()
    assert (v.loc[v["VISIT"] == "SCREENING", "DY"].between(-28, -1)).all()
    ex = load(landing, "EX")
    per = ex.groupby("SUBJID").size()
    assert per.max() == int(study.study()["planned_injections"])
    assert (ex["EXADMIN"] == "N").any() and (ex.loc[ex["EXADMIN"] == "N", "EXREASND"] != "").all()


def test_recids_stable_across_exports(clean):
    root, _ = clean
    for exports in complete_exports(root / "landing").values():
        for form in ("LB", "AE", "CM", "DS"):
            newest = read(exports[-1] / f"{form}.csv").set_index("RECID")
            for e in exports[:-1]:
                old = read(e / f"{form}.csv").set_index("RECID")
                assert set(old.index) <= set(newest.index)
                assert (old["SUBJID"] == newest.loc[old.index, "SUBJID"]).all()
                assert len(old) <= len(newest)


def test_ground_truth_empty_when_clean(clean):
    root, _ = clean
    gt = ground_truth(root)
    assert list(gt.columns) == ["kind", "outcome", "site", "export_id", "file", "recid", "column", "detail"]
    assert gt.empty


# ----------------------------------------------------------------------- with defects
KINDS = {
    "export_skipped": {
        "export_no_manifest",
        "export_missing_file",
        "export_checksum_mismatch",
        "export_rowcount_mismatch",
    },
    "form_rejected": {"form_invalid_utf8", "form_missing_required_column"},
    "quarantine": {
        "row_bad_number",
        "row_bad_valueset",
        "row_implausible",
        "row_bad_date_form",
        "row_impossible_date",
        "row_missing_required",
        "duplicate_recid",
    },
    "reported": {"unexpected_column"},
    "query": {"sltotal_mismatch", "sledai_lab_inconsistent", "visit_out_of_window", "ie_answer_disagrees"},
    "deviation": {"randomized_while_ineligible"},
    "consistency": {  # synth/consistency_defects.py
        "ae_dates",
        "ae_seriousness",
        "ae_coding",
        "ae_duplicate",
        "cm_dates",
        "death",
        "dosing_after_discontinuation",
        "visit_order",
        "vs_bp_order",
        "lab_range",
        "randomization",
        "before_consent",
    },
}


def test_ground_truth_has_every_kind(dirty):
    root, summary = dirty
    gt = ground_truth(root)
    for outcome, kinds in KINDS.items():
        assert set(gt.loc[gt["outcome"] == outcome, "kind"]) == kinds, outcome
    assert set(gt["kind"]) == set().union(*KINDS.values())
    assert summary["defects"] == gt["kind"].value_counts().sort_index().to_dict()


def test_incomplete_exports_fail_as_their_kind_says(dirty):
    root, _ = dirty
    landing = root / "landing"
    gt = ground_truth(root)
    expected = {
        "export_no_manifest": "no manifest",
        "export_missing_file": "missing",
        "export_checksum_mismatch": "checksum",
        "export_rowcount_mismatch": "rows",
    }
    for _, row in gt[gt["outcome"] == "export_skipped"].iterrows():
        folder = landing / "sites" / row["site"] / row["export_id"]
        reason = verify(folder)
        assert reason.startswith(expected[row["kind"]]), (row["kind"], reason)
        if row["file"] != "MANIFEST.json":
            assert row["file"] in reason
        complete = complete_exports(landing)[row["site"]]
        assert complete and complete[-1].name < row["export_id"]
    if (gt["kind"] == "export_checksum_mismatch").any():
        row = gt[gt["kind"] == "export_checksum_mismatch"].iloc[0]
        folder = landing / "sites" / row["site"] / row["export_id"]
        entry = json.loads((folder / "MANIFEST.json").read_text())["files"][row["file"]]
        assert data_rows((folder / row["file"]).read_bytes()) == entry["rows"]


def test_rejected_forms(dirty):
    root, _ = dirty
    landing = root / "landing"
    gt = ground_truth(root)
    for _, row in gt[gt["outcome"] == "form_rejected"].iterrows():
        exports = complete_exports(landing)[row["site"]]
        assert exports[-1].name == row["export_id"]
        data = (exports[-1] / row["file"]).read_bytes()
        if row["kind"] == "form_invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        else:
            assert row["column"] not in read(exports[-1] / row["file"]).columns
            assert row["column"] in study.required_columns(row["file"][:-4])
        previous = read(exports[-2] / row["file"])
        assert sorted(previous.columns) == sorted(study.required_columns(row["file"][:-4]))


def test_quarantine_rows_are_where_ground_truth_says(dirty):
    root, _ = dirty
    landing = root / "landing"
    gt = ground_truth(root)
    q = gt[gt["outcome"] == "quarantine"]
    assert (
        q["file"].str[:-4].isin(["VS", "LB", "SLEDAI", "PGA", "BILAG", "EX", "CM", "MH", "AE", "FACS"]).all()
    )
    newest = {s: e[-1] for s, e in complete_exports(landing).items()}
    assert (q["export_id"] == q["site"].map(lambda s: newest[s].name)).all()
    for (site, file), g in q.groupby(["site", "file"]):
        t = read(newest[site] / file)
        counts = t["RECID"].value_counts()
        for _, row in g.iterrows():
            if row["kind"] == "duplicate_recid":
                assert counts[row["recid"]] == 2
                continue
            assert counts[row["recid"]] == 1
            value = t.loc[t["RECID"] == row["recid"], row["column"]].iloc[0]
            assert row["detail"].endswith(f"value={value}")
    # one fault per row: no recid listed twice except the two copies of a duplicate
    single = q[q["kind"] != "duplicate_recid"]
    assert not single.duplicated(["site", "file", "recid"]).any()
    assert (
        not single.set_index(["site", "file", "recid"])
        .index.isin(q[q["kind"] == "duplicate_recid"].set_index(["site", "file", "recid"]).index)
        .any()
    )
    examples = set(q.loc[q["kind"] == "row_impossible_date", "detail"].str.extract(r"value=(\d+-[A-Z]+)")[0])
    assert examples <= {"31-FEB", "30-FEB", "31-APR", "31-JUN", "31-SEP", "31-NOV"}


def test_unexpected_column_reported(dirty):
    root, _ = dirty
    gt = ground_truth(root)
    row = gt[gt["kind"] == "unexpected_column"].iloc[0]
    t = read(root / "landing" / "sites" / row["site"] / row["export_id"] / row["file"])
    assert row["column"] in t.columns
    assert set(t.columns) - {row["column"]} == set(study.required_columns(row["file"][:-4]))


def test_deviations_and_ie_queries_match_independent_derivation(dirty):
    root, _ = dirty
    landing = root / "landing"
    gt = ground_truth(root)
    d = derived_failures(landing)
    rand = sorted(randomized(landing))
    flagged = set(d.loc[rand].index[d.loc[rand, CRITERIA].any(axis=1)])
    dev = gt[gt["kind"] == "randomized_while_ineligible"]
    assert set(dev["detail"].str.extract(r"subjid=([\d-]+)")[0]) == flagged
    ie = load(landing, "IE")
    ans = ie.pivot(index="SUBJID", columns="IETESTCD", values="IEORRES")
    disagree = set()
    for c in CRITERIA:
        if c in ("EX01", "EX04"):  # also answered from the IE form
            continue
        fails = ans[c] == ("N" if c.startswith("IN") else "Y")
        disagree |= {(s, c) for s in ans.index[fails != d[c].reindex(ans.index)]}
    q = gt[gt["kind"] == "ie_answer_disagrees"]["detail"].str.extract(r"subjid=([\d-]+);ietestcd=(\w+)")
    assert set(map(tuple, q.to_numpy())) == disagree


def test_queries_match_data(dirty):
    root, _ = dirty
    landing = root / "landing"
    gt = ground_truth(root)
    sl = load(landing, "SLEDAI")
    sl = sl[
        sl["SLTOTAL"].str.fullmatch(r"\d+") & sl[list(study.sledai_weights())].isin(["Y", "N"]).all(axis=1)
    ]
    sl = sl[~sl.duplicated(["SITEID", "RECID"], keep=False)]
    total = sum((sl[k] == "Y") * w for k, w in study.sledai_weights().items())
    mismatch = set(
        zip(sl["SITEID"][total != sl["SLTOTAL"].astype(int)], sl["RECID"][total != sl["SLTOTAL"].astype(int)])
    )
    listed = gt[gt["kind"] == "sltotal_mismatch"]
    assert set(zip(listed["site"], listed["recid"])) == mismatch
    v = visit_days(landing)
    v = v[v["PLANNED"].notna() & v["D"].notna()]
    out = v[(v["DY"] - v["PLANNED"]).abs() > v["WINDOW"]]
    listed = gt[gt["kind"] == "visit_out_of_window"]["detail"].str.extract(
        r"subjid=([\d-]+);visit=([A-Z0-9 ]+);"
    )
    assert set(map(tuple, out[["SUBJID", "VISIT"]].to_numpy())) == set(map(tuple, listed.to_numpy()))
    assert len(gt[gt["kind"] == "sledai_lab_inconsistent"]) >= 1


def test_sledai_lab_queries_match_data(dirty):
    root, _ = dirty
    landing = root / "landing"
    items = {
        "THROMBO": ("PLAT", lambda v: v < 100),
        "LEUKOPENIA": ("WBC", lambda v: v < 3.0),
        "PROTEINURIA": ("PROT24", lambda v: v > 0.5),
    }
    sl = load(landing, "SLEDAI")
    sl = sl[sl["VISIT"].isin(study.valueset("VISIT")) & ~sl.duplicated(["SITEID", "RECID"], keep=False)]
    lb = load(landing, "LB")
    lb = lb[lb["LBTESTCD"].isin([t for t, _ in items.values()]) & lb["LBORRES"].str.fullmatch(NUMBER)]
    lb = lb[~lb.duplicated(["SITEID", "RECID"], keep=False)].copy()
    lb["STD"] = lb["LBORRES"].astype(float) * factor("LB", lb["LBTESTCD"], lb["LBORRESU"])
    wide = lb.pivot_table(index=["SUBJID", "VISIT"], columns="LBTESTCD", values="STD", aggfunc="first")
    m = sl.set_index(["SUBJID", "VISIT"]).join(wide, how="inner")
    found = set()
    for item, (test, low) in items.items():
        ok = m[item].isin(["Y", "N"]) & m[test].notna()
        bad = ok & ((m[item] == "Y") != low(m[test]))
        found |= {(s, r, item) for s, r in zip(m.loc[bad, "SITEID"], m.loc[bad, "RECID"])}
    gt = ground_truth(root)
    listed = gt[gt["kind"] == "sledai_lab_inconsistent"]
    assert set(zip(listed["site"], listed["recid"], listed["column"])) == found


def test_earlier_exports_stop_at_their_cut(clean):
    """A cumulative snapshot holds no date after the day before its export, and no later-known end dates."""
    root, _ = clean
    for exports in complete_exports(root / "landing").values():
        for e in exports:
            cut = pd.Timestamp(e.name[:8]) - pd.Timedelta(days=1)
            for form in study.FORMS:
                t = read(e / f"{form}.csv")
                for col in [c for c in t.columns if c.endswith("DAT") and c not in ("BRTHDAT",)]:
                    assert (day(t[col]).dropna() <= cut).all(), (e, form, col)
            ae = read(e / "AE.csv")
            assert ((ae["AEONGO"] == "Y") == (ae["AEENDAT"] == "")).all()
