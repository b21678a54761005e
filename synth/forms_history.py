"""Subject-level history forms: CM, MH and AE (the AE form's v2 columns: :mod:`synth.ae_coding`).

Built subject by subject (a handful of rows each, cheap even for thousands of subjects) into
column lists. Pre-consent records are written so that the eligibility rules decide exactly what
the subject's design says: partial start dates only where they lie years before consent, end
dates in full wherever a limit (90 days, 183 days, 5 years) is near.
"""

from __future__ import annotations

import numpy as np

import study
from synth import dates
from synth.ae_coding import add_ae_v2_columns
from synth.forms_admin import injection_days
from synth.params import params, stream
from synth.table import Table
from synth.trial import Trial

NEVER = np.iinfo(np.int64).max // 4

_DESIGN_MH = {  # design -> (MHTERM, MHCAT, start days before consent, end days before consent or None, NYHA)
    "EX01_ALLERGY": ("Allergy to hydroxychloroquine", "ALLERGY_STUDY_DRUG", 800, None, ""),
    "EX02_NPSLE": ("Lupus psychosis", "NPSLE_SEVERE", 120, None, ""),
    "EX05_MALIGNANCY": ("Breast cancer", "MALIGNANCY", 1900, 1100, ""),
    "EX06_SERIOUS_INFECTION": ("Sepsis", "INFECTION_SERIOUS", 50, 30, ""),
    "EX06_CHRONIC_INFECTION": ("Chronic osteomyelitis", "INFECTION_CHRONIC", 2000, None, ""),
    "EX08_OCULAR": ("Cataract", "OCULAR", 600, None, ""),
    "EX09_HEART_FAILURE": ("Congestive heart failure", "HEART_FAILURE", 500, None, "III"),
    "EX10_PEPTIC_ULCER": ("Gastric ulcer", "PEPTIC_ULCER", 60, None, ""),
    "EX11_AUTOIMMUNE": ("Sjogren's syndrome", "AUTOIMMUNE_OTHER", 1000, None, ""),
}
_DESIGN_CM = {  # design -> (CMTRT, CMDECOD, dose, unit, freq, route, start days before, end days before or None)
    "EX12_RITUXIMAB": ("Rituximab", "RITUXIMAB", "1000", "mg", "ONCE", "INTRAVENOUS", 120, 120),
    "DEV_BIOLOGIC": ("Benlysta", "BELIMUMAB", "10", "mg/kg", "Q4W", "INTRAVENOUS", 700, 150),
    "EX13_IMMUNOSUPPRESSOR": ("Azathioprine", "AZATHIOPRINE", "50", "mg", "BID", "ORAL", 400, None),
}
_MIN_END_GAP = {"MALIGNANCY": 2600, "INFECTION_SERIOUS": 365}


class _Rows:
    """Column lists filled one record at a time."""

    def __init__(self, columns: list[str]):
        self.cols = {c: [] for c in columns}

    def add(self, **values) -> None:
        for c, lst in self.cols.items():
            lst.append(values.get(c, ""))

    def table(self, ints: tuple[str, ...]) -> Table:
        return Table(
            {c: np.asarray(v, dtype=np.int64 if c in ints else object) for c, v in self.cols.items()}
        )


def _start_text(start: int, icdat: int, rng: np.random.Generator) -> str:
    """A start date as a site may know it: partial (month or year) only when years before consent."""
    prec = 0
    if icdat - start > 3 * 365:
        u = rng.random()
        prec = 1 if u < 0.25 else (2 if u < 0.35 else 0)
    if prec == 2 and dates.ymd([start])[0][0] >= dates.ymd([icdat])[0][0] - 1:
        prec = 1
    return str(dates.cdash_partial([start], [prec])[0])


