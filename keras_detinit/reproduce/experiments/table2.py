"""Table 2 of the deep-narrow paper: activations at depth 120.

FFNNs of 120 hidden layers alternating 10 and 6 units, with tanh, sigmoid,
SELU, GELU or ReLU (Keras defaults, as the paper's TensorFlow defaults),
trained 10 epochs on MNIST and Fashion-MNIST. The paper's eight
initializers, plus this package's OddSigmoid as an extra column where the
activation is in its class (tanh here; the others are not odd and bounded).

Example:

>>> experiment = Table2()
>>> configs = experiment.configurations(experiment.settings("quick"))
>>> len(configs)  # 2 datasets x (5 activations x 8 + tanh's OddSigmoid)
82
"""

from __future__ import annotations

import functools
import math

import pathlib
from typing import Any
from typing import Mapping


from keras_detinit.activations import OddSigmoidActivation
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reporting import verdicts
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.protocol import WHOLE_TRAINING_SET
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.paper_values import PAPER_INITIALIZERS
from keras_detinit.reproduce.paper_values import TABLE2_DATASETS
from keras_detinit.reproduce.paper_values import table2_value
from keras_detinit.reporting.results import Results

#: Final validation accuracy above which a network counts as training:
#: chance is 10% on both datasets.
TRAINS = 0.2

_COMMON = {
    "pixels": "raw",
    "datasets": list(TABLE2_DATASETS),
    "activations": ["tanh", "sigmoid", "selu", "gelu", "relu"],
    "initializers": [*PAPER_INITIALIZERS, "odd_sigmoid"],
    "depth": 120,
}


