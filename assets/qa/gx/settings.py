"""``study/qa.yaml``: Great Expectations sizing and the plausible ranges no other study table holds."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

import study


@cache
def qa_settings() -> dict[str, Any]:
    """The settings of study/qa.yaml (``gx_full_rows_max``, ``gx_sample_rows``, ``plausible_ranges``,
    ``variable_ranges``), read once per process."""
    with open(study.STUDY_DIR / "qa.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)
