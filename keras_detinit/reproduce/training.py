"""Training one FFNN of the papers' protocol, and its convergence metrics.

The protocol of the deep-narrow paper's section 4
(`keras_detinit.protocol.PAPER_PROTOCOL`: Adam at 1e-3, batch size 100,
cross-entropy, 15% of the training set held out for validation), biases at
zero, every kernel from the initializer under test.

The convergence metrics are those of the Sinusoidal paper's Table 3:
validation accuracy after epoch 1 and epoch 10, the maximum, and the area
under the validation-accuracy curve, here normalized by the number of
epochs (the mean accuracy over epochs 1 .. E, in ``[0, 1]``), so runs of
equal length compare directly.

Example:

>>> convergence_metrics([0.5, 0.7, 0.6], checkpoints=(1, 10))
{'acc_epoch1': 0.5, 'acc_epoch10': nan, 'acc_max': 0.7, 'auc': 0.6}
"""

from __future__ import annotations

import collections
import math
from typing import Callable
from typing import Sequence

import keras
import numpy as np

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import protocol as protocols
from keras_detinit import validation
from keras_detinit.reporting import tables
from keras_detinit.reporting.results import Results

#: The convergence columns of every training, in report order.
CONVERGENCE_COLUMNS = ("acc_epoch1", "acc_epoch10", "acc_max", "auc")
#: Images in MNIST's and Fashion-MNIST's training sets, and their classes.
TRAINING_SET_IMAGES = 60_000
CLASSES = 10
#: The validation part the papers hold out of the training set (15%).
VALIDATION_IMAGES = round(protocols.PAPER_PROTOCOL.validation_fraction * TRAINING_SET_IMAGES)
#: Cost of a validation image against a training image: a forward pass
#: against a forward and a backward one.
VALIDATION_IMAGE_COST = 1 / 3
#: Fixed cost of an epoch (Keras' epoch loop, the validation call, the
#: callbacks) in training images. Fitted on the committed ``sigma0`` runs:
#: 1000 epochs of 500 images took 3.8 times as long as 10 epochs of 51,000,
#: the same number of SGD steps.
EPOCH_COST_IMAGES = 1500


def train_classifier(
    data: datasets.Dataset,
    hidden_units: Sequence[int],
    activation: str,
    initializer,
    epochs: int,
    seed: int,
    learning_rate: float = 1e-3,
    protocol: protocols.TrainingProtocol = protocols.PAPER_PROTOCOL,
    pool: ModelPool | None = None,
) -> dict[str, list[float]]:
    """Train the FFNN once and return its per-epoch history.

    Args:
        data: Training and validation parts (the test part is not used).
        hidden_units: Widths of the hidden layers (may be empty).
        activation: Hidden-layer activation.
        initializer: Kernel initializer of every Dense layer.
        epochs: Number of epochs, >= 1.
        seed: Seed of the weights and the batch order
            (`keras.utils.set_random_seed`).
        learning_rate: The optimizer's learning rate.
        protocol: The rest of the training protocol.
        pool: Train this pool's compiled model of the architecture, loaded
            with the fresh model's weights (same history); None trains the
            fresh model itself.

    Returns:
        ``{"loss": [...], "val_accuracy": [...]}``, one value per epoch.
    """
    keras.utils.set_random_seed(seed)
    run_protocol = protocol.replace(epochs=epochs, learning_rate=learning_rate)
    architecture = (tuple(data.train.x.shape[1:]), tuple(hidden_units), data.num_classes,
                    activation)
    model = models.build_ffnn(*architecture, initializer)
    if pool is not None:
        model = pool.load(("ffnn", *architecture), model, run_protocol)
    history = protocols.train(model, data, run_protocol, data_order_seed=seed)
    return {"loss": history["loss"], "val_accuracy": history["val_accuracy"]}


class ModelPool:
    """One compiled model per architecture; each run loads its initial weights.

    Tracing and compiling a model costs more than an epoch of training the
    papers' small networks (on TensorFlow, about 90% of a one-epoch run of
    the 120-layer FFNN). A run builds and initializes a fresh model as usual
    (cheap), and its weights are copied into the compiled model of the same
    architecture, whose optimizer state (moments, step counter) is put back
    as it was before any training; Keras resets the metrics every epoch.
    With the batch order seeded when training starts
    (`keras_detinit.protocol.DataOrderSeed`), the run then gives the history
    of the fresh model.

    Args:
        capacity: Architectures kept at once; the least recently used is
            dropped beyond it.

    Example:

    >>> pool = ModelPool()
    >>> first = pool.load("tiny", models.build_ffnn((4,), [3], 2), protocols.PAPER_PROTOCOL)
    >>> fresh = models.build_ffnn((4,), [3], 2, kernel_initializer="ones")
    >>> pool.load("tiny", fresh, protocols.PAPER_PROTOCOL) is first
    True
    >>> float(keras.ops.min(first.layers[-1].kernel))
    1.0
    """

    def __init__(self, capacity: int = 8):
        self.capacity = validation.check_int("capacity", capacity, low=1)
        self._models: collections.OrderedDict = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._models)

    def compiled(self, architecture, build: Callable[[], keras.Model],
                 protocol: protocols.TrainingProtocol,
                 compile: Callable[[keras.Model], keras.Model] | None = None) -> keras.Model:
        """The compiled model of ``architecture``, its optimizer as before any training.

        Its weights are those the previous run left: load the run's own
        before training (`load` does, from a fresh model).

        Args:
            architecture: A hashable name of the architecture; models under
                one name must have the same weights, in the same order.
            build: Builds a model of the architecture; called only the first
                time the architecture is asked for.
            protocol: The training protocol (its epochs do not matter).
            compile: Compiles a model of the architecture (in place) the
                first time; default ``protocol.compile``.
        """
        key = (architecture, protocol.replace(epochs=1))
        if key not in self._models:
            model = (compile or protocol.compile)(build())
            model.optimizer.build(model.trainable_variables)
            # Host copies: JAX donates the device buffers of the state it trains.
            self._models[key] = (model, [keras.ops.convert_to_numpy(variable.value)
                                         for variable in model.optimizer.variables])
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            return model
        self._models.move_to_end(key)
        model, optimizer_state = self._models[key]
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)
        return model

    def load(self, architecture, fresh: keras.Model,
             protocol: protocols.TrainingProtocol,
             compile: Callable[[keras.Model], keras.Model] | None = None) -> keras.Model:
        """The compiled model of ``architecture`` (`compiled`), holding ``fresh``'s weights.

        The first time, ``fresh`` itself is compiled and kept.
        """
        model = self.compiled(architecture, lambda: fresh, protocol, compile)
        if model is not fresh:
            model.set_weights(fresh.get_weights())
        return model