class Table2(ffnn.FFNNExperiment):
    """Validation accuracy by activation at depth 120 (Lee et al., Table 2)."""

    name = "table2"
    title = "Deep-narrow paper, Table 2: activations in a 120-layer 10/6 FFNN"
    source = f"{ffnn.PAPER}, Table 2 (Sec. 4.6)."
    columns = ffnn.TRAINING_COLUMNS
    profiles = {
        "paper": Profile(seeds=10, settings={**_COMMON, "epochs": 10}),
        "quick": Profile(
            seeds=1, settings={**_COMMON, "epochs": 3},
            reductions="one seed instead of ten and 3 epochs instead of 10: the "
            "table's cells are the accuracy after epoch 3.",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        ffnn.check_settings(settings, {"depth": 1, "epochs": 1})
        return [
            config for config in grid(dataset=settings["datasets"],
                                      activation=settings["activations"],
                                      init=settings["initializers"])
            if config["init"] != "odd_sigmoid" or _is_odd_sigmoid(config["activation"])
        ]

    def cost(self, config, settings) -> float:
        # Every run trains the whole training set: its time grows with the
        # layers and the epochs, as `depth`'s.
        return settings["depth"] * settings["epochs"]

    def training_arguments(self, config, settings) -> dict:
        return dict(dataset=config["dataset"], samples_per_class=WHOLE_TRAINING_SET,
                    hidden_units=ffnn.alternating_widths(settings["depth"]),
                    activation=config["activation"], epochs=settings["epochs"],
                    pixels=settings["pixels"])

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        inits = settings["initializers"]
        epochs = settings["epochs"]
        columns = [{"init": init, "dataset": dataset}
                   for init in inits for dataset in settings["datasets"]]
        header = ["Activation"] + [f"{ffnn.label(c['init'])} "
                                   f"{ffnn.DATASET_LABELS.get(c['dataset'], c['dataset'])}"
                                   for c in columns]
        table = tables.pivot_table(
            functools.partial(ffnn.final_accuracy, results),
            [{"activation": activation} for activation in settings["activations"]], columns,
            header=header, row_labels=[[activation] for activation in settings["activations"]],
            paper=lambda activation, init, dataset: table2_value(activation, dataset, init),
            cell=_cell)
        figure = figures / "table2_accuracy.png"
        _heatmaps(results, settings, figure)
        return "\n\n".join([
            f"Cells: our validation accuracy in % after epoch {epochs} (mean ± std over "
            "seeds), the paper's after epoch 10 in parentheses. n/a: OddSigmoid needs an "
            "odd, bounded activation. A network that does not learn sits near 10%.",
            "## Validation accuracy",
            table,
            "## Which initializers train (> 20% beyond the spread over seeds)",
            _trainable(results, settings),
            "## The paper's claim, cell by cell",
            ffnn.leads_section(_leads(results, settings), f"accuracy after epoch {epochs}"),
            "## Convergence",
            ffnn.convergence_table(results, inits),
            f"![Table 2 heatmaps](figures/{figure.name})",
            ffnn.protocol_notes(settings),
        ])


def _is_odd_sigmoid(activation: str) -> bool:
    try:
        OddSigmoidActivation.get(activation)
    except ValueError:
        return False
    return True


def _cell(mean_std: tuple[float, float], paper: float | None, activation: str,
          init: str, **_) -> str:
    if init == "odd_sigmoid" and not _is_odd_sigmoid(activation):
        return "n/a"
    return tables.percent_cell(mean_std, paper)


def _leads(results: Results, settings) -> list:
    cells = [(f"{activation}, {ffnn.DATASET_LABELS.get(dataset, dataset)}",
              {"activation": activation, "dataset": dataset})
             for activation in settings["activations"] for dataset in settings["datasets"]]
    return ffnn.leads(cells, settings["initializers"],
                      functools.partial(ffnn.final_accuracy, results),
                      lambda init, activation, dataset: table2_value(activation, dataset, init))


def _trainable(results: Results, settings) -> str:
    """Per activation and dataset: which initializers end above 20%, ours and paper's.

    Ours lists those above `TRAINS` beyond their spread over seeds, and in
    parentheses those whose spread holds the threshold (undecided).
    """
    rows = []
    for activation in settings["activations"]:
        for dataset in settings["datasets"]:
            sides = {"held": [], "undecided": []}
            for init in settings["initializers"]:
                cell = ffnn.final_accuracy(results, activation=activation, dataset=dataset,
                                           init=init)
                if math.isnan(cell[0]):  # not measured (OddSigmoid off its activations)
                    continue
                sides.get(verdicts.against(cell, TRAINS), []).append(ffnn.label(init))
            ours = ", ".join(sides["held"]) or "none"
            if sides["undecided"]:
                ours += f" (undecided: {', '.join(sides['undecided'])})"
            paper = [ffnn.label(init) for init in settings["initializers"]
                     if (table2_value(activation, dataset, init) or 0) > 100 * TRAINS]
            rows.append([activation, ffnn.DATASET_LABELS.get(dataset, dataset), ours,
                         ", ".join(paper) or "none"])
    return tables.markdown_table(["Activation", "Dataset", "ours", "paper"], rows)


def _heatmaps(results: Results, settings, path: pathlib.Path) -> None:
    plt = figures_lib.pyplot()
    datasets = settings["datasets"]
    figure, axes = plt.subplots(1, len(datasets), squeeze=False,
                                figsize=(1.5 + 0.9 * len(settings["initializers"]) * len(datasets),
                                         0.8 + 0.6 * len(settings["activations"])))
    for axis, dataset in zip(axes[0], datasets):
        values = tables.pivot(
            functools.partial(ffnn.final_accuracy, results),
            [{"activation": activation} for activation in settings["activations"]],
            [{"init": init} for init in settings["initializers"]], dataset=dataset)[..., 0]
        figures_lib.heatmap(None, values, settings["activations"],
                            [ffnn.label(init) for init in settings["initializers"]],
                            "initializer", "activation",
                            f"{ffnn.DATASET_LABELS.get(dataset, dataset)}: validation "
                            f"accuracy (%) after epoch {settings['epochs']}", axes=axis)
    figures_lib.save(figure, path)
