"""The consistency-query asset: a thin wrapper around :mod:`assets.sdtm.consistency.rules`.

Output (``<mode root>`` = ``<warehouse>/<blinded|unblinded>``): ``qa/findings/consistency.parquet``,
one finding per record concerned (kinds and rules of ``study/consistency_rules.csv``), read by
``qa_queries``. It reads the ingested forms (rows that passed the schema, with RECID and source
line), never SDTM, so a query names the record and the line a site can fix.
"""

import dagster as dg
import pandas as pd

import study
from assets.common import keys
from assets.common.findings import make_findings
from assets.common.parquet import write_parquet
from assets.common.resources import Warehouse
from assets.ingest.store import read_form_present
from assets.sdtm.consistency.common import columns_read
from assets.sdtm.consistency.rules import derive_consistency_findings, record_dates

GROUP = "sdtm"
FORMS = tuple(dict.fromkeys(["DM", "AE", "CM", "DS", "EX", "VS", "LB", "RAND", *record_dates()["FORM"]]))


@dg.asset(
    group_name=GROUP,
    deps=[keys.SITE_INGEST, keys.IWRS_INGEST],
    kinds={"python", "parquet"},
    description=f"Data-management consistency queries ({len(study.table('consistency_rules'))} rules of "
    "study/consistency_rules.csv: AE and CM dates, AE seriousness, coding and duplicates, death, dosing "
    "after discontinuation, visit order, blood pressure, lab ranges, randomization, consent).",
)
def consistency_findings(warehouse: Warehouse) -> dg.MaterializeResult:
    ingest_dir = warehouse.root / "ingest"
    forms = {form: read_form_present(ingest_dir, form, columns_read()) for form in FORMS}
    findings = make_findings(derive_consistency_findings(forms))
    write_parquet(findings, warehouse.layer("qa") / "findings" / "consistency.parquet")
    by_kind = findings["KIND"].value_counts().sort_index() if len(findings) else pd.Series(dtype=int)
    return dg.MaterializeResult(
        metadata={
            "findings": len(findings),
            "by_kind": dg.MetadataValue.json({str(k): int(v) for k, v in by_kind.items()}),
        }
    )


CONSISTENCY_ASSETS = [consistency_findings]
