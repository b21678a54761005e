"""Clinically inconsistent but valid records (data queries) and protocol deviations.

These are planted in the data itself, so every export carries them; the ground truth names the
newest complete export, the one in force. Planted rows are marked ``_protect`` so that no
row-level defect later hides them.
"""

from __future__ import annotations

import numpy as np

import study
from synth.dates import cdash
from synth.efficacy import item_weights
from synth.params import params, stream
from synth.table import Table
from synth.trial import Trial

_LAB_ITEM = {"THROMBO": "PLAT", "LEUKOPENIA": "WBC", "PROTEINURIA": "PROT24"}


def _gt(
    kind: str,
    outcome: str,
    trial: Trial,
    subj: int,
    file: str = "",
    recid: str = "",
    column: str = "",
    **detail,
) -> dict:
    site = trial.sites[int(trial.subj["site"][subj])]
    det = ";".join([f"subjid={trial.subj['SUBJID'][subj]}"] + [f"{k}={v}" for k, v in detail.items()])
    return {
        "kind": kind,
        "outcome": outcome,
        "site": site.siteid,
        "export_id": "",
        "file": file,
        "recid": recid,
        "column": column,
        "detail": det,
    }


def plant_sltotal_mismatch(sl: Table, trial: Trial) -> list[dict]:
    """Site totals that differ from the weighted sum of the items ticked."""
    rng = stream(trial.seed, "q-sltotal")
    cand = np.flatnonzero(~sl["_protect"])
    n = min(len(cand), max(1, int(round(trial.defects * len(sl) * 0.3))))
    out = []
    for r in rng.choice(cand, size=n, replace=False):
        right = int(sl["SLTOTAL"][r])
        delta = int(rng.choice([-4, -2, -1, 1, 2, 4]))
        wrong = right + delta if right + delta >= 0 else right + abs(delta)
        sl["SLTOTAL"][r] = str(wrong)
        sl["_protect"][r] = True
        out.append(
            _gt(
                "sltotal_mismatch",
                "query",
                trial,
                int(sl["_subj"][r]),
                "SLEDAI.csv",
                sl["RECID"][r],
                "SLTOTAL",
                visit=sl["VISIT"][r],
                site_total=wrong,
                recomputed=right,
            )
        )
    return out


def _other_side(test: str, item_yes: bool, unit: str, rng) -> str:
    """A lab value on the wrong side of the SLEDAI threshold for the item's answer."""
    p = params()["lab_decimals"][test][unit]
    if test == "PLAT":
        v = rng.uniform(120, 250) if item_yes else rng.uniform(50, 90)
    elif test == "WBC":
        v = rng.uniform(3.6, 7.5) if item_yes else rng.uniform(1.8, 2.7)
    else:
        v = rng.uniform(0.08, 0.4) if item_yes else rng.uniform(0.7, 2.5)
        v = v * (1000 if unit == "mg/24h" else 1)
    return f"{v:.{int(p)}f}"


def plant_lab_inconsistency(sl: Table, lb: Table, trial: Trial) -> list[dict]:
    """SLEDAI lab items contradicted by the same visit's lab value (the lab value is changed)."""
    rng = stream(trial.seed, "q-sledai-lab")
    lab_rows = np.flatnonzero(np.isin(lb["LBTESTCD"], list(_LAB_ITEM.values())) & (lb["_k"] >= 0))
    where = {(int(lb["_subj"][r]), int(lb["_k"][r]), lb["LBTESTCD"][r]): r for r in lab_rows}
    cand = np.flatnonzero(~sl["_protect"] & (sl["_k"] >= 1))
    n = min(len(cand), max(1, int(round(trial.defects * len(sl) * 0.2))))
    out = []
    used = set()
    for r in rng.permutation(cand):
        if len(out) >= n:
            break
        item = str(rng.choice(list(_LAB_ITEM)))
        key = (int(sl["_subj"][r]), int(sl["_k"][r]), _LAB_ITEM[item])
        lr = where.get(key)
        if lr is None or lr in used:
            continue
        used.add(lr)
        yes = sl[item][r] == "Y"
        lb["LBORRES"][lr] = _other_side(_LAB_ITEM[item], yes, lb["LBORRESU"][lr], rng)
        lb["_protect"][lr] = True
        sl["_protect"][r] = True
        out.append(
            _gt(
                "sledai_lab_inconsistent",
                "query",
                trial,
                key[0],
                "SLEDAI.csv",
                sl["RECID"][r],
                item,
                visit=sl["VISIT"][r],
                answer=sl[item][r],
                lbtestcd=_LAB_ITEM[item],
                lb_recid=lb["RECID"][lr],
                lborres=lb["LBORRES"][lr],
                lborresu=lb["LBORRESU"][lr],
            )
        )
    return out


def ie_truth(ie: Table, planted: list[dict], trial: Trial) -> list[dict]:
    """Ground truth for IE answers that disagree with the derived criterion."""
    return [
        _gt(
            "ie_answer_disagrees",
            "query",
            trial,
            p["subj"],
            "IE.csv",
            ie["RECID"][p["row"]],
            "IEORRES",
            ietestcd=p["ietestcd"],
            answer=p["answer"],
            derived=p["derived"],
        )
        for p in planted
    ]


def deviation_truth(trial: Trial) -> list[dict]:
    """Ground truth for subjects randomized although a derived criterion says ineligible."""
    from synth import designs

    out = []
    for i in np.flatnonzero(np.isin(trial.subj["design"], list(designs.DEVIATIONS))):
        for crit, res in designs.DEVIATIONS[trial.subj["design"][i]].items():
            out.append(
                _gt(
                    "randomized_while_ineligible",
                    "deviation",
                    trial,
                    int(i),
                    ietestcd=crit,
                    derived=res,
                    randno=trial.subj["RANDNO"][i],
                )
            )
    return out


def window_truth(trial: Trial) -> list[dict]:
    """Ground truth for visits moved outside their window (one line per subject and visit)."""
    return [
        _gt(
            "visit_out_of_window",
            "query",
            trial,
            m["subj"],
            column="VISIT",
            visit=m["VISIT"],
            date=str(cdash([m["date"]])[0]),
            studyday=m["studyday"],
            planned=m["planned"],
            window=m["window"],
        )
        for m in trial.moved_visits
    ]


def sledai_weights_check(sl: Table) -> None:
    """Guard: SLTOTAL before planting equals the weighted sum (the builder's contract)."""
    items = np.stack([sl[c] == "Y" for c in study.sledai_weights()], axis=1)
    assert (items.astype(np.int64) @ item_weights() == sl["SLTOTAL"].astype(np.int64)).all()
