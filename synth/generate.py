"""Synthetic LDIL2SLE trial: site exports, IWRS export and the restricted randomization list.

Entry point :func:`generate_trial`. Output follows docs/contracts/site-export.md; the data exercise
the derivations of docs/contracts/derivations.md (eligibility, SLEDAI-2K, SRI-4, populations).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np

import study
from synth import dates, efficacy, queries
from synth.assemble import add_common
from synth.consistency_defects import plant_consistency_defects
from synth.defects import (
    ROW_FORMS,
    FilePlan,
    RowFaults,
    faulty_frame,
    plan_file_faults,
    plan_row_faults,
)
from synth.forms_admin import make_dm, make_ds, make_ex, make_ie
from synth.forms_clinical import make_bilag, make_facs, make_lb, make_pga, make_sledai, make_vs
from synth.forms_history import make_ae, make_cm, make_mh
from synth.params import params
from synth.schedule import make_visits
from synth.sites import Site, make_sites
from synth.subjects import make_subjects, plan_course, randomize
from synth.table import Table, text
from synth.trial import Trial
from synth.writer import (
    INVALID_TERM,
    csv_bytes,
    form_file,
    manifest_bytes,
    sha256,
    site_columns,
    site_rows,
    write_bytes,
    write_ground_truth,
)

MARKER = ".synth-trial"


class DataCutError(ValueError):
    """The data cut asked for is not a date, or leaves a site without any subject."""


_OURS = ("sites", "iwrs", "GROUND_TRUTH.csv", "RANDLIST.csv", MARKER)


def generate_trial(
    out: Path,
    restricted_out: Path,
    sites: int = 6,
    subjects: int = 120,
    seed: int = 2026,
    defects: float = 0.0,
    data_cut: str | None = None,
) -> dict:
    """Writes a whole synthetic trial and returns a summary.

    ``out`` becomes the landing zone (``sites/<SITEID>/<EXPORT_ID>/``, ``iwrs/<EXPORT_ID>/`` and
    ``GROUND_TRUTH.csv``), ``restricted_out`` receives ``RANDLIST.csv``. Both folders are cleared of
    what an earlier run wrote (recognised by a ``.synth-trial`` marker file); a non-empty folder
    without the marker is refused with ``FileExistsError`` so nothing else is ever deleted.

    The output is a function of the arguments only: the same arguments give byte-identical files
    (seeded numpy Generators, fixed data cut and export ids from study/synth.yaml, no clock).
    ``defects`` = 0 gives clean data (still with screen failures and values on protocol limits);
    > 0 plants every fault kind of the contract's "Bad input" table, listed in GROUND_TRUTH.csv.

    Every site has two or three complete cumulative exports (data cuts 56/28 days before the
    newest, then the data cut); with defects some sites also get a newer, incomplete export.

    ``data_cut`` (ISO date ``YYYY-MM-DD``; default study/synth.yaml ``data_cut``) is the last day
    of data in every site's newest export. The trial's calendar (consent dates, hence first doses
    and visits) stays where study/synth.yaml ``data_cut`` places it, so an earlier cut is an interim
    look at the same trial: subjects not yet screened by then (consent later than
    ``last_consent_days_before_cut`` days before the cut) are not in the data, and more subjects
    are mid-study; a later cut lets more subjects finish. The same arguments give the same bytes. ``GROUND_TRUTH.csv`` has the columns ``kind,outcome,site,export_id,file,
    recid,column,detail``: one line per planted fault (two for a duplicated RECID, one per copy),
    ``export_id`` the export concerned (for queries, deviations and row faults: the site's newest
    complete export, the one in force), ``detail`` as ``key=value`` pairs starting with
    ``subjid=`` where a subject is concerned. Visit-window queries and deviations name no file.

    Summary keys: sites, subjects (screened by the cut), subjects_planned, screen_failures,
    randomized, data_cut, exports_written,
    in_force_exports (site -> export id), incomplete_exports, rows_per_form (in-force exports),
    rows_written (all exports), defects (ground-truth lines by kind).
    """
    if not 1 <= sites <= subjects or not 0.0 <= defects < 1.0:
        raise ValueError("need 1 <= sites <= subjects and 0 <= defects < 1")
    out, restricted_out = Path(out), Path(restricted_out)
    if restricted_out.resolve() == out.resolve() or out.resolve() in restricted_out.resolve().parents:
        raise ValueError("restricted_out must be a separate location, not the landing zone or inside it")
    _prepare(out)
    _prepare(restricted_out)
    trial = build_trial(sites, subjects, seed, defects, data_cut)
    frames, truth = build_forms(trial)
    plan = plan_file_faults(trial.sites, frames, seed, defects)
    faults = plan_row_faults(frames, plan, trial.sites, seed, defects)
    truth += faults.truth
    # after the row faults, on rows without one, so the row faults are those of a trial without them
    consistency, extra_rand = plant_consistency_defects(
        frames, plan, faults, trial, _iwrs_export_id(trial.cut)
    )
    truth += consistency
    summary = _write_all(out, restricted_out, trial, frames, plan, faults, truth, extra_rand)
    summary.update(
        sites=sites,
        subjects=len(trial.subj),
        subjects_planned=subjects,
        screen_failures=int(trial.subj["fail"].sum()),
        randomized=int((~trial.subj["fail"]).sum()),
        data_cut=str(np.datetime64(trial.cut, "D")),
    )
    return summary


def _prepare(folder: Path) -> None:
    """Empties what an earlier run wrote; refuses a non-empty folder that is not ours."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise FileExistsError(f"{folder} is not empty and was not written by the generator")
        for name in _OURS:
            p = folder / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("written by synth.generate.generate_trial; cleared on the next run\n")


