"""Random arcsine initializer, the i.i.d. control of Sinusoidal."""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers.registry import register_initializer
from keras_detinit.initializers.seeding import SeededInitializer
from keras_detinit.initializers.sinusoidal import MODES


@register_initializer("arcsine")
class Arcsine(SeededInitializer):
    """I.i.d. arcsine-distributed weights with the Sinusoidal variance.

    The Sinusoidal paper (appendix D.1) compares its deterministic matrix
    with independent draws from the same marginal distribution: the
    entries of ``a sin(.)`` follow the arcsine law on ``[-a, a]``. Here
    each entry is ``a cos(pi U)`` with ``U ~ Uniform[0, 1)``, whose variance
    is ``a^2 / 2``; ``a = sqrt(2 scale / fan)`` gives the variance
    ``scale / fan`` of `Sinusoidal` (``fan`` from ``mode``; the defaults
    are Glorot's ``2 / (fan_in + fan_out)``). Conv kernels use Keras' fans.

    Args:
        scale: Positive scaling factor of the variance.
        mode: One of ``"fan_avg"`` (default), ``"fan_in"``, ``"fan_out"``.
        seed: An int, a `keras.random.SeedGenerator`, or None, as for
            Keras' random initializers.

    Example:

    >>> init = Arcsine(seed=0)
    >>> kernel = init(shape=(784, 64))
    >>> layer = keras.layers.Dense(64, kernel_initializer="arcsine")
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_avg", seed=None):
        self.scale = validation.check_positive("scale", scale)
        self.mode = validation.check_choice("mode", mode, MODES)
        super().__init__(seed=seed)

    def __call__(self, shape: Sequence[int], dtype=None):
        dtype = validation.float_dtype(dtype)
        view = shapes.matrix_view(shape)
        u = keras.random.uniform(
            view.kernel_shape, dtype=dtype, seed=self.seed_generator()
        )
        return ops.cos(math.pi * u) * ops.cast(self.amplitude(shape), dtype)

    def amplitude(self, shape: Sequence[int]) -> float:
        """Return the half-width ``a = sqrt(2 scale / fan)`` for a shape."""
        return math.sqrt(2.0 * self.scale / shapes.matrix_view(shape).fan(self.mode))

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, **super().get_config()}
