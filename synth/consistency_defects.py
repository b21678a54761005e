"""Consistency defects (derivations.md, (v2) Data-management consistency queries), with their ground truth.

Valid rows that pass the schema but contradict each other: planted in the form tables themselves
(every export carries them; the ground truth names the site's export in force), under ``--defects``
only, after the row faults are chosen and with random draws of their own (stream
``consistency-defects``), so the row faults and every other value stay as they were. A defect uses,
and leans on, only rows without a row fault (a quarantined row is never read by a consistency rule)
and not protected (eligibility inputs, first doses, planted queries); the rows it uses are then
protected from the other consistency defects, and no subject of a site with a rejected form (read
from an earlier export) is used. One ground-truth line per record a query is raised on, ``outcome``
``consistency``, ``kind`` the query kind in lower case, ``detail`` ``subjid=...;rule=<rule>;...``.

Not planted, because such a row never passes ingest (it is a quarantine query instead): a numeric lab
result without a unit (``unit_known_for_test``) and a ``RANDNO`` on two rows of one IWRS file
(``unique_recid``). The screen-failure design ``IN06_LATE_CONSENT`` (screening the day before consent,
in clean data too) has its screening records before consent: listed as ``before_consent`` lines.
"""

from __future__ import annotations

import re

import numpy as np

import study
from synth import dates
from synth.ae_coding import CODING, CRITERIA
from synth.defects import FilePlan, RowFaults
from synth.params import params, stream
from synth.table import Table
from synth.trial import Trial

