"""Markdown tables of mean ± std beside a paper's values.

`pivot_table` lays out one metric over two sets of criteria (rows x
columns), each cell the mean ± std over the matching runs beside the
paper's value, so an experiment's report declares its table instead of
looping over it.

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
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Sequence

import numpy as np

#: Criteria selecting runs, e.g. ``{"dataset": "mnist", "init": "he_normal"}``.
Criteria = Mapping[str, Any]

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


def pivot(value: Callable[..., tuple[float, float]], rows: Sequence[Criteria],
          columns: Sequence[Criteria], **criteria) -> np.ndarray:
    """``value(**row, **column, **criteria)`` for every row and column.

    Args:
        value: Mean and spread of the runs a set of criteria selects, e.g.
            ``functools.partial(results.mean_std, "acc_epoch10")``.
        rows: Criteria of each row.
        columns: Criteria of each column.
        **criteria: Criteria shared by every cell.

    Returns:
        An array of shape ``(len(rows), len(columns), 2)``: mean, spread.

    Example:

    >>> def value(a, b):
    ...     return (a * b, 0.0)
    >>> pivot(value, [{"a": 1}, {"a": 2}], [{"b": 3}])[..., 0].tolist()
    [[3.0], [6.0]]
    """
    return np.array([[value(**row, **column, **criteria) for column in columns]
                     for row in rows], dtype="float64").reshape(len(rows), len(columns), 2)


def pivot_table(value: Callable[..., tuple[float, float]], rows: Sequence[Criteria],
                columns: Sequence[Criteria], *, header: Sequence[str],
                row_labels: Sequence[Sequence[str]],
                paper: Callable[..., float | None] | None = None,
                cell: Callable[..., str] | None = None,
                **criteria) -> str:
    """A markdown table of `pivot`'s cells, each beside the paper's value.

    Args:
        value: As in `pivot`.
        rows: Criteria of each row.
        columns: Criteria of each column.
        header: The header: the row-label columns' titles, then the columns'.
        row_labels: The label cells of each row (one or several each).
        paper: ``paper(**row, **column)`` -> the paper's value, or None.
        cell: ``cell(mean_std, paper_value, **row, **column)`` -> the cell's
            text; default `percent_cell` of the first two.
        **criteria: Criteria shared by every cell.

    Example:

    >>> def value(init):
    ...     return {"a": (0.9, 0.01), "b": (0.5, 0.02)}[init]
    >>> print(pivot_table(value, [{}], [{"init": "a"}, {"init": "b"}],
    ...                   header=["", "a", "b"], row_labels=[["MNIST"]],
    ...                   paper=lambda init: {"a": 91.0}.get(init)))
    |  | a | b |
    |---|---|---|
    | MNIST | 90.0 ± 1.0 (91) | 50.0 ± 2.0 |
    """
    body = []
    for row, labels in zip(rows, row_labels):
        cells = []
        for column in columns:
            mean_std = value(**row, **column, **criteria)
            paper_value = None if paper is None else paper(**row, **column)
            cells.append(percent_cell(mean_std, paper_value) if cell is None
                         else cell(mean_std, paper_value, **row, **column))
        body.append([*labels, *cells])
    return markdown_table(header, body)
