"""LSUV, Layer-Sequential Unit-Variance initialization (Mishkin and Matas 2016).

A data-dependent baseline ("All you need is a good init", Algorithm 1):

1. *Orthonormal pre-initialization*: every selected kernel is redrawn with
   Keras' ``Orthogonal`` initializer (gain 1; a Conv kernel is orthogonal
   as the ``(receptive field * in_channels, out_channels)`` matrix, which
   Keras' initializer produces), from one ``keras.random.SeedGenerator``.
   Biases are left as they are (zero for Keras' defaults).
2. Layer by layer, in the model's order: run the batch, take the variance
   of the layer's pre-activation (all its entries: samples, positions and
   units together, as the authors' code does on a layer's output blob) and
   divide the kernel by its square root, until the variance is within
   ``tolerance`` of 1 or ``max_iterations`` rescalings were made.

Layers are selected and probed as in `keras_detinit.diagnostics.probe`
(top-level layers of a Sequential or functional model; pre-activation =
output without the layer's ``activation``). The kernels are written with
``Variable.assign``, so this works on every backend.

Example:

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((32,)),
...                           keras.layers.Dense(64, activation="relu"),
...                           keras.layers.Dense(10)])
>>> x = np.random.default_rng(0).normal(size=(256, 32)).astype("float32")
>>> report = lsuv_initialize(model, x, seed=0)
>>> all(layer.converged for layer in report)
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import keras
import numpy as np
from keras import ops

from keras_detinit import validation
from keras_detinit.diagnostics.probe import PreActivationProbe
from keras_detinit.diagnostics.probe import graph_inputs
from keras_detinit.diagnostics.probe import select_layers


@dataclasses.dataclass(frozen=True)
class LSUVLayerReport:
    """What LSUV did to one layer.

    Attributes:
        name: The layer's name.
        initial_variance: Pre-activation variance before any rescaling
            (after the orthonormal pre-initialization, if done).
        final_variance: Variance after the last rescaling.
        iterations: Number of rescalings made (0 if already within
            tolerance).
        converged: Whether ``|final_variance - 1| < tolerance``.
    """

    name: str
    initial_variance: float
    final_variance: float
    iterations: int
    converged: bool


def lsuv_initialize(
    model: keras.Model,
    x_batch,
    tolerance: float = 0.1,
    max_iterations: int = 10,
    orthonormal: bool = True,
    layers: Sequence | None = None,
    seed: int | None = None,
) -> list[LSUVLayerReport]:
    """Initialize a model's kernels in place with LSUV.

    Args:
        model: A Sequential or functional model (built, or a Sequential
            that ``x_batch`` can build).
        x_batch: One batch of inputs (an array, or a list/dict of arrays).
        tolerance: Accepted ``|Var - 1|``, in ``(0, 1)``; the paper's 0.1.
        max_iterations: Most rescalings per layer, >= 1; the paper's 10.
        orthonormal: Whether to redraw the kernels orthonormally first.
        layers: Layers to initialize (names or objects); default: every
            top-level layer with a kernel.
        seed: Seed of the orthonormal draw (>= 0), or None for Keras' global
            seeding.

    Returns:
        One `LSUVLayerReport` per layer, in order. A layer that stays
        outside the tolerance is reported with ``converged=False``.

    Raises:
        ValueError: For invalid arguments, or a layer whose pre-activation
            is constant on the batch (zero variance cannot be rescaled).
        TypeError: For a model without a graph (e.g. subclassed).
    """
    tolerance = validation.check_in_range(
        "tolerance", tolerance, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    max_iterations = validation.check_int("max_iterations", max_iterations, low=1)
    if seed is not None:
        seed = validation.check_int("seed", seed, low=0)
    graph_inputs(model, x_batch)
    chosen = select_layers(model, layers)
    if orthonormal:
        _orthonormal_kernels(chosen, seed)
    return [_unit_variance(model, layer, x_batch, tolerance, max_iterations) for layer in chosen]


def _orthonormal_kernels(layers: list, seed: int | None) -> None:
    generator = keras.random.SeedGenerator(seed)
    initializer = keras.initializers.Orthogonal(gain=1.0, seed=generator)
    for layer in layers:
        kernel = layer.kernel
        kernel.assign(initializer(tuple(kernel.shape), dtype=kernel.dtype))


def _unit_variance(model, layer, x_batch, tolerance, max_iterations) -> LSUVLayerReport:
    probe = PreActivationProbe(model, [layer])

    def variance() -> float:
        pre_activation = probe(x_batch)[layer.name]
        return float(np.var(pre_activation.astype(np.float64)))

    current = initial = variance()
    iterations = 0
    while abs(current - 1.0) >= tolerance and iterations < max_iterations:
        if current == 0.0 or not math.isfinite(current):
            raise ValueError(
                f"LSUV cannot rescale layer {layer.name!r}: the variance of its "
                f"pre-activation on the batch is {current}. Use a batch with "
                "varied inputs, or exclude the layer with `layers=[...]`."
            )
        layer.kernel.assign(layer.kernel / ops.cast(math.sqrt(current), layer.kernel.dtype))
        iterations += 1
        current = variance()
    return LSUVLayerReport(
        name=layer.name,
        initial_variance=initial,
        final_variance=current,
        iterations=iterations,
        converged=abs(current - 1.0) < tolerance,
    )
