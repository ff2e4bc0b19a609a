"""Fig. 4 and 5 of the deep-narrow paper: accuracy over two hidden widths.

ReLU FFNNs with two hidden layers; the first layer's width on the y axis,
the second's on the x axis. Fig. 4: MNIST after 10 epochs; Fig. 5:
Fashion-MNIST after 1 epoch (a measure of early convergence). One heatmap
per initializer. The paper reports, as numbers, the proposed initializer's
54.3% on MNIST with 2 and 2 units where the others reach 10%, and its
lowest Fashion-MNIST value, 25% at 2 then 4 units, where the others' lowest
is 10%; the report checks those.

Example:

>>> experiment = WidthHeatmaps()
>>> len(experiment.configurations(experiment.settings("quick")))  # 2 x 5 x 5 x 8
400
"""

from __future__ import annotations

import functools

import pathlib
from typing import Any
from typing import Mapping

import numpy as np

from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.protocol import WHOLE_TRAINING_SET
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.paper_values import PAPER_INITIALIZERS
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import mean_and_spread

#: The figure of each dataset.
FIGURES = {"mnist": "Fig. 4", "fashion_mnist": "Fig. 5"}
#: Values the paper states: (dataset, first, second) -> proposed accuracy %.
PAPER_POINTS = {("mnist", 2, 2): 54.3, ("fashion_mnist", 2, 4): 25.0}
#: The paper's lowest value of the other initializers on either figure.
PAPER_OTHERS_LOWEST = 10.0

_COMMON = {"datasets": ["mnist", "fashion_mnist"], "initializers": list(PAPER_INITIALIZERS),
           "pixels": "raw"}


