"""The main demo: a small FFNN on MNIST, Sinusoidal against Glorot.

Run it from the command line:

    keras-detinit demo --data-dir ../shared/data --epochs 3

Example:

>>> results = run_demo(data_dir="/data", epochs=1)  # doctest: +SKIP
>>> results[0].initializer, round(results[0].test_accuracy, 2)  # doctest: +SKIP
('sinusoidal', 0.95)
"""

from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import keras

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import protocol as protocols


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """Outcome of training one initializer.

    Attributes:
        initializer: The initializer's name.
        validation_accuracy: Accuracy on the held-out 15% after each epoch.
        test_accuracy: Accuracy on the test set after training.
        seconds: Wall time of the training.
    """

    initializer: str
    validation_accuracy: tuple[float, ...]
    test_accuracy: float
    seconds: float


def run_demo(
    dataset: str = "mnist",
    data_dir: str | None = None,
    initializers: Sequence[str] = ("sinusoidal", "glorot_uniform"),
    hidden_units: Sequence[int] = (256,),
    epochs: int = 3,
    batch_size: int = protocols.PAPER_PROTOCOL.batch_size,
    learning_rate: float = protocols.PAPER_PROTOCOL.learning_rate,
    seed: int = 0,
    samples_per_class: int | None = None,
    verbose: int = 2,
) -> list[DemoResult]:
    """Train the same FFNN once per initializer and report accuracies.

    The papers' protocol (`keras_detinit.protocol.PAPER_PROTOCOL`): Adam,
    batch 100, 15% of the training set held out for validation, accuracy
    on the untouched test set.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        data_dir: Directory with the IDX files (see `keras_detinit.datasets`).
        initializers: Initializer names to compare.
        hidden_units: Widths of the hidden layers.
        epochs: Training epochs, >= 1.
        batch_size: Batch size, >= 1.
        learning_rate: Adam's learning rate.
        seed: Seed of the data split and of Keras' random state.
        samples_per_class: Few-shot training set size per class, or
            ``"all"`` / None for the whole training set.
        verbose: 0 silent, 1 progress bars, 2 one line per epoch.

    Returns:
        One `DemoResult` per initializer, in the given order.
    """
    protocol = protocols.PAPER_PROTOCOL.replace(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
    data = datasets.load_dataset(
        dataset,
        data_dir=data_dir,
        samples_per_class=protocols.samples_per_class(samples_per_class),
        validation_fraction=protocol.validation_fraction,
        seed=seed,
    )
    if verbose:
        print(
            f"{data.name}: {len(data.train.y)} training, {len(data.validation.y)} "
            f"validation, {len(data.test.y)} test examples from {data.source}; "
            f"backend {keras.backend.backend()}"
        )
    results = []
    for name in initializers:
        keras.utils.set_random_seed(seed)
        model = models.build_ffnn(
            data.train.x.shape[1:], hidden_units, data.num_classes, "relu", name
        )
        if verbose:
            print(f"--- {name}")
        start = time.perf_counter()
        history = protocols.train(model, data, protocol, verbose=verbose)
        seconds = time.perf_counter() - start
        _, test_accuracy = model.evaluate(
            *data.test, batch_size=protocol.validation_batch_size, verbose=0)
        results.append(
            DemoResult(
                name,
                tuple(history["val_accuracy"]),
                float(test_accuracy),
                seconds,
            )
        )
    return results


def format_results(results: Sequence[DemoResult]) -> str:
    """A plain-text table of the results."""
    lines = [
        f"{'initializer':<18} {'val acc (epoch 1)':>17} {'val acc (last)':>14} "
        f"{'test acc':>9} {'seconds':>8}"
    ]
    for r in results:
        lines.append(
            f"{r.initializer:<18} {r.validation_accuracy[0]:>17.4f} "
            f"{r.validation_accuracy[-1]:>14.4f} {r.test_accuracy:>9.4f} "
            f"{r.seconds:>8.1f}"
        )
    return "\n".join(lines)
