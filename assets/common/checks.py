"""Asset checks as plain functions, and several checks of one asset evaluated in one Dagster step.

A Dagster step has a fixed cost (its events, its start and end) that is larger than most of our
checks. :func:`check` declares a check (its spec and a plain function, callable in tests as it is);
:func:`checks_of_one_asset` makes the checks of one asset one ``multi_asset_check``: one step, the
same check names and results. All the checks target the same asset, so a failing blocking check
stops exactly what a separate check would stop (that asset's downstream). The step can run a subset
(``can_subset``): selecting one check in the UI evaluates that check only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg


@dataclass(frozen=True)
class Check:
    """One asset check: its spec and the function that evaluates it. The function's parameters are
    ``context`` (the check's execution context) and resources by their key."""

    spec: dg.AssetCheckSpec
    fn: Callable[..., dg.AssetCheckResult]

    def __call__(self, *args: Any, **kwargs: Any) -> dg.AssetCheckResult:
        return self.fn(*args, **kwargs)

    @property
    def resource_keys(self) -> set[str]:
        return {p for p in inspect.signature(self.fn).parameters if p != "context"}


def check(
    *, asset: Any, blocking: bool, description: str, name: str | None = None
) -> Callable[[Callable[..., dg.AssetCheckResult]], Check]:
    """Declare a check of ``asset`` (as ``dg.asset_check`` would); run it with :func:`checks_of_one_asset`."""

    def declare(fn: Callable[..., dg.AssetCheckResult]) -> Check:
        spec = dg.AssetCheckSpec(name or fn.__name__, asset=asset, blocking=blocking, description=description)
        return Check(spec, fn)

    return declare


def checks_of_one_asset(checks: Sequence[Check], name: str | None = None) -> dg.AssetChecksDefinition:
    """The ``checks`` (all of one asset) as one Dagster step, named ``<asset>_checks`` by default."""
    assets = {c.spec.asset_key for c in checks}
    if len(assets) != 1:
        raise ValueError(
            f"checks_of_one_asset: the checks target {len(assets)} assets, not one: {sorted(assets)}"
        )
    (asset_key,) = assets
    resource_keys = set().union(*(c.resource_keys for c in checks))

    @dg.multi_asset_check(
        name=name or f"{asset_key.to_python_identifier()}_checks",
        specs=[c.spec for c in checks],
        can_subset=True,
        required_resource_keys=resource_keys,
    )
    def _checks(context) -> Iterator[dg.AssetCheckResult]:  # no annotation: Dagster reads it at run time
        selected = context.selected_asset_check_keys
        for c in checks:
            if c.spec.key not in selected:
                continue
            kwargs = {
                p: context if p == "context" else getattr(context.resources, p)
                for p in inspect.signature(c.fn).parameters
            }
            result = c.fn(**kwargs)
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=c.spec.name,
                passed=result.passed,
                severity=result.severity,
                metadata=result.metadata,
                description=result.description,
            )

    return _checks
