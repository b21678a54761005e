"""Checks of one asset in one Dagster step (assets/common/checks.py): same check names and results as
separate checks, one step, a subset when one check is selected, blocking as a separate check blocks."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.common.checks import check, checks_of_one_asset


class Threshold(dg.ConfigurableResource):
    limit: int = 2


@dg.asset
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(deps=[counted])
def downstream() -> None:
    return None


@check(asset=counted, blocking=True, description="At most the limit of rows.")
def rows_within_limit(threshold: Threshold) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=3 <= threshold.limit, metadata={"limit": threshold.limit})


@check(asset=counted, blocking=False, description="Warns, never blocks.")
def rows_are_few(context) -> dg.AssetCheckResult:
    assert context.instance is not None  # the check's execution context is passed as `context`
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


def _evaluations(result) -> dict[str, tuple[bool, str]]:
    return {e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()}


def _steps(result, event: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == event}


def test_the_checks_of_one_asset_run_in_one_step_with_their_own_names_and_results():
    checks = checks_of_one_asset([rows_within_limit, rows_are_few])
    result = dg.materialize([counted, checks], resources={"threshold": Threshold(limit=5)})
    assert result.success
    assert _evaluations(result) == {"rows_within_limit": (True, "ERROR"), "rows_are_few": (False, "WARN")}
    assert _steps(result, "STEP_SUCCESS") == {"counted", "counted_checks"}
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "rows_within_limit")
    assert evaluation.asset_key == dg.AssetKey("counted") and evaluation.metadata["limit"].value == 5


def test_a_failing_blocking_check_stops_the_assets_downstream_and_a_warning_does_not():
    checks = checks_of_one_asset([rows_within_limit, rows_are_few])
    blocked = dg.materialize(
        [counted, downstream, checks], resources={"threshold": Threshold()}, raise_on_error=False
    )
    assert not blocked.success
    assert "downstream" not in _steps(blocked, "STEP_SUCCESS")
    assert _evaluations(blocked)["rows_within_limit"] == (False, "ERROR")
    warned = dg.materialize(
        [counted, downstream, checks_of_one_asset([rows_are_few])], resources={"threshold": Threshold()}
    )
    assert warned.success and "downstream" in _steps(warned, "STEP_SUCCESS")


def test_selecting_one_check_evaluates_that_check_only():
    checks = checks_of_one_asset([rows_within_limit, rows_are_few])
    defs = dg.Definitions(
        assets=[counted], asset_checks=[checks], resources={"threshold": Threshold(limit=9)}
    )
    job = defs.resolve_implicit_global_asset_job_def()
    only = dg.AssetCheckKey(dg.AssetKey("counted"), "rows_within_limit")
    result = job.get_subset(asset_check_selection={only}, asset_selection=set()).execute_in_process()
    assert result.success and _evaluations(result) == {"rows_within_limit": (True, "ERROR")}


def test_a_check_stays_a_plain_function_and_checks_of_two_assets_are_refused():
    assert rows_within_limit(Threshold(limit=1)).passed is False

    @check(asset=downstream, blocking=False, description="Another asset.")
    def other() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(ValueError, match="target 2 assets"):
        checks_of_one_asset([rows_within_limit, other])
