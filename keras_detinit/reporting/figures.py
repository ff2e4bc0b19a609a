"""PNG figures of the reproductions: curves and heatmaps (matplotlib, Agg).

Example:

>>> heatmap("grid.png", [[0.1, 0.5], [0.9, 0.97]], [2, 4], [2, 4],
...         "2nd hidden layer", "1st hidden layer", "demo")  # doctest: +SKIP
"""

from __future__ import annotations

import pathlib
from typing import Mapping
from typing import Sequence

import numpy as np


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed).

    Raises:
        ImportError: If matplotlib is missing, naming the extra to install.
    """
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "Figures need matplotlib: pip install 'keras-detinit[plots]'."
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def heatmap(path, values, row_labels: Sequence, column_labels: Sequence, xlabel: str,
            ylabel: str, title: str, axes=None) -> None:
    """Accuracy heatmap in percent with the value in each cell.

    Args:
        path: PNG to write, or ``None`` when drawing into ``axes``.
        values: 2-D array of fractions (NaN: not measured).
        row_labels: Labels of the rows (y axis, top to bottom).
        column_labels: Labels of the columns (x axis).
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: Title of the panel.
        axes: Draw into these axes instead of a new figure.
    """
    plt = pyplot()
    values = 100 * np.asarray(values, dtype="float64")
    figure = None
    if axes is None:
        figure, axes = plt.subplots(figsize=(1.0 + 0.7 * len(column_labels),
                                             1.0 + 0.6 * len(row_labels)))
    axes.imshow(values, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for (row, column), value in np.ndenumerate(values):
        if not np.isnan(value):
            axes.text(column, row, f"{value:.0f}", ha="center", va="center", fontsize=7,
                      color="white" if value < 60 else "black")
    labels = [str(label) for label in column_labels]
    # Long names (initializers) would overlap side by side.
    slanted = max(map(len, labels), default=0) > 4
    axes.set_xticks(range(len(labels)), labels, rotation=40 if slanted else 0,
                    ha="right" if slanted else "center")
    axes.set_yticks(range(len(row_labels)), [str(label) for label in row_labels])
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=9)
    if figure is not None:
        save(figure, path)


def line_panels(path, panels: Mapping[str, Mapping[str, tuple]], xlabel: str, ylabel: str,
                ylim=(0, 100), log_x: bool = False) -> None:
    """One panel per title, one line per series: ``{title: {series: (x, y)}}``.

    ``y`` values are fractions and are drawn in percent when ``ylim`` is the
    default ``(0, 100)``. A series given as ``(x, y, spread)`` is drawn
    with a band ``y ± spread`` (e.g. the standard deviation over seeds).
    """
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    scale = 100 if tuple(ylim) == (0, 100) else 1
    for axis, (title, series) in zip(axes[0], panels.items()):
        for name, (x, y, *spread) in series.items():
            y = scale * np.asarray(y, dtype="float64")
            line, = axis.plot(x, y, marker="o", markersize=3, label=name)
            if spread:
                band = scale * np.asarray(spread[0], dtype="float64")
                axis.fill_between(x, y - band, y + band, color=line.get_color(), alpha=0.2)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel(xlabel)
        axis.set_ylim(*ylim)
        if log_x:
            axis.set_xscale("log")
        else:  # epochs and layer counts are whole numbers
            axis.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=7)
    save(figure, path)


def save(figure, path) -> None:
    """Save ``figure`` as a PNG (folders created) and close it."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
