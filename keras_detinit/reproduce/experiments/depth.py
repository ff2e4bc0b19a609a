"""Fig. 3 of the deep-narrow paper: validation accuracy against depth.

(a), (b): ReLU FFNNs whose hidden layers all have 10 or all have 4 units,
at several depths, on MNIST and Fashion-MNIST. (c), (d), (e): 40, 80 and
120 hidden layers alternating 10 and 6 units, validation accuracy per
epoch. Initializers as in the paper's figure: the proposed ε-orthogonal
one, RAI, GSM and ZerO. The paper gives the figure, not its numbers, so
the report checks its stated findings against ours.

Example:

>>> experiment = DepthSweep()
>>> len(experiment.configurations(experiment.settings("quick")))
60
"""

from __future__ import annotations

import functools

import pathlib
from typing import Any
from typing import Mapping

import numpy as np

from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.protocol import WHOLE_TRAINING_SET
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reporting.results import Results

#: The pattern name of Fig. 3 (c)-(e): layers of 10 and 6 units in turn.
ALTERNATING = "10/6"

_COMMON = {
    "pixels": "raw",
    "datasets": ["mnist", "fashion_mnist"],
    "widths": [10, 4],
    "alternating_depths": [40, 80, 120],
    "alternating_dataset": "mnist",
    "initializers": ["epsilon_orthogonal", "randomized_asymmetric", "gaussian_submatrix",
                     "zero_hadamard"],
}


