"""Subject-level facts: site, demographics, consent and screening dates, weight, design,
randomization and the course of each randomized subject (first dose, discontinuation).

One row per screened subject in a :class:`~synth.table.Table`; row i is subject index i, which
every form refers to through its ``_subj`` column.
"""

from __future__ import annotations

import numpy as np

import study
from synth import dates, designs
from synth.params import params, stream, weighted_choice
from synth.sites import Site, site_sizes
from synth.table import Table, fmt_fixed, text
from synth.units import from_standard, to_standard

_SPECIAL_AGE = {
    "IN03_AGE_76": (76, 40),
    "IN03_AGE_YOUNG": (17, 100),
    "PASS_AGE_75": (75, 300),
    "PASS_AGE_18": (18, 5),
}
_SPECIAL_WEIGHT = {  # design -> (target kg, must be inside 45-80)
    "IN03_WT_82": (82.0, False),
    "IN03_WT_LB_ABOVE_80": (80.05, False),
    "IN03_WT_LOW": (44.0, False),
    "PASS_WT_45": (45.0, True),
    "PASS_WT_80": (80.0, True),
    "DEV_WT": (80.6, False),
}


def _uniform_int(rng: np.random.Generator, lo_hi, size: int) -> np.ndarray:
    return rng.integers(int(lo_hi[0]), int(lo_hi[1]) + 1, size=size)


def _birth_dates(icdat: np.ndarray, design: np.ndarray, rng: np.random.Generator):
    """Birth date, precision delivered (0 full, 1 month, 2 year) and age at consent as derived."""
    p = params()
    n = len(icdat)
    age = np.clip(np.round(rng.normal(p["age"]["mean"], p["age"]["sd"], n)), p["age"]["min"], p["age"]["max"])
    age = age.astype(np.int64)
    since_birthday = rng.integers(0, 365, n)
    for kind, (a, d) in _SPECIAL_AGE.items():
        age[design == kind], since_birthday[design == kind] = a, d
    y, m, dom = dates.ymd(icdat - since_birthday)
    birth = dates.from_ymd(y - age, m, dom)
    u = rng.random(n)
    pb = p["partial_birth_date"]
    prec = np.where(u < pb["month"], 1, np.where(u < pb["month"] + pb["year"], 2, 0))
    # partial dates only where the imputed day cannot move the age across a limit
    prec[(design != "") | (age < 22) | (age > 68)] = 0
    derived_age = dates.age_on(dates.impute_partial(birth, prec), icdat)
    return birth, prec, derived_age


def _typed_weight(kg: float, unit: str, inside: bool | None) -> tuple[str, float]:
    """Screening weight as typed (one decimal) and its value in kg, nudged to the side of the limits the design asks."""
    val = round(float(from_standard(kg, "VS", "WEIGHT", unit)), 1)
    for _ in range(50):
        std = float(to_standard(val, "VS", "WEIGHT", unit))
        if inside is True and std > 80.0:
            val = round(val - 0.1, 1)
        elif inside is True and std < 45.0:
            val = round(val + 0.1, 1)
        elif inside is False and 45.0 <= std <= 80.0:
            val = round(val + (0.1 if kg > 62 else -0.1), 1)
        else:
            break
    return f"{val:.1f}", float(to_standard(val, "VS", "WEIGHT", unit))


def _weights(sex, design, site_idx, sites: list[Site], rng: np.random.Generator):
    p = params()
    n = len(sex)
    mean = np.where(sex == "F", p["weight_kg"]["F"][0], p["weight_kg"]["M"][0])
    sd = np.where(sex == "F", p["weight_kg"]["F"][1], p["weight_kg"]["M"][1])
    kg = rng.normal(mean, sd)
    fails = np.array([designs.derived_results(d)["IN03"] == "N" for d in design])
    kg = np.where(fails, kg, np.clip(kg, 46.0, 79.0))
    kg[design == "IN03_WT_HIGH"] = rng.uniform(81.0, 95.0, (design == "IN03_WT_HIGH").sum())
    typed = np.empty(n, dtype=object)
    typed_kg = np.empty(n)
    units = np.empty(n, dtype=object)
    for i in range(n):
        unit = sites[site_idx[i]].unit("VS", "WEIGHT")
        if design[i] in _SPECIAL_WEIGHT:
            kg[i], inside = _SPECIAL_WEIGHT[design[i]]
        elif design[i] == "IN03_WT_HIGH":
            inside = False
        else:  # ordinary subjects inside the limits; others failing IN03 (by age) as drawn
            inside = None if fails[i] else True
        typed[i], typed_kg[i] = _typed_weight(kg[i], unit, inside)
        units[i] = unit
    h_mean = np.where(sex == "F", p["height_cm"]["F"][0], p["height_cm"]["M"][0])
    h_sd = np.where(sex == "F", p["height_cm"]["F"][1], p["height_cm"]["M"][1])
    height = rng.normal(h_mean, h_sd)
    return kg, typed, typed_kg, units, height