class WidthHeatmaps(ffnn.FFNNExperiment):
    """Accuracy over (first, second) hidden widths (Fig. 4 and 5)."""

    name = "width"
    title = "Deep-narrow paper, Fig. 4 and 5: accuracy over two hidden widths"
    source = f"{ffnn.PAPER}, Fig. 4 and 5 (Sec. 4.5)."
    columns = ffnn.TRAINING_COLUMNS
    profiles = {
        "paper": Profile(seeds=10, settings={
            **_COMMON, "widths": [2, 4, 8, 16, 32, 64, 128],
            "epochs": {"mnist": 10, "fashion_mnist": 1}}),
        "quick": Profile(
            seeds=1, settings={**_COMMON, "widths": [2, 4, 8, 16, 32],
                               "epochs": {"mnist": 3, "fashion_mnist": 1}},
            reductions="one seed instead of ten, widths 2 to 32 instead of 2 to 128, "
            "and Fig. 4 (MNIST) after 3 epochs instead of 10; Fig. 5 keeps 1 epoch.",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        ffnn.check_settings(settings, {"widths": 1, "epochs": 1})
        missing = [name for name in settings["datasets"] if name not in settings["epochs"]]
        if missing:
            raise ValueError(f"`epochs` needs a value for every dataset; missing {missing}. "
                             f"Received: epochs={settings['epochs']!r}")
        return grid(dataset=settings["datasets"], first=settings["widths"],
                    second=settings["widths"], init=settings["initializers"])

    def cost(self, config, settings) -> float:
        return 1.0 + settings["epochs"][config["dataset"]]

    def training_arguments(self, config, settings) -> dict:
        return dict(dataset=config["dataset"], samples_per_class=WHOLE_TRAINING_SET,
                    hidden_units=[config["first"], config["second"]], activation="relu",
                    epochs=settings["epochs"][config["dataset"]], pixels=settings["pixels"])

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        parts = [
            "Validation accuracy in %, mean over seeds; y axis: units of the first "
            "hidden layer, x axis: units of the second."
        ]
        for dataset in settings["datasets"]:
            epochs = settings["epochs"][dataset]
            path = figures / f"width_{dataset}.png"
            _heatmaps(results, settings, dataset, path)
            figure = FIGURES.get(dataset, dataset)
            parts += [
                f"## {figure}: {ffnn.DATASET_LABELS.get(dataset, dataset)} after {epochs} "
                f"epoch{'s' * (epochs > 1)}",
                f"![{figure}](figures/{path.name})",
                _extremes(results, settings, dataset),
            ]
        parts += ["## The paper's numbers and ours", _statements(results, settings),
                  "## The paper's claims, with the spread over seeds",
                  ffnn.leads_section(_leads(results, settings),
                                     "final accuracy; a grid's worst cell is taken per seed"),
                  "## Convergence", ffnn.convergence_table(results, settings["initializers"])]
        parts.append(ffnn.protocol_notes(settings))
        return "\n\n".join(parts)


def _grid(results: Results, settings, dataset: str, init: str) -> np.ndarray:
    return tables.pivot(functools.partial(ffnn.final_accuracy, results),
                        [{"first": first} for first in settings["widths"]],
                        [{"second": second} for second in settings["widths"]],
                        dataset=dataset, init=init)[..., 0]


def _heatmaps(results: Results, settings, dataset: str, path: pathlib.Path) -> None:
    plt = figures_lib.pyplot()
    inits = settings["initializers"]
    columns = min(4, len(inits))
    rows = -(-len(inits) // columns)
    size = 0.9 + 0.45 * len(settings["widths"])
    figure, axes = plt.subplots(rows, columns, squeeze=False,
                                figsize=(columns * size, rows * size))
    for axis, init in zip(axes.flat, inits):
        figures_lib.heatmap(None, _grid(results, settings, dataset, init), settings["widths"],
                            settings["widths"], "2nd hidden layer", "1st hidden layer",
                            ffnn.label(init), axes=axis)
    for axis in list(axes.flat)[len(inits):]:
        axis.axis("off")
    figures_lib.save(figure, path)


def _extremes(results: Results, settings, dataset: str) -> str:
    rows = []
    for init in settings["initializers"]:
        grid = _grid(results, settings, dataset, init)
        if np.all(np.isnan(grid)):
            continue
        first, second = np.unravel_index(np.nanargmin(grid), grid.shape)
        rows.append([ffnn.label(init), tables.percent(np.nanmin(grid)),
                     f"{settings['widths'][first]}, {settings['widths'][second]}",
                     tables.percent(np.nanmean(grid)), tables.percent(np.nanmax(grid))])
    return tables.markdown_table(
        ["Initializer", "lowest %", "at (1st, 2nd)", "mean %", "highest %"], rows)


def _worst_cell(results: Results, settings, init: str, dataset: str) -> tuple[float, float]:
    """Mean and std over seeds of the grid's lowest final accuracy (one per seed).

    A seed missing any cell of the grid is left out.
    """
    worst = []
    for seed in results.distinct("seed"):
        cells = [ffnn.final_accuracy(results, dataset=dataset, init=init, seed=seed,
                                     first=first, second=second)[0]
                 for first in settings["widths"] for second in settings["widths"]]
        if not any(np.isnan(cells)):
            worst.append(min(cells))
    return mean_and_spread(worst)


def _leads(results: Results, settings) -> list:
    """The paper's two numbers as claims: the narrowest cell, and each grid's worst cell."""
    found = []
    narrowest = min(settings["widths"])
    for (dataset, first, second), paper_value in PAPER_POINTS.items():
        if dataset not in settings["datasets"]:
            continue
        name = f"{FIGURES[dataset]} ({ffnn.DATASET_LABELS[dataset]})"
        # The paper gives the proposed value and the others' lowest cell.
        paper = functools.partial(_paper_value, paper_value)
        if (first, second) == (narrowest, narrowest):
            found += ffnn.leads(
                [(f"{name}, widths ({first}, {second})",
                  {"dataset": dataset, "first": first, "second": second})],
                settings["initializers"], functools.partial(ffnn.final_accuracy, results), paper)
        found += ffnn.leads([(f"{name}, worst cell of the grid", {"dataset": dataset})],
                            settings["initializers"],
                            functools.partial(_worst_cell, results, settings), paper)
    return found


def _paper_value(proposed: float, init: str, **criteria) -> float:
    """The paper's % for ``init``: ``proposed`` for ε-orthogonal, the others' lowest else."""
    return proposed if init == ffnn.PROPOSED else PAPER_OTHERS_LOWEST


def _statements(results: Results, settings) -> str:
    lines = []
    for (dataset, first, second), paper in PAPER_POINTS.items():
        if dataset not in settings["datasets"]:
            continue
        values = {init: ffnn.final_accuracy(results, dataset=dataset, first=first,
                                            second=second, init=init)[0]
                  for init in settings["initializers"]}
        others = [value for init, value in values.items() if init != "epsilon_orthogonal"]
        lines.append(
            f"* {FIGURES[dataset]}, widths ({first}, {second}): proposed "
            f"{tables.percent(values.get('epsilon_orthogonal', float('nan')))}% here "
            f"(paper {paper:g}%); the others here "
            f"{tables.percent(np.nanmin(others) if others else float('nan'))}–"
            f"{tables.percent(np.nanmax(others) if others else float('nan'))}% "
            f"(paper: others' lowest {PAPER_OTHERS_LOWEST:g}%)."
        )
    return "\n".join(lines) or "No dataset of the paper's statements was measured."
