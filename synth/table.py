"""A column table: name -> 1-D numpy array, all of one length.

Forms are built as whole columns (numpy), filtered and sorted with index arrays and written
with the csv module; pandas is not needed on this path and its string inference would cost
more than the generation itself. Columns whose name starts with ``_`` are generator-internal
(subject index, availability date, ...) and are never written.
"""

from __future__ import annotations

import numpy as np


class Table(dict):
    """Columns of equal length; ``len(table)`` is the row count."""

    def __len__(self) -> int:  # type: ignore[override]
        for col in self.values():
            return len(col)
        return 0

    @property
    def nrows(self) -> int:
        return len(self)

    def take(self, index) -> Table:
        """The rows at ``index`` (integer positions or a boolean mask), as a new table."""
        return Table({k: v[index] for k, v in self.items()})

    def copy(self) -> Table:
        return Table({k: v.copy() for k, v in self.items()})

    @staticmethod
    def concat(parts: list[Table]) -> Table:
        """Rows of several tables with the same columns, in order."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Table()
        cols = list(parts[0])
        return Table({c: np.concatenate([p[c] for p in parts]) for c in cols})


def text(values, size: int | None = None) -> np.ndarray:
    """An object array of text: a scalar repeated ``size`` times, or an array converted."""
    if size is not None and np.isscalar(values):
        out = np.empty(size, dtype=object)
        out[:] = values
        return out
    return np.asarray(values, dtype=object)


def fmt_fixed(values, decimals) -> np.ndarray:
    """Numbers as typed text with a fixed number of decimals (scalar or per-row array of decimals)."""
    values = np.asarray(values, dtype=float)
    decimals = np.broadcast_to(np.asarray(decimals, dtype=np.int64), values.shape)
    out = np.empty(values.shape, dtype=object)
    for d in np.unique(decimals):
        sel = np.flatnonzero(decimals == d)
        spec = f"{{:.{int(d)}f}}"
        # +0.0 turns -0.0 into 0.0 so nothing is typed as "-0"
        out[sel] = [spec.format(v + 0.0) for v in np.round(values[sel], int(d))]
    return out
