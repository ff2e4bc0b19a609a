"""Rows of an experiment's CSV, read back for the report.

Values come back as strings from the CSV; `Results` selects rows by their
configuration and returns numbers, so a report is written the same way
whether the rows were just measured or resumed from disk.

Example:

>>> results = Results([{"init": "a", "seed": "0", "acc": "0.5"},
...                    {"init": "a", "seed": "1", "acc": "0.7"}])
>>> results.mean_std("acc", init="a")
(0.6, 0.09999999999999998)
>>> results.mean_std("acc", seed="0")
(0.5, nan)
"""

from __future__ import annotations

import math
from typing import Any
from typing import Iterable
from typing import Mapping

import numpy as np

#: Separator of the values of a curve (one per epoch) in a CSV cell.
CURVE_SEPARATOR = ";"


def format_curve(values: Iterable[float]) -> str:
    """A per-epoch curve as one CSV cell, e.g. ``"0.8123;0.8541"``."""
    return CURVE_SEPARATOR.join(f"{float(value):.6g}" for value in values)


def mean_and_spread(values) -> tuple[float, float]:
    """Mean and standard deviation of ``values``.

    Both are NaN without values; the deviation is NaN for a single value
    (one seed has no spread to show) and 0 only when several values agree.
    """
    values = np.asarray(values, dtype="float64")
    if values.size == 0:
        return math.nan, math.nan
    spread = float(np.std(values)) if values.size > 1 else math.nan
    return float(np.mean(values)), spread


def parse_curve(cell: str) -> np.ndarray:
    """The inverse of `format_curve`."""
    if not cell:
        return np.zeros(0)
    return np.asarray([float(value) for value in cell.split(CURVE_SEPARATOR)])


class Results:
    """The rows of one experiment, with selection by configuration.

    Args:
        rows: Dicts of column name to value (strings or numbers).
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]]):
        self.rows = [dict(row) for row in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, **criteria) -> list[dict]:
        """Rows whose columns equal ``criteria`` (compared as text)."""
        return [
            row for row in self.rows
            if all(str(row.get(key)) == str(value) for key, value in criteria.items())
        ]

    def values(self, column: str, **criteria) -> np.ndarray:
        """The numbers in ``column`` of the selected rows (empty cells skipped)."""
        cells = [row.get(column, "") for row in self.where(**criteria)]
        return np.asarray([float(cell) for cell in cells if cell not in ("", None)])

    def mean_std(self, column: str, **criteria) -> tuple[float, float]:
        """`mean_and_spread` of ``column`` over the selected rows."""
        return mean_and_spread(self.values(column, **criteria))

    def curves(self, column: str, **criteria) -> list[np.ndarray]:
        """The per-epoch curves in ``column`` of the selected rows."""
        return [parse_curve(str(row.get(column, ""))) for row in self.where(**criteria)]

    def distinct(self, column: str) -> list[str]:
        """The values of ``column``, in first-seen order."""
        return list(dict.fromkeys(str(row.get(column)) for row in self.rows))
