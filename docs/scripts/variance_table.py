"""Print the variance table of "Using the initializers on any model".

For each layer type and scheme, the kernels are re-drawn with
`keras_detinit.reinitialize` and the variance of every ``(m, n)`` block
(gate, channel, projection) is divided by the Glorot variance of its true
fans, ``2 / (fan_in + fan_out)``. The cell shows the ratio furthest from 1.
The last column draws the same kernels from the shape alone (Keras' rule,
``kernel_initializer="sinusoidal"`` on a layer that does not pass axes),
which is what the layer-aware view corrects.

    KERAS_BACKEND=jax python docs/scripts/variance_table.py
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import ops

import keras_detinit
from keras_detinit import layer_view
from keras_detinit import shapes
from keras_detinit.initializers import Arcsine
from keras_detinit.initializers import Sinusoidal

SCHEMES = {
    "sinusoidal": lambda: Sinusoidal(),
    "sinusoidal (nondegenerate)": lambda: Sinusoidal(frequencies="nondegenerate"),
    "arcsine (seed 0)": lambda: Arcsine(seed=0),
}


def layer_cases() -> dict:
    """Layer type -> a function that builds a one-layer model."""

    def model(input_shape, layer, dtype="float32"):
        inputs = keras.Input(input_shape, dtype=dtype)
        if isinstance(layer, keras.layers.MultiHeadAttention):
            return keras.Model(inputs, layer(inputs, inputs))
        return keras.Model(inputs, layer(inputs))

    layers = keras.layers
    return {
        "Dense 32 -> 64": lambda: model((32,), layers.Dense(64)),
        "Conv2D 3x3, 8 -> 16": lambda: model((8, 8, 8), layers.Conv2D(16, 3)),
        "Conv2DTranspose 3x3, 8 -> 16": lambda: model(
            (8, 8, 8), layers.Conv2DTranspose(16, 3)
        ),
        "DepthwiseConv2D 3x3, 8 channels": lambda: model(
            (8, 8, 8), layers.DepthwiseConv2D(3)
        ),
        "MultiHeadAttention 64, 4 x 16 (Q, K, V, O)": lambda: model(
            (10, 64), layers.MultiHeadAttention(4, 16)
        ),
        "LSTM 24 -> 32 (kernel, recurrent)": lambda: model((5, 24), layers.LSTM(32)),
        "GRU 24 -> 32 (kernel, recurrent)": lambda: model((5, 24), layers.GRU(32)),
        "Embedding 50 x 16": lambda: model(
            (4,), layers.Embedding(50, 16), dtype="int32"
        ),
    }


def worst_ratio(model, initializer, shape_only: bool = False) -> float:
    """The block variance / Glorot ratio furthest from 1 over the model."""
    ratios = []
    for parent in model._flatten_layers(include_self=False, recursive=True):
        for kernel in layer_view.kernel_views(parent, "ignore"):
            view = kernel.view
            if shape_only:
                kernel.variable.assign(initializer(view.kernel_shape))
            matrix = ops.convert_to_numpy(shapes.kernel_to_matrix(kernel.variable, view))
            target = 2.0 / (view.fan_in + view.fan_out)
            for block in np.asarray(matrix, np.float64).reshape(-1, view.rows, view.cols):
                ratios.append(block.var() / target)
    return max(ratios, key=lambda ratio: abs(np.log(ratio)))


def main() -> None:
    header = ["Layer", *SCHEMES, "sinusoidal, shape only"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, build in layer_cases().items():
            cells = []
            for make in SCHEMES.values():
                model = build()
                keras_detinit.reinitialize(model, make())
                cells.append(f"{worst_ratio(model, None):.3f}")
            model = build()
            cells.append(f"{worst_ratio(model, Sinusoidal(), shape_only=True):.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
