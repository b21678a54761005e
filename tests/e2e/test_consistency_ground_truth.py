"""Consistency queries on a generated trial (derivations.md, (v2) Data-management consistency queries):
for each kind, the queries raised on the ingested forms are exactly the consistency defects the
generator planted (GROUND_TRUTH.csv, outcome ``consistency``): recall and precision 100%. The planted
rows pass the schema (kept, never quarantined), and clean data raises only the documented queries."""

from __future__ import annotations

import pandas as pd
import pytest

import study
from assets.common.findings import make_findings
from assets.ingest.discovery import IWRS, discover_exports, list_sites
from assets.ingest.site_ingest import ingest_source
from assets.qa.queries import derive_current_queries
from assets.sdtm.consistency.assets import FORMS
from assets.sdtm.consistency.rules import derive_consistency_findings
from synth.generate import generate_trial

pytestmark = pytest.mark.e2e

KINDS = set(study.table("consistency_rules")["KIND"])


def _run(root, defects: float):
    landing = root / "landing"
    generate_trial(landing, root / "restricted", sites=6, subjects=120, seed=11, defects=defects)
    checks = discover_exports(landing)
    results = [ingest_source(s, checks, landing) for s in [*list_sites(landing), IWRS]]
    forms = {}
    for form in FORMS:
        parts = [r.forms[form] for r in results if len(r.forms.get(form, ()))]
        forms[form] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    queries = derive_current_queries({"consistency": make_findings(derive_consistency_findings(forms))})
    quarantine = pd.concat([r.quarantine for r in results], ignore_index=True)
    truth = pd.read_csv(landing / "GROUND_TRUTH.csv", dtype=str, keep_default_na=False)
    return queries, quarantine, truth


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("consistency"), 0.05)


def query_keys(queries: pd.DataFrame) -> set[tuple]:
    """(kind, site, subject, form, record, rule); the IWRS RAND form has no RECID: its RANDNO."""
    return {
        (q.KIND, q.SITEID, q.SUBJID, q.FORM, q.VALUE if q.FORM == "RAND" else q.RECID, q.RULE)
        for q in queries.itertuples()
    }


def truth_keys(truth: pd.DataFrame) -> set[tuple]:
    rows = truth[truth["outcome"] == "consistency"]
    rule = rows["detail"].str.extract(r"rule=([a-z_]+)")[0]
    subj = rows["detail"].str.extract(r"subjid=([\d-]+)")[0]
    return {
        (k.upper(), site, s, file[:-4], recid, r)
        for k, site, s, file, recid, r in zip(
            rows["kind"], rows["site"], subj, rows["file"], rows["recid"], rule
        )
    }


def test_every_kind_is_planted(dirty):
    _, _, truth = dirty
    assert {k[0] for k in truth_keys(truth)} == KINDS


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_queries_of_each_kind_are_exactly_the_planted_defects(dirty, kind):
    queries, _, truth = dirty
    got = {k for k in query_keys(queries) if k[0] == kind}
    want = {k for k in truth_keys(truth) if k[0] == kind}
    assert want, kind
    assert want - got == set(), "planted defects not queried"
    assert got - want == set(), "queries on records nobody planted"


def test_one_query_per_record_concerned(dirty):
    queries, _, truth = dirty
    assert len(queries) == (truth["outcome"] == "consistency").sum()
    assert queries["QUERY_ID"].is_unique
    assert (queries["SEVERITY"] == "WARNING").all()
    assert (
        queries[["SITEID", "SUBJID", "FORM", "COLUMN", "RULE", "SRC_FILE", "SRC_LINE", "DATE"]]
        .notna()
        .all()
        .all()
    )


def test_planted_rows_are_kept_not_quarantined(dirty):
    queries, quarantine, _ = dirty
    quarantined = {(r.SOURCE, r.SRC_FILE, r.SRC_LINE) for r in quarantine.itertuples()}
    queried = {(r.SITEID if r.FORM != "RAND" else IWRS, r.SRC_FILE, r.SRC_LINE) for r in queries.itertuples()}
    assert not queried & quarantined


def test_clean_data_raises_only_the_late_consent_design(tmp_path):
    """Clean data: the only consistency queries are the screening records of the screen-failure
    design IN06_LATE_CONSENT (screening the day before consent), which the investigator answers IN06 = N."""
    queries, _, truth = _run(tmp_path, 0.0)
    assert truth.empty
    assert set(queries["RULE"]) == {"no_record_before_consent"}
    assert set(queries["VISIT"]) == {"SCREENING"}
    ie = pd.concat(
        [pd.read_csv(p, dtype=str) for p in sorted((tmp_path / "landing" / "sites").glob("*/*/IE.csv"))]
    )
    late = set(ie.loc[(ie["IETESTCD"] == "IN06") & (ie["IEORRES"] == "N"), "SUBJID"])
    assert set(queries["SUBJID"]) == late