def build_trial(
    n_sites: int, n_subjects: int, seed: int, defects: float, data_cut: str | None = None
) -> Trial:
    """Subjects, randomization, course, visits and disease activity: everything before the forms.

    The calendar is placed from study/synth.yaml ``data_cut``; ``data_cut`` (ISO date) cuts the
    data at another day (:func:`screened_by`)."""
    calendar = dates.day(params()["data_cut"])
    cut = calendar if data_cut is None else _cut_day(data_cut)
    site_list = make_sites(n_sites, seed)
    subj = make_subjects(site_list, n_subjects, seed, defects, calendar)
    if cut != calendar:
        subj = screened_by(subj, cut, site_list)
    screen = efficacy.screening_items(subj["design"], seed)
    randlist = randomize(subj, efficacy.totals(screen), seed)
    plan_course(subj, seed, cut)
    visits, moved = make_visits(subj, seed, cut, defects)
    items = efficacy.trajectories(screen, subj["responder"], subj["dose"], seed)
    return Trial(
        seed=seed,
        defects=defects,
        cut=cut,
        sites=site_list,
        subj=subj,
        visits=visits,
        items=items,
        pga=efficacy.pga_tenths(items, subj["responder"], seed),
        bilag=efficacy.bilag_grades(items, subj["responder"], seed),
        randlist=randlist,
        moved_visits=moved,
    )


def _cut_day(data_cut: str) -> int:
    """Day number of an ISO date ``YYYY-MM-DD`` given as the data cut (DataCutError otherwise)."""
    text = str(data_cut)
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise DataCutError(f"data cut must be an ISO date YYYY-MM-DD, not {data_cut!r}")
    try:
        return dates.day(text)
    except ValueError as exc:
        raise DataCutError(f"data cut must be an ISO date YYYY-MM-DD, not {data_cut!r}") from exc


def screened_by(subj: Table, cut: int, sites: list[Site]) -> Table:
    """The subjects screened and decided by the data ``cut``: consent on or before ``cut -
    last_consent_days_before_cut`` (study/synth.yaml), the same rule that places every consent of
    the planned calendar, so every subject in the data is randomized or a screen failure by the cut.
    Subjects are numbered by consent within their site, so the ones kept keep their numbers.
    DataCutError when a site would have no subject (the cut is too early for it)."""
    last = cut - int(params()["last_consent_days_before_cut"])
    kept = subj.take(subj["icdat"] <= last)
    empty = [s.siteid for s in sites if not (kept["site"] == s.index).any()]
    if empty:
        first = str(np.datetime64(int(subj["icdat"].min()), "D"))
        raise DataCutError(
            f"data cut {np.datetime64(cut, 'D')}: no subject of site(s) {', '.join(empty)} screened by then "
            f"(the first consent is {first}; a cut needs {int(params()['last_consent_days_before_cut'])} days after "
            "each site's first consent)"
        )
    return kept


def build_forms(trial: Trial) -> tuple[dict[str, Table], list[dict]]:
    """All 13 forms (all sites) with RECIDs and planted queries, and the ground truth so far."""
    ae, ae_cm = make_ae(trial)
    ie, ie_planted = make_ie(trial)
    built = {
        "DM": make_dm(trial),
        "IE": ie,
        "VS": make_vs(trial),
        "LB": make_lb(trial),
        "SLEDAI": make_sledai(trial),
        "PGA": make_pga(trial),
        "BILAG": make_bilag(trial),
        "EX": make_ex(trial),
        "CM": make_cm(trial, ae_cm),
        "MH": make_mh(trial),
        "AE": ae,
        "DS": make_ds(trial),
        "FACS": make_facs(trial),
    }
    frames = {form: add_common(form, built[form], trial) for form in study.FORMS}
    queries.sledai_weights_check(frames["SLEDAI"])
    truth = queries.ie_truth(frames["IE"], ie_planted, trial) + queries.deviation_truth(trial)
    truth += queries.window_truth(trial)
    if trial.defects > 0:
        truth += queries.plant_sltotal_mismatch(frames["SLEDAI"], trial)
        truth += queries.plant_lab_inconsistency(frames["SLEDAI"], frames["LB"], trial)
    return frames, truth


