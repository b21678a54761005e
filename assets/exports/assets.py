"""Submission and analysis format assets (being built; see the exports issue)."""

EXPORTS_ASSETS: list = []
EXPORTS_CHECKS: list = []
