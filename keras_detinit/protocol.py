"""The papers' training protocol, in one place.

The deep-narrow paper (section 4) trains every network with Adam at a
learning rate of 1e-3, batch size 100, sparse categorical cross-entropy,
and holds out 15% of the training set for validation.

**The loss takes logits.** With a softmax output layer, Keras computes the
cross-entropy from the logits on TensorFlow but from probabilities clipped
at 1e-7 on JAX and PyTorch, where a confidently wrong sample then gets
exactly zero gradient: the same network, weights and data train
differently per backend (softmax regression on raw MNIST pixels: 87% on
TensorFlow, 50% on JAX after 2 epochs). So the package's models emit
logits (`keras_detinit.models.with_probabilities` adds the softmax for
prediction) and the protocol's loss is computed from them, which no
backend clips. A model that still ends in a softmax is trained with the
probability loss and a warning. The demo, the
reproductions, the tuning search and the sigma0 pilots all train through
`TrainingProtocol` and `train`, so those constants live here once; an
experiment that deviates (the optimal-variance paper's plain SGD, the
odd-sigmoid studies' learning rate of 1e-4) says so with
`TrainingProtocol.replace`.

"The whole training set" has one spelling everywhere, `WHOLE_TRAINING_SET`
(``"all"``): on the command line, in experiment settings, in CSV files and
in progress lines. The Python API also takes None for it.

Example:

>>> PAPER_PROTOCOL.batch_size, PAPER_PROTOCOL.validation_fraction
(100, 0.15)
>>> sgd = PAPER_PROTOCOL.replace(optimizer="sgd", learning_rate=0.01)
>>> sgd.optimizer, sgd.learning_rate, sgd.batch_size
('sgd', 0.01, 100)
>>> samples_per_class("all") is None, samples_per_class("4")
(True, 4)
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any
from typing import Sequence

import keras

from keras_detinit import validation

#: The spelling of "the whole training set" for ``samples_per_class``.
WHOLE_TRAINING_SET = "all"
#: The optimizers a protocol can name.
OPTIMIZERS = ("adam", "sgd")
#: The losses a protocol can name, and their Keras classes.
LOSSES = {"sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
          "categorical_crossentropy": "CategoricalCrossentropy"}


@dataclasses.dataclass(frozen=True)
class TrainingProtocol:
    """How a classifier is trained: optimizer, batches, validation, loss.

    Attributes:
        optimizer: ``"adam"`` or ``"sgd"`` (plain, no momentum).
        learning_rate: The optimizer's learning rate, > 0.
        batch_size: Training batch size, >= 1.
        validation_fraction: Share of the training set held out for
            validation, in ``(0, 1)``.
        epochs: Training epochs, >= 1.
        loss: A cross-entropy name of `LOSSES`.
        validation_batch_size: Batch size of validation and evaluation; it
            only changes speed.
        from_logits: Whether the model emits logits (the package's models
            do), so the cross-entropy is computed from them on every
            backend. Ignored, with a warning, for a model whose output
            layer applies a softmax.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 100
    validation_fraction: float = 0.15
    epochs: int = 10
    loss: str = "sparse_categorical_crossentropy"
    validation_batch_size: int = 1000
    from_logits: bool = True

    def __post_init__(self):
        validation.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        validation.check_choice("loss", self.loss, LOSSES)
        validation.check_positive("learning_rate", self.learning_rate)
        validation.check_int("batch_size", self.batch_size)
        validation.check_in_range("validation_fraction", self.validation_fraction, 0.0, 1.0,
                                  low_inclusive=False, high_inclusive=False)
        validation.check_int("epochs", self.epochs)
        validation.check_int("validation_batch_size", self.validation_batch_size)
        validation.check_choice("from_logits", self.from_logits, (True, False))

    def replace(self, **changes: Any) -> TrainingProtocol:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def make_optimizer(self):
        """A fresh Keras optimizer of this protocol."""
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(self.learning_rate)
        return keras.optimizers.Adam(self.learning_rate)

    def make_loss(self, model=None):
        """The protocol's loss for ``model``: from logits unless it ends in a softmax.

        Example:

        >>> PAPER_PROTOCOL.make_loss().get_config()["from_logits"]
        True
        """
        from_logits = self.from_logits and not (model is not None and ends_in_softmax(model))
        if self.from_logits and not from_logits:
            warnings.warn(
                f"Model {model.name!r} ends in a softmax: its cross-entropy is computed from "
                "probabilities, which JAX and PyTorch clip at 1e-7 (TensorFlow uses the "
                "logits), so it trains differently per backend. Let the output layer emit "
                "logits (no activation) for backend-independent training.",
                stacklevel=3,
            )
        loss_class = getattr(keras.losses, LOSSES[self.loss])
        return loss_class(from_logits=from_logits)

    def compile(self, model, metrics: Sequence[str] = ("accuracy",)):
        """Compile ``model`` (in place) with this protocol; returns it."""
        model.compile(optimizer=self.make_optimizer(), loss=self.make_loss(model),
                      metrics=list(metrics))
        return model

    def fit(self, model, x, y, *, validation_data=None, callbacks=None, verbose: int = 0,
            data_order_seed: int | None = None, **overrides):
        """`model.fit` with this protocol's epochs and batch sizes.

        The model is compiled with the protocol first unless it already is.
        ``overrides`` (e.g. ``epochs`` from a tuner) take precedence.

        Args:
            data_order_seed: If given, the batch order is a function of this
                seed alone (`DataOrderSeed`), whatever ran before the fit.

        Returns:
            The `keras.callbacks.History` of the fit.
        """
        if data_order_seed is not None:
            callbacks = [*(callbacks or []), DataOrderSeed(data_order_seed)]
        if not model.compiled:
            self.compile(model)
        arguments = dict(batch_size=self.batch_size, epochs=self.epochs, verbose=verbose)
        if validation_data is not None:
            arguments.update(validation_data=tuple(validation_data),
                             validation_batch_size=self.validation_batch_size)
        arguments.update(overrides)
        return model.fit(x, y, callbacks=callbacks, **arguments)


