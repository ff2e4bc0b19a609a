"""Markdown tables of mean ± std beside a paper's values.

Example:

>>> percent_cell((0.8812, 0.0031), 88.2)
'88.1 ± 0.3 (88.2)'
>>> number_cell((0.5912, float("nan")), ".2f", 0.56)
'0.59 (0.56)'
>>> print(markdown_table(["a", "b"], [[1, 2]]))
| a | b |
|---|---|
| 1 | 2 |
"""

from __future__ import annotations

import math
from typing import Sequence

#: Shown for a value not measured (or not reported by the paper).
MISSING = "–"


def percent(value: float, digits: int = 1) -> str:
    """A fraction in ``[0, 1]`` as a percentage, or `MISSING` for NaN."""
    return MISSING if value is None or math.isnan(value) else f"{100 * value:.{digits}f}"


def percent_cell(mean_std: tuple[float, float], paper: float | None = None) -> str:
    """``"ours ± std (paper)"`` in percent; the paper's value is optional."""
    return number_cell((100 * mean_std[0], 100 * mean_std[1]), ".1f", paper)


def number_cell(mean_std: tuple[float, float], spec: str = ".2f",
                paper: float | None = None) -> str:
    """``"mean ± std (paper)"`` in format ``spec``; no ``±`` for one run (NaN std)."""
    mean, std = mean_std
    if math.isnan(mean):
        text = MISSING
    elif math.isnan(std):
        text = f"{mean:{spec}}"
    else:
        text = f"{mean:{spec}} ± {std:{spec}}"
    return text if paper is None else f"{text} ({paper:g})"


def markdown_table(header: Sequence, rows: Sequence[Sequence]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)
