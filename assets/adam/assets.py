"""ADAM layer assets (being built; see the adam issue)."""

ADAM_ASSETS: list = []
ADAM_CHECKS: list = []
