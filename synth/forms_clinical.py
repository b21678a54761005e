"""Visit-based forms: VS, LB, FACS, SLEDAI, PGA, BILAG.

Each builder returns a :class:`Table` with the form's own columns plus ``VISIT`` and the internal
columns ``_subj`` (subject index), ``_date`` and ``_ord`` (sort keys), ``_avail`` (first day the
record exists, for earlier snapshots) and ``_protect`` (rows that decide eligibility or carry a
planted query, which row-level defects must not touch).
"""

from __future__ import annotations

import numpy as np

import study
from synth import dates
from synth.efficacy import item_names, sledai_visit_mask, totals
from synth.params import params, stream
from synth.table import Table, fmt_fixed, text
from synth.trial import Trial
from synth.units import from_standard, standard_unit

_NUMBER_COL = {"VS": "VSORRES", "LB": "LBORRES", "FACS": "FCORRES"}


def _visit_flag(trial: Trial, column: str) -> np.ndarray:
    """Per visit row: whether the schedule plans this assessment there (never at UNSCHEDULED)."""
    flags = dict(zip(study.visits()["VISIT"], study.visits()[column] == "Y"))
    return np.asarray([flags[v] for v in trial.visits["VISIT"]], dtype=bool)


def _cross(visit_rows: np.ndarray, n_tests_or_list) -> tuple[np.ndarray, np.ndarray]:
    """All (visit row, test index) pairs for the given visit rows and test indices."""
    tests = np.asarray(n_tests_or_list)
    return np.repeat(visit_rows, len(tests)), np.tile(tests, len(visit_rows))


def _base(trial: Trial, v: np.ndarray, order: np.ndarray) -> Table:
    vis = trial.visits
    return Table(
        VISIT=text(vis["VISIT"][v]),
        _subj=vis["_subj"][v],
        _date=vis["_date"][v],
        _avail=vis["_date"][v],
        _ord=order.astype(np.int64),
        _k=vis["_k"][v],
        _state=vis["_state"][v],
    )


# --------------------------------------------------------------------------------------- VS
def make_vs(trial: Trial) -> Table:
    """VS: weight and height where the schedule says, BP, pulse and temperature at every visit."""
    rng = stream(trial.seed, "vs")
    p = params()
    vs = study.vital_signs()
    codes = vs["VSTESTCD"].tolist()
    flagged = [c for c in codes if c in study.visits().columns]  # WEIGHT, HEIGHT: only where planned
    parts_v, parts_t = [], []
    for t, code in enumerate(codes):
        rows = np.flatnonzero(_visit_flag(trial, code)) if code in flagged else np.arange(len(trial.visits))
        parts_v.append(rows)
        parts_t.append(np.full(len(rows), t))
    v, t = np.concatenate(parts_v), np.concatenate(parts_t)
    out = _base(trial, v, t)
    subj = out["_subj"]
    site = trial.site_of(subj)
    code = np.asarray(codes, dtype=object)[t]
    unit_tab = np.asarray([[s.unit("VS", c) for c in codes] for s in trial.sites], dtype=object)
    units = unit_tab[site, t]
    std = np.zeros(len(v))
    n = len(v)
    fever_col = item_names().index("FEVER")
    fever = trial.items[subj, out["_state"], fever_col] & (out["_k"] >= 0)
    s_true = trial.subj["wt_kg_true"][subj]
    # weight drifts away from the screening value as the weeks pass
    drift = {"DAY 1": 0.6, "WEEK 12": 1.2, "WEEK 24": 1.8}
    wsd = np.asarray([drift.get(v, 1.0) for v in out["VISIT"]])
    std = np.where(code == "WEIGHT", s_true + rng.normal(0, 1, n) * wsd, std)
    std = np.where(code == "HEIGHT", trial.subj["height"][subj], std)
    sys = rng.normal(121, 12, n)
    std = np.where(code == "SYSBP", sys, std)
    # DIABP at least 25 mmHg below the SYSBP of the same visit (its own row's draw is another row's
    # value: capping by it let DIABP exceed SYSBP: derivations.md, (v2) Data-management consistency queries)
    sys_of_visit = np.full(len(trial.visits), np.inf)
    sys_of_visit[v[code == "SYSBP"]] = sys[code == "SYSBP"]
    std = np.where(code == "DIABP", np.minimum(rng.normal(76, 8, n), sys_of_visit[v] - 25), std)
    std = np.where(code == "PULSE", rng.normal(76, 9, n), std)
    temp = np.where(fever, rng.uniform(38.2, 39.0, n), np.clip(rng.normal(36.6, 0.25, n), 35.9, 37.4))
    std = np.where(code == "TEMP", temp, std)
    sent = std.copy()
    decimals = np.zeros(n, dtype=np.int64)
    for c in codes:
        for u, d in p["vs_decimals"][c].items():
            sel = (code == c) & (units == u)
            sent[sel] = from_standard(std[sel], "VS", c, u)
            decimals[sel] = int(d)
    res = fmt_fixed(sent, decimals)
    # the screening weight is the typed value the design decided (eligibility hinges on it)
    scr_w = (code == "WEIGHT") & (out["_k"] == 0)
    res[scr_w] = trial.subj["wt_text"][subj[scr_w]]
    out.update(VSDAT=dates.cdash(out["_date"]), VSTESTCD=text(code), VSORRES=res, VSORRESU=units)
    out["_protect"] = scr_w
    return out


