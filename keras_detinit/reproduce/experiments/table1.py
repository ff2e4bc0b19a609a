"""Table 1 of the deep-narrow paper: dataset size x network width.

FFNNs with no hidden layer, one of 512 or one of 16 ReLU units, trained
on MNIST and Fashion-MNIST from the entire training set or from 4, 2 or 1
images per class, validated on 15% of the training set; the paper reports
validation accuracy after 10 and 100 epochs for eight initializers. This
experiment adds Sinusoidal as a ninth column. One training of the longer
length gives both columns.

Example:

>>> experiment = Table1()
>>> settings = experiment.settings("quick")
>>> len(experiment.configurations(settings))  # 4 sizes x 2 datasets x 3 widths x 9
216
"""

from __future__ import annotations

import functools

import math
import pathlib
from typing import Any
from typing import Mapping


from keras_detinit.reporting import figures as figures_lib
from keras_detinit import protocol
from keras_detinit.reporting import tables
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.paper_values import PAPER_INITIALIZERS
from keras_detinit.reproduce.paper_values import TABLE1_EPOCHS
from keras_detinit.reproduce.paper_values import table1_value
from keras_detinit.reporting.results import Results

_COMMON = {
    "pixels": "raw",
    "datasets": ["mnist", "fashion_mnist"],
    "hidden": [0, 512, 16],
    "samples_per_class": [protocol.WHOLE_TRAINING_SET, 4, 2, 1],
    "initializers": [*PAPER_INITIALIZERS, "sinusoidal"],
    "epochs_few_shot": 100,
}
#: Pixels of an image and classes: the network's input and output widths.
_PIXELS, _CLASSES = 28 * 28, 10
#: An image's fixed cost in the network's multiply-adds. Fitted on the
#: committed TensorFlow runs, where the 512-unit network took 3.6 (few-shot)
#: to 8.5 (entire set) times as long per run as the 16-unit one.
_IMAGE_COST_MACS = 100_000