class DataOrderSeed(keras.callbacks.Callback):
    """Seed the batch order when training starts, so it depends on the seed alone.

    Keras draws the shuffle from the global random state when an epoch
    starts (NumPy on JAX, PyTorch's generator on PyTorch), and the first
    fit of a freshly compiled model draws once more while tracing. Seeding
    at ``on_train_begin`` makes a reused compiled model see the batches a
    fresh one sees with the same seed.

    Args:
        seed: The seed, >= 0.

    Example:

    >>> DataOrderSeed(3).seed
    3
    """

    def __init__(self, seed: int):
        super().__init__()
        self.seed = validation.check_int("seed", seed, low=0)

    def on_train_begin(self, logs=None):
        keras.utils.set_random_seed(self.seed)


#: The deep-narrow paper's protocol, which the other papers' FFNN
#: experiments share unless they say otherwise.
PAPER_PROTOCOL = TrainingProtocol()


def train(model, data, protocol: TrainingProtocol = PAPER_PROTOCOL, *, callbacks=None,
          verbose: int = 0, data_order_seed: int | None = None) -> dict[str, list[float]]:
    """Train ``model`` on ``data`` under ``protocol``; the per-epoch history.

    Seed Keras (``keras.utils.set_random_seed``) before building the model
    for reproducible weights and batch order.

    Args:
        model: A built Keras model; compiled with the protocol unless it
            already is.
        data: A `keras_detinit.datasets.Dataset` (its validation part, if
            any, is evaluated after every epoch) or an ``(x, y)`` pair.
        protocol: The training protocol.
        callbacks: Keras callbacks.
        verbose: Keras' ``verbose`` of `fit`.
        data_order_seed: Make the batch order a function of this seed alone
            (`DataOrderSeed`).

    Returns:
        The history, metric name -> one value per epoch, e.g.
        ``{"loss": [...], "accuracy": [...], "val_accuracy": [...]}``.
    """
    if hasattr(data, "train"):
        (x, y), validation_data = data.train, data.validation
    else:
        (x, y), validation_data = data, None
    history = protocol.fit(model, x, y, validation_data=validation_data,
                           callbacks=callbacks, verbose=verbose,
                           data_order_seed=data_order_seed)
    return {name: [float(value) for value in values]
            for name, values in history.history.items()}


def ends_in_softmax(model) -> bool:
    """Whether ``model``'s last layer applies a softmax (it emits probabilities).

    Example:

    >>> import keras
    >>> ends_in_softmax(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    False
    """
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "") == "softmax"


def samples_per_class(value) -> int | None:
    """Read a ``samples_per_class`` argument: None for the whole training set.

    Args:
        value: `WHOLE_TRAINING_SET` (``"all"``) or None for every training
            image, or a count >= 1 (an int or its digits).

    Raises:
        ValueError: For anything else, naming the accepted spellings.
    """
    if value is None or value == WHOLE_TRAINING_SET:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`samples_per_class` must be an int >= 1, or {WHOLE_TRAINING_SET!r} for the "
            f"whole training set. Received: samples_per_class={value!r}"
        )
    return value


def describe_samples_per_class(value) -> str:
    """The text form of ``samples_per_class`` for CSV cells and progress lines.

    Example:

    >>> describe_samples_per_class(None), describe_samples_per_class(4)
    ('all', '4')
    """
    count = samples_per_class(value)
    return WHOLE_TRAINING_SET if count is None else str(count)