# --------------------------------------------------------------------------------------- LB
def _lab_meta():
    lt = study.lab_tests()
    p = params()
    codes = lt["LBTESTCD"].tolist()
    screening_only = ((lt["LBCAT"] == "SEROLOGY") | lt["LBTESTCD"].isin(p["screening_only_tests"])).to_numpy()
    female_only = lt["LBTESTCD"].isin(p["female_only_tests"]).to_numpy()
    unscheduled = lt["LBCAT"].isin(p["unscheduled_lab_categories"]).to_numpy() & ~screening_only
    qualitative = (lt["RESULT_TYPE"] == "QUALITATIVE").to_numpy()
    return lt, codes, screening_only, female_only, unscheduled, qualitative


def _lab_rows(trial: Trial) -> tuple[np.ndarray, np.ndarray]:
    _, codes, scr_only, fem_only, unsched, _ = _lab_meta()
    vis = trial.visits
    female = trial.subj["sex"][vis["_subj"]] == "F"
    all_t = np.arange(len(codes))
    groups = [
        ((vis["_k"] == 0) & female, all_t),
        ((vis["_k"] == 0) & ~female, all_t[~fem_only]),
        (vis["_k"] >= 1, all_t[~scr_only]),
        (vis["_k"] < 0, all_t[unsched]),
    ]
    pairs = [_cross(np.flatnonzero(mask), tests) for mask, tests in groups]
    return np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs])