class Table1(ffnn.FFNNExperiment):
    """Validation accuracy by dataset size and width (Lee et al., Table 1)."""

    name = "table1"
    title = "Deep-narrow paper, Table 1: initializers by dataset size and width"
    source = f"{ffnn.PAPER}, Table 1 (Sec. 4.3)."
    columns = ("acc_epoch1", "acc_epoch10", "acc_epoch100", "acc_max", "auc",
               "final_loss", "val_accuracy_curve")
    profiles = {
        "paper": Profile(seeds=10, settings={**_COMMON, "epochs_entire": 100}),
        "quick": Profile(
            seeds=1,
            settings={**_COMMON, "epochs_entire": 10},
            reductions="one seed instead of ten; on the entire dataset 10 epochs "
            "instead of 100, so those rows' 100-epoch column is not measured. "
            "The few-shot rows run the paper's 100 epochs.",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        ffnn.check_settings(settings, {"hidden": 0, "epochs_entire": 1, "epochs_few_shot": 1})
        for k in settings["samples_per_class"]:
            protocol.samples_per_class(k)
        return grid(samples_per_class=settings["samples_per_class"],
                    dataset=settings["datasets"], hidden=settings["hidden"],
                    init=settings["initializers"])

    def cost(self, config, settings) -> float:
        few_shot = _few_shot(config["samples_per_class"])
        epochs = settings["epochs_few_shot" if few_shot else "epochs_entire"]
        work = training.training_cost(epochs, training.split_images(config["samples_per_class"]),
                                      training.VALIDATION_IMAGES)
        hidden = config["hidden"]
        multiply_adds = (_PIXELS + _CLASSES) * hidden if hidden else _PIXELS * _CLASSES
        return work * (1.0 + multiply_adds / _IMAGE_COST_MACS)

    def training_arguments(self, config, settings) -> dict:
        few_shot = _few_shot(config["samples_per_class"])
        return dict(dataset=config["dataset"], samples_per_class=config["samples_per_class"],
                    hidden_units=[config["hidden"]] if config["hidden"] else [],
                    activation="relu",
                    epochs=settings["epochs_few_shot" if few_shot else "epochs_entire"],
                    checkpoints=(1, *TABLE1_EPOCHS), pixels=settings["pixels"])

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        inits = settings["initializers"]
        parts = [
            "Cells: our validation accuracy in % (mean ± std over seeds), the "
            "paper's value in parentheses; – where not measured. Rows: dataset "
            "(hidden units; 0 = no hidden layer).",
        ]
        for k in settings["samples_per_class"]:
            regime = (f"{k} sample{'s' * (k > 1)} per class" if _few_shot(k)
                      else "Entire dataset")
            for epochs in TABLE1_EPOCHS:
                parts.append(f"## {regime}, after {epochs} epochs")
                parts.append(_table(results, settings, inits, k, epochs))
        parts.append("## Where the proposed initializer ranks")
        parts.append(_ranks(results, settings, inits))
        parts.append("## The paper's claim, cell by cell")
        parts.append(ffnn.leads_section(_leads(results, settings, inits),
                                        "accuracy after the column's epochs"))
        parts.append("## Convergence (entire dataset)")
        parts.append(ffnn.convergence_table(results, inits,
                                             samples_per_class=protocol.WHOLE_TRAINING_SET))
        figure = figures / "table1_accuracy.png"
        _heatmap(results, settings, inits, figure)
        parts.append("Our accuracy after 10 epochs, every row and initializer:\n\n"
                     f"![Table 1 heatmap](figures/{figure.name})")
        parts.append(ffnn.protocol_notes(settings))
        return "\n\n".join(parts)


def _few_shot(samples_per_class) -> bool:
    return protocol.samples_per_class(samples_per_class) is not None


def _rows(settings):
    return [(dataset, hidden) for dataset in settings["datasets"] for hidden in settings["hidden"]]


def _row_label(dataset: str, hidden: int) -> str:
    return f"{ffnn.DATASET_LABELS.get(dataset, dataset)} ({hidden})"


def _table(results: Results, settings, inits, k, epochs: int) -> str:
    rows = [{"dataset": dataset, "hidden": hidden} for dataset, hidden in _rows(settings)]
    return tables.pivot_table(
        functools.partial(results.mean_std, f"acc_epoch{epochs}"), rows,
        [{"init": init} for init in inits],
        header=["Dataset (hidden)", *map(ffnn.label, inits)],
        row_labels=[[_row_label(**row)] for row in rows],
        paper=lambda dataset, hidden, init: table1_value(k, dataset, hidden, init, epochs),
        samples_per_class=k)


def _ranks(results: Results, settings, inits) -> str:
    """Rank of the proposed initializer among the paper's eight, ours / paper's."""
    baselines = [init for init in inits if init in PAPER_INITIALIZERS]
    if "epsilon_orthogonal" not in baselines:
        return "The proposed initializer was not measured."
    columns = [(k, epochs) for k in settings["samples_per_class"] for epochs in TABLE1_EPOCHS]
    rows, counts = [], {"ours": 0, "paper": 0, "cells": 0}
    for dataset, hidden in _rows(settings):
        cells = []
        for k, epochs in columns:
            criteria = dict(samples_per_class=k, dataset=dataset, hidden=hidden)
            ours = {init: results.mean_std(f"acc_epoch{epochs}", init=init, **criteria)[0]
                    for init in baselines}
            paper = {init: table1_value(k, dataset, hidden, init, epochs) for init in baselines}
            if any(math.isnan(value) for value in ours.values()):
                cells.append(tables.MISSING)
                continue
            our_rank, paper_rank = _rank(ours), _rank(paper)
            counts["cells"] += 1
            counts["ours"] += our_rank == 1
            counts["paper"] += paper_rank == 1
            cells.append(f"{our_rank} / {paper_rank}")
        rows.append([_row_label(dataset, hidden), *cells])
    header = ["Dataset (hidden)", *(f"{f'k={k}' if _few_shot(k) else k}, {epochs} ep."
                                    for k, epochs in columns)]
    return "\n\n".join([
        f"Rank of the proposed ε-orthogonal initializer among the paper's {len(baselines)} "
        "(1 = best; ties share the better rank), ours / the paper's. It is first in "
        f"{counts['ours']} of {counts['cells']} measured cells here and in {counts['paper']} "
        "of the same cells in the paper.",
        tables.markdown_table(header, rows),
    ])


def _leads(results: Results, settings, inits) -> list:
    cells = [(f"{f'k={k}' if _few_shot(k) else 'entire'}, {epochs} ep., "
              f"{_row_label(dataset, hidden)}",
              {"samples_per_class": k, "dataset": dataset, "hidden": hidden, "epochs": epochs})
             for k in settings["samples_per_class"] for epochs in TABLE1_EPOCHS
             for dataset, hidden in _rows(settings)]
    measured = [(label, criteria) for label, criteria in cells
                if results.where(samples_per_class=criteria["samples_per_class"])
                and not math.isnan(_accuracy(results, init=inits[0], **criteria)[0])]
    return ffnn.leads(measured, inits, functools.partial(_accuracy, results),
                      lambda init, samples_per_class, dataset, hidden, epochs: table1_value(
                          samples_per_class, dataset, hidden, init, epochs))


def _accuracy(results: Results, epochs: int, **criteria) -> tuple[float, float]:
    return results.mean_std(f"acc_epoch{epochs}", **criteria)


def _rank(values: dict) -> int:
    proposed = values["epsilon_orthogonal"]
    # Means printed to 0.1 % that round equal count as a tie.
    return 1 + sum(round(value, 3) > round(proposed, 3) for value in values.values())


def _heatmap(results: Results, settings, inits, path: pathlib.Path) -> None:
    row_keys = [(k, dataset, hidden) for k in settings["samples_per_class"]
                for dataset, hidden in _rows(settings)]
    values = tables.pivot(
        functools.partial(results.mean_std, "acc_epoch10"),
        [{"samples_per_class": k, "dataset": dataset, "hidden": hidden}
         for k, dataset, hidden in row_keys], [{"init": init} for init in inits])[..., 0]
    labels = [f"{f'k={k}' if _few_shot(k) else k} {_row_label(dataset, hidden)}"
              for k, dataset, hidden in row_keys]
    figures_lib.heatmap(path, values, labels, [ffnn.label(init) for init in inits],
                        "initializer", "samples per class, dataset (hidden)",
                        "Validation accuracy (%) after 10 epochs")
