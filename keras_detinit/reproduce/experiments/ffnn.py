"""What the deep-narrow paper's experiments share: networks, runs, labels.

Every experiment of that paper trains a ReLU (or other) FFNN with Adam
(1e-3), batch 100 and 15% validation (`keras_detinit.reproduce.training`),
and reports validation accuracy. This module builds the hidden widths,
the initializers (the odd-sigmoid one needs its activation and depth),
trains one configuration and returns the CSV columns, and writes the
convergence table every experiment carries.

Example:

>>> alternating_widths(4)
[10, 6, 10, 6]
>>> label("epsilon_orthogonal")
'Proposed (ε-orth.)'
"""

from __future__ import annotations

from typing import Any
from typing import Mapping
from typing import Sequence

import keras

from keras_detinit import validation
from keras_detinit.datasets import locate

from keras_detinit.initializers import OddSigmoid
from keras_detinit.reproduce import training
from keras_detinit.reproduce.results import Results
from keras_detinit.reproduce.results import format_curve
from keras_detinit.reproduce.results import mean_and_spread

#: The paper these experiments reproduce.
PAPER = ('Lee et al., "Improved weight initialization for deep and narrow feedforward '
         'neural network"')
#: Labels of the papers' columns and of the extra ones.
LABELS = {
    "epsilon_orthogonal": "Proposed (ε-orth.)",
    "orthogonal": "Orthogonal",
    "glorot_uniform": "Xavier",
    "he_normal": "He",
    "zero_hadamard": "ZerO",
    "identity": "Identity",
    "randomized_asymmetric": "RAI",
    "gaussian_submatrix": "GSM",
    "sinusoidal": "Sinusoidal",
    "odd_sigmoid": "OddSigmoid",
}
#: Dataset labels as the paper writes them.
DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "FMNIST"}
#: The measured columns of one training.
TRAINING_COLUMNS = (*training.CONVERGENCE_COLUMNS, "final_loss", "val_accuracy_curve")


def check_settings(settings: Mapping[str, Any], lowest: Mapping[str, int]) -> None:
    """Raise a `ValueError` naming a bad setting before any run starts.

    Args:
        settings: The experiment's settings.
        lowest: Integer settings (single, list or per-dataset dict) and the
            smallest accepted value of each.
    """
    for name in settings["datasets"]:
        locate.get_spec(name)  # an unknown name fails now, not after hours
    initializers = settings["initializers"]
    if not isinstance(initializers, list) or not initializers:
        raise ValueError("`initializers` must be a non-empty list of initializer names. "
                         f"Received: initializers={initializers!r}")
    for name in initializers:
        if name != "odd_sigmoid":  # built per run from the activation
            _check_known("initializers", name, keras.initializers.get)
    for name in settings.get("activations", []):
        _check_known("activations", name, keras.activations.get)
    for key, low in lowest.items():
        value = settings[key]
        values = value.values() if isinstance(value, dict) else (
            value if isinstance(value, list) else [value])
        for item in values:
            validation.check_int(key, item, low=low)


def _check_known(key: str, name, lookup) -> None:
    try:
        lookup(name)
    except ValueError as error:
        raise ValueError(f"`{key}`: {name!r} is not a Keras name ({error}).") from None


def label(initializer: str) -> str:
    """The column label of an initializer name."""
    return LABELS.get(initializer, initializer)


def alternating_widths(depth: int, widths: Sequence[int] = (10, 6)) -> list[int]:
    """``depth`` hidden widths cycling through ``widths`` (10, 6, 10, ...)."""
    return [widths[index % len(widths)] for index in range(depth)]


def make_initializer(name: str, activation: str, depth: int):
    """The kernel initializer for a run; OddSigmoid is told the network.

    OddSigmoid's gain and noise depend on the activation and on the depth
    the signal must survive, so it is built here, not from its string name.
    """
    if name == "odd_sigmoid":
        return OddSigmoid(activation=activation, target_depth=max(depth, 1))
    return name


def train_configuration(context, dataset: str, samples_per_class: int,
                        hidden_units: Sequence[int], activation: str, initializer: str,
                        epochs: int, seed: int, checkpoints: Sequence[int] = (1, 10)) -> dict:
    """Train one configuration and return its CSV columns.

    Returns:
        The `TRAINING_COLUMNS` (plus ``acc_epoch<k>`` per checkpoint).
    """
    data = context.dataset(dataset, samples_per_class, seed)
    history = training.train_classifier(
        data, hidden_units, activation,
        make_initializer(initializer, activation, len(hidden_units)), epochs, seed,
    )
    measured = training.convergence_metrics(history["val_accuracy"], checkpoints)
    measured["final_loss"] = float(history["loss"][-1])
    measured["val_accuracy_curve"] = format_curve(history["val_accuracy"])
    return measured


def final_accuracy(results: Results, **criteria) -> tuple[float, float]:
    """Mean and std over the selected runs of the last epoch's accuracy."""
    return mean_and_spread([curve[-1] for curve in
                            results.curves("val_accuracy_curve", **criteria) if curve.size])


def convergence_table(results: Results, initializers: Sequence[str], **criteria) -> str:
    """Mean convergence metrics per initializer over the selected runs.

    Means are over configurations and seeds alike: a summary of speed, not
    a cell to compare with one of the paper's, so no ``± std``.
    """
    return training.convergence_table(results, initializers, label=label, spread=False,
                                      **criteria)
