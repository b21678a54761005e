"""AE form, contract v2: seriousness criteria, MedDRA coding and the sites' language of free text.

Added to the AE rows that :func:`synth.forms_history.make_ae` built, with random draws of their own
(stream ``ae-v2``), so every value the AE form had before is drawn exactly as before.

- Seriousness criteria (site-export.md, Forms, v2): a serious event (``AESER = Y``) has all six
  answered, at least one ``Y`` (hospitalization mostly, else another medically important event; a
  few life-threatening ones); ``AESDTH`` is never ``Y`` because the generator makes no deaths (no
  ``AEOUT = FATAL``, no ``DS`` record ``DEATH``). A non-serious event has none ``Y``: each site
  either leaves the six empty or writes ``N`` (a habit of the site).
- MedDRA coding: every event is coded, from ``study/synth_meddra_terms.csv`` (real coded terms of
  the public pharmaverse CDISC pilot data, ``../shared/reference/pharmaverse/raw_ae_raw.parquet``;
  its ``SOURCE`` column says, term by term, which names and codes come from it and which are
  synthetic). Uncoded events and inconsistent seriousness answers are defects, planted elsewhere.
- Language: the sites in :data:`LANGUAGE_BY_SITE` write the verbatim term ``AETERM`` in Chinese or
  French (valid UTF-8, coded like the English term).
"""

from __future__ import annotations

from functools import cache

import numpy as np

import study
from synth.params import stream
from synth.table import Table
from synth.trial import Trial

CRITERIA = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
CODING = (
    "MEDDRAV",
    "AELLT",
    "AELLTCD",
    "AEDECOD",
    "AEPTCD",
    "AEHLT",
    "AEHLTCD",
    "AEHLGT",
    "AEHLGTCD",
    "AEBODSYS",
    "AEBDSYCD",
    "AESOC",
    "AESOCCD",
)
LANGUAGE_BY_SITE = {1: "ZH", 2: "FR"}
"""Site (0-based position in the trial's site list) -> language of its AE verbatim terms."""
P_LIFE_THREATENING = 0.05
P_HOSPITALIZATION = 0.8
P_BLANK_CRITERIA_SITE = 0.5
"""Share of sites that leave the criteria of a non-serious event empty instead of writing N."""


@cache
def meddra_terms() -> dict[str, dict[str, str]]:
    """Verbatim (English) term -> its coding and translations, from study/synth_meddra_terms.csv."""
    df = study.table("synth_meddra_terms")
    return {str(row["AETERM"]): {str(k): str(v) for k, v in row.items()} for _, row in df.iterrows()}


def add_ae_v2_columns(ae: Table, trial: Trial) -> Table:
    """The AE table with the criteria and coding columns, and ``AETERM`` in the site's language."""
    n = len(ae)
    rng = stream(trial.seed, "ae-v2")
    blank_site = rng.random(len(trial.sites)) < P_BLANK_CRITERIA_SITE
    site = trial.subj["site"][ae["_subj"]] if n else np.zeros(0, dtype=np.int64)
    serious = ae["AESER"] == "Y" if n else np.zeros(0, dtype=bool)
    u_life, u_hosp, u_mie = (rng.random(n) for _ in range(3))
    life = serious & (u_life < P_LIFE_THREATENING)
    hosp = serious & (u_hosp < P_HOSPITALIZATION)
    mie = serious & (~(life | hosp) | (u_mie < 0.1))
    flags = {"AESDTH": np.zeros(n, bool), "AESLIFE": life, "AESHOSP": hosp, "AESMIE": mie}
    non_serious = np.where(blank_site[site], "", "N") if n else np.zeros(0, dtype=object)
    for col in CRITERIA:
        yes = flags.get(col, np.zeros(n, bool))
        ae[col] = np.where(yes, "Y", np.where(serious, "N", non_serious)).astype(object)
    terms = meddra_terms()
    english = ae["AETERM"]
    missing = sorted(set(english) - set(terms))
    if missing:
        raise AssertionError(f"AE terms without a coding in study/synth_meddra_terms.csv: {missing}")
    for col in CODING:
        ae[col] = np.asarray([terms[t][col] for t in english], dtype=object)
    language = np.asarray([LANGUAGE_BY_SITE.get(int(s), "") for s in site], dtype=object)
    ae["AETERM"] = np.asarray(
        [terms[t][f"AETERM_{lang}"] if lang else t for t, lang in zip(english, language)], dtype=object
    )
    return ae
