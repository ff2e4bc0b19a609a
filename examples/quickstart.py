"""Quickstart: a Dense(64) layer with the Sinusoidal initializer on MNIST.

Builds a 784-64-10 network whose kernels use ``kernel_initializer=
"sinusoidal"``, checks that every unit's weights sum to zero, trains it
briefly, prints the test accuracy, then saves the model to ``.keras`` and
checks that it reloads (without ``custom_objects``) with the same
predictions. The defaults are small (500 images per class, 3 epochs).

The backend is Keras' (set ``KERAS_BACKEND``). Example:

    KERAS_BACKEND=jax python examples/quickstart.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile

import keras
import numpy as np

import keras_detinit  # noqa: F401  (registers "sinusoidal" with Keras)
from keras_detinit import models
from keras_detinit import shapes

from _data import add_data_arguments
from _data import load_data


def build_model() -> keras.Model:
    """784 inputs, a ReLU Dense(64) layer and a logits output, all Sinusoidal."""
    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", kernel_initializer="sinusoidal"),
        keras.layers.Dense(10, kernel_initializer="sinusoidal"),
    ])


def largest_row_sum(layer: keras.layers.Dense) -> float:
    """``max_i |sum_j W[i, j]|`` of the layer's matrix (one row per unit)."""
    matrix = keras.ops.convert_to_numpy(shapes.kernel_to_matrix(layer.kernel))
    return float(np.abs(matrix.astype("float64").sum(axis=1)).max())


def reloads_identically(model: keras.Model, x: np.ndarray) -> bool:
    """Save to ``.keras``, load back, and compare the predictions on ``x``."""
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory, "quickstart.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
    return bool(np.array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser, samples_per_class=500, epochs=3)
    args = parser.parse_args(argv)

    data = load_data("mnist", args)
    keras.utils.set_random_seed(args.seed)
    model = models.compile_classifier(build_model())
    hidden = next(l for l in model.layers if isinstance(l, keras.layers.Dense))
    print(f"largest |row sum| of the Dense(64) kernel: {largest_row_sum(hidden):.1e}")
    model.fit(
        *data.train, validation_data=tuple(data.validation), epochs=args.epochs,
        batch_size=100, verbose=2,
    )
    _, accuracy = model.evaluate(*data.test, batch_size=1000, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")
    print(f"reloaded model predicts the same: {reloads_identically(model, data.test.x[:100])}")


if __name__ == "__main__":
    main()
