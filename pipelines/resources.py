"""The resource instances of the code location (the classes are in :mod:`assets.common.resources`).

``resources_from_env`` is what the UI's code location uses: every setting is an ``EnvVar``, resolved
when a run starts; a setting whose variable is unset when the code location loads gets its
default. ``resources_for`` is what ``trialpipe run`` uses: the same resources from its options,
with no environment involved. A blinded setup never names the restricted location.
"""

from __future__ import annotations

import dagster as dg

from assets.common.resources import (
    BLINDED,
    UNBLINDED,
    LandingZone,
    RestrictedRandomization,
    RunSettings,
    Warehouse,
)
from pipelines.settings import (
    DEFAULT_LOCK_WAIT_SECONDS,
    ENV_FRESHNESS_DAYS,
    ENV_INGEST_WORKERS,
    ENV_LANDING,
    ENV_LOCK_WAIT,
    ENV_MODE,
    ENV_RESTRICTED,
    ENV_WAREHOUSE,
    env,
)


def _settings_from_env() -> RunSettings:
    fields: dict = {}
    if env(ENV_FRESHNESS_DAYS):
        fields["freshness_days"] = dg.EnvVar.int(ENV_FRESHNESS_DAYS)
    if env(ENV_INGEST_WORKERS):
        fields["ingest_workers"] = dg.EnvVar.int(ENV_INGEST_WORKERS)
    return RunSettings(**fields)


def resources_from_env() -> dict:
    """The code location's resources. Landing and warehouse must be set; the mode defaults to
    blinded, and the restricted location is wired only when the mode is unblinded."""
    unblinded = env(ENV_MODE) == UNBLINDED
    return {
        "landing": LandingZone(path=dg.EnvVar(ENV_LANDING)),
        "warehouse": Warehouse(
            path=dg.EnvVar(ENV_WAREHOUSE),
            mode=dg.EnvVar(ENV_MODE) if env(ENV_MODE) else BLINDED,
            lock_wait_seconds=dg.EnvVar.int(ENV_LOCK_WAIT)
            if env(ENV_LOCK_WAIT)
            else DEFAULT_LOCK_WAIT_SECONDS,
        ),
        "restricted": RestrictedRandomization(
            path=dg.EnvVar(ENV_RESTRICTED) if unblinded and env(ENV_RESTRICTED) else ""
        ),
        "settings": _settings_from_env(),
    }


def resources_for(
    landing: str,
    warehouse: str,
    unblinded: bool = False,
    restricted: str | None = None,
    settings: RunSettings | None = None,
) -> dict:
    """The same resources from explicit values (``trialpipe run``). Blinded: no restricted path at all."""
    return {
        "landing": LandingZone(path=landing),
        "warehouse": Warehouse(path=warehouse, mode=UNBLINDED if unblinded else BLINDED),
        "restricted": RestrictedRandomization(path=(restricted or "") if unblinded else ""),
        "settings": settings or _settings_from_env(),
    }
