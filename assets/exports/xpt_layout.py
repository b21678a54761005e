"""The XPORT v5 record layout that every reader counts right: IBM doubles and the record-count rule.

XPORT v5 stores no observation count: the data are the records one after the other, the last
80-byte card padded with ASCII blanks (SAS TS-140). Readers guess where the data end:

- ``pandas.read_sas`` (``pandas/io/sas/sas_xport.py``, ``XportReader._record_count``, pandas 3.1):
  when a record is longer than 80 bytes the count is ``data bytes // record length`` (always
  right: the padding is shorter than one record). When a record is **80 bytes or less** it reads
  the last 80 bytes of the file as ten 8-byte words and subtracts 8 bytes for *every* word that
  is all blanks, wherever it lies, then divides: ``(data bytes - 8 * blank words) // record
  length``. A blank word made of real data (blank character values, e.g. ``TVENRL`` and ``ARMCD``
  of the last ``TV`` records) is taken for padding and the last observation(s) are lost
  (CORE-000140 on ``tv.xpt``). The count is also wrong when the padding's remainder ``padding %
  8`` is at least one record long (records of 1 to 7 bytes).
- ReadStat (pyreadstat, R haven) reads records to the end and drops trailing records that are
  entirely blank; no observation with a numeric variable is ever blank (a missing number is
  ``.``, 0x2E).

:func:`pandas_safe_lengths` therefore checks, for a record of 80 bytes or less, whether that rule
gives the true count, and if not widens one character variable by the fewest bytes that make it
right (the longest character variable, the first in order among equals; at worst the record grows past 80 bytes, where the rule
does not apply). The values are unchanged (SAS pads every character value with blanks to its
length); the variable's length is the one every format and define.xml state, so the files agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

RECORD = 80
WORD = 8
BLANK_WORD = b" " * WORD
SAS_EPOCH_DAYS = 3653  # days from 1960-01-01 (SAS) to 1970-01-01 (Arrow)


def ibm_double_bytes(values: np.ndarray) -> np.ndarray:
    """IEEE float64 -> the 8-byte IBM 370 hexadecimal doubles of XPORT, one row per value, vectorized
    (SAS TS-140 ``ieee2xpt``, as ReadStat implements it): NaN -> the SAS missing value ``.`` (0x2E
    then zeros); +-0 and magnitudes below 16**-65 -> zero; above the IBM range -> the largest
    magnitude. The 53-bit IEEE significand (with its implicit 1) shifted left by the binary
    exponent modulo 4 fits the 56-bit IBM fraction, so every in-range value converts exactly."""
    values = np.ascontiguousarray(values, dtype="float64")
    bits = values.view(np.uint64)
    sign = bits & np.uint64(0x8000_0000_0000_0000)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    fraction = (bits & np.uint64(0x000F_FFFF_FFFF_FFFF)) | np.uint64(0x0010_0000_0000_0000)
    fraction = fraction << (exponent & 3).astype(np.uint64)
    ibm_exponent = ((exponent >> 2) + 65).astype(np.uint64)
    out = sign | (ibm_exponent << np.uint64(56)) | fraction
    out[exponent < -260] = 0
    out[exponent > 248] = sign[exponent > 248] | np.uint64(0x7FFF_FFFF_FFFF_FFFF)
    out[np.isnan(values)] = np.uint64(0x2E00_0000_0000_0000)
    return out.astype(">u8").view(np.uint8).reshape(-1, 8)


def pandas_record_count(data_bytes: int, record_length: int, last_card: bytes) -> int:
    """The observation count ``pandas.read_sas`` gives a member whose data (padding included) is
    ``data_bytes`` long and ends with ``last_card`` (its last 80 bytes), records of
    ``record_length`` bytes: its ``_record_count`` rule, reproduced."""
    if record_length > RECORD:
        return data_bytes // record_length
    blank_words = sum(last_card[i : i + WORD] == BLANK_WORD for i in range(0, RECORD, WORD))
    return (data_bytes - WORD * blank_words) // record_length


def pandas_reads_all(tail_records: Sequence[bytes], rows: int) -> bool:
    """Whether pandas counts ``rows`` observations in a member whose last records are
    ``tail_records`` (at least the last 80 bytes of data, or every record)."""
    if rows == 0 or not tail_records:
        return True  # nothing to lose (pandas cannot read a member without observations at all)
    length = len(tail_records[0])
    data = rows * length
    padded = data + (-data % RECORD)
    tail = b"".join(tail_records) + b" " * (padded - data)
    return pandas_record_count(padded, length, tail[-RECORD:]) == rows


def _field_bytes(value, width: int | None) -> bytes:
    """A value as the XPT writer lays it out, for the record-count rule: text blank padded to
    ``width``; a number as its IBM double; a date or datetime (never eight blanks) as non-blank."""
    if width is not None:
        text = "" if value is None else str(value)
        return text.encode("utf-8").ljust(width, b" ")
    if value is None or isinstance(value, float | int | bool):
        number = np.nan if value is None else float(value)
        return ibm_double_bytes(np.array([number])).tobytes()
    return b"\x01" * WORD  # date / datetime: an integer count of days or seconds, never blanks


def pandas_safe_lengths(table: pa.Table, columns: Sequence[tuple[str, int | None]]) -> dict[str, int]:
    """Character lengths (name -> bytes) for the record layout of ``table`` with ``columns``
    (name, character length or None for a number) so that pandas counts every observation: the
    lengths given when they already do, else one character variable widened by the fewest bytes
    (the longest one, the first in order among equals, by the fewest bytes)."""
    widths = {name: width for name, width in columns if width is not None}
    rows = table.num_rows
    length = sum(WORD if width is None else width for _, width in columns)
    if rows == 0 or length > RECORD or not widths:
        return widths
    tail = table.slice(max(rows - (RECORD // max(length, 1) + 2), 0))
    values = {name: tail.column(name).to_pylist() for name, _ in columns}

    def reads_all(trial: dict[str, int]) -> bool:
        records = [
            b"".join(_field_bytes(values[name][i], trial.get(name)) for name, _ in columns)
            for i in range(tail.num_rows)
        ]
        return pandas_reads_all(records, rows)

    if reads_all(widths):
        return widths
    # the longest text (a free-text variable, whose length least depends on the data) first
    candidates = sorted(widths, key=lambda name: -widths[name])
    for extra in range(1, RECORD + 1):  # past 80 bytes the rule no longer applies: ends by then
        for name in candidates:
            trial = {**widths, name: widths[name] + extra}
            if reads_all(trial):
                return trial
    raise AssertionError("unreachable: a record longer than 80 bytes is always counted right")
