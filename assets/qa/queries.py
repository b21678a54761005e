"""Data queries with stable ids and a history across runs; the quarantine listing.

Issue 5 (QA tables): every finding of every producer (``qa/findings/<producer>.parquet``, shape of
:mod:`assets.common.findings`) becomes a data query. The same problem keeps its query id across
nightly runs, so the id is a hash of what identifies the problem — kind, site, subject, form,
record (RECID), column and rule — and never of the value or of the export that carried it (a
later export re-sends the same record). A query found again stays ``OPEN`` with its first-seen
export; a query no longer found is ``RESOLVED`` (e.g. the site corrected the record in a newer
export). The previous ``queries.parquet`` is merged, never overwritten blindly.

The column labels of both tables are in ``study/qa_variables.csv`` (:mod:`assets.qa.labels`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.findings import FINDING_COLUMNS, make_findings
from assets.ingest.validate import QUARANTINE_COLUMNS as INGEST_QUARANTINE_COLUMNS

OPEN, RESOLVED = "OPEN", "RESOLVED"

QUERY_ID_PARTS = ["KIND", "SITEID", "SUBJID", "FORM", "RECID", "COLUMN", "RULE"]
"""What identifies a problem (issue 5): not the value, not the export."""

EXPORT_LEVEL_KINDS = frozenset({"EXPORT_INCOMPLETE", "FORM_REJECTED"})
"""Kinds whose subject *is* an export (a broken folder, a rejected file): their id includes it."""

QUERY_COLUMNS = [
    "QUERY_ID",
    "STATUS",
    "PRODUCER",
    *FINDING_COLUMNS,
    "N_FINDINGS",
    "FIRST_SEEN",
    "LAST_SEEN",
    "RESOLVED_AT",
]
QUERY_SORT = ["SITEID", "SUBJID", "FORM", "RECID", "KIND", "COLUMN", "QUERY_ID"]
"""Sort keys of queries.parquet: identifying columns only, never run timestamps."""

# The ingest quarantine's columns, with the source folder named as the site it is.
QUARANTINE_COLUMNS = ["SITEID" if c == "SOURCE" else c for c in INGEST_QUARANTINE_COLUMNS]
QUARANTINE_SORT = ["SITEID", "SRC_FILE", "SRC_LINE", "COLUMN", "RULE"]


def derive_quarantine_listing(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Every quarantined (rejected) value with site, export, file, line, RECID, column, rule and
    value (issue 5). Ingest's ``SOURCE`` is the site id (``IWRS`` for the randomization system)."""
    if quarantine.empty and "SOURCE" not in quarantine.columns:
        return pd.DataFrame(
            {c: pd.Series(dtype="Int64" if c == "SRC_LINE" else "string") for c in QUARANTINE_COLUMNS}
        )
    require_columns(
        quarantine,
        ["SOURCE", "SRC_EXPORT", "SRC_FILE", "SRC_LINE", "FORM", "RECID", "COLUMN", "RULE"],
        "derive_quarantine_listing",
    )
    out = quarantine.rename(columns={"SOURCE": "SITEID"}).copy()
    for col in QUARANTINE_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out = out[QUARANTINE_COLUMNS]
    text = [c for c in QUARANTINE_COLUMNS if c != "SRC_LINE"]
    out[text] = out[text].astype("string")
    out["SRC_LINE"] = pd.to_numeric(out["SRC_LINE"], errors="coerce").astype("Int64")
    return out.sort_values(QUARANTINE_SORT, kind="stable").reset_index(drop=True)


def count_quarantined_rows(quarantine: pd.DataFrame) -> int:
    """Source rows with a quarantined value: the distinct (site, file, line) of the listing."""
    return int(quarantine[["SITEID", "SRC_FILE", "SRC_LINE"]].drop_duplicates().shape[0])


