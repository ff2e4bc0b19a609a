"""Gaussian submatrix initialization (GSM) of Burkholz and Dubatovka."""

from __future__ import annotations


import keras
from keras import ops

from keras_detinit import shapes
from keras_detinit.initializers.matrix import SeededMatrixInitializer
from keras_detinit.initializers.registry import register_initializer


@register_initializer("gaussian_submatrix")
class GaussianSubmatrix(SeededMatrixInitializer):
    """Gaussian submatrix initializer (GSM) for ReLU networks.

    ``W = [[W0, -W0], [-W0, W0]]`` (Burkholz and Dubatovka, 2019): the
    units come in pairs ``h, -h``, so a ReLU layer passes ``relu(h)`` and
    ``relu(-h)``, from which ``h`` is recovered, and the next layer sees the
    difference of paired inputs. ``W0`` is drawn with Keras'
    ``HeNormal`` (truncated normal, ``stddev = sqrt(2 / fan_in(W0))``), as
    in section 4.2 of Lee et al.

    The blocks act on the channel axes: a Conv kernel of shape
    ``(*kernel_size, in, out)`` is built from ``W0`` of shape
    ``(*kernel_size, ceil(in / 2), ceil(out / 2))``. Other layouts (see
    `MatrixInitializer`) use their true input channels and units.

    **Odd sizes.** With an odd number of inputs or units, the matrix is
    built for the next even size and its last input row or last unit
    column is dropped (the last unit then has no negated partner, and the
    last input of ``W0`` reaches only the first half).

    Args:
        seed: Seeds ``W0`` like Keras' random initializers: an int or None
            (fixed values), or a `keras.random.SeedGenerator` (new values
            on each call).
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.

    Example:

    >>> kernel = GaussianSubmatrix(seed=0)(shape=(10, 6))
    >>> conv = keras.layers.Conv2D(
    ...     8, 3, kernel_initializer=GaussianSubmatrix(seed=1))
    """

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        inputs, units = view.channels, view.rows
        half_shape = (*view.spatial_shape, (inputs + 1) // 2, (units + 1) // 2)
        block = keras.initializers.HeNormal(seed=self.seed_generator())(
            half_shape, dtype=dtype
        )
        top = ops.concatenate([block, -block], axis=-1)
        full = ops.concatenate([top, -top], axis=-2)
        return ops.reshape(full[..., :inputs, :units], (view.cols, view.rows))
