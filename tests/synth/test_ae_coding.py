"""The generator's AE form, contract v2 (synth.ae_coding): seriousness criteria consistent with
AESER, every event coded with a full MedDRA hierarchy of 8-digit codes, Chinese and French verbatim
terms at two sites (valid UTF-8, valid per contract), and the v1 values of the form unchanged."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth.ae_coding import CODING, CRITERIA, LANGUAGE_BY_SITE, meddra_terms
from synth.generate import build_trial, generate_trial
from synth.params import params
from synth.writer import INVALID_TERM

REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "pharmaverse" / "raw_ae_raw.parquet"
)
CODE = re.compile(r"^[0-9]{8}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
HAN = re.compile(r"[\u4e00-\u9fff]")
NAMES = ("AELLT", "AEDECOD", "AEHLT", "AEHLGT", "AEBODSYS", "AESOC")
CODES = ("AELLTCD", "AEPTCD", "AEHLTCD", "AEHLGTCD", "AEBDSYCD", "AESOCCD")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("ae_clean")
    generate_trial(root / "landing", root / "restricted", 4, 80, 31, 0.0)
    return root / "landing"


def _newest_ae(landing: Path) -> pd.DataFrame:
    parts = []
    for site in sorted((landing / "sites").iterdir()):
        newest = sorted(site.iterdir())[-1]
        data = (newest / "AE.csv").read_bytes()
        text = data.decode("utf-8").lstrip("\ufeff")  # strict: valid UTF-8
        parts.append(pd.DataFrame(list(csv.DictReader(io.StringIO(text, newline="")))))
    return pd.concat(parts, ignore_index=True)


def test_every_generator_term_has_a_full_coding():
    terms = meddra_terms()
    generated = {t[0] for t in params()["adverse_events"]} | {
        "Headache",
        "Systemic lupus erythematosus flare",
    }
    assert generated <= set(terms)
    for term, row in terms.items():
        assert all(CODE.match(row[c]) for c in CODES), term
        assert all(row[c] for c in NAMES), term
        assert (row["AEBODSYS"], row["AEBDSYCD"]) == (row["AESOC"], row["AESOCCD"])  # primary SOC
        assert HAN.search(row["AETERM_ZH"]) and not CONTROL.search(row["AETERM_ZH"] + row["AETERM_FR"])
        assert row["MEDDRAV"] == "27.0"


def test_each_dictionary_name_has_one_code():
    df = pd.DataFrame(meddra_terms().values())
    for name, code in zip(NAMES, CODES):
        assert (df.groupby(name)[code].nunique() == 1).all(), name
        assert (df.groupby(code)[name].nunique() == 1).all(), code


@pytest.mark.skipif(not REFERENCE.exists(), reason="the pharmaverse reference is not beside the repository")
def test_terms_taken_from_the_reference_match_it():
    """Rows whose SOURCE says reference carry the reference's LLT, PT, HLT, HLGT and SOC names and
    its LLT and SOC codes (pharmaverseraw raw_ae_raw: the codes it has)."""
    ref = pd.read_parquet(REFERENCE).dropna(subset=["AELLTCD", "AESOCCD"]).drop_duplicates("AELLT")
    ref = ref.set_index("AELLT")
    socs = dict(zip(ref["AESOC"], ref["AESOCCD"].astype(int).astype(str)))
    from_ref = 0
    for row in meddra_terms().values():
        assert socs[row["AESOC"]] == row["AESOCCD"]  # every SOC code is the reference's
        if row["SOURCE"].startswith("reference"):
            from_ref += 1
            r = ref.loc[row["AELLT"]]
            assert str(int(r["AELLTCD"])) == row["AELLTCD"]
            assert (r["AEDECOD"], r["AEHLT"], r["AEHLGT"]) == (row["AEDECOD"], row["AEHLT"], row["AEHLGT"])
    assert from_ref >= 10


def test_clean_seriousness_is_consistent_and_criteria_answered_when_serious(clean):
    ae = _newest_ae(clean)
    crit = ae[list(CRITERIA)]
    serious = ae["AESER"] == "Y"
    assert serious.any() and (~serious).any()
    assert set(ae["AESER"]) == {"Y", "N"}
    assert crit[serious].isin(["Y", "N"]).all().all()  # all six answered
    assert (crit[serious] == "Y").any(axis=1).all()  # AESER = Y has a criterion Y
    assert not (crit[~serious] == "Y").any().any()  # AESER = N has none
    assert set(np.unique(crit[~serious].to_numpy())) == {"", "N"}  # empty at some sites, N at others
    assert not (ae["AESDTH"] == "Y").any() and not (ae["AEOUT"] == "FATAL").any()  # no deaths made


def test_clean_events_are_all_coded_with_eight_digit_codes(clean):
    ae = _newest_ae(clean)
    assert (ae[list(CODING)] != "").all().all()
    assert ae[list(CODES)].apply(lambda s: s.str.fullmatch(CODE.pattern)).all().all()
    assert ae["MEDDRAV"].eq("27.0").all()
    assert not ae["AEDECOD"].eq(ae["AETERM"].str.upper()).all()  # the PT, not the verbatim term


def test_chinese_and_french_verbatim_terms_at_two_sites(clean):
    ae = _newest_ae(clean)
    site_index = ae["SITEID"].astype(int) - 101  # synth.sites: site i is 101 + i
    language = site_index.map(LANGUAGE_BY_SITE).fillna("")
    non_ascii = ae["AETERM"].map(lambda t: not t.isascii())
    assert non_ascii[language == "ZH"].all() and not non_ascii[language == ""].any()
    assert ae.loc[language == "ZH", "AETERM"].map(lambda t: bool(HAN.search(t))).all()
    french = {row["AETERM_FR"] for row in meddra_terms().values()}
    assert ae.loc[language == "FR", "AETERM"].isin(french).all()  # "Fatigue" is French too
    assert ae.loc[language == "FR", "AETERM"].str.contains("[éèêàç«»]").any()
    assert not ae["AETERM"].map(lambda t: bool(CONTROL.search(t))).any()
    # coded like the English term of the same event
    english = {row["AETERM_ZH"]: k for k, row in meddra_terms().items()} | {
        row["AETERM_FR"]: k for k, row in meddra_terms().items()
    }
    terms = meddra_terms()
    for term, decod in zip(ae["AETERM"], ae["AEDECOD"]):
        assert terms[english.get(term, term)]["AEDECOD"] == decod


def test_the_v1_values_of_the_ae_form_do_not_depend_on_the_v2_draws():
    """The v2 columns come from a stream of their own: the AE rows (subject, dates, severity,
    seriousness, relation, action, outcome) equal those of a build without them."""
    from synth import ae_coding, forms_history

    trial = build_trial(4, 80, 31, 0.0)
    with_v2, _ = forms_history.make_ae(trial)
    original = ae_coding.add_ae_v2_columns
    try:
        forms_history.add_ae_v2_columns = lambda ae, trial: ae  # type: ignore[assignment]
        without, _ = forms_history.make_ae(trial)
    finally:
        forms_history.add_ae_v2_columns = original  # type: ignore[assignment]
    assert sorted(without) == sorted(c for c in with_v2 if c not in (*CRITERIA, *CODING))
    for col in without:
        if col != "AETERM":
            assert (np.asarray(without[col]) == np.asarray(with_v2[col])).all(), col
    english_sites = ~np.isin(trial.subj["site"][without["_subj"]], list(LANGUAGE_BY_SITE))
    assert (without["AETERM"][english_sites] == with_v2["AETERM"][english_sites]).all()


def test_the_invalid_utf8_defect_still_writes_a_latin1_byte(tmp_path):
    generate_trial(tmp_path / "landing", tmp_path / "restricted", 4, 80, 31, 0.05)
    truth = pd.read_csv(tmp_path / "landing" / "GROUND_TRUTH.csv", dtype=str, keep_default_na=False)
    bad = truth[(truth["kind"] == "form_invalid_utf8") & (truth["file"] == "AE.csv")]
    assert len(bad) == 1
    row = bad.iloc[0]
    data = (tmp_path / "landing" / "sites" / row["site"] / row["export_id"] / "AE.csv").read_bytes()
    assert INVALID_TERM.encode("latin-1") in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
