"""Eligibility assets (being built; see the eligibility/ADaM issue)."""

ELIGIBILITY_ASSETS: list = []
ELIGIBILITY_CHECKS: list = []