def derive_var_query_id(findings: pd.DataFrame) -> pd.DataFrame:
    """Add ``QUERY_ID``: ``Q`` + 16 hex digits of SHA-256 over kind, site, subject, form, RECID,
    column and rule (issue 5: the same problem keeps its id across runs). The value and the export
    are left out, so a re-sent or re-exported record keeps its id; two exceptions, both because
    nothing else identifies the problem: export-level kinds (a skipped export, a rejected file)
    add the export id, and a row without RECID adds its file line. A renamed rule is hashed under
    the name its queries were first raised with (``study/rule_renames.csv``), so a rename never
    resolves and reopens the queries a site is already answering."""
    require_columns(findings, QUERY_ID_PARTS + ["SRC_EXPORT", "SRC_LINE"], "derive_var_query_id")
    parts = findings[QUERY_ID_PARTS].astype("string").fillna("")
    renames = study.table("rule_renames")
    parts["RULE"] = parts["RULE"].replace(dict(zip(renames["RULE"], renames["ID_RULE"])))
    key = parts[QUERY_ID_PARTS[0]]
    for col in QUERY_ID_PARTS[1:]:
        key = key + "\x1f" + parts[col]
    export_level = findings["KIND"].isin(list(EXPORT_LEVEL_KINDS)).fillna(False)
    key = key.mask(export_level, key + "\x1fexport=" + findings["SRC_EXPORT"].astype("string").fillna(""))
    no_recid = parts["RECID"].eq("") & ~export_level
    key = key.mask(no_recid, key + "\x1fline=" + findings["SRC_LINE"].astype("string").fillna(""))
    # Findings are a few thousand rows at most: hashing them one by one is cheap.
    ids = [("Q" + hashlib.sha256(k.encode("utf-8")).hexdigest()[:16].upper()) for k in key.tolist()]
    out = findings.copy()
    out["QUERY_ID"] = pd.Series(ids, index=findings.index, dtype="string")
    return out


