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
from keras_detinit.reporting import verdicts
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


class DepthSweep(ffnn.FFNNExperiment):
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

    def training_arguments(self, config, settings) -> dict:
        return dict(dataset=config["dataset"], samples_per_class=WHOLE_TRAINING_SET,
                    hidden_units=_hidden_units(config), activation="relu",
                    epochs=settings["epochs"], pixels=settings["pixels"])

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
            "## The paper's statements, cell by cell",
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


#: Accuracy above which a network counts as trained (chance is about 10%).
TRAINS = 0.20
#: Depths up to which the paper has RAI and GSM training (10 units), and from which failing.
RANDOM_SCHEMES_TRAIN_UP_TO, RANDOM_SCHEMES_FAIL_FROM = 50, 100
_RANDOM_SCHEMES = ("randomized_asymmetric", "gaussian_submatrix")


def _statements(results: Results, settings) -> str:
    """The findings of Sec. 4.4, cell by cell, each with a spread-aware verdict."""
    rows = []

    def add(claim: str, init: str, expected: bool, **criteria) -> None:
        if init not in settings["initializers"]:
            return
        cell = ffnn.final_accuracy(results, init=init, **criteria)
        rows.append((claim, tables.percent_cell(cell),
                     verdicts.agreement(expected, verdicts.against(cell, TRAINS))))

    for dataset in settings["datasets"]:
        name = ffnn.DATASET_LABELS.get(dataset, dataset)
        for width in map(str, settings["widths"]):
            for depth in settings["depths"]:
                where = dict(dataset=dataset, pattern=width, depth=depth)
                add(f"{name}, {depth} x {width}: {ffnn.label(ffnn.PROPOSED)} trains",
                    ffnn.PROPOSED, True, **where)
                fails = depth >= RANDOM_SCHEMES_FAIL_FROM
                if width == "10" and (fails or depth <= RANDOM_SCHEMES_TRAIN_UP_TO):
                    for init in _RANDOM_SCHEMES:
                        add(f"{name}, {depth} x {width}: {ffnn.label(init)} "
                            f"{'fails' if fails else 'trains'}", init, not fails, **where)
    alternating = dict(dataset=settings["alternating_dataset"], pattern=ALTERNATING,
                       depth=max(settings["alternating_depths"]))
    for init in settings["initializers"]:
        learns = init in (ffnn.PROPOSED, "zero_hadamard")
        add(f"{alternating['depth']} x {ALTERNATING}: {ffnn.label(init)} "
            f"{'learns' if learns else 'does not'}", init, learns, **alternating)
    found = [verdict for *_, verdict in rows]
    return "\n\n".join([
        "The paper states: the proposed initializer trains at every depth and width "
        f"tried; RAI and GSM work up to {RANDOM_SCHEMES_TRAIN_UP_TO} layers of 10 nodes "
        f"and fail at {RANDOM_SCHEMES_FAIL_FROM}; at 120 layers of 10/6 only the proposed "
        f"one and ZerO learn. \"Trains\" means above {100 * TRAINS:g}% (chance is about "
        "10%), decided only where the threshold lies outside our mean ± std over seeds. "
        f"The claims {verdicts.tally(found)}.",
        verdicts.claim_table(rows),
    ])
