"""Data-management consistency queries across the ingested forms (derivations.md, (v2) Data-management
consistency queries): the rules (:mod:`assets.sdtm.consistency.rules`) and their asset."""