def _dose_text(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


# --------------------------------------------------------------------------------------- CM
_CM_COLS = [
    "CMTRT",
    "CMDECOD",
    "CMDOSE",
    "CMDOSU",
    "CMDOSFRQ",
    "CMROUTE",
    "CMSTDAT",
    "CMENDAT",
    "CMONGO",
    "CMINDC",
    "_subj",
    "_date",
    "_avail",
    "_ord",
    "_end",
]


def _add_steroid(rows: _Rows, i: int, s, rng, factors: dict, order: int) -> None:
    p = params()
    design, icdat, wt = s["design"][i], int(s["icdat"][i]), float(s["wt_kg"][i])
    names = p["steroids"]
    pick = names[int(rng.choice(len(names), p=np.asarray([x[2] for x in names]) / sum(x[2] for x in names)))]
    dist = p["prednisone_mg_day"]
    values = np.asarray(dist["values"], dtype=float)
    w = np.asarray(dist["weights"], dtype=float)
    if design == "IN04_STEROID_HIGH":
        pick, pred = names[0], float(np.ceil(1.25 * wt / 5) * 5)
    else:
        allowed = values <= 0.9 * wt
        pred = float(rng.choice(values[allowed], p=w[allowed] / w[allowed].sum()))
    start = icdat - int(rng.integers(120, 3650))
    rows.add(
        CMTRT=pick[0],
        CMDECOD=pick[1],
        CMDOSE=_dose_text(pred / factors[pick[1]]),
        CMDOSU="mg",
        CMDOSFRQ="QD",
        CMROUTE="ORAL",
        CMSTDAT=_start_text(start, icdat, rng),
        CMONGO="Y",
        CMINDC="SLE",
        _subj=i,
        _date=start,
        _avail=icdat,
        _ord=order,
        _end=NEVER,
    )


def _add_listed(rows: _Rows, i: int, entry, start: int, end: int | None, icdat: int, rng, order: int) -> None:
    trt, decod, dose, unit, freq, route, indc = entry[:7]
    rows.add(
        CMTRT=trt,
        CMDECOD=decod,
        CMDOSE=str(dose),
        CMDOSU=unit,
        CMDOSFRQ=freq,
        CMROUTE=route,
        CMSTDAT=_start_text(start, icdat, rng) if end is None else str(dates.cdash([start])[0]),
        CMENDAT="" if end is None else str(dates.cdash([end])[0]),
        CMONGO="Y" if end is None else "N",
        CMINDC=indc,
        _subj=i,
        _date=start,
        _avail=icdat,
        _ord=order,
        _end=NEVER if end is None else end,
    )


def make_cm(trial: Trial, extra: Table | None = None) -> Table:
    """CM: background therapy started long before consent and ongoing, supportive and past drugs.

    ``extra`` rows (treatments of adverse events, from :func:`make_ae`) are appended.
    """
    rng = stream(trial.seed, "cm")
    p = params()
    s = trial.subj
    dc = study.drug_classes()
    factors = dict(zip(dc["CMDECOD"], dc["PREDNISONE_FACTOR"]))
    rows = _Rows(_CM_COLS)
    for i in range(len(s)):
        design, icdat = s["design"][i], int(s["icdat"][i])
        order = 0
        has_standard = False
        if design == "IN04_STEROID_HIGH" or (
            design != "IN04_NO_STANDARD" and rng.random() < p["steroid_rate"]
        ):
            _add_steroid(rows, i, s, rng, factors, order)
            order, has_standard = order + 1, True
        used = set()
        for entry in p["background"]:
            if rng.random() < entry[7] and entry[1] not in used and design != "IN04_NO_STANDARD":
                used.add(entry[1])
                _add_listed(rows, i, entry, icdat - int(rng.integers(120, 3000)), None, icdat, rng, order)
                order, has_standard = order + 1, True
        if not has_standard:  # at least one standard therapy; too recent for the no-standard design
            recent = design == "IN04_NO_STANDARD"
            start = icdat - int(rng.integers(20, 80) if recent else rng.integers(120, 3000))
            entry = p["background"][0]
            trt, decod, dose, unit, freq, route, indc = entry[:7]
            rows.add(
                CMTRT=trt,
                CMDECOD=decod,
                CMDOSE=dose,
                CMDOSU=unit,
                CMDOSFRQ=freq,
                CMROUTE=route,
                CMSTDAT=str(dates.cdash([start])[0]) if recent else _start_text(start, icdat, rng),
                CMONGO="Y",
                CMINDC=indc,
                _subj=i,
                _date=start,
                _avail=icdat,
                _ord=order,
                _end=NEVER,
            )
            order += 1
        for entry in p["supportive"]:
            if rng.random() < entry[7]:
                _add_listed(rows, i, entry, icdat - int(rng.integers(30, 2000)), None, icdat, rng, order)
                order += 1
        for entry in p["past_treatments"]:
            if rng.random() < entry[7]:
                end = icdat - int(rng.integers(400, 1500))
                _add_listed(rows, i, entry, end - int(rng.integers(90, 700)), end, icdat, rng, order)
                order += 1
        if design in _DESIGN_CM:
            trt, decod, dose, unit, freq, route, before, end_before = _DESIGN_CM[design]
            entry = (trt, decod, dose, unit, freq, route, "SLE")
            end = None if end_before is None else icdat - end_before
            start = icdat - before
            rows.add(
                CMTRT=trt,
                CMDECOD=decod,
                CMDOSE=dose,
                CMDOSU=unit,
                CMDOSFRQ=freq,
                CMROUTE=route,
                CMSTDAT=str(dates.cdash([start])[0]),
                CMENDAT="" if end is None else str(dates.cdash([end])[0]),
                CMONGO="Y" if end is None else "N",
                CMINDC="SLE",
                _subj=i,
                _date=start,
                _avail=icdat,
                _ord=order,
                _end=NEVER if end is None else end,
            )
            order += 1
    out = rows.table(("_subj", "_date", "_avail", "_ord", "_end"))
    if extra is not None and len(extra):
        out = Table.concat([out, extra.take(np.arange(len(extra)))])
    out["_protect"] = np.isin(out["CMDECOD"], dc["CMDECOD"].to_numpy())
    return out


# --------------------------------------------------------------------------------------- MH
def make_mh(trial: Trial) -> Table:
    """MH: SLE diagnosis for everyone, other conditions that do not exclude, and the design's condition."""
    rng = stream(trial.seed, "mh")
    p = params()
    s = trial.subj
    rows = _Rows(
        ["MHTERM", "MHCAT", "MHSTDAT", "MHENDAT", "MHONGO", "MHNYHA", "_subj", "_date", "_avail", "_ord"]
    )
    for i in range(len(s)):
        icdat, birth = int(s["icdat"][i]), int(s["birth"][i])
        earliest = birth + 6 * 365
        start = max(earliest, icdat - int(rng.integers(365, 5500)))
        rows.add(
            MHTERM="Systemic lupus erythematosus",
            MHCAT="SLE",
            MHSTDAT=_start_text(start, icdat, rng),
            MHONGO="Y",
            _subj=i,
            _date=start,
            _avail=icdat,
            _ord=0,
        )
        order = 1
        for term, cat, prob, ongoing in p["history"]:
            if rng.random() >= prob:
                continue
            if rng.random() < ongoing:
                start = max(earliest, icdat - int(rng.integers(200, 5000)))
                nyha = str(rng.choice(["I", "II"])) if cat == "HEART_FAILURE" else ""
                rows.add(
                    MHTERM=term,
                    MHCAT=cat,
                    MHSTDAT=_start_text(start, icdat, rng),
                    MHONGO="Y",
                    MHNYHA=nyha,
                    _subj=i,
                    _date=start,
                    _avail=icdat,
                    _ord=order,
                )
            else:
                end = icdat - _MIN_END_GAP.get(cat, 200) - int(rng.integers(0, 2000))
                start = max(earliest, end - int(rng.integers(10, 400)))
                end = max(end, start)
                rows.add(
                    MHTERM=term,
                    MHCAT=cat,
                    MHSTDAT=_start_text(start, icdat, rng),
                    MHENDAT=str(dates.cdash([end])[0]),
                    MHONGO="N",
                    _subj=i,
                    _date=start,
                    _avail=icdat,
                    _ord=order,
                )
            order += 1
        if s["design"][i] in _DESIGN_MH:
            term, cat, before, end_before, nyha = _DESIGN_MH[s["design"][i]]
            start = icdat - before
            rows.add(
                MHTERM=term,
                MHCAT=cat,
                MHSTDAT=str(dates.cdash([start])[0]),
                MHENDAT="" if end_before is None else str(dates.cdash([icdat - end_before])[0]),
                MHONGO="Y" if end_before is None else "N",
                MHNYHA=nyha,
                _subj=i,
                _date=start,
                _avail=icdat,
                _ord=order,
            )
    out = rows.table(("_subj", "_date", "_avail", "_ord"))
    out["_protect"] = ~np.isin(out["MHCAT"], ["SLE", "OTHER", "MALIGNANCY_EXEMPT"])
    return out


# --------------------------------------------------------------------------------------- AE
_AE_COLS = [
    "AETERM",
    "AESTDAT",
    "AEENDAT",
    "AEONGO",
    "AESEV",
    "AESER",
    "AEREL",
    "AEACN",
    "AEOUT",
    "_subj",
    "_date",
    "_avail",
    "_ord",
    "_end",
]
_TREATS = {
    "Injection site": "INJECTION SITE REACTION",
    "Pain at injection": "INJECTION SITE REACTION",
    "Pyrexia": "PYREXIA",
    "Influenza": "PYREXIA",
    "infection": "INFECTION",
    "Pneumonia": "INFECTION",
    "Herpes zoster": "HERPES ZOSTER",
}


def _ae_record(
    rows: _Rows,
    i: int,
    term: str,
    start: int,
    end: int,
    cut: int,
    sev: str,
    ser: bool,
    rel: str,
    acn: str,
    order: int,
) -> None:
    ongoing = end > cut
    rows.add(
        AETERM=term,
        AESTDAT=str(dates.cdash([start])[0]),
        AEENDAT="" if ongoing else str(dates.cdash([end])[0]),
        AEONGO="Y" if ongoing else "N",
        AESEV=sev,
        AESER="Y" if ser else "N",
        AEREL=rel,
        AEACN=acn,
        AEOUT="NOT RECOVERED/NOT RESOLVED" if ongoing else "RECOVERED/RESOLVED",
        _subj=i,
        _date=start,
        _avail=start,
        _ord=order,
        _end=end,
    )


def make_ae(trial: Trial) -> tuple[Table, Table]:
    """AE for randomized subjects (more injection-site reactions on IL-2), and CM rows treating some of them."""
    rng = stream(trial.seed, "ae")
    p = params()
    s = trial.subj
    arm_index = {a: j for j, a in enumerate(study.arms()["ARMCD"])}
    sev_p = p["ae_severity"]
    dose_days = injection_days()
    treatments = {t[6]: t for t in p["study_treatments"]}
    rows = _Rows(_AE_COLS)
    cm = _Rows(_CM_COLS)
    for i in np.flatnonzero(~s["fail"]):
        d1 = int(s["d1"][i])
        stop = int(min(trial.cut, s["discdt"][i] - 1, s["completedt"][i], d1 + 175))
        span = max(stop - d1 + 1, 1)
        a = arm_index[s["armcd"][i]]
        events = []
        for term, rates, p_ser, kind in p["adverse_events"]:
            count = rng.poisson(rates[a] * span / 168.0)
            for _ in range(count):
                if kind == "DOSE":
                    days = dose_days[d1 + dose_days - 1 <= stop]
                    if not len(days):
                        continue
                    start = d1 + int(rng.choice(days)) - 1
                else:
                    start = d1 + int(rng.integers(0, span))
                lo, hi = p["ae_duration_days"][kind]
                events.append((term, start, start + int(rng.integers(lo, hi + 1)), p_ser, kind))
        if rng.random() < p["ae_pretreatment_rate"] and d1 - int(s["icdat"][i]) > 2:
            start = int(s["icdat"][i]) + int(rng.integers(1, d1 - int(s["icdat"][i])))
            events.append(("Headache", start, start + int(rng.integers(1, 4)), 0.0, "PRE"))
        if s["disc_reason"][i] == "ADVERSE EVENT":
            start = int(s["discdt"][i]) - int(rng.integers(0, 8))
            events.append(
                ("Systemic lupus erythematosus flare", start, start + int(rng.integers(7, 40)), 0.5, "DISC")
            )
        events.sort(key=lambda e: (e[1], e[0]))
        seen: set[tuple[str, int]] = set()
        for order, (term, start, end, p_ser, kind) in enumerate(events):
            # The same event twice on one day is one event (a second record would be an AE duplicate,
            # derivations.md, (v2) Data-management consistency queries): drawn as before, not written.
            repeat = (term, start) in seen
            seen.add((term, start))
            ser = bool(rng.random() < p_ser)
            sev = str(rng.choice(list(sev_p), p=np.asarray(list(sev_p.values())) / sum(sev_p.values())))
            if ser and sev == "MILD":
                sev = "MODERATE"
            if kind == "DOSE":
                rel = str(rng.choice(["RELATED", "PROBABLE", "POSSIBLE"]))
            elif kind == "PRE":
                rel, sev = "NOT RELATED", "MILD"
            else:
                rel = str(rng.choice(["NOT RELATED", "UNLIKELY", "POSSIBLE"], p=[0.5, 0.3, 0.2]))
            acn = (
                "DRUG WITHDRAWN"
                if kind == "DISC"
                else (
                    "DRUG INTERRUPTED" if ser else ("NOT APPLICABLE" if kind == "PRE" else "DOSE NOT CHANGED")
                )
            )
            if not repeat:
                _ae_record(rows, int(i), term, start, end, trial.cut, sev, ser, rel, acn, order)
            indication = next((v for k, v in _TREATS.items() if k in term), None)
            if indication in treatments and rng.random() < p["ae_treated_rate"] and not repeat:
                trt, decod, dose, unit, freq, route, indc = treatments[indication]
                ongoing = end > trial.cut
                cm.add(
                    CMTRT=trt,
                    CMDECOD=decod,
                    CMDOSE=dose,
                    CMDOSU=unit,
                    CMDOSFRQ=freq,
                    CMROUTE=route,
                    CMSTDAT=str(dates.cdash([start])[0]),
                    CMENDAT="" if ongoing else str(dates.cdash([end])[0]),
                    CMONGO="Y" if ongoing else "N",
                    CMINDC=indc,
                    _subj=int(i),
                    _date=start,
                    _avail=start,
                    _ord=100 + order,
                    _end=end,
                )
    ae = rows.table(("_subj", "_date", "_avail", "_ord", "_end"))
    keep = ae["_date"] <= trial.cut
    ae = add_ae_v2_columns(ae.take(keep), trial)
    ae["_protect"] = np.zeros(len(ae), dtype=bool)
    extra = cm.table(("_subj", "_date", "_avail", "_ord", "_end"))
    if len(extra):
        extra = extra.take(extra["_date"] <= trial.cut)
    return ae, extra
