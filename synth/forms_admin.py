"""Subject-level forms: DM, IE, DS, EX (same internal columns as in forms_clinical)."""

from __future__ import annotations

import numpy as np

import study
from synth import dates, designs
from synth.params import params, stream
from synth.table import Table, text
from synth.trial import Trial


def _subject_rows(subj_index: np.ndarray, date: np.ndarray, order, avail=None) -> Table:
    return Table(
        _subj=np.asarray(subj_index, dtype=np.int64),
        _date=np.asarray(date, dtype=np.int64),
        _avail=np.asarray(date if avail is None else avail, dtype=np.int64),
        _ord=np.asarray(order, dtype=np.int64),
    )


def make_dm(trial: Trial) -> Table:
    """DM: one row per screened subject; some birth dates partial (never where age decides eligibility)."""
    s = trial.subj
    n = len(s)
    out = _subject_rows(np.arange(n), s["icdat"], np.zeros(n))
    out.update(
        BRTHDAT=dates.cdash_partial(s["birth"], s["birth_prec"]),
        SEX=text(s["sex"]),
        RACE=text(s["race"]),
        ETHNIC=text(s["ethnic"]),
        ICDAT=dates.cdash(s["icdat"]),
    )
    out["_protect"] = np.ones(n, dtype=bool)
    return out


def decision_date(trial: Trial) -> np.ndarray:
    """Day eligibility was settled: DAY 1 for randomized subjects, the failure date otherwise."""
    return np.minimum(trial.subj["randdt"], trial.subj["sfdt"])


def make_ie(trial: Trial) -> tuple[Table, list[dict]]:
    """IE: the investigator's answer to each of the 20 criteria per screened subject.

    Returns the table and the planted disagreements (ground truth before RECIDs exist):
    deviation subjects answered as eligible, and with defects a few flipped answers on
    criteria the data decide.
    """
    s = trial.subj
    crit = study.criteria()
    codes = crit["IETESTCD"].tolist()
    n, m = len(s), len(codes)
    answers = np.empty((n, m), dtype=object)
    for i, d in enumerate(s["design"]):
        a = designs.investigator_answers(d)
        answers[i] = [a[c] for c in codes]
    planted = []
    for i in np.flatnonzero(np.isin(s["design"], list(designs.DEVIATIONS))):
        derived = designs.derived_results(s["design"][i])
        for j, c in enumerate(codes):
            if derived[c] != answers[i, j]:
                planted.append(
                    {"subj": int(i), "col": j, "ietestcd": c, "answer": answers[i, j], "derived": derived[c]}
                )
    if trial.defects > 0:
        rng = stream(trial.seed, "ie-flips")
        derived_only = [j for j, src in enumerate(crit["SOURCE"]) if src == "DERIVED"]
        ordinary = np.flatnonzero(s["design"] == "")
        n_flip = max(1, int(round(trial.defects * n * 0.3)))
        for i in rng.choice(ordinary, size=min(n_flip, len(ordinary)), replace=False):
            j = int(rng.choice(derived_only))
            derived = answers[i, j]
            answers[i, j] = "N" if derived == "Y" else "Y"
            planted.append(
                {"subj": int(i), "col": j, "ietestcd": codes[j], "answer": answers[i, j], "derived": derived}
            )
    subj_idx = np.repeat(np.arange(n), m)
    col = np.tile(np.arange(m), n)
    out = _subject_rows(subj_idx, s["scrdt"][subj_idx], col, decision_date(trial)[subj_idx])
    out.update(IETESTCD=text(np.asarray(codes, dtype=object)[col]), IEORRES=text(answers.reshape(-1)))
    out["_protect"] = np.ones(len(out), dtype=bool)
    for p in planted:
        p["row"] = int(p["subj"] * m + p["col"])
    return out, planted


def _failed_criteria(design: str) -> str:
    fails = designs.FAILURES.get(design, {})
    crit = dict(zip(study.criteria()["IETESTCD"], study.criteria()["IECAT"]))
    words = [f"{c} {'NOT MET' if crit[c] == 'INCLUSION' else 'PRESENT'}" for c in sorted(fails)]
    return "SCREEN FAILURE: " + ", ".join(words)


