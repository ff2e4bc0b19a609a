"""The papers' feed-forward networks (FFNNs), as Keras models.

Example:

>>> model = build_ffnn((28, 28), hidden_units=[512], num_classes=10,
...                    kernel_initializer="sinusoidal")
>>> [layer.units for layer in model.layers[1:]]
[512, 10]
>>> model.layers[-1].activation.__name__  # logits: see `keras_detinit.protocol`
'linear'
"""

from __future__ import annotations

from typing import Sequence

import keras

from keras_detinit import protocol
from keras_detinit import validation


def build_ffnn(
    input_shape: Sequence[int],
    hidden_units: Sequence[int],
    num_classes: int,
    activation: str = "relu",
    kernel_initializer="glorot_uniform",
    name: str | None = None,
    output_activation: str | None = None,
) -> keras.Sequential:
    """A fully connected classifier: flatten, hidden Dense layers, logits.

    The output layer emits logits (no activation), which the protocol's
    loss takes on every backend alike (`keras_detinit.protocol`);
    `with_probabilities` adds the softmax for prediction.

    Every Dense layer, the output layer included, uses
    ``kernel_initializer`` (for the output layer as `output_initializer`
    adapts it); biases start at zero, as in the papers. Each layer gets its
    own copy of an initializer object (`layer_copy`), as it would from a
    string name: one shared instance of a random initializer would give
    equal kernels to layers of equal shape.

    Args:
        input_shape: Shape of one example, e.g. ``(28, 28)``.
        hidden_units: Width of each hidden layer (may be empty).
        num_classes: Number of output classes, >= 2.
        activation: Hidden-layer activation (any Keras activation name).
        kernel_initializer: Initializer name, instance or config.
        name: Optional model name.
        output_activation: Activation of the output layer; None (logits) by
            default, ``"softmax"`` for probabilities.

    Returns:
        An uncompiled `keras.Sequential`.
    """
    validation.check_int("num_classes", num_classes, low=2)
    for width in hidden_units:
        validation.check_int("hidden_units[...]", width, low=1)
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
    layers += [
        keras.layers.Dense(
            width, activation=activation, kernel_initializer=layer_copy(kernel_initializer)
        )
        for width in hidden_units
    ]
    layers.append(keras.layers.Dense(
        num_classes, activation=output_activation,
        kernel_initializer=layer_copy(output_initializer(kernel_initializer))))
    return keras.Sequential(layers, name=name)


def with_probabilities(model: keras.Model) -> keras.Sequential:
    """``model`` followed by a softmax: class probabilities from a logits model.

    The weights are shared, not copied: train ``model``, predict with this.

    Example:

    >>> import numpy as np
    >>> logits = build_ffnn((4,), [3], num_classes=2)
    >>> probabilities = with_probabilities(logits).predict(np.ones((1, 4)), verbose=0)
    >>> bool(np.isclose(probabilities.sum(), 1.0))
    True
    """
    return keras.Sequential([keras.Input(model.input_shape[1:]), model, keras.layers.Softmax()],
                            name=f"{model.name}_probabilities")


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile with the papers' protocol (`keras_detinit.protocol`).

    Adam, sparse categorical cross-entropy and accuracy, as
    `keras_detinit.protocol.PAPER_PROTOCOL`, at ``learning_rate``.

    Args:
        model: The model to compile (in place).
        learning_rate: Adam's learning rate, > 0.

    Returns:
        The same model.
    """
    return protocol.PAPER_PROTOCOL.replace(learning_rate=learning_rate).compile(model)


def output_initializer(initializer):
    """The softmax layer's version of the hidden layers' ``initializer``.

    OddSigmoid's gain is for layers followed by the odd sigmoid; the softmax
    layer is not, so it gets ``gain=1.0`` (as `OddSigmoid` documents) and
    otherwise the same arguments. Every other initializer is used as it is.

    Example:

    >>> output_initializer("odd_sigmoid").gain, output_initializer("he_normal")
    (1.0, 'he_normal')
    """
    from keras_detinit.initializers import OddSigmoid

    resolved = initializer
    if isinstance(initializer, (str, dict)):
        resolved = keras.initializers.get(initializer)
    if not isinstance(resolved, OddSigmoid):
        return initializer
    return OddSigmoid.from_config({**resolved.get_config(), "gain": 1.0})


def layer_copy(initializer):
    """What one layer gets of ``initializer``: its own copy of an instance.

    Keras layers use an initializer *instance* as it is; a random one with a
    fixed seed would then give equal kernels to layers of equal shape. Names
    and configs are already turned into a new instance per layer by Keras.

    Example:

    >>> shared = keras.initializers.RandomNormal(seed=None)
    >>> layer_copy(shared) is shared, layer_copy("glorot_uniform")
    (False, 'glorot_uniform')
    """
    if isinstance(initializer, keras.initializers.Initializer):
        return initializer.clone()
    return initializer