OUTCOME = "consistency"
LATE_CONSENT = "IN06_LATE_CONSENT"
UNCODED = ("AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD")
"""``ae_coded`` defects alternate between an event delivered wholly uncoded (every :data:`CODING`
column empty, as the coding team leaves an event not yet coded: site-export.md, AE MedDRA coding)
and one whose system organ class alone is missing (:data:`UNCODED`); the rule queries either
(derivations.md, (v2) Data-management consistency queries: AE coding)."""
_FULL = re.compile(r"^\d{2}-[A-Z]{3}-\d{4}$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


class _Planter:
    """Chooses rows, changes values, protects rows and writes ground truth."""

    def __init__(
        self, frames: dict[str, Table], plan: FilePlan, faults: RowFaults, trial: Trial, iwrs_export: str
    ):
        self.f, self.trial, self.s = frames, trial, trial.subj
        self.faulted = {form: np.zeros(len(t), dtype=bool) for form, t in frames.items()}
        for form, cols in faults.changes.items():
            for rows in cols.values():
                self.faulted[form][list(rows)] = True
        for form, rows in faults.duplicates.items():
            self.faulted[form][rows] = True
        self.rng = stream(trial.seed, "consistency-defects")
        self.truth: list[dict] = []
        self.iwrs_export = iwrs_export
        self.extra_rand: list[dict] = []
        bad_sites = {site for site, _ in plan.rejected}
        # eligibility designs may carry a defect (their eligibility inputs are protected rows), but
        # not the late-consent design, whose screening records are already before consent
        self.ok_subject = (self.s["design"] != LATE_CONSENT) & ~np.isin(self.s["site"], list(bad_sites))
        self.used = np.zeros(len(self.s), dtype=bool)  # one planted defect per subject
        n_rand = int((~self.s["fail"]).sum())
        self.n = max(1, int(round(trial.defects * n_rand * 0.05)))

    # ----------------------------------------------------------------- helpers
    def free(self, form: str) -> np.ndarray:
        """Rows of ``form`` a defect may use or lean on: not protected, and without a row fault (a
        quarantined row is never read by a consistency rule)."""
        return ~self.f[form]["_protect"] & ~self.faulted[form]

    def rows(self, form: str, extra=None) -> np.ndarray:
        """Unprotected rows of ``form`` of usable subjects, in a random order."""
        t = self.f[form]
        ok = self.free(form) & self.ok_subject[t["_subj"]] & ~self.used[t["_subj"]]
        if extra is not None:
            ok &= extra
        return self.rng.permutation(np.flatnonzero(ok))

    def full(self, form: str, col: str) -> np.ndarray:
        return np.asarray([bool(_FULL.match(v or "")) for v in self.f[form][col]], dtype=bool)

    def line(self, kind: str, form: str, r: int, column: str, rule: str, file: str = "", **detail) -> None:
        t = self.f[form]
        subj = int(t["_subj"][r])
        self.truth.append(self._gt(kind, subj, file or f"{form}.csv", t["RECID"][r], column, rule, **detail))
        t["_protect"][r] = True
        self.used[subj] = True

    def _gt(self, kind, subj, file, recid, column, rule, export_id="", **detail) -> dict:
        det = ";".join(
            [f"subjid={self.s['SUBJID'][subj]}", f"rule={rule}"] + [f"{k}={v}" for k, v in detail.items()]
        )
        return {
            "kind": kind,
            "outcome": OUTCOME,
            "site": self.trial.sites[int(self.s["site"][subj])].siteid,
            "export_id": export_id,
            "file": file,
            "recid": recid,
            "column": column,
            "detail": det,
        }

    def day(self, form: str, col: str, r: int) -> int:
        """Day number of a full CDASH date of the table."""
        return dates.day(_iso(self.f[form][col][r]))

    # ----------------------------------------------------------------- AE and CM
    def ae_dates(self) -> None:
        ae = self.f["AE"]
        ended = self.full("AE", "AESTDAT") & self.full("AE", "AEENDAT") & (ae["AEONGO"] == "N")
        for r in self.rows("AE", ended)[: self.n]:
            new = dates.cdash([self.day("AE", "AESTDAT", r) - int(self.rng.integers(1, 6))])[0]
            ae["AEENDAT"][r] = new
            self.line("ae_dates", "AE", r, "AEENDAT", "ae_end_not_before_start", value=new)
        for r in self.rows("AE", ended)[: self.n]:
            ae["AEONGO"][r] = "Y"
            self.line("ae_dates", "AE", r, "AEONGO", "ae_ongoing_has_no_end", value="Y")
        for r in self.rows("AE", (ae["AEONGO"] == "Y") & (ae["AEENDAT"] == ""))[: self.n]:
            ae["AEONGO"][r] = "N"
            self.line("ae_dates", "AE", r, "AEONGO", "ae_ended_has_end", value="N")

    def ae_seriousness(self) -> None:
        ae = self.f["AE"]
        if not all(c in ae for c in CRITERIA):
            return
        for r in self.rows("AE", ae["AESER"] == "Y")[: self.n]:
            for c in CRITERIA:
                ae[c][r] = "N"
            self.line("ae_seriousness", "AE", r, "AESER", "ae_serious_has_criterion", value="Y")
        for r in self.rows("AE", ae["AESER"] == "N")[: self.n]:
            ae["AESMIE"][r] = "Y"
            self.line("ae_seriousness", "AE", r, "AESER", "ae_not_serious_has_no_criterion", value="N")

    def ae_coding(self) -> None:
        ae = self.f["AE"]
        if "AEDECOD" not in ae or "AEBODSYS" not in ae:
            return
        for i, r in enumerate(self.rows("AE", (ae["AEDECOD"] != "") & (ae["AEBODSYS"] != ""))[: self.n]):
            emptied = CODING if i % 2 == 0 else UNCODED
            for c in emptied:
                if c in ae:
                    ae[c][r] = ""
            self.line(
                "ae_coding", "AE", r, emptied[0] if i % 2 else "AEDECOD", "ae_coded", value=ae["AETERM"][r]
            )

    def ae_duplicate(self) -> None:
        ae = self.f["AE"]
        counts = np.bincount(ae["_subj"], minlength=len(self.s))
        done = 0
        for b in self.rows("AE", (counts[ae["_subj"]] >= 2) & self.full("AE", "AESTDAT")):
            if done >= self.n:
                break
            subj = int(ae["_subj"][b])
            if self.used[subj]:
                continue
            others = [
                a
                for a in np.flatnonzero(ae["_subj"] == subj)
                if a != b and self.free("AE")[a] and ae["AETERM"][a] != ae["AETERM"][b]
            ]
            if not others:
                continue
            a = int(others[0])
            for col in ae:
                if not col.startswith("_") and col not in ("STUDYID", "SITEID", "SUBJID", "RECID"):
                    ae[col][b] = ae[col][a]
            for r in (a, int(b)):
                self.line(
                    "ae_duplicate", "AE", r, "AETERM", "ae_unique_term_and_start", value=ae["AETERM"][a]
                )
            done += 1

    def cm_dates(self) -> None:
        cm = self.f["CM"]
        ended = self.full("CM", "CMSTDAT") & self.full("CM", "CMENDAT") & (cm["CMONGO"] == "N")
        for r in self.rows("CM", ended)[: self.n]:
            new = dates.cdash([self.day("CM", "CMSTDAT", r) - int(self.rng.integers(1, 6))])[0]
            cm["CMENDAT"][r] = new
            self.line("cm_dates", "CM", r, "CMENDAT", "cm_end_not_before_start", value=new)
        for r in self.rows("CM", ended)[: self.n]:
            cm["CMONGO"][r] = "Y"
            self.line("cm_dates", "CM", r, "CMONGO", "cm_ongoing_has_no_end", value="Y")

    # ----------------------------------------------------------------- death, discontinuation
    def _discontinued(self, margin: int) -> np.ndarray:
        """Usable discontinued subjects with ``margin`` days between discontinuation and the cut."""
        s = self.s
        ok = self.ok_subject & ~self.used & (s["disc_reason"] != "")
        ok &= s["discdt"] + margin <= self.trial.cut
        return self.rng.permutation(np.flatnonzero(ok))

    def _disc_row(self, subj: int) -> int:
        ds = self.f["DS"]
        return int(np.flatnonzero((ds["_subj"] == subj) & (ds["DSDECOD"] == self.s["disc_reason"][subj]))[0])

    def _die(self, subj: int) -> int:
        ds = self.f["DS"]
        r = self._disc_row(subj)
        ds["DSDECOD"][r], ds["DSTERM"][r] = "DEATH", "DEATH"
        ds["_protect"][r] = True
        return r

    def _after_death(self, subj: int, later: int) -> None:
        """AE row ``later`` of ``subj`` starts 1-3 days after the death (its end, if any, a day later)."""
        ae = self.f["AE"]
        start = int(self.s["discdt"][subj]) + int(self.rng.integers(1, 4))
        ae["AESTDAT"][later] = dates.cdash([start])[0]
        if start + 1 <= self.trial.cut:
            ae["AEENDAT"][later], ae["AEONGO"][later] = dates.cdash([start + 1])[0], "N"
        else:
            ae["AEENDAT"][later], ae["AEONGO"][later] = "", "Y"
        self.line("death", "AE", later, "AESTDAT", "no_record_after_death", value=ae["AESTDAT"][later])

    def death(self) -> None:
        """A fatal AE without DS DEATH; a DS DEATH (a discontinuation record turned DEATH) without a
        fatal AE; a death with its fatal AE and another AE starting after it. Discontinued subjects are
        few: when none has two AEs, the AE after the death goes to the subject of the DS DEATH
        without a fatal AE (two queries of that subject)."""
        ae = self.f["AE"]
        for r in self.rows("AE", ae["AEOUT"] != "FATAL")[: self.n]:
            ae["AEOUT"][r] = "FATAL"
            self.line("death", "AE", r, "AEOUT", "fatal_ae_has_ds_death", value="FATAL")

        def own_aes(subj: int) -> np.ndarray:
            return np.flatnonzero((ae["_subj"] == subj) & self.free("AE") & self.full("AE", "AESTDAT"))

        after = 0
        for subj in self._discontinued(5):
            if after >= self.n:
                break
            mine = own_aes(int(subj))
            if len(mine) < 2:
                continue
            subj = int(subj)
            self._die(subj)
            fatal = int(mine[-1])
            ae["AEOUT"][fatal] = "FATAL"
            ae["_protect"][fatal] = True
            self._after_death(subj, int(mine[0]))
            after += 1
        for subj in self._discontinued(0)[: self.n]:
            subj = int(subj)
            r = self._die(subj)
            self.line("death", "DS", r, "DSDECOD", "ds_death_has_fatal_ae", value="DEATH")
            mine = own_aes(subj)
            if not after and len(mine) and self.s["discdt"][subj] + 5 <= self.trial.cut:
                self._after_death(subj, int(mine[0]))
                after += 1

    def dosing_after_discontinuation(self) -> None:
        ex = self.f["EX"]
        done = 0
        for subj in self._discontinued(4):
            if done >= self.n:
                break
            given = np.flatnonzero((ex["_subj"] == subj) & self.free("EX") & (ex["EXADMIN"] == "Y"))
            if not len(given):
                continue
            r = int(given[np.argmax(ex["_date"][given])])
            new = dates.cdash([int(self.s["discdt"][subj]) + int(self.rng.integers(1, 4))])[0]
            ex["EXSTDAT"][r] = new
            self.line(
                "dosing_after_discontinuation", "EX", r, "EXSTDAT", "no_dose_after_discontinuation", value=new
            )
            done += 1

    # ----------------------------------------------------------------- visits, VS, LB
    def visit_order(self) -> None:
        """A PGA record of a visit from WEEK 4 on, dated the day before the latest record of an
        earlier visit (so also outside its window: a ``visit_out_of_window`` line too)."""
        pga = self.f["PGA"]
        vnum = study.visitnum_map()
        sched = study.visits().set_index("VISIT")
        moved = {(m["subj"], m["VISIT"]) for m in self.trial.moved_visits}
        forms = list(study.table("visit_forms")["FORM"])
        done = 0
        for r in self.rows("PGA", np.asarray([vnum.get(v, 99) for v in pga["VISIT"]]) >= vnum["WEEK 4"]):
            if done >= self.n:
                break
            subj, visit = int(pga["_subj"][r]), pga["VISIT"][r]
            if vnum[visit] == 99 or (subj, visit) in moved:
                continue
            prior = [
                int(self.f[f]["_date"][i])
                for f in forms
                for i in np.flatnonzero((self.f[f]["_subj"] == subj) & ~self.faulted[f])
                if vnum.get(self.f[f]["VISIT"][i], 99) < vnum[visit]
            ]
            if not prior:
                continue
            new = max(prior) - 1
            pga["PGADAT"][r] = dates.cdash([new])[0]
            self.line(
                "visit_order", "PGA", r, "PGADAT", "visits_in_order", visit=visit, value=pga["PGADAT"][r]
            )
            d1 = int(self.s["d1"][subj])
            studyday = new - d1 + 1 if new >= d1 else new - d1
            self.truth.append(
                {
                    **self._gt("visit_out_of_window", subj, "", "", "VISIT", "visit_in_window"),
                    "outcome": "query",
                    "detail": f"subjid={self.s['SUBJID'][subj]};visit={visit};date={pga['PGADAT'][r]};"
                    f"studyday={studyday};planned={int(float(sched.loc[visit, 'PLANNED_DAY']))};"
                    f"window={int(float(sched.loc[visit, 'WINDOW_DAYS']))}",
                }
            )
            done += 1

    def vs_bp_order(self) -> None:
        vs = self.f["VS"]
        dia = {
            (int(vs["_subj"][i]), vs["VISIT"][i], vs["VSDAT"][i]): i
            for i in np.flatnonzero((vs["VSTESTCD"] == "DIABP") & self.free("VS"))
        }
        done = 0
        for r in self.rows("VS", vs["VSTESTCD"] == "SYSBP"):
            if done >= self.n:
                break
            d = dia.get((int(vs["_subj"][r]), vs["VISIT"][r], vs["VSDAT"][r]))
            if d is None or not _NUMBER.match(vs["VSORRES"][d] or "") or float(vs["VSORRES"][d]) < 50:
                continue
            vs["VSORRES"][r] = vs["VSORRES"][d]
            vs["_protect"][d] = True
            self.line("vs_bp_order", "VS", r, "VSORRES", "sysbp_above_diabp", value=vs["VSORRES"][r])
            done += 1

    def lab_range(self) -> None:
        lb = self.f["LB"]
        lo, hi = lb["LBORNRLO"], lb["LBORNRHI"]
        numeric = np.asarray(
            [bool(_NUMBER.match(a or "")) and bool(_NUMBER.match(b or "")) for a, b in zip(lo, hi)],
            dtype=bool,
        )
        ordered = np.zeros(len(lb), dtype=bool)
        ordered[numeric] = lo[numeric].astype(float) < hi[numeric].astype(float)
        for r in self.rows("LB", ordered & (lb["_k"] > 0))[: self.n]:
            lo[r], hi[r] = hi[r], lo[r]
            self.line("lab_range", "LB", r, "LBORNRLO", "lab_range_low_not_above_high", value=lo[r])

    # ----------------------------------------------------------------- IWRS, consent
    def randomization(self) -> None:
        s, rl = self.s, self.trial.randlist
        taken = set(s["RANDNO"])
        free = [no for no in rl["RANDNO"] if no not in taken]
        who = np.flatnonzero(self.ok_subject & ~self.used & ~s["fail"] & (s["randdt"] + 2 <= self.trial.cut))
        for subj in self.rng.permutation(who)[: min(self.n, len(free))]:
            subj = int(subj)
            stratum_free = [no for no in free if no[0] == s["RANDNO"][subj][0]] or free
            no = stratum_free[0]
            free.remove(no)
            when = int(s["randdt"][subj]) + 1
            self.extra_rand.append({"subj": subj, "RANDNO": no, "randdt": when})
            for randno in (s["RANDNO"][subj], no):
                self.truth.append(
                    self._gt(
                        "randomization",
                        subj,
                        "RAND.csv",
                        randno,
                        "RANDNO",
                        "subject_randomized_once",
                        export_id=self.iwrs_export,
                        value=randno,
                    )
                )
            self.used[subj] = True

    def before_consent(self) -> None:
        ae = self.f["AE"]
        for r in self.rows("AE", self.full("AE", "AESTDAT"))[: self.n]:
            subj = int(ae["_subj"][r])
            new = dates.cdash([int(self.s["icdat"][subj]) - int(self.rng.integers(1, 6))])[0]
            ae["AESTDAT"][r] = new
            self.line("before_consent", "AE", r, "AESTDAT", "no_record_before_consent", value=new)

    def late_consent_design(self, plan: FilePlan) -> None:
        """The screening records of ``IN06_LATE_CONSENT`` subjects dated before consent (in clean data
        too, by design), listed where the export read holds them and no row fault quarantines them."""
        s = self.s
        late = np.flatnonzero(s["design"] == LATE_CONSENT)
        fallback_cut = self.trial.cut - int(params()["earlier_exports_days_before"][0])
        dated = study.table("consistency_record_dates")
        dated = dated[dated["BEFORE_CONSENT"] == "Y"]
        for form, column in zip(dated["FORM"], dated["SOURCE_COLUMN"]):
            if form not in self.f:
                continue
            t = self.f[form]
            for r in np.flatnonzero(np.isin(t["_subj"], late)):
                subj = int(t["_subj"][r])
                if t["_date"][r] >= s["icdat"][subj]:
                    continue
                if self.faulted[form][r]:
                    continue  # quarantined: a schema query, never a consistency query
                if (int(s["site"][subj]), form) in plan.rejected and t["_avail"][r] > fallback_cut:
                    continue
                self.truth.append(
                    self._gt(
                        "before_consent",
                        subj,
                        f"{form}.csv",
                        t["RECID"][r],
                        column,
                        "no_record_before_consent",
                        value=t[column][r],
                        design=LATE_CONSENT,
                    )
                )


def _iso(cdash_date: str) -> str:
    d, mon, y = cdash_date.split("-")
    return f"{y}-{dates.MONTHS.index(mon) + 1:02d}-{d}"


def plant_consistency_defects(
    frames: dict[str, Table], plan: FilePlan, faults: RowFaults, trial: Trial, iwrs_export: str
) -> tuple[list[dict], list[dict]]:
    """Plants every consistency kind (several rows each at larger rates) in ``frames`` (changed in
    place); returns the ground-truth lines and the extra IWRS randomization rows (subject index,
    RANDNO, day) to append to the newest IWRS export. Nothing is planted when ``trial.defects`` is 0."""
    if trial.defects <= 0:
        return [], []
    p = _Planter(frames, plan, faults, trial, iwrs_export)
    p.late_consent_design(plan)
    for step in (
        p.ae_dates,
        p.ae_seriousness,
        p.ae_coding,
        p.ae_duplicate,
        p.cm_dates,
        p.dosing_after_discontinuation,  # before death: discontinued subjects are few
        p.death,
        p.visit_order,
        p.vs_bp_order,
        p.lab_range,
        p.randomization,
        p.before_consent,
    ):
        step()
    return p.truth, p.extra_rand