def _export_calendar(site: Site, cut: int) -> list[tuple[str, int]]:
    """(export id, data cut) of a site's complete exports, oldest first; the export runs the next day."""
    back = params()["earlier_exports_days_before"]
    cuts = [cut - int(back[1])] if site.index % 3 == 0 else []
    cuts += [cut - int(back[0]), cut]
    return [(dates.export_id(c + 1, site.export_minute), c) for c in cuts]


def _write_export(
    folder: Path,
    site: Site,
    tables: dict[str, Table],
    rows: dict[str, np.ndarray],
    seed: int,
    cut: int | None = None,
    plan: FilePlan | None = None,
) -> dict[str, tuple[str, int]]:
    """Writes one complete export (files and manifest); returns name -> (sha256, rows)."""
    files = {}
    for form in study.FORMS:
        key = (site.index, form)
        kind, column = plan.rejected.get(key, ("", "")) if plan else ("", "")
        data, n = form_file(
            form,
            tables[form],
            rows[form],
            site_columns(site, form, seed),
            site,
            cut=cut,
            extra=plan.unexpected.get(key) if plan else None,
            drop=column or None,
            invalid_utf8=kind == "form_invalid_utf8",
        )
        write_bytes(folder / f"{form}.csv", data)
        files[f"{form}.csv"] = (sha256(data), n)
    write_bytes(folder / "MANIFEST.json", manifest_bytes(site.siteid, folder.name, files))
    return files


def _write_incomplete(
    folder: Path, site: Site, tables: dict[str, Table], rows: dict[str, np.ndarray], seed: int, kind: str
) -> str:
    """A newer export that fails the completeness check in the way ``kind`` says; returns the file named."""
    files = _write_export(folder, site, tables, rows, seed)
    if kind == "export_no_manifest":
        (folder / "MANIFEST.json").unlink()
        return "MANIFEST.json"
    if kind == "export_missing_file":
        (folder / "LB.csv").unlink()
        return "LB.csv"
    if kind == "export_checksum_mismatch":
        path = folder / "VS.csv"
        data = bytearray(path.read_bytes())
        pos = max(
            i for i in range(len(data)) if chr(data[i]).isdigit()
        )  # a digit changes, the row count does not
        data[pos] = ord("7") if data[pos] != ord("7") else ord("3")
        path.write_bytes(bytes(data))
        return "VS.csv"
    name = "DM.csv"
    sha, rows = files[name]
    files[name] = (sha, rows + 1)
    write_bytes(folder / "MANIFEST.json", manifest_bytes(site.siteid, folder.name, files))
    return name


