"""Random arcsine initializer, the i.i.d. control of Sinusoidal."""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers.matrix import SeededMatrixInitializer
from keras_detinit.initializers.registry import register_initializer
from keras_detinit.shapes import MODES


@register_initializer("arcsine")
class Arcsine(SeededMatrixInitializer):
    """I.i.d. arcsine-distributed weights with the Sinusoidal variance.

    The Sinusoidal paper (appendix D.1) compares its deterministic matrix
    with independent draws from the same marginal distribution: the
    entries of ``a sin(.)`` follow the arcsine law on ``[-a, a]``. Here
    each entry is ``a cos(pi U)`` with ``U ~ Uniform[0, 1)``, whose variance
    is ``a^2 / 2``; ``a = sqrt(2 scale / fan)`` gives the variance
    ``scale / fan`` of `Sinusoidal` (``fan`` from ``mode``; the defaults
    are Glorot's ``2 / (fan_in + fan_out)``). Conv kernels use Keras' fans,
    other layouts the fans of their matrix view (see `MatrixInitializer`).

    Args:
        scale: Positive scaling factor of the variance.
        mode: One of ``"fan_avg"`` (default), ``"fan_in"``, ``"fan_out"``.
        seed: An int, a `keras.random.SeedGenerator`, or None, as for
            Keras' random initializers.
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.

    Example:

    >>> init = Arcsine(seed=0)
    >>> kernel = init(shape=(784, 64))
    >>> layer = keras.layers.Dense(64, kernel_initializer="arcsine")
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_avg",
        seed=None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        self.scale = validation.check_positive("scale", scale)
        self.mode = validation.check_choice("mode", mode, MODES)
        super().__init__(seed=seed, input_axes=input_axes, output_axes=output_axes)

    def kernel(self, view: shapes.MatrixView, dtype=None, projection: int = 0):
        # I.i.d. entries: the layout sets only the fans.
        dtype = validation.float_dtype(dtype)
        u = keras.random.uniform(
            view.kernel_shape, dtype=dtype, seed=self.seed_generator()
        )
        amplitude = math.sqrt(2.0 * self.scale / view.fan(self.mode))
        return ops.cos(math.pi * u) * ops.cast(amplitude, dtype)

    def amplitude(self, shape: Sequence[int]) -> float:
        """Return the half-width ``a = sqrt(2 scale / fan)`` for a shape."""
        return math.sqrt(2.0 * self.scale / self.view(shape).fan(self.mode))

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, **super().get_config()}
