"""SDTM layer assets (being built; see the sdtm issue)."""

SDTM_ASSETS: list = []
SDTM_CHECKS: list = []
