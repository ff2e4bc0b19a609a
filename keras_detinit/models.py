"""The papers' feed-forward networks (FFNNs), as Keras models.

Example:

>>> model = build_ffnn((28, 28), hidden_units=[512], num_classes=10,
...                    kernel_initializer="sinusoidal")
>>> [layer.units for layer in model.layers[1:]]
[512, 10]
"""

from __future__ import annotations

from typing import Sequence

import keras

from keras_detinit import validation


def build_ffnn(
    input_shape: Sequence[int],
    hidden_units: Sequence[int],
    num_classes: int,
    activation: str = "relu",
    kernel_initializer="glorot_uniform",
    name: str | None = None,
) -> keras.Sequential:
    """A fully connected classifier: flatten, hidden Dense layers, softmax.

    Every Dense layer, the output layer included, uses
    ``kernel_initializer``; biases start at zero, as in the papers. Each
    layer gets its own copy of an initializer object, as it would from a
    string name: one shared instance of a random initializer would give
    equal kernels to layers of equal shape.

    Args:
        input_shape: Shape of one example, e.g. ``(28, 28)``.
        hidden_units: Width of each hidden layer (may be empty).
        num_classes: Number of output classes, >= 2.
        activation: Hidden-layer activation (any Keras activation name).
        kernel_initializer: Initializer name, instance or config.
        name: Optional model name.

    Returns:
        An uncompiled `keras.Sequential`.
    """
    validation.check_int("num_classes", num_classes, low=2)
    for width in hidden_units:
        validation.check_int("hidden_units[...]", width, low=1)
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
    layers += [
        keras.layers.Dense(
            width, activation=activation, kernel_initializer=_own_copy(kernel_initializer)
        )
        for width in hidden_units
    ]
    layers.append(
        keras.layers.Dense(
            num_classes,
            activation="softmax",
            kernel_initializer=_own_copy(kernel_initializer),
        )
    )
    return keras.Sequential(layers, name=name)


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile with Adam and sparse categorical cross-entropy, as the papers.

    Args:
        model: The model to compile (in place).
        learning_rate: Adam's learning rate, > 0.

    Returns:
        The same model.
    """
    learning_rate = validation.check_positive("learning_rate", learning_rate)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _own_copy(initializer):
    if isinstance(initializer, keras.initializers.Initializer):
        return keras.initializers.deserialize(keras.initializers.serialize(initializer))
    return initializer