def _lab_latent(trial: Trial, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-subject usual levels of the numeric labs, in standard units."""
    n = len(trial.subj)
    male = trial.subj["sex"] == "M"
    return {
        "ALT": np.exp(rng.normal(np.log(18), 0.35, n)),
        "AST": np.exp(rng.normal(np.log(21), 0.3, n)),
        "CREAT": rng.normal(62, 10, n) + 15 * male,
        "HGB": np.clip(rng.normal(121, 12, n), 90, 150) + 12 * male,
        "PLAT": np.clip(rng.normal(225, 50, n), 130, 380),
        "WBC": np.clip(rng.normal(5.6, 1.5, n), 3.6, 10.0),
    }


def _site_range(trial: Trial, site: np.ndarray, code: str, which: int) -> np.ndarray:
    return np.asarray([s.ranges[code][which] for s in trial.sites])[site]


def _lab_values(trial: Trial, subj, state, site, k, code_of_row, rng) -> np.ndarray:
    """Numeric results in standard units, consistent with the SLEDAI items of the visit's state."""
    n = len(subj)
    lat = _lab_latent(trial, stream(trial.seed, "labs-subject"))
    names = item_names()

    def item(name):
        return trial.items[subj, state, names.index(name)]

    val = np.full(n, np.nan)
    noise = rng.normal(0, 1, n)
    u = rng.random(n)

    def put(code, values):
        sel = code_of_row == code
        val[sel] = values[sel]

    alt = lat["ALT"][subj] * np.exp(0.25 * noise)
    ast = lat["AST"][subj] * np.exp(0.22 * noise)
    # ordinary subjects stay well below 2 x ULN at screening
    alt = np.where(k == 0, np.minimum(alt, 1.8 * _site_range(trial, site, "ALT", 1)), alt)
    ast = np.where(k == 0, np.minimum(ast, 1.8 * _site_range(trial, site, "AST", 1)), ast)
    put("ALT", alt)
    put("AST", ast)
    put("CREAT", lat["CREAT"][subj] + 20 * item("PROTEINURIA") * u + 4 * noise)
    put("HGB", lat["HGB"][subj] + 4 * noise)
    put(
        "PLAT",
        np.where(item("THROMBO"), 40 + 55 * u, np.maximum(105, lat["PLAT"][subj] * np.exp(0.1 * noise))),
    )
    put(
        "WBC",
        np.where(item("LEUKOPENIA"), 1.6 + 1.3 * u, np.maximum(3.2, lat["WBC"][subj] * np.exp(0.12 * noise))),
    )
    lowc = item("LOWCOMP")
    c3lo, c4lo = _site_range(trial, site, "C3", 0), _site_range(trial, site, "C4", 0)
    put("C3", np.where(lowc, 0.35 + (c3lo - 0.4) * u, c3lo + 0.06 + (1.6 - c3lo) * u))
    c4_low = lowc & (rng.random(n) < 0.6)
    put("C4", np.where(c4_low, 0.03 + (c4lo - 0.05) * u, c4lo + 0.03 + (0.35 - c4lo) * u))
    dsuln = _site_range(trial, site, "DSDNA", 1)
    put("DSDNA", np.where(item("DNABIND"), dsuln * np.exp(0.2 + 2.8 * u), 1 + (dsuln - 6) * u))
    put(
        "PROT24",
        np.where(item("PROTEINURIA"), np.clip(np.exp(np.log(1.4) + 0.6 * noise), 0.55, 8), 0.04 + 0.36 * u),
    )
    put("URBC", np.where(item("HEMATURIA"), 6 + 54 * u, np.floor(4 * u)))
    put("UWBC", np.where(item("PYURIA"), 6 + 44 * u, np.floor(5 * u)))
    return val


def _site_lab_tables(trial: Trial, codes, qualitative):
    """Per site and test: unit sent, and the reference range as typed in that unit ('' if qualitative)."""
    p = params()
    shape = (len(trial.sites), len(codes))
    unit_tab = np.full(shape, "", dtype=object)
    lo_tab = np.full(shape, "", dtype=object)
    hi_tab = np.full(shape, "", dtype=object)
    for s in trial.sites:
        for ti, c in enumerate(codes):
            if qualitative[ti]:
                continue
            unit = s.unit("LB", c)
            d = int(p["lab_decimals"][c][unit])
            unit_tab[s.index, ti] = unit
            lo_tab[s.index, ti], hi_tab[s.index, ti] = (
                f"{from_standard(x, 'LB', c, unit) + 0.0:.{d}f}" for x in s.ranges[c]
            )
    return unit_tab, lo_tab, hi_tab


def _special_ratio(design: str) -> tuple[str, float, bool] | None:
    return {
        "EX03_ALT": ("ALT", 2.5, False),
        "EX03_AST_UKAT": ("AST", 2.3, False),
        "DEV_ALT": ("ALT", 2.2, False),
        "PASS_ALT_199": ("ALT", 1.99, True),
    }.get(design)


def make_lb(trial: Trial) -> Table:
    """LB: every test at SCREENING (HCG for women), the routine panel at each scheduled visit."""
    rng = stream(trial.seed, "lb")
    p = params()
    lt, codes, scr_only, _, _, qualitative = _lab_meta()
    v, t = _lab_rows(trial)
    out = _base(trial, v, t)
    subj, k = out["_subj"], out["_k"]
    site = trial.site_of(subj)
    code = np.asarray(codes, dtype=object)[t]
    std = _lab_values(trial, subj, out["_state"], site, k, code, rng)
    unit_tab, lo_tab, hi_tab = _site_lab_tables(trial, codes, qualitative)
    units, lo, hi = unit_tab[site, t], lo_tab[site, t], hi_tab[site, t]
    res = np.empty(len(v), dtype=object)
    for ti, c in enumerate(codes):
        if qualitative[ti]:
            continue
        for unit in np.unique(unit_tab[:, ti]):
            sel = (t == ti) & (units == unit)
            if not sel.any():
                continue
            sent = from_standard(std[sel], "LB", c, unit)
            typed = fmt_fixed(sent, int(p["lab_decimals"][c][unit]))
            loq = (p["lab_loq"].get(c) or {}).get(unit)
            if loq is not None:
                typed = np.where(sent < float(loq), f"<{loq}", typed).astype(object)
            res[sel] = typed
    _qualitative_results(trial, res, code, subj, out["_state"], k, lt)
    _design_lab_values(trial, res, units, hi, code, subj, k)
    sledai_vis = sledai_visit_mask()
    scr_critical = (k == 0) & (np.isin(code, ["ALT", "AST"]) | scr_only[t])
    consistency = (k >= 0) & sledai_vis[np.maximum(k, 0)] & np.isin(code, ["PLAT", "WBC", "PROT24"])
    out.update(
        LBDAT=dates.cdash(out["_date"]),
        LBTESTCD=text(code),
        LBORRES=res,
        LBORRESU=units,
        LBORNRLO=lo,
        LBORNRHI=hi,
        LBNAM=np.asarray([s.lab_name for s in trial.sites], dtype=object)[site],
    )
    out["_protect"] = scr_critical | consistency
    return out


def _qualitative_results(trial: Trial, res, code, subj, state, k, lt) -> None:
    names = item_names()
    casts = trial.items[subj, state, names.index("CASTS")]
    words = dict(zip(lt["LBTESTCD"], lt["QUALITATIVE_VALUES"].str.split("|")))
    for c, (pos, neg) in ((c, w) for c, w in words.items() if len(w) == 2):
        sel = code == c
        res[sel] = neg
        if c == "UCAST":
            res[sel & casts] = pos
    design = trial.subj["design"][subj]
    scr = k == 0
    for kind, test in (("IN05_HCG_POSITIVE", "HCG"), ("EX07_HBSAG", "HBSAG"), ("EX07_TB", "TBIGRA")):
        res[scr & (design == kind) & (code == test)] = words[test][0]


def _design_lab_values(trial: Trial, res, units, hi, code, subj, k) -> None:
    """SCREENING ALT/AST of designs that sit on or past 2 x ULN, typed in the site's unit."""
    p = params()
    design = trial.subj["design"][subj]
    for i in np.flatnonzero((k == 0) & (design != "")):
        spec = _special_ratio(design[i])
        if spec is None or code[i] != spec[0]:
            continue
        test, ratio, inside = spec
        d = int(p["lab_decimals"][test][units[i]])
        uln = float(hi[i])
        if inside:  # one more decimal than usual, rounded down so that the ratio stays below 2
            scale = 10 ** (d + 1)
            res[i] = f"{np.floor(ratio * uln * scale) / scale:.{d + 1}f}"
        else:
            val = round(ratio * uln, d)
            while val < 2 * uln:
                val = round(val + 10**-d, d)
            res[i] = f"{val:.{d}f}"


# ------------------------------------------------------------------------------------- FACS
def make_facs(trial: Trial) -> Table:
    """FACS: Treg, Th17, Tfh (% of CD4+) where planned; Treg rises with the IL-2 dose."""
    rng = stream(trial.seed, "facs")
    p = params()
    fc = study.flow_cytometry()
    codes = fc["FCTESTCD"].tolist()
    v, t = _cross(np.flatnonzero(_visit_flag(trial, "FACS")), np.arange(len(codes)))
    out = _base(trial, v, t)
    subj = out["_subj"]
    n_subj = len(trial.subj)
    base_rng = stream(trial.seed, "facs-subject")
    effect = np.asarray([float(p["facs_visit_effect"].get(x, 0.0)) for x in out["VISIT"]])
    dose = trial.subj["dose"][subj] ** 0.6
    val = np.zeros(len(v))
    for ti, c in enumerate(codes):
        mean, sd = p["facs_baseline"][c]
        base = np.clip(base_rng.normal(mean, sd, n_subj), mean * 0.3, mean * 2.5)
        sel = t == ti
        change = 1 + float(p["facs_dose_response"][c]) * dose[sel] * effect[sel]
        val[sel] = base[subj[sel]] * change * np.exp(rng.normal(0, float(p["facs_noise_sd"]), sel.sum()))
    val = np.clip(val, 0.05, 60)
    out.update(
        FCDAT=dates.cdash(out["_date"]),
        FCTESTCD=text(np.asarray(codes, dtype=object)[t]),
        FCORRES=fmt_fixed(val, int(p["facs_decimals"])),
        FCORRESU=text(np.asarray([standard_unit("FACS", c) for c in codes], dtype=object)[t]),
    )
    out["_protect"] = np.zeros(len(v), dtype=bool)
    return out


# ------------------------------------------------------------------------ SLEDAI, PGA, BILAG
def _assessment_rows(trial: Trial) -> Table:
    v = np.flatnonzero(_visit_flag(trial, "SLEDAI"))
    return _base(trial, v, np.zeros(len(v)))


def make_sledai(trial: Trial) -> Table:
    """SLEDAI: 24 items Y/N and the site total (correct here; mismatches are planted later)."""
    out = _assessment_rows(trial)
    items = trial.items[out["_subj"], out["_k"]]
    out["SLDAT"] = dates.cdash(out["_date"])
    for j, name in enumerate(item_names()):
        out[name] = np.where(items[:, j], "Y", "N").astype(object)
    out["SLTOTAL"] = text([str(x) for x in totals(items)])
    out["_protect"] = out["_k"] == 0  # SCREENING total decides IN02
    return out


def make_pga(trial: Trial) -> Table:
    """PGA: 0.0-3.0 with one decimal."""
    out = _assessment_rows(trial)
    tenths = trial.pga[out["_subj"], out["_k"]]
    out["PGADAT"] = dates.cdash(out["_date"])
    out["PGASCORE"] = text([f"{x // 10}.{x % 10}" for x in tenths])
    out["_protect"] = np.zeros(len(out), dtype=bool)
    return out


def make_bilag(trial: Trial) -> Table:
    """BILAG: one grade A-E per domain."""
    out = _assessment_rows(trial)
    grades = trial.bilag[out["_subj"], out["_k"]]
    out["BLDAT"] = dates.cdash(out["_date"])
    for j, dom in enumerate(study.bilag_domains()):
        out[dom] = text(grades[:, j])
    out["_protect"] = np.zeros(len(out), dtype=bool)
    return out
