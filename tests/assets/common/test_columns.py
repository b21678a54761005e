"""The one column check names the function and every missing column."""

import pandas as pd
import pytest

import study
from assets.common.columns import require_columns


def test_missing_columns_are_named_with_the_function_that_needs_them():
    df = pd.DataFrame({"USUBJID": ["S1"], "VISIT": ["SCREENING"]})
    require_columns(df, ["USUBJID", "VISIT"], "derive_x")  # all there: no error
    with pytest.raises(KeyError, match=r"derive_x: columns missing: \['AVAL', 'BASE'\]"):
        require_columns(df, ["USUBJID", "AVAL", "BASE"], "derive_x")


def test_protocol_limits_are_numbers_from_the_study_table():
    limits = study.protocol_limits()
    assert (limits["AGE_MIN"], limits["AGE_MAX"]) == (18.0, 75.0)
    assert (limits["WEIGHT_MIN"], limits["WEIGHT_MAX"], limits["LIVER_MAX_XULN"]) == (45.0, 80.0, 2.0)