def make_ds(trial: Trial) -> Table:
    """DS: consent; then screen failure, or randomized and (by the cut) completed or discontinued."""
    s = trial.subj
    n = len(s)
    idx = np.arange(n)
    parts = [(idx, s["icdat"], "INFORMED CONSENT OBTAINED", text("INFORMED CONSENT OBTAINED", n))]
    f = np.flatnonzero(s["fail"])
    parts.append((f, s["sfdt"][f], "SCREEN FAILURE", text([_failed_criteria(d) for d in s["design"][f]])))
    r = np.flatnonzero(~s["fail"])
    parts.append((r, s["randdt"][r], "RANDOMIZED", text("RANDOMIZED", len(r))))
    c = np.flatnonzero(s["completed"])
    parts.append((c, s["completedt"][c], "COMPLETED", text("COMPLETED WEEK 24", len(c))))
    d = np.flatnonzero(s["disc_reason"] != "")
    parts.append((d, s["discdt"][d], None, text([f"DISCONTINUED: {x}" for x in s["disc_reason"][d]])))
    tables = []
    for order, (who, when, decod, term) in enumerate(parts):
        t = _subject_rows(who, when, np.full(len(who), order))
        t["DSDECOD"] = text(s["disc_reason"][who]) if decod is None else text(decod, len(who))
        t["DSSTDAT"] = dates.cdash(when)
        t["DSTERM"] = term
        tables.append(t)
    out = Table.concat(tables)
    out["_protect"] = np.ones(len(out), dtype=bool)
    return out


def injection_days() -> np.ndarray:
    """Planned study days of the injections (every other day within each cycle, study/dosing.csv)."""
    cyc = study.dosing_cycles()
    return np.concatenate(
        [
            np.linspace(a, b, k).round().astype(np.int64)
            for a, b, k in zip(cyc["FIRST_DAY"], cyc["LAST_DAY"], cyc["INJECTIONS"])
        ]
    )


def make_ex(trial: Trial) -> Table:
    """EX: each planned injection up to the cut (or discontinuation); a few not given, with a reason."""
    rng = stream(trial.seed, "ex")
    p = params()
    s = trial.subj
    days = injection_days()
    per_cycle = study.dosing_cycles()["INJECTIONS"].to_numpy()
    cycle = np.repeat(np.arange(len(per_cycle)), per_cycle)
    r = np.flatnonzero(~s["fail"])
    n_inj = len(days)
    subj_idx = np.repeat(r, n_inj)
    j = np.tile(np.arange(n_inj), len(r))
    late = (rng.random(len(j)) < float(p["late_injection_rate"])) & (j > 0)
    when = s["d1"][subj_idx] + days[j] - 1 + late
    keep = (when <= trial.cut) & (when < s["discdt"][subj_idx])
    subj_idx, j, when = subj_idx[keep], j[keep], when[keep]
    n = len(j)
    missed = (rng.random(n) < float(p["missed_dose_rate"])) & (j > 0)
    kits = 100000 + rng.choice(900000, size=len(r) * len(per_cycle), replace=False)
    pos = np.searchsorted(r, subj_idx)
    minutes = 7 * 60 + 5 * rng.integers(0, 14 * 12, n)
    out = _subject_rows(subj_idx, when, j)
    out.update(
        EXSTDAT=dates.cdash(when),
        EXSTTIM=np.where(missed, "", [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]).astype(object),
        KITNO=text([f"K{k}" for k in kits[pos * len(per_cycle) + cycle[j]]]),
        EXADMIN=np.where(missed, "N", "Y").astype(object),
        EXREASND=np.where(
            missed, rng.choice(np.asarray(p["missed_dose_reasons"], dtype=object), n), ""
        ).astype(object),
    )
    out["_protect"] = j == 0  # the first injection is the first-dose date every study day hangs on
    return out
