"""SLEDAI-2K data queries: site total vs recomputed, missing items, lab consistency (derivations.md)."""

from __future__ import annotations

from assets.sdtm.sledai import derive_var_sledai_total
from assets.sdtm.sledai_queries import (
    derive_sledai_findings,
    derive_sledai_lab_findings,
    derive_sledai_missing_item_findings,
    derive_sltotal_mismatch_findings,
    sledai_finding_base,
    sledai_lab_rules,
)
from tests.assets.sdtm.eligibility.literal import harmonized, lab, sledai_row


def scored(rows: list[dict]):
    s = derive_var_sledai_total(harmonized("SLEDAI", rows))
    return s, sledai_finding_base(s)


def test_lab_rules_are_study_data():
    assert [(r.item, r.test, r.threshold, r.abnormal) for r in sledai_lab_rules()] == [
        ("THROMBO", "PLAT", 100.0, "below"),
        ("LEUKOPENIA", "WBC", 3.0, "below"),
        ("PROTEINURIA", "PROT24", 0.5, "above"),
    ]


def test_sltotal_mismatch_names_both_totals():
    s, base = scored([sledai_row("SCREENING", "05-MAR-2026", ["ARTHRITIS", "THROMBO"], SLTOTAL="6")])
    f = derive_sltotal_mismatch_findings(s, base)
    assert f[["KIND", "COLUMN", "RULE", "VALUE", "MESSAGE"]].values.tolist() == [
        [
            "SLTOTAL_MISMATCH",
            "SLTOTAL",
            "sltotal_equals_recomputed",
            "6",
            "site SLTOTAL 6 differs from recomputed SLEDAI-2K 5",
        ]
    ]
    s, base = scored([sledai_row("SCREENING", "05-MAR-2026", ["ARTHRITIS"], SLTOTAL="4")])
    assert derive_sltotal_mismatch_findings(s, base).empty


def test_missing_item_names_the_items():
    s, base = scored([sledai_row("WEEK 4", "17-APR-2026", [], HEMATURIA=None, FEVER=None)])
    f = derive_sledai_missing_item_findings(s, base)
    assert f[["KIND", "COLUMN", "RULE", "VALUE", "MESSAGE"]].values.tolist() == [
        [
            "SLEDAI_MISSING_ITEM",
            "HEMATURIA",
            "all_items_answered",
            "HEMATURIA FEVER",
            "SLEDAI-2K total missing: item(s) not answered: HEMATURIA FEVER",
        ]
    ]


def test_sledai_findings_mismatch_missing_item_and_lab_rules():
    sl = harmonized(
        "SLEDAI",
        [
            sledai_row("SCREENING", "05-MAR-2026", ["ARTHRITIS", "THROMBO"], SLTOTAL="6"),  # recomputed 5
            sledai_row("DAY 1", "20-MAR-2026", ["LEUKOPENIA"], SLTOTAL="1", PROTEINURIA="N"),
            sledai_row("WEEK 4", "17-APR-2026", [], HEMATURIA=None),
        ],
    )
    lb = harmonized(
        "LB",
        [
            lab("PLAT", "100", "10^9/L", "400"),  # THROMBO=Y but platelets 100 (not < 100)
            lab("WBC", "2.9", "10^9/L", "10", visit="DAY 1", date="20-MAR-2026"),  # consistent
            lab(
                "PROT24", "500", "mg/24h", "150", visit="DAY 1", date="20-MAR-2026"
            ),  # 0.5 g: not > 0.5, N consistent
            lab("PLAT", "99", "10^9/L", "400", visit="DAY 1", date="20-MAR-2026"),  # THROMBO=N with 99
        ],
    )
    f = derive_sledai_findings(sl, lb)
    got = sorted(zip(f["KIND"], f["VISIT"], f["COLUMN"]))
    assert got == [
        ("SLEDAI_LAB", "DAY 1", "THROMBO"),
        ("SLEDAI_LAB", "SCREENING", "THROMBO"),
        ("SLEDAI_MISSING_ITEM", "WEEK 4", "HEMATURIA"),
        ("SLTOTAL_MISMATCH", "SCREENING", "SLTOTAL"),
    ]
    assert f["KIND"].tolist() == ["SLTOTAL_MISMATCH", "SLEDAI_MISSING_ITEM", "SLEDAI_LAB", "SLEDAI_LAB"]
    assert f["RECID"].notna().all() and f["SRC_LINE"].notna().all()
    lab_messages = f.loc[f["KIND"] == "SLEDAI_LAB", ["RULE", "MESSAGE"]].values.tolist()
    assert lab_messages == [
        [
            "THROMBO:consistent_with_PLAT",
            "THROMBO = Y but PLAT 100 >= 100 x 10^9/L platelets at the same visit",
        ],
        [
            "THROMBO:consistent_with_PLAT",
            "THROMBO = N but PLAT 99 < 100 x 10^9/L platelets at the same visit",
        ],
    ]


def test_sledai_lab_proteinuria_boundary():
    s, base = scored([sledai_row("WEEK 4", "17-APR-2026", ["PROTEINURIA"])])
    at = harmonized("LB", [lab("PROT24", "0.5", "g/24h", "0.15", visit="WEEK 4", date="17-APR-2026")])
    above = harmonized("LB", [lab("PROT24", "0.51", "g/24h", "0.15", visit="WEEK 4", date="17-APR-2026")])
    f = derive_sledai_lab_findings(s, base, at)  # Y with <= 0.5 g
    assert f[["KIND", "COLUMN", "MESSAGE"]].values.tolist() == [
        [
            "SLEDAI_LAB",
            "PROTEINURIA",
            "PROTEINURIA = Y but PROT24 0.5 <= 0.5 g/24h urine protein at the same visit",
        ]
    ]
    assert derive_sledai_lab_findings(s, base, above).empty
    sl = harmonized("SLEDAI", [sledai_row("WEEK 4", "17-APR-2026", ["PROTEINURIA"])])
    assert derive_sledai_findings(sl, at)["KIND"].tolist() == ["SLEDAI_LAB"]
    assert derive_sledai_findings(sl, above).empty


def test_unscheduled_lab_must_match_the_date_too():
    s, base = scored([sledai_row("UNSCHEDULED", "10-APR-2026", ["THROMBO"])])
    other_day = harmonized(
        "LB", [lab("PLAT", "250", "10^9/L", "400", visit="UNSCHEDULED", date="11-APR-2026")]
    )
    same_day = harmonized(
        "LB", [lab("PLAT", "250", "10^9/L", "400", visit="UNSCHEDULED", date="10-APR-2026")]
    )
    assert derive_sledai_lab_findings(s, base, other_day).empty
    assert derive_sledai_lab_findings(s, base, same_day)["COLUMN"].tolist() == ["THROMBO"]
