"""Odd-sigmoid paper: data efficiency, MLPs trained on 100 or 500 images.

The paper claims "strong data efficiency", with a table of MLPs trained 10
epochs on 100 or 500 samples of MNIST and Fashion-MNIST. Its network and
optimizer settings are not known; here: 10 hidden tanh layers of 64 units
and a softmax output, Adam (1e-3), batch 16, 10 epochs, on 10 or 50 images
per class drawn per seed after the 15% validation hold-out; test accuracy
on the full 10,000-image test set. OddSigmoid (default and band settings)
against Glorot normal, He normal and orthogonal.

Example:

>>> experiment = OddSigmoidData()
>>> len(experiment.configurations(experiment.settings("paper")))  # 2 x 2 x 5
20
"""

from __future__ import annotations

import functools
import pathlib
from typing import Any
from typing import Mapping

from keras_detinit import protocol
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.experiments import odd_sigmoid_common as common
from keras_detinit.reporting.results import Results

#: Images of MNIST's and Fashion-MNIST's test sets, each run's evaluation.
TEST_IMAGES = 10_000
_COMMON = {
    "datasets": ["mnist", "fashion_mnist"],
    "samples_per_class": [10, 50],
    "initializers": list(common.INITIALIZERS),
    "activation": "tanh",
    "depth": 10,
    "width": 64,
    "learning_rate": 1e-3,
    "batch_size": 16,
}


class OddSigmoidData(Experiment):
    """Test accuracy after training on 10 or 50 images per class."""

    name = "odd_sigmoid_data"
    title = "Odd-sigmoid paper: data efficiency on 100 and 500 training images"
    source = f"{common.PAPER}: the data-efficiency table (10 epochs, 100 or 500 samples)."
    columns = ("test_accuracy", "final_loss")
    profiles = {
        "paper": Profile(seeds=3, settings={**_COMMON, "epochs": 10}),
        "quick": Profile(
            seeds=1, settings={**_COMMON, "epochs": 10},
            reductions="one seed instead of three.",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        common.check_settings(settings, [settings["activation"]],
                              {"samples_per_class": 1, "depth": 1, "width": 1, "epochs": 1,
                               "batch_size": 1}, settings["depth"])
        return grid(dataset=settings["datasets"],
                    samples_per_class=settings["samples_per_class"],
                    init=settings["initializers"])

    def cost(self, config, settings) -> float:
        # Trained on the few images alone, then evaluated on the test set.
        return training.training_cost(settings["epochs"],
                                      training.split_images(config["samples_per_class"]),
                                      evaluated_images=TEST_IMAGES)

    def measure(self, config, seed, settings, context) -> dict:
        data = context.dataset(config["dataset"], config["samples_per_class"], seed)
        model = common.build_network(settings["activation"], config["init"], settings["depth"],
                                     settings["width"], data.train.x.shape[1:],
                                     data.num_classes, seed)
        # Trained on the few images alone: evaluating the 9,000 held-out
        # images after every epoch would cost more than the training.
        history = protocol.train(model, tuple(data.train), common.training_protocol(settings))
        scores = model.evaluate(*data.test, batch_size=protocol.PAPER_PROTOCOL.validation_batch_size,
                                verbose=0, return_dict=True)
        return {"test_accuracy": float(scores["accuracy"]), "final_loss": history["loss"][-1]}

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        inits = settings["initializers"]
        columns = [{"dataset": dataset, "samples_per_class": count}
                   for dataset in settings["datasets"] for count in settings["samples_per_class"]]
        labels = [f"{ffnn.DATASET_LABELS.get(c['dataset'], c['dataset'])}, "
                  f"{10 * c['samples_per_class']} images" for c in columns]
        accuracy = functools.partial(results.mean_std, "test_accuracy")
        table = tables.pivot_table(
            accuracy, [{"init": init} for init in inits], columns,
            header=["initializer", *labels],
            row_labels=[[common.initializer_label(init)] for init in inits])
        figure = figures / "odd_sigmoid_data_accuracy.png"
        values = tables.pivot(accuracy, [{"init": init} for init in inits], columns)
        figures_lib.heatmap(figure, values[..., 0],
                            [common.initializer_label(init).strip("`") for init in inits],
                            labels, "training set", "initializer", "test accuracy (%)")
        return "\n\n".join([
            common.seeds_note(results),
            f"{settings['depth']} hidden {settings['activation']} layers of "
            f"{settings['width']} units, Adam {settings['learning_rate']:g}, batch "
            f"{settings['batch_size']}, {settings['epochs']} epochs on 10 or 50 images per "
            "class (each seed draws its own images and weights). Cells: test accuracy in "
            "% on the whole test set, mean ± std over seeds. The softmax layer of an "
            "OddSigmoid network gets `gain=1.0`.",
            table,
            f"![Test accuracy](figures/{figure.name})",
            "## The claim and our numbers",
            _claim(results, settings, columns, labels),
        ])


def _claim(results: Results, settings, columns, labels) -> str:
    """Per training set: each OddSigmoid setting against the best baseline."""
    odd = [init for init in settings["initializers"]
           if ffnn.odd_sigmoid_arguments(init) is not None]
    baselines = [init for init in settings["initializers"] if init not in odd]
    rows = []
    for column, label in zip(columns, labels):
        cells = {init: results.mean_std("test_accuracy", init=init, **column)
                 for init in settings["initializers"]}
        rival = common.best({init: cells[init] for init in baselines}) if baselines else None
        for init in odd:
            rows.append([label, common.initializer_label(init), tables.percent_cell(cells[init]),
                         tables.MISSING if rival is None else
                         f"{common.initializer_label(rival)} {tables.percent_cell(cells[rival])}",
                         tables.MISSING if rival is None else
                         common.compare(cells[init], cells[rival])])
    return "\n\n".join([
        "The paper claims strong data efficiency: OddSigmoid ahead of Xavier, He and "
        "orthogonal with few samples. A comparison is \"undecided\" when the two cells' "
        "mean ± std overlap (or with one seed).",
        tables.markdown_table(["training set", "OddSigmoid", "test accuracy %",
                               "best baseline %", "OddSigmoid is"], rows),
    ])
