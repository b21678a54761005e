"""Findings: LB, VS, CP (flow cytometry), RS (SLEDAI-2K, PGA, BILAG-2004) with SUPPRS, and IE.

Every visit-based finding gets VISITNUM from the schedule (UNSCHEDULED numbered by date,
:func:`assets.sdtm.timing.unscheduled_visitnums`), EPOCH from the visit, --DY from DM.RFSTDTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import study
from assets.common.columns import require_columns
from assets.common.units import format_number, round_to_decimals, standard_decimals
from assets.sdtm import metadata
from assets.sdtm.mapping import empty_dataset, map_by_value, map_to_spec
from assets.sdtm.sledai import derive_var_sledai_total
from assets.sdtm.supp import build_supp, combine_supp
from assets.sdtm.timing import derive_var_epoch, derive_var_visitnum, with_reference

NOT_DONE = "NOT DONE"
NORMAL_WORDS = ("NEGATIVE", "ABSENT")
ABNORMAL_WORDS = ("POSITIVE", "PRESENT")


def _visit_timing(
    df: pd.DataFrame, dtc: str, reference: pd.DataFrame, unscheduled: pd.DataFrame
) -> pd.DataFrame:
    work = derive_var_visitnum(with_reference(df, reference), dtc, unscheduled)
    work["EPOCH"] = derive_var_epoch(work["VISIT"], work[dtc], work["RFSTDTC"], work["RFICDTC"])
    return work


def derive_vars_testcd(df: pd.DataFrame, domain: str, source: str) -> pd.DataFrame:
    """<domain>TESTCD, <domain>TEST and <domain>SPEC (and MARKERS) from study/sdtm_test_codes.csv
    by the source test code; a code missing from that table raises (the spec must name it)."""
    require_columns(df, [source], "derive_vars_testcd")
    codes = metadata.test_codes(domain).set_index("SOURCE_TESTCD")
    unknown = sorted(set(df[source].dropna().unique()) - set(codes.index))
    if unknown:
        raise KeyError(f"study/sdtm_test_codes.csv has no {domain} row for {unknown}")
    out = df.copy(deep=False)  # copy-on-write: the columns added below do not reach ``df``
    # Look up each distinct source code once, then spread by position (findings have ~500,000 rows).
    positions, distinct = pd.factorize(out[source])
    found = codes.reindex(distinct)
    for column in ("TESTCD", "TEST", "SPEC"):
        out[f"{domain}{column}"] = _spread(found[column], positions, out.index)
    out["MARKERS"] = _spread(found["MARKERS"], positions, out.index)
    return out


def _spread(per_value: pd.Series, positions: np.ndarray, index: pd.Index) -> pd.Series:
    """Values looked up per distinct key back onto the rows (``positions`` from ``pd.factorize``;
    -1, a missing key, gives a missing value). The array's own ``take`` (an Arrow take for text)
    rather than an object array of every row, which then had to be converted back to text."""
    return pd.Series(per_value.array.take(positions, allow_fill=True), index=index, dtype=per_value.dtype)


def derive_vars_stres_rounded(df: pd.DataFrame, domain: str, source: str) -> pd.DataFrame:
    """<domain>STRESN and <domain>STRESC of a result converted to the standard unit (``--ORRESU``
    other than ``--STRESU``) rounded once, to the decimals of its test (``STD_DECIMALS`` of
    study/lab_tests.csv or study/vital_signs.csv by the source test code ``source``;
    :mod:`assets.common.precision`), both built from that one number: TEMP 98.0 F is ``36.7`` and
    36.7, not ``36.666667`` and 36.666666666666664 (CDISC CORE-000542: ``--STRESN`` equals a numeric
    ``--STRESC``). LB: the limit of a ``<``/``>`` result (``LBSTRESC`` ``<4.8``) and LBSTNRLO/LBSTNRHI
    with the same precision, so LBNRIND compares the numbers as written. A result sent in the
    standard unit keeps its digits; words keep their text."""
    stresn, stresc = f"{domain}STRESN", f"{domain}STRESC"
    orresu, stresu = f"{domain}ORRESU", f"{domain}STRESU"
    require_columns(df, [source, stresn, orresu, stresu], "derive_vars_stres_rounded")
    out = df.copy(deep=False)  # copy-on-write: the columns replaced below do not reach ``df``
    decimals = map_by_value(out[source], standard_decimals(domain).astype("string")).astype("Float64")
    original, standard = out[orresu].astype("string"), out[stresu].astype("string")
    converted = (original.notna() & standard.notna() & original.ne(standard)).fillna(False).to_numpy(bool)
    value = out[stresn].astype("float64")
    rounded = round_to_decimals(value, decimals).where(converted, value)
    out[stresn] = rounded
    text = format_number(rounded).where(rounded.notna())
    if domain == "LB":
        require_columns(df, ["LBRESQUAL", "LBSTRESC", "LBSTNRLO", "LBSTNRHI"], "derive_vars_stres_rounded")
        qualifier = out["LBRESQUAL"].astype("string").fillna("")
        out[stresc] = (qualifier + text).where(rounded.notna(), out[stresc].astype("string"))
        for limit in ("LBSTNRLO", "LBSTNRHI"):
            bound = out[limit].astype("float64")
            out[limit] = round_to_decimals(bound, decimals).where(converted, bound)
    else:
        out[stresc] = text
    return out


def derive_var_lbnrind(lb: pd.DataFrame) -> pd.DataFrame:
    """LBNRIND (CT C78736) against LBSTNRLO/LBSTNRHI (a missing limit does not bound; no limit at
    all: null). Numbers: LOW below LBSTNRLO, HIGH above LBSTNRHI, else NORMAL.

    A censored result (``LBRESQUAL``; the number is the censoring limit x) is decided where every
    value it can stand for falls on one side, lab results being never negative: ``<x`` LOW when
    x <= LBSTNRLO, NORMAL when LBSTNRLO is missing or <= 0 and x <= LBSTNRHI (anti-dsDNA ``<10``
    within 0-30); ``<=x`` the same with x < LBSTNRLO for LOW; ``>x`` HIGH when x >= LBSTNRHI,
    NORMAL when LBSTNRHI is missing and x >= LBSTNRLO; ``>=x`` the same with x > LBSTNRHI for HIGH.
    Otherwise undecidable (null). Words: NEGATIVE/ABSENT NORMAL, POSITIVE/PRESENT ABNORMAL."""
    require_columns(lb, ["LBSTRESN", "LBRESQUAL", "LBSTRESC", "LBSTNRLO", "LBSTNRHI"], "derive_var_lbnrind")
    value = lb["LBSTRESN"].astype("float64").to_numpy()
    lo = lb["LBSTNRLO"].astype("float64").to_numpy()
    hi = lb["LBSTNRHI"].astype("float64").to_numpy()
    # Text tests in Arrow (not on object arrays of every row: LB has ~500,000)
    qual = lb["LBRESQUAL"].astype("string").fillna("")
    word = lb["LBSTRESC"].astype("string").fillna("")
    plain = qual.eq("").to_numpy(dtype=bool) & ~np.isnan(value)
    has_lo, has_hi = ~np.isnan(lo), ~np.isnan(hi)
    has_range = has_lo | has_hi
    below = plain & (value < lo)
    above = plain & (value > hi)
    number = ~np.isnan(value)
    less, less_eq = (qual.eq(q).to_numpy(dtype=bool) & number for q in ("<", "<="))
    more, more_eq = (qual.eq(q).to_numpy(dtype=bool) & number for q in (">", ">="))
    with np.errstate(invalid="ignore"):
        floor_normal = ~has_lo | (lo <= 0)  # every value from 0 up is at or above the lower limit
        censored_low = (less & (value <= lo)) | (less_eq & (value < lo))
        censored_high = (more & (value >= hi)) | (more_eq & (value > hi))
        censored_normal = ((less | less_eq) & floor_normal & has_hi & (value <= hi)) | (
            (more | more_eq) & ~has_hi & has_lo & (value >= lo)
        )
        choice = np.select(
            [
                below,
                above,
                plain & has_range,
                censored_low,
                censored_high,
                censored_normal,
                word.isin(NORMAL_WORDS).to_numpy(dtype=bool),
                word.isin(ABNORMAL_WORDS).to_numpy(dtype=bool),
            ],
            np.arange(8),
            default=-1,
        )
    # indices into the values (-1: none applies, missing): no text array of every row is built
    values = pd.array(
        ["LOW", "HIGH", "NORMAL", "LOW", "HIGH", "NORMAL", "NORMAL", "ABNORMAL"], dtype="string"
    )
    out = lb.copy(deep=False)  # copy-on-write: adding LBNRIND does not reach ``lb``
    out["LBNRIND"] = pd.Series(values.take(choice, allow_fill=True), index=lb.index)
    return out


def derive_var_lobxfl(df: pd.DataFrame, domain: str, groups: list[str]) -> pd.DataFrame:
    """<domain>LOBXFL (SDTMIG 3.4, Last Observation Before Exposure Flag): Y on one record per
    USUBJID and ``groups`` (test code, category, specimen): the last with ``--ORRES`` and
    ``--STRESC`` present whose complete date is on or before the first dose date (date part of
    DM.RFSTDTC, as baseline in derivations.md: a DAY 1 assessment on the first-dose day counts);
    latest date first, then the higher VISITNUM, then the later source record (``RECID``). Null
    otherwise (subjects never dosed, partial dates). CDISC CORE-000083/000105/000170/000915."""
    dtc, orres, stresc = f"{domain}DTC", f"{domain}ORRES", f"{domain}STRESC"
    require_columns(
        df, ["USUBJID", *groups, dtc, orres, stresc, "VISITNUM", "RECID", "RFSTDTC"], "derive_var_lobxfl"
    )
    day = df[dtc].astype("string").str.slice(0, 10)
    first_dose = df["RFSTDTC"].astype("string").str.slice(0, 10)

    def true(test: pd.Series) -> np.ndarray:
        return test.fillna(False).to_numpy(dtype=bool)

    complete = true(day.str.len().eq(10)) & true(first_dose.str.len().eq(10))
    present = df[orres].notna().to_numpy(dtype=bool) & true(df[stresc].astype("string").str.len().gt(0))
    eligible = complete & present & true(day <= first_dose)
    cand = df.loc[eligible, ["USUBJID", *groups, dtc, "VISITNUM", "RECID"]]
    cand = cand.sort_values([dtc, "VISITNUM", "RECID"], kind="stable", na_position="first")
    last = cand.drop_duplicates(["USUBJID", *groups], keep="last").index
    out = df.copy(deep=False)  # copy-on-write: adding the flag does not reach ``df``
    flag = pd.Series(pd.NA, index=df.index, dtype="string")
    flag[last] = "Y"
    out[f"{domain}LOBXFL"] = flag
    return out


def build_lb(lb: pd.DataFrame, reference: pd.DataFrame, unscheduled: pd.DataFrame) -> pd.DataFrame:
    """LB: results as sent (LBORRES/LBORRESU/LBORNRLO/LBORNRHI) and in standard units (ingest
    harmonization; converted results rounded to the test's precision, :func:`derive_vars_stres_rounded`);
    LBSTRESN null for ``<``/``>`` results (the number is a limit, not a value); LBLOBXFL."""
    if lb.empty:
        return empty_dataset("LB")
    require_columns(lb, ["USUBJID", "LBTESTCD", "LBDTC", "LBSTRESN", "LBRESQUAL", "RECID"], "build_lb")
    work = _visit_timing(lb.rename(columns={"LBTESTCD": "SRC_TESTCD"}), "LBDTC", reference, unscheduled)
    work = derive_vars_testcd(work, "LB", "SRC_TESTCD")
    work["LBCAT"] = map_by_value(work["SRC_TESTCD"], study.lab_tests().set_index("LBTESTCD")["LBCAT"])
    work = derive_vars_stres_rounded(work, "LB", "SRC_TESTCD")
    work = derive_var_lbnrind(work)
    work["LBSTRESN"] = work["LBSTRESN"].where(work["LBRESQUAL"].isna())
    work = derive_var_lobxfl(work, "LB", ["LBTESTCD", "LBCAT", "LBSPEC"])
    return map_to_spec(work, "LB", tiebreak=["RECID"]).reset_index(drop=True)


def build_vs(vs: pd.DataFrame, reference: pd.DataFrame, unscheduled: pd.DataFrame) -> pd.DataFrame:
    """VS: as sent and in standard units (kg, cm, C; converted results rounded to the test's
    precision, :func:`derive_vars_stres_rounded`); VSTEST from study/vital_signs.csv; VSLOBXFL."""
    if vs.empty:
        return empty_dataset("VS")
    require_columns(vs, ["USUBJID", "VSTESTCD", "VSDTC", "VSSTRESN", "RECID"], "build_vs")
    work = _visit_timing(vs, "VSDTC", reference, unscheduled)
    work["VSTEST"] = map_by_value(work["VSTESTCD"], study.vital_signs().set_index("VSTESTCD")["VSTEST"])
    work = derive_vars_stres_rounded(work, "VS", "VSTESTCD")
    work = derive_var_lobxfl(work, "VS", ["VSTESTCD"])
    return map_to_spec(work, "VS", tiebreak=["RECID"]).reset_index(drop=True)


def build_cp(facs: pd.DataFrame, reference: pd.DataFrame, unscheduled: pd.DataFrame) -> pd.DataFrame:
    """CP: flow cytometry populations as % of CD4+ T cells, CT test codes where C181173 has them."""
    if facs.empty:
        return empty_dataset("CP")
    require_columns(facs, ["USUBJID", "FCTESTCD", "FCDTC", "FCSTRESN", "RECID"], "build_cp")
    work = _visit_timing(facs, "FCDTC", reference, unscheduled)
    work = derive_vars_testcd(work, "CP", "FCTESTCD")
    work["CPMRKSTR"] = work["MARKERS"]
    work["CPSTRESC"] = format_number(work["FCSTRESN"]).where(work["FCSTRESN"].notna())
    return map_to_spec(work, "CP", tiebreak=["RECID"]).reset_index(drop=True)


TIMED_COLUMNS = ["USUBJID", "VISIT", "VISITNUM", "EPOCH", "RFSTDTC", "RECID"]
"""Columns of a timed form (:func:`_visit_timing`) that every RS row of a record repeats."""


def _rs_rows(
    df: pd.DataFrame, dtc: str, cat: str, testcd, test, orres, stresc, stresn, **extra
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "USUBJID": df["USUBJID"],
            "VISIT": df["VISIT"],
            "VISITNUM": df["VISITNUM"],
            "EPOCH": df["EPOCH"],
            "RFSTDTC": df["RFSTDTC"],
            "RSDTC": df[dtc],
            "RECID": df["RECID"],
            "RSCAT": cat,
            "RSTESTCD": testcd,
            "RSTEST": test,
            "RSORRES": orres,
            "RSSTRESC": stresc,
            "RSSTRESN": stresn,
            **extra,
        },
        index=df.index,
    )
    return out


def _melt_items(
    df: pd.DataFrame, items: list[str], codes: list[str], tests: list[str], dtc: str, cat: str
) -> pd.DataFrame:
    long = df[[*TIMED_COLUMNS, dtc, *items]].melt(
        id_vars=[*TIMED_COLUMNS, dtc],
        value_vars=items,
        var_name="ITEM",
        value_name="RESULT",
    )
    long["RESULT"] = long["RESULT"].astype("string")
    return _rs_rows(
        long,
        dtc,
        cat,
        map_by_value(long["ITEM"], dict(zip(items, codes))),
        map_by_value(long["ITEM"], dict(zip(items, tests))),
        long["RESULT"],
        long["RESULT"],
        np.nan,
    )


def derive_rs_sledai(sledai: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SLEDAI-2K as RS rows: SLED01-SLED24 (items in study/sledai_items.csv order, RSORRES Y/N) and
    SLEDTOT, the total recomputed by :func:`derive_var_sledai_total` (missing when any item is
    missing: RSSTAT NOT DONE with the items named). ``sledai`` is timed (:func:`_visit_timing`).
    Returns (rows, site totals for SUPPRS SLTOTSIT)."""
    require_columns(sledai, [*TIMED_COLUMNS, "SLDTC", "SLTOTAL"], "derive_rs_sledai")
    items = study.table("sledai_items")
    codes = [f"SLED{i:02d}" for i in range(1, len(items) + 1)]
    tests = [f"{c}-{d}" for c, d in zip(codes, items["DESCRIPTION"])]
    scored = derive_var_sledai_total(sledai)
    item_rows = _melt_items(scored, items["ITEM"].tolist(), codes, tests, "SLDTC", "SLEDAI-2K")
    total = scored["SLEDAI_TOTAL"]
    tot_code = metadata.test_codes("RS").set_index("SOURCE_TESTCD").loc["SLEDTOT"]
    missing_items = scored["SLEDAI_MISSING_ITEMS"].astype("string")
    total_rows = _rs_rows(
        scored,
        "SLDTC",
        "SLEDAI-2K",
        tot_code["TESTCD"],
        tot_code["TEST"],
        total.astype("string"),
        total.astype("string"),
        total.astype("float64"),
        RSDRVFL="Y",
        RSREASND=("Items not answered: " + missing_items).where(total.isna()),
        SLTOTSIT=scored["SLTOTAL"].astype("string"),
    )
    return pd.concat([item_rows, total_rows], ignore_index=True), total_rows


def derive_rs_pga(pga: pd.DataFrame) -> pd.DataFrame:
    """PGA as RS rows: RSORRES the score as sent, RSSTRESN the number (0-3); ``pga`` is timed."""
    require_columns(pga, [*TIMED_COLUMNS, "PGADTC", "PGASCORE", "PGASCOREN"], "derive_rs_pga")
    code = metadata.test_codes("RS").set_index("SOURCE_TESTCD").loc["PGA"]
    value = pga["PGASCOREN"].astype("float64")
    return _rs_rows(
        pga,
        "PGADTC",
        "PGA",
        code["TESTCD"],
        code["TEST"],
        pga["PGASCORE"].astype("string"),
        format_number(value).where(value.notna()),
        value,
    )


def derive_rs_bilag(bilag: pd.DataFrame) -> pd.DataFrame:
    """BILAG-2004 as RS rows: RSTESTCD the domain column (CONSTIT ... HAEM), grade A-E; ``bilag`` is
    timed."""
    domains = study.table("bilag_domains")
    tests = [f"BILAG-2004 {d}" for d in domains["DESCRIPTION"]]
    return _melt_items(
        bilag, domains["DOMAIN"].tolist(), domains["DOMAIN"].tolist(), tests, "BLDTC", "BILAG-2004"
    )


def build_rs(
    sledai: pd.DataFrame,
    pga: pd.DataFrame,
    bilag: pd.DataFrame,
    reference: pd.DataFrame,
    unscheduled: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """RS (SDTMIG 3.4 clinical classifications) from SLEDAI-2K, PGA and BILAG-2004, and SUPPRS
    holding the site's own SLEDAI-2K total (QNAM SLTOTSIT) on the SLEDTOT record. CDISC Q1-2025 CT
    publishes no QRS codes for these instruments: the test codes are sponsor-defined."""
    # VISITNUM, EPOCH and RFSTDTC are per source record: derived on the ~75,000 records before
    # they are spread to ~900,000 RS rows (one per item).
    parts = []
    if not sledai.empty:
        parts.append(derive_rs_sledai(_visit_timing(sledai, "SLDTC", reference, unscheduled))[0])
    if not pga.empty:
        parts.append(derive_rs_pga(_visit_timing(pga, "PGADTC", reference, unscheduled)))
    if not bilag.empty:
        parts.append(derive_rs_bilag(_visit_timing(bilag, "BLDTC", reference, unscheduled)))
    if not parts:
        return {"RS": empty_dataset("RS"), "SUPPRS": empty_dataset("SUPPRS")}
    rows = pd.concat(parts, ignore_index=True)
    for col in ("RSDRVFL", "RSREASND", "SLTOTSIT"):
        if col not in rows:
            rows[col] = pd.NA
    rows["RSSTAT"] = pd.Series(NOT_DONE, index=rows.index, dtype="string").where(rows["RSORRES"].isna())
    out = map_to_spec(rows, "RS", tiebreak=["RECID"])
    supp = build_supp(out, rows["SLTOTSIT"], "RS", "SLTOTSIT", "SLEDAI-2K Total as Computed by Site")
    return {"RS": out.reset_index(drop=True), "SUPPRS": combine_supp([supp], "SUPPRS")}


def build_ie(eligibility: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """IE: per subject only the criteria that count against eligibility (derivations.md, Eligibility):
    IEORRES/IESTRESC N for an inclusion criterion not met, Y for an exclusion criterion present;
    IETEST/IECAT from TI (study/criteria.csv); dated at consent, SCREENING visit."""
    if eligibility.empty:
        return empty_dataset("IE")
    require_columns(eligibility, ["USUBJID", "IETESTCD", "COUNTS_AGAINST", "ICDTC"], "build_ie")
    against = eligibility[eligibility["COUNTS_AGAINST"].astype("boolean").fillna(False)]
    if against.empty:
        return empty_dataset("IE")
    ti = study.criteria().set_index("IETESTCD")
    work = with_reference(against[["USUBJID", "IETESTCD", "ICDTC"]].copy(), reference)
    work["IETEST"] = work["IETESTCD"].map(ti["IETEST"])
    work["IECAT"] = work["IETESTCD"].map(ti["IECAT"])
    work["IEORRES"] = np.where(work["IECAT"].eq("INCLUSION"), "N", "Y")
    work["IESTRESC"] = work["IEORRES"]
    work["IEDTC"] = work["ICDTC"]
    screening = study.visits().iloc[0]
    work["VISIT"], work["VISITNUM"], work["EPOCH"] = (
        screening["VISIT"],
        screening["VISITNUM"],
        screening["EPOCH"],
    )
    return map_to_spec(work, "IE").reset_index(drop=True)