def _write_all(
    out: Path,
    restricted: Path,
    trial: Trial,
    frames: dict[str, Table],
    plan: FilePlan,
    faults: RowFaults,
    truth: list[dict],
    extra_rand: list[dict] | None = None,
) -> dict:
    n_sites = len(trial.sites)
    faulty = {f: faulty_frame(f, frames[f], faults) if f in ROW_FORMS else frames[f] for f in study.FORMS}
    clean_rows = {f: site_rows(frames[f], n_sites) for f in study.FORMS}
    faulty_rows = {
        f: site_rows(faulty[f], n_sites) if faulty[f] is not frames[f] else clean_rows[f] for f in study.FORMS
    }
    rows_in_force: Counter = Counter()
    rows_written: Counter = Counter()
    in_force, incomplete = {}, []
    n_exports = 0
    for site in trial.sites:
        calendar = _export_calendar(site, trial.cut)
        clean_site = {f: clean_rows[f][site.index] for f in study.FORMS}
        for export_id, cut in calendar:
            final = cut == trial.cut
            folder = out / "sites" / site.siteid / export_id
            if final:
                faulty_site = {f: faulty_rows[f][site.index] for f in study.FORMS}
                files = _write_export(folder, site, faulty, faulty_site, trial.seed, plan=plan)
            else:
                files = _write_export(folder, site, frames, clean_site, trial.seed, cut=cut)
            n_exports += 1
            for name, (_, n) in files.items():
                rows_written[name[:-4]] += n
                if final:
                    rows_in_force[name[:-4]] += n
        in_force[site.siteid] = calendar[-1][0]
        for s_idx, kind, nth in plan.skipped:
            if s_idx != site.index:
                continue
            export_id = dates.export_id(
                trial.cut + 1 + nth * int(params()["incomplete_export_days_after"]), site.export_minute
            )
            name = _write_incomplete(
                out / "sites" / site.siteid / export_id, site, frames, clean_site, trial.seed, kind
            )
            n_exports += 1
            incomplete.append({"site": site.siteid, "export_id": export_id, "kind": kind, "file": name})
            truth.append(
                {
                    "kind": kind,
                    "outcome": "export_skipped",
                    "site": site.siteid,
                    "export_id": export_id,
                    "file": name,
                    "recid": "",
                    "column": "",
                    "detail": f"newer than {in_force[site.siteid]}",
                }
            )
    for (s_idx, form), (kind, column) in plan.rejected.items():
        siteid = trial.sites[s_idx].siteid
        detail = (
            f"byte 0xE9 of '{INVALID_TERM}' in AETERM is Latin-1"
            if kind == "form_invalid_utf8"
            else "header lacks it"
        )
        truth.append(
            {
                "kind": kind,
                "outcome": "form_rejected",
                "site": siteid,
                "export_id": in_force[siteid],
                "file": f"{form}.csv",
                "recid": "",
                "column": column,
                "detail": detail,
            }
        )
    for (s_idx, form), column in plan.unexpected.items():
        siteid = trial.sites[s_idx].siteid
        truth.append(
            {
                "kind": "unexpected_column",
                "outcome": "reported",
                "site": siteid,
                "export_id": in_force[siteid],
                "file": f"{form}.csv",
                "recid": "",
                "column": column,
                "detail": "extra column, values valid",
            }
        )
    for row in truth:
        row["export_id"] = row["export_id"] or in_force[row["site"]]
    n_exports += _write_iwrs(out, trial, extra_rand or [])
    write_bytes(
        restricted / "RANDLIST.csv",
        csv_bytes(["RANDNO", "ARMCD"], [trial.randlist["RANDNO"], trial.randlist["ARMCD"]]),
    )
    write_ground_truth(out / "GROUND_TRUTH.csv", truth)
    return {
        "exports_written": n_exports,
        "in_force_exports": in_force,
        "incomplete_exports": incomplete,
        "rows_per_form": dict(rows_in_force),
        "rows_written": dict(rows_written),
        "defects": dict(sorted(Counter(r["kind"] for r in truth).items())),
    }


def _iwrs_export_id(cut: int) -> str:
    """The id of the IWRS export of a data cut (it runs the next day)."""
    return dates.export_id(cut + 1, int(params()["iwrs_export_minutes_utc"]))


def _write_iwrs(out: Path, trial: Trial, extra_rand: list[dict]) -> int:
    """IWRS exports at the earlier and the newest cut: RAND.csv of subjects randomized by then; the
    newest also carries ``extra_rand`` (planted second randomizations, synth.consistency_defects)."""
    s = trial.subj
    back = int(params()["earlier_exports_days_before"][0])
    r = np.flatnonzero(~s["fail"])
    r = r[np.lexsort((s["RANDNO"][r].astype(str), s["randdt"][r]))]
    for cut in (trial.cut - back, trial.cut):
        who = r[s["randdt"][r] <= cut]
        export_id = _iwrs_export_id(cut)
        cols = ["STUDYID", "SITEID", "SUBJID", "RANDNO", "RANDDAT", "STRATUM"]
        extra = extra_rand if cut == trial.cut else []
        again = np.asarray([e["subj"] for e in extra], dtype=np.int64)
        arrays = [
            text(study.studyid(), len(who) + len(extra)),
            np.concatenate([s["SITEID"][who], s["SITEID"][again]]),
            np.concatenate([s["SUBJID"][who], s["SUBJID"][again]]),
            np.concatenate([s["RANDNO"][who], text([e["RANDNO"] for e in extra])]),
            np.concatenate([dates.cdash(s["randdt"][who]), dates.cdash([e["randdt"] for e in extra])]),
            np.concatenate([s["stratum"][who], s["stratum"][again]]),
        ]
        data = csv_bytes(cols, arrays)
        folder = out / "iwrs" / export_id
        write_bytes(folder / "RAND.csv", data)
        write_bytes(
            folder / "MANIFEST.json",
            manifest_bytes("IWRS", export_id, {"RAND.csv": (sha256(data), len(who) + len(extra))}),
        )
    return 2