def derive_current_queries(findings_by_producer: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """This run's queries: all producers' findings with ids, one row per id (copies of the same
    problem, e.g. both rows of a duplicated RECID, are merged; ``N_FINDINGS`` counts them)."""
    parts = []
    for producer, frame in sorted(findings_by_producer.items()):
        f = make_findings(frame)
        f.insert(0, "PRODUCER", producer)
        parts.append(f)
    if not parts:
        return _empty_queries().drop(columns=["STATUS", "FIRST_SEEN", "LAST_SEEN", "RESOLVED_AT"])
    all_findings = derive_var_query_id(pd.concat(parts, ignore_index=True))
    all_findings["PRODUCER"] = all_findings["PRODUCER"].astype("string")
    all_findings = all_findings.sort_values(
        ["QUERY_ID", "SRC_EXPORT", "SRC_FILE", "SRC_LINE"], kind="stable", na_position="last"
    )
    counts = all_findings.groupby("QUERY_ID", sort=False).size()
    current = all_findings.drop_duplicates("QUERY_ID", keep="first").copy()
    current["N_FINDINGS"] = current["QUERY_ID"].map(counts).astype("Int64")
    return current.reset_index(drop=True)


def _empty_queries() -> pd.DataFrame:
    dtypes = {"SRC_LINE": "Int64", "N_FINDINGS": "Int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "string")) for c in QUERY_COLUMNS})


def seen_in_export(
    findings: pd.DataFrame, data_cut: str, site_cuts: Mapping[str, str] | None = None
) -> pd.Series:
    """The export id a finding was present in: its ``SRC_EXPORT``; without one (a finding of a
    derived table) the data cut of its site (``site_cuts``), else the study's ``data_cut``."""
    require_columns(findings, ["SITEID", "SRC_EXPORT"], "seen_in_export")
    site_cut = findings["SITEID"].astype("string").map(dict(site_cuts or {})).astype("string")
    src = findings["SRC_EXPORT"].astype("string")
    src = src.mask(src.eq(""))
    return src.fillna(site_cut).fillna(data_cut).astype("string")


def merge_query_history(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    data_cut: str,
    producers_run: set[str] | None = None,
    site_cuts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Merge this run's queries into the previous run's table (issue 5: history is kept).

    Times are data cuts, never the clock (site-export.md, Landing zone layout: ``EXPORT_ID`` is the
    site's data cut), so a rerun on the same input gives the same table. A finding is present in
    the export :func:`seen_in_export` names (its ``SRC_EXPORT``, else its site's data cut in
    ``site_cuts``, else the study's ``data_cut``):

    - found now, not before: ``OPEN``, FIRST_SEEN = LAST_SEEN = that export id;
    - found now and before: ``OPEN`` (re-opened when it was resolved), FIRST_SEEN kept,
      LAST_SEEN = that export id, details (value, export, line) from this run;
    - found before, not now: ``RESOLVED``; RESOLVED_AT = the data cut of its site (else the study's)
      the first run it is missing, kept afterwards; LAST_SEEN kept. A query whose producer did not
      deliver findings this run (``producers_run`` given and its producer not in it) is carried
      unchanged: a step that did not run has not resolved anything.
    """
    require_columns(current, ["QUERY_ID", "PRODUCER", *FINDING_COLUMNS], "merge_query_history")
    prev = previous if previous is not None and not previous.empty else _empty_queries()
    require_columns(prev, ["QUERY_ID", "STATUS", "FIRST_SEEN", "LAST_SEEN"], "merge_query_history(previous)")
    prev = prev.copy()
    for col in QUERY_COLUMNS:
        if col not in prev.columns:
            prev[col] = pd.NA
    prev_by_id = prev.set_index("QUERY_ID")

    cur = current.copy()
    seen_in = seen_in_export(cur, data_cut, site_cuts)
    seen_before = cur["QUERY_ID"].isin(prev_by_id.index)
    first_seen = cur["QUERY_ID"].map(prev_by_id["FIRST_SEEN"]).astype("string")
    cur["FIRST_SEEN"] = first_seen.where(seen_before, seen_in).fillna(seen_in)
    cur["LAST_SEEN"] = seen_in
    cur["STATUS"] = OPEN
    cur["RESOLVED_AT"] = pd.NA

    gone = prev[~prev["QUERY_ID"].isin(cur["QUERY_ID"])].copy()
    carried = (
        ~gone["PRODUCER"].isin(list(producers_run)).fillna(False)
        if producers_run is not None
        else pd.Series(False, index=gone.index)
    )
    newly_resolved = gone["STATUS"].eq(OPEN).fillna(False) & ~carried
    resolved_in = gone["SITEID"].astype("string").map(dict(site_cuts or {})).astype("string").fillna(data_cut)
    gone["RESOLVED_AT"] = gone["RESOLVED_AT"].astype("string").mask(newly_resolved, resolved_in)
    gone["STATUS"] = gone["STATUS"].mask(newly_resolved, RESOLVED)

    out = pd.concat(
        [cur.reindex(columns=QUERY_COLUMNS), gone.reindex(columns=QUERY_COLUMNS)], ignore_index=True
    )
    types = {c: "string" for c in QUERY_COLUMNS if c not in ("SRC_LINE", "N_FINDINGS")}
    out = out.astype(types)
    out["SRC_LINE"] = pd.to_numeric(out["SRC_LINE"], errors="coerce").astype("Int64")
    out["N_FINDINGS"] = pd.to_numeric(out["N_FINDINGS"], errors="coerce").astype("Int64")
    return out.sort_values(QUERY_SORT, kind="stable", na_position="last").reset_index(drop=True)


def summarize_open_queries(queries: pd.DataFrame) -> pd.DataFrame:
    """Open queries per site and kind (a wide count table, zero-filled) for the report and checks."""
    require_columns(queries, ["STATUS", "SITEID", "KIND"], "summarize_open_queries")
    open_q = queries[queries["STATUS"].eq(OPEN).fillna(False)]
    if open_q.empty:
        return pd.DataFrame(index=pd.Index([], name="SITEID", dtype="string"))
    table = open_q.groupby(["SITEID", "KIND"]).size().unstack("KIND", fill_value=0)
    return table.astype(np.int64).sort_index()
