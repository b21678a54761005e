"""QA layer assets (being built; see the qa issue)."""

QA_ASSETS: list = []
QA_CHECKS: list = []
