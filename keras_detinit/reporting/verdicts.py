"""Verdicts on a paper's claims that respect the spread across seeds.

A claim measured over seeds is decided only when the spread allows it:

* `against` compares a cell with a threshold (e.g. "trains": above 20%),
  and calls a threshold inside ``mean ± std`` "undecided";
* `compare` puts two cells side by side, "undecided" when their
  ``mean ± std`` intervals overlap;
* `Lead` is one cell of a table of the papers' kind: the proposed scheme
  against the best of the others, with the paper's own margin in that
  cell; its `Lead.verdict` says whether our seeds agree with the paper's
  sign, and `lead_table` / `tally` report a list of them.

One seed (NaN std) never decides anything.

Example:

>>> against((0.85, 0.02), 0.80), against((0.81, 0.02), 0.80)
('held', 'undecided')
>>> compare((0.90, 0.01), (0.70, 0.05)), compare((0.90, 0.01), (0.89, 0.02))
('ahead', 'undecided')
>>> lead = Lead("MNIST", (0.90, 0.01), "He", (0.80, 0.02), paper_margin=5.0)
>>> lead.claim, lead.comparison, lead.verdict
('leads', 'ahead', 'held')
>>> Lead("FMNIST", (0.70, 0.01), "He", (0.80, 0.02), paper_margin=5.0).verdict
'not held'
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from keras_detinit.reporting import tables

#: Verdicts, in report order.
VERDICTS = ("held", "not held", "undecided")
#: A paper margin (in points) below this is the paper calling the cell even.
EVEN_MARGIN = 1.0


def against(mean_std: tuple[float, float], threshold: float) -> str:
    """``"held"`` (above), ``"not held"`` (below) or ``"undecided"``.

    Undecided when ``threshold`` lies within ``mean ± std``, or with a
    single seed (no spread) or no runs at all.
    """
    mean, std = mean_std
    if math.isnan(mean) or math.isnan(std) or abs(mean - threshold) <= std:
        return "undecided"
    return "held" if mean > threshold else "not held"


def compare(ours: tuple[float, float], other: tuple[float, float]) -> str:
    """``"ahead"``, ``"behind"`` or ``"undecided"`` (``mean ± std`` overlap)."""
    if any(math.isnan(value) for value in (*ours, *other)):
        return "undecided"
    if abs(ours[0] - other[0]) <= ours[1] + other[1]:
        return "undecided"
    return "ahead" if ours[0] > other[0] else "behind"


def agreement(expected: bool, measured: str) -> str:
    """Whether a decided measurement has the sign a claim expects.

    Args:
        expected: True where the claim says above / ahead.
        measured: A result of `against` or `compare`.

    Example:

    >>> agreement(True, "ahead"), agreement(False, "ahead"), agreement(True, "undecided")
    ('held', 'not held', 'undecided')
    """
    if measured == "undecided":
        return "undecided"
    positive = measured in ("held", "ahead")
    return "held" if positive == expected else "not held"


@dataclasses.dataclass(frozen=True)
class Lead:
    """One cell: the proposed scheme against the best of the others.

    Args:
        cell: The cell's label (dataset, width, ...).
        ours: Mean and std over seeds of the proposed scheme, in [0, 1].
        rival: Label of the other scheme with the highest mean here.
        rival_value: Its mean and std.
        paper_margin: The paper's proposed minus its best other, in
            points; None where the paper gives no number and states that
            the proposed scheme leads.
    """

    cell: str
    ours: tuple[float, float]
    rival: str
    rival_value: tuple[float, float]
    paper_margin: float | None = None

    @property
    def claim(self) -> str:
        """``"leads"``, ``"trails"`` or ``"even"`` (within `EVEN_MARGIN`), as the paper has it."""
        if self.paper_margin is None or self.paper_margin >= EVEN_MARGIN:
            return "leads"
        return "trails" if self.paper_margin <= -EVEN_MARGIN else "even"

    @property
    def comparison(self) -> str:
        """Ours against the rival: `compare`'s answer."""
        return compare(self.ours, self.rival_value)

    @property
    def verdict(self) -> str:
        """The paper's sign in this cell held, did not, or is undecided.

        An "even" cell holds when our seeds cannot separate the two, and
        does not when they can; without a spread on both sides (one seed)
        nothing is decided.
        """
        if any(math.isnan(value) for value in (*self.ours, *self.rival_value)):
            return "undecided"
        if self.claim == "even":
            return "held" if self.comparison == "undecided" else "not held"
        return agreement(self.claim == "leads", self.comparison)


def lead_table(leads: Sequence[Lead], proposed: str = "Proposed") -> str:
    """A markdown table of `Lead` cells with their verdicts."""
    rows = [[lead.cell, tables.percent_cell(lead.ours),
             f"{tables.percent_cell(lead.rival_value)} ({lead.rival})",
             tables.MISSING if lead.paper_margin is None else f"{lead.paper_margin:+.1f}",
             lead.claim, lead.comparison, f"**{lead.verdict}**"] for lead in leads]
    return tables.markdown_table(
        ["Cell", f"{proposed} %", "best other %", "paper's margin (points)", "paper",
         "ours", "verdict"], rows)


def tally(verdicts: Sequence[str]) -> str:
    """``"held in 3, not held in 1, undecided in 2 of 6 cells"``.

    Example:

    >>> tally(["held", "held", "undecided"])
    'held in 2, not held in 0, undecided in 1 of 3 cells'
    """
    counts = [f"{name} in {sum(verdict == name for verdict in verdicts)}" for name in VERDICTS]
    return f"{', '.join(counts)} of {len(verdicts)} cells"


def claim_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """A markdown table of ``(claim, our cell, verdict)`` rows, verdicts in bold.

    Example:

    >>> print(claim_table([("trains at 100 layers", "80.1 ± 1.0", "held")]).splitlines()[2])
    | trains at 100 layers | 80.1 ± 1.0 | **held** |
    """
    return tables.markdown_table(["The paper's claim", "ours", "verdict"],
                                 [[claim, cell, f"**{verdict}**"] for claim, cell, verdict in rows])


def agreement_table(cells: Sequence[tuple[str, tuple[float, float], tuple[float, float]]],
                    names: tuple[str, str]) -> str:
    """Two measurements of the same cells, and whether the seeds separate them.

    Args:
        cells: ``(label, first mean ± std, second mean ± std)`` per cell,
            fractions in [0, 1].
        names: The two measurements' names (e.g. two backends).

    Returns:
        A tally sentence and a markdown table; a cell "agrees" where the
        two ``mean ± std`` intervals overlap (`compare` is undecided).

    Example:

    >>> print(agreement_table([("relu", (0.8, 0.01), (0.81, 0.02))],
    ...                       ("TensorFlow", "JAX")).splitlines()[0])
    The two agree (their mean ± std overlap) in 1 of 1 cells.
    """
    rows, agreeing = [], 0
    for label, first, second in cells:
        verdict = compare(first, second)
        agreeing += verdict == "undecided"
        rows.append([label, tables.percent_cell(first), tables.percent_cell(second),
                     "agree" if verdict == "undecided" else f"**{names[0]} {verdict}**"])
    return "\n\n".join([
        f"The two agree (their mean ± std overlap) in {agreeing} of {len(rows)} cells.",
        tables.markdown_table(["Cell", f"{names[0]} %", f"{names[1]} %", "verdict"], rows),
    ])