class DepthSweep(Experiment):
    """Accuracy against depth, constant and alternating widths (Fig. 3)."""

    name = "depth"
    title = "Deep-narrow paper, Fig. 3: validation accuracy against depth"
    source = f"{ffnn.PAPER}, Fig. 3 (Sec. 4.4)."
    columns = ffnn.TRAINING_COLUMNS
    profiles = {
        "paper": Profile(seeds=10, settings={
            **_COMMON, "depths": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], "epochs": 10}),
        "quick": Profile(
            seeds=1, settings={**_COMMON, "depths": [10, 50, 100], "epochs": 3},
            reductions="one seed instead of ten, 3 epochs instead of 10, and depths "
            "10, 50 and 100 only for panels (a) and (b).",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        ffnn.check_settings({**settings, "datasets": [*settings["datasets"],
                                                      settings["alternating_dataset"]]},
                            {"widths": 1, "depths": 1, "alternating_depths": 1, "epochs": 1})
        constant = grid(dataset=settings["datasets"],
                        pattern=[str(width) for width in settings["widths"]],
                        depth=settings["depths"], init=settings["initializers"])
        alternating = grid(dataset=[settings["alternating_dataset"]], pattern=[ALTERNATING],
                           depth=settings["alternating_depths"], init=settings["initializers"])
        return constant + alternating

    def cost(self, config, settings) -> float:
        return config["depth"] * settings["epochs"]

    def measure(self, config, seed, settings, context) -> dict:
        return ffnn.train_configuration(
            context, config["dataset"], WHOLE_TRAINING_SET, _hidden_units(config), "relu",
            config["init"], settings["epochs"], seed, pixels=settings["pixels"],
        )

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        inits = settings["initializers"]
        sweep = figures / "depth_sweep.png"
        curves = figures / "depth_curves.png"
        _plot_sweep(results, settings, sweep)
        _plot_curves(results, settings, curves)
        rows = [{key: config[key] for key in ("dataset", "pattern", "depth")}
                for config in self.configurations(settings) if config["init"] == inits[0]]
        table = tables.pivot_table(
            functools.partial(ffnn.final_accuracy, results), rows,
            [{"init": init} for init in inits],
            header=["Dataset", "Pattern", "Hidden layers", *map(ffnn.label, inits)],
            row_labels=[[ffnn.DATASET_LABELS.get(row["dataset"], row["dataset"]),
                         row["pattern"], row["depth"]] for row in rows])
        return "\n\n".join([
            f"Validation accuracy in % after epoch {settings['epochs']} (mean ± std over "
            "seeds). Pattern: units of every hidden layer, or 10/6 for layers of 10 and 6 "
            "units in turn.",
            table,
            "## Fig. 3 (a), (b): accuracy against depth",
            f"![Depth sweep](figures/{sweep.name})",
            f"## Fig. 3 (c)-(e): {ALTERNATING} networks, accuracy per epoch",
            f"![Curves](figures/{curves.name})",
            "## The paper's statements and our numbers",
            _statements(results, settings),
            "## Convergence",
            ffnn.convergence_table(results, inits),
            ffnn.protocol_notes(settings),
        ])


def _hidden_units(config: Mapping[str, Any]) -> list[int]:
    if config["pattern"] == ALTERNATING:
        return ffnn.alternating_widths(config["depth"])
    return [int(config["pattern"])] * config["depth"]


def _plot_sweep(results: Results, settings, path: pathlib.Path) -> None:
    panels = {}
    for letter, dataset in zip("ab", settings["datasets"]):
        series = {}
        for width in settings["widths"]:
            for init in settings["initializers"]:
                accuracy = [ffnn.final_accuracy(results, dataset=dataset, pattern=width,
                                                depth=depth, init=init)[0]
                            for depth in settings["depths"]]
                series[f"{ffnn.label(init)}, {width} nodes"] = (settings["depths"], accuracy)
        panels[f"({letter}) {ffnn.DATASET_LABELS.get(dataset, dataset)}"] = series
    figures_lib.line_panels(path, panels, "hidden layers", "validation accuracy (%)")


def _plot_curves(results: Results, settings, path: pathlib.Path) -> None:
    panels = {}
    for letter, depth in zip("cdefgh", settings["alternating_depths"]):
        series = {}
        for init in settings["initializers"]:
            curves = results.curves("val_accuracy_curve", pattern=ALTERNATING, depth=depth,
                                    init=init)
            if curves:
                mean = np.mean(np.stack(curves), axis=0)
                series[ffnn.label(init)] = (np.arange(1, mean.size + 1), mean)
        panels[f"({letter}) {depth} hidden layers, 10/6"] = series
    figures_lib.line_panels(path, panels, "epoch", "validation accuracy (%)")


def _statements(results: Results, settings) -> str:
    """The findings of Sec. 4.4, each with the numbers measured here."""
    def final(init, **criteria):
        return tables.percent(ffnn.final_accuracy(results, init=init, **criteria)[0])

    deepest, shallowest = max(settings["depths"]), min(settings["depths"])
    lines = []
    for dataset in settings["datasets"]:
        name = ffnn.DATASET_LABELS.get(dataset, dataset)
        for width in settings["widths"]:
            cells = "; ".join(
                f"{ffnn.label(init)} {final(init, dataset=dataset, pattern=width, depth=shallowest)}"
                f" → {final(init, dataset=dataset, pattern=width, depth=deepest)}"
                for init in settings["initializers"])
            lines.append(f"* {name}, {width} nodes, {shallowest} → {deepest} hidden layers: "
                         f"{cells}.")
    alternating = max(settings["alternating_depths"])
    cells = "; ".join(
        f"{ffnn.label(init)} {final(init, pattern=ALTERNATING, depth=alternating)}"
        for init in settings["initializers"])
    lines.append(f"* {alternating} hidden layers 10/6 "
                 f"({ffnn.DATASET_LABELS.get(settings['alternating_dataset'])}): {cells}.")
    return "\n".join([
        "The paper states: the proposed initializer trains at every depth and width "
        "tried; RAI and GSM work up to 50 layers of 10 nodes and fail at 100; ZerO "
        "trains but below the proposed one, and is unstable with 4 nodes on "
        "Fashion-MNIST; at 120 layers of 10/6 only the proposed one and ZerO learn. "
        "Our final accuracies in %, shallowest → deepest:",
        "",
        *lines,
    ])
