"""Randomized asymmetric initialization (RAI) of Lu, Shin, Su and Karniadakis."""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers.matrix import SeededMatrixInitializer
from keras_detinit.initializers.registry import register_initializer

#: Standard deviation of the symmetric entries, before fan-in scaling:
#: ``-2 sqrt(2) / (3 sqrt(pi)) + sqrt(1 + 8 / (9 pi))`` (about 0.6007).
RAI_STDDEV = -2.0 * math.sqrt(2.0) / (3.0 * math.sqrt(math.pi)) + math.sqrt(
    1.0 + 8.0 / (9.0 * math.pi)
)

#: Readings of the standard deviation: scaled by the fan-in, or literal.
SCALES = ("fan_in", "absolute")

#: Parameters of the asymmetric distribution, Beta(2, 1) on [0, 1].
BETA_ALPHA = 2.0
BETA_BETA = 1.0


@register_initializer("randomized_asymmetric")
class RandomizedAsymmetric(SeededMatrixInitializer):
    """Randomized asymmetric initializer (RAI) against dying ReLU.

    As set up in section 4.2 of Lee et al. ("Improved weight initialization
    for deep and narrow feedforward neural network"), after Lu et al.
    (2019): each unit (row of ``W``, column of a Dense kernel) gets one
    input, chosen uniformly among its ``fan_in`` inputs, whose weight is
    drawn from the asymmetric Beta(2, 1) distribution (positive, mean 2/3);
    all other weights are normal with standard deviation
    ``RAI_STDDEV / sqrt(fan_in)`` (``RAI_STDDEV`` about 0.6007). The Beta
    entry is not scaled.

    **The scale** has two readings, chosen by ``scale``. Lee et al. write
    that the "standard deviation of the weight matrix was ... 0.6007,
    adopting a setting similar to" Lu et al., whose symmetric entries have
    variance proportional to ``1 / fan_in`` (a He-like scaling; the
    constant is the one that keeps the second moment with the asymmetric
    entry). ``"fan_in"`` (default) reads 0.6007 as that constant,
    ``RAI_STDDEV / sqrt(fan_in)``; ``"absolute"`` takes the text literally,
    standard deviation 0.6007 whatever the fan-in, which multiplies a
    784-input layer's pre-activation scale by about 17 against He. Lu et al. also treat the bias as one more input;
    a Keras initializer sees the kernel only, so the asymmetric entry is
    always a weight. For conv kernels the choice runs over the whole
    receptive field times input channels.

    Args:
        seed: An int, a `keras.random.SeedGenerator`, or None, as for
            Keras' random initializers.
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.
        scale: ``"fan_in"`` or ``"absolute"`` (`SCALES`), the reading of the
            standard deviation above.

    Example:

    >>> init = RandomizedAsymmetric(seed=0)
    >>> RandomizedAsymmetric(scale="absolute").get_config()["scale"]
    'absolute'
    >>> kernel = init(shape=(784, 10))
    >>> layer = keras.layers.Dense(
    ...     10, activation="relu", kernel_initializer="randomized_asymmetric")
    """

    def __init__(self, seed=None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None, scale: str = "fan_in"):
        self.scale = validation.check_choice("scale", scale, SCALES)
        super().__init__(seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}

    def symmetric_stddev(self, fan_in: float) -> float:
        """Standard deviation of the symmetric (normal) entries."""
        return RAI_STDDEV / math.sqrt(fan_in) if self.scale == "fan_in" else RAI_STDDEV

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        seed = self.seed_generator()
        units = (1, view.rows)
        chosen = keras.random.randint(units, 0, view.cols, seed=seed)
        asymmetric = keras.random.beta(
            units, BETA_ALPHA, BETA_BETA, dtype=dtype, seed=seed
        )
        symmetric = keras.random.normal(
            (view.cols, view.rows),
            stddev=self.symmetric_stddev(view.fan("fan_in")),
            dtype=dtype,
            seed=seed,
        )
        _, inputs = shapes.unit_indices(view)
        return ops.where(inputs - 1 == chosen, asymmetric, symmetric)