def make_subjects(sites: list[Site], n_subjects: int, seed: int, defects: float, cut: int) -> Table:
    """The screened subjects, in site then consent order, with everything decided before DAY 1."""
    p = params()
    rng = stream(seed, "subjects")
    sizes = site_sizes(len(sites), n_subjects, seed)
    site_idx = np.repeat(np.arange(len(sites)), sizes)
    icdat = rng.integers(
        cut - int(p["enrolment_days"]), cut - int(p["last_consent_days_before_cut"]) + 1, n_subjects
    )
    order = np.lexsort((icdat, site_idx))
    site_idx, icdat = site_idx[order], icdat[order]
    number = np.concatenate([np.arange(1, s + 1) for s in sizes])
    siteid = np.asarray([s.siteid for s in sites], dtype=object)[site_idx]
    subjid = np.asarray([f"{s}-{k:04d}" for s, k in zip(siteid, number)], dtype=object)
    design = designs.plan_designs(site_idx, sites, seed, defects)

    sex = np.where(rng.random(n_subjects) < float(p["female_fraction"]), "F", "M").astype(object)
    sex[np.isin(design, list(designs.FEMALE_ONLY))] = "F"
    race = weighted_choice(rng, p["race"], n_subjects)
    ethnic = weighted_choice(rng, p["ethnic"], n_subjects)
    birth, birth_prec, age = _birth_dates(icdat, design, rng)
    kg, wt_text, wt_kg, wt_unit, height = _weights(sex, design, site_idx, sites, rng)

    scrdt = icdat + rng.choice(np.asarray(p["consent_to_screening_days"]), n_subjects)
    scrdt[design == "IN06_LATE_CONSENT"] = icdat[design == "IN06_LATE_CONSENT"] - 1
    fail = np.array([designs.is_screen_failure(d) for d in design])
    d1 = scrdt + _uniform_int(rng, p["screening_days_before_day1"], n_subjects)
    randdt = np.maximum(
        d1 - rng.choice(np.asarray(p["randomization_days_before_day1"]), n_subjects), scrdt + 1
    )
    sfdt = scrdt + _uniform_int(rng, p["screen_failure_decision_days"], n_subjects)
    never = np.iinfo(np.int64).max // 4
    return Table(
        site=site_idx,
        SITEID=siteid,
        SUBJID=subjid,
        design=design,
        sex=sex,
        race=race,
        ethnic=ethnic,
        icdat=icdat,
        scrdt=scrdt,
        birth=birth,
        birth_prec=birth_prec,
        age=age,
        wt_kg_true=kg,
        wt_text=wt_text,
        wt_kg=wt_kg,
        wt_unit=wt_unit,
        height=height,
        fail=fail,
        d1=np.where(fail, never, d1),
        randdt=np.where(fail, never, randdt),
        sfdt=np.where(fail, sfdt, never),
    )


def randomize(subj: Table, screen_total: np.ndarray, seed: int) -> Table:
    """IWRS: stratum, RANDNO and (restricted) arm per randomized subject; returns the full RANDLIST.

    Adds ``stratum``, ``RANDNO``, ``armcd`` and ``dose`` columns to ``subj``. Each stratum has its
    own list of numbers in permuted blocks of one of each arm (1:1:1:1), consumed in order of
    randomization date; the list runs a few blocks past the last number used.
    """
    rng = stream(seed, "randomization")
    arms = study.arms()
    armcds = arms["ARMCD"].tolist()
    dose_of = dict(zip(arms["ARMCD"], arms["DOSE_MIU"]))
    strata = study.valueset("STRATUM")  # ("SLEDAI<10", "SLEDAI>=10")
    n = len(subj)
    width = max(4, len(str(n)))
    stratum = np.where(screen_total >= 10, strata[1], strata[0]).astype(object)
    randno = np.full(n, "", dtype=object)
    armcd = np.full(n, "", dtype=object)
    list_no, list_arm = [], []
    for s_idx, s in enumerate(strata, start=1):
        who = np.flatnonzero(~subj["fail"] & (stratum == s))
        who = who[np.lexsort((subj["SUBJID"][who].astype(str), subj["randdt"][who]))]
        n_blocks = (len(who) + len(armcds) - 1) // len(armcds) + 2
        seq = np.concatenate([rng.permutation(armcds) for _ in range(n_blocks)])
        numbers = [f"{s_idx}{k:0{width}d}" for k in range(1, len(seq) + 1)]
        randno[who] = numbers[: len(who)]
        armcd[who] = seq[: len(who)]
        list_no += numbers
        list_arm += list(seq)
    subj["stratum"] = np.where(subj["fail"], "", stratum).astype(object)
    subj["RANDNO"] = randno
    subj["armcd"] = armcd
    subj["dose"] = np.asarray([dose_of.get(a, 0.0) for a in armcd], dtype=float)
    return Table(RANDNO=text(list_no), ARMCD=text(list_arm))


def plan_course(subj: Table, seed: int, cut: int) -> None:
    """Adds responder status, discontinuation date and reason for randomized subjects.

    A discontinuation planned after the data cut has not happened yet: the subject is ongoing.
    """
    p = params()
    rng = stream(seed, "course")
    n = len(subj)
    # an exact share of each arm responds, so that small trials show the intended dose response
    responder = np.zeros(n, dtype=bool)
    for arm, share in p["sri4_responder"].items():
        members = rng.permutation(np.flatnonzero(subj["armcd"] == arm))
        responder[members[: int(round(float(share) * len(members)))]] = True
    subj["responder"] = responder
    d = p["discontinuation"]
    disc = (~subj["fail"]) & (rng.random(n) < float(d["rate"]))
    day = _uniform_int(rng, d["study_day"], n)
    discdt = np.where(disc, subj["d1"] + day - 1, np.iinfo(np.int64).max // 4)
    disc &= discdt <= cut
    subj["discdt"] = np.where(disc, discdt, np.iinfo(np.int64).max // 4)
    subj["disc_reason"] = np.where(disc, weighted_choice(rng, d["reasons"], n), "").astype(object)


def typed_height(height_cm: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Height as typed: whole cm, or inches with one decimal."""
    val = np.asarray([float(from_standard(h, "VS", "HEIGHT", u)) for h, u in zip(height_cm, units)])
    return fmt_fixed(val, np.where(units == "cm", 0, 1))
