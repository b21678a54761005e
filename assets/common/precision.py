"""The one numeric precision of derived values.

Derived numbers (converted lab and vital-sign results, CHG, ratios to the reference range) are
rounded to this many decimals before they are compared or written, so that a value computed two
ways (say 10.2 and 10.200000000000001) is one value.

SDTM ``--STRESN``/``--STRESC`` of a result converted to the standard unit use the precision of its
test instead (``STD_DECIMALS`` of study/lab_tests.csv and study/vital_signs.csv, e.g. temperature in
C to 1 decimal: 98.0 F -> 36.7): the precision a result is reported at in that unit, and for lab
tests (which have reference ranges) fine enough that two results sent at the site's precision stay
two values after conversion (0.01 ukat/L is 0.6 U/L: ALT to 1 decimal), so LBNRIND is decided as in
the unit sent. Both variables are built from that one rounded number, the reference range in the
standard unit with the same precision (:func:`assets.sdtm.findings.derive_vars_stres_rounded`).
Derivations from the ingested forms (eligibility, plausible ranges) use the unrounded conversion,
compared at ``DECIMALS``.
"""

DECIMALS = 6
