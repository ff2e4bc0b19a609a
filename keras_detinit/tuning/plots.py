"""The objective against each scheme's own hyperparameter (sigma0, epsilon).

Example:

>>> from keras_detinit.tuning.results import TrialRecord
>>> records = [TrialRecord("0", "COMPLETED", 0.8, {"sigma0": 0.1}, rank=1)]
>>> ranges = {"sigma0": LogRange(1e-3, 1.0), "epsilon": LogRange(1e-4, 1.0)}
>>> plot_objective(records, ranges, "val_accuracy",
...                "objective.png")  # doctest: +SKIP
'objective.png'
"""

from __future__ import annotations

import os
from typing import Mapping
from typing import Sequence

from keras_detinit.reporting.figures import pyplot
from keras_detinit.tuning.results import TrialRecord
from keras_detinit.tuning.schemes import LogRange


def plot_objective(
    records: Sequence[TrialRecord],
    parameters: Mapping[str, LogRange],
    objective: str,
    path: str | os.PathLike,
) -> str:
    """Write a PNG: one panel per hyperparameter, log x axis, objective on y.

    Each panel spans the hyperparameter's search range and shows the
    completed trials in which it was active (``sigma0`` only for the
    Gaussian scheme); the best of them is circled. A panel without such
    trials says so.

    Args:
        records: The search's trials.
        parameters: Hyperparameter name -> its search range; one panel each.
        objective: The objective's name, for the y axis.
        path: Where to write the PNG.

    Returns:
        ``path``, as a string.

    Raises:
        ImportError: If matplotlib is not installed (``pip install
            keras-detinit[plots]``).
    """
    plt = pyplot()
    count = max(len(parameters), 1)
    figure, axes = plt.subplots(1, count, figsize=(4.5 * count, 3.6), squeeze=False)
    for axis, (name, limits) in zip(axes[0], parameters.items()):
        points = sorted(
            (r.hyperparameters[name], r.score)
            for r in records
            if r.rank is not None and r.hyperparameters.get(name) is not None
        )
        axis.set_xscale("log")
        axis.set_xlim(limits.low, limits.high)
        axis.set_xlabel(name)
        axis.set_ylabel(objective)
        axis.grid(True, which="both", alpha=0.3)
        if not points:
            axis.text(
                0.5, 0.5, f"no completed trial\nwith {name}",
                ha="center", va="center", transform=axis.transAxes,
            )
            continue
        x, y = zip(*points)
        axis.plot(x, y, "o", color="tab:blue")
        best = max(range(len(y)), key=y.__getitem__)
        axis.plot(x[best], y[best], "o", markersize=14, fillstyle="none", color="tab:red")
        trials = "trial" if len(points) == 1 else "trials"
        axis.set_title(f"{objective} vs {name} ({len(points)} {trials})")
    # Fixed margins: tight_layout measures every tick label, slowly.
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.88, wspace=0.35)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)
