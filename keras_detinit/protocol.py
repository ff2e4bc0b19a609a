"""The papers' training protocol, in one place.

The deep-narrow paper (section 4) trains every network with Adam at a
learning rate of 1e-3, batch size 100, sparse categorical cross-entropy,
and holds out 15% of the training set for validation. The demo, the
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
from typing import Any
from typing import Sequence

from keras_detinit import validation

#: The spelling of "the whole training set" for ``samples_per_class``.
WHOLE_TRAINING_SET = "all"
#: The optimizers a protocol can name.
OPTIMIZERS = ("adam", "sgd")


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
        loss: A Keras loss name.
        validation_batch_size: Batch size of validation and evaluation; it
            only changes speed.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 100
    validation_fraction: float = 0.15
    epochs: int = 10
    loss: str = "sparse_categorical_crossentropy"
    validation_batch_size: int = 1000

    def __post_init__(self):
        validation.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        validation.check_positive("learning_rate", self.learning_rate)
        validation.check_int("batch_size", self.batch_size)
        validation.check_in_range("validation_fraction", self.validation_fraction, 0.0, 1.0,
                                  low_inclusive=False, high_inclusive=False)
        validation.check_int("epochs", self.epochs)
        validation.check_int("validation_batch_size", self.validation_batch_size)

    def replace(self, **changes: Any) -> TrainingProtocol:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def make_optimizer(self):
        """A fresh Keras optimizer of this protocol."""
        import keras

        if self.optimizer == "sgd":
            return keras.optimizers.SGD(self.learning_rate)
        return keras.optimizers.Adam(self.learning_rate)

    def compile(self, model, metrics: Sequence[str] = ("accuracy",)):
        """Compile ``model`` (in place) with this protocol; returns it."""
        model.compile(optimizer=self.make_optimizer(), loss=self.loss, metrics=list(metrics))
        return model

    def fit(self, model, x, y, *, validation_data=None, callbacks=None, verbose: int = 0,
            **overrides):
        """`model.fit` with this protocol's epochs and batch sizes.

        The model is compiled with the protocol first unless it already is.
        ``overrides`` (e.g. ``epochs`` from a tuner) take precedence.

        Returns:
            The `keras.callbacks.History` of the fit.
        """
        if not model.compiled:
            self.compile(model)
        arguments = dict(batch_size=self.batch_size, epochs=self.epochs, verbose=verbose)
        if validation_data is not None:
            arguments.update(validation_data=tuple(validation_data),
                             validation_batch_size=self.validation_batch_size)
        arguments.update(overrides)
        return model.fit(x, y, callbacks=callbacks, **arguments)


#: The deep-narrow paper's protocol, which the other papers' FFNN
#: experiments share unless they say otherwise.
PAPER_PROTOCOL = TrainingProtocol()


def train(model, data, protocol: TrainingProtocol = PAPER_PROTOCOL, *, callbacks=None,
          verbose: int = 0) -> dict[str, list[float]]:
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

    Returns:
        The history, metric name -> one value per epoch, e.g.
        ``{"loss": [...], "accuracy": [...], "val_accuracy": [...]}``.
    """
    if hasattr(data, "train"):
        (x, y), validation_data = data.train, data.validation
    else:
        (x, y), validation_data = data, None
    history = protocol.fit(model, x, y, validation_data=validation_data,
                           callbacks=callbacks, verbose=verbose)
    return {name: [float(value) for value in values]
            for name, values in history.history.items()}


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