def split_images(samples_per_class: int | str | None = protocols.WHOLE_TRAINING_SET) -> int:
    """Training images of a split of MNIST or Fashion-MNIST (`CLASSES` classes).

    Args:
        samples_per_class: Images per class, or ``"all"``
            (`keras_detinit.protocol.WHOLE_TRAINING_SET`): the training set
            less the `VALIDATION_IMAGES` held out.

    Example:

    >>> split_images("all"), split_images(4)
    (51000, 40)
    """
    count = protocols.samples_per_class(samples_per_class)
    return TRAINING_SET_IMAGES - VALIDATION_IMAGES if count is None else CLASSES * count


def training_cost(epochs: int, training_images: int, validation_images: int = 0,
                  evaluated_images: int = 0) -> float:
    """Relative run time of a training, in training images (for `Experiment.cost`).

    ``epochs x (training + VALIDATION_IMAGE_COST x validation +
    EPOCH_COST_IMAGES)``, plus ``VALIDATION_IMAGE_COST x evaluated_images``
    for a test set evaluated once at the end. It grows with the epochs and
    the data as the run time does, so that a rate measured on one profile
    carries over to another (`keras_detinit.reproduce.estimates`); the
    network's size is left to the caller, a factor common to its runs.

    Args:
        epochs: Epochs, >= 1.
        training_images: Training images per epoch, >= 0.
        validation_images: Images validated after every epoch, >= 0.
        evaluated_images: Images evaluated once after the training, >= 0.

    Raises:
        ValueError: For a bad count, naming it.

    Example:

    >>> ten = training_cost(10, split_images("all"), VALIDATION_IMAGES)
    >>> training_cost(100, split_images("all"), VALIDATION_IMAGES) / ten
    10.0
    >>> training_cost(10, split_images(50)) < training_cost(10, split_images(500))
    True
    """
    validation.check_int("epochs", epochs, low=1)
    for name, count in (("training_images", training_images),
                        ("validation_images", validation_images),
                        ("evaluated_images", evaluated_images)):
        validation.check_int(name, count, low=0)
    per_epoch = training_images + VALIDATION_IMAGE_COST * validation_images + EPOCH_COST_IMAGES
    return epochs * per_epoch + VALIDATION_IMAGE_COST * evaluated_images


def convergence_metrics(curve: Sequence[float], checkpoints: Sequence[int] = (1, 10)) -> dict:
    """Accuracy at the checkpoint epochs, the maximum and the normalized AUC.

    Args:
        curve: Validation accuracy after each epoch (epoch 1 first).
        checkpoints: Epochs (1-based) to report; an epoch beyond the curve
            gives NaN ("not measured").

    Returns:
        ``{"acc_epoch<k>": ..., "acc_max": ..., "auc": ...}``.
    """
    values = np.asarray(curve, dtype="float64")
    if values.size == 0:
        raise ValueError("`curve` must hold at least one epoch's accuracy.")
    metrics = {
        f"acc_epoch{epoch}": float(values[epoch - 1]) if epoch <= values.size else math.nan
        for epoch in checkpoints
    }
    metrics["acc_max"] = float(np.max(values))
    metrics["auc"] = float(np.mean(values))
    return metrics


def convergence_table(results: Results, names: Sequence[str], first_header: str = "Initializer",
                      label: Callable[[str], str] = str, spread: bool = True,
                      **criteria) -> str:
    """A markdown table of `CONVERGENCE_COLUMNS`, one row per ``init`` name.

    Args:
        results: The experiment's rows.
        names: Values of the ``init`` column, one row each.
        first_header: Header of the first column.
        label: Row label of a name.
        spread: Show ``± std`` over the selected rows; off where those rows
            are different configurations rather than seeds of one.
        **criteria: Further selection of the rows, e.g. ``dataset="mnist"``.
    """
    rows = []
    for name in names:
        means = [results.mean_std(column, init=name, **criteria) for column in CONVERGENCE_COLUMNS]
        cells = [tables.percent_cell(mean_std) if spread else tables.percent(mean_std[0])
                 for mean_std in means]
        rows.append([label(name), *cells])
    header = [first_header, "acc. epoch 1 %", "acc. epoch 10 %", "max acc. %", "AUC %"]
    return tables.markdown_table(header, rows)
