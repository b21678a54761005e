"""The one numeric precision of derived values.

Derived numbers (converted lab and vital-sign results, CHG, ratios to the reference range) are
rounded to this many decimals before they are compared or written, so that a value computed two
ways (say 10.2 and 10.200000000000001) is one value.
"""

DECIMALS = 6
