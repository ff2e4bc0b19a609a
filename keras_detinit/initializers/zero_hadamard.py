"""ZerO initialization of Zhao, Schäfer and Anandkumar (identity and Hadamard)."""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers.matrix import MatrixInitializer
from keras_detinit.initializers.registry import register_initializer


#: Readings of the Hadamard constant: the authors' code, the paper's text.
CONSTANTS = ("code", "paper")


@register_initializer("zero_hadamard")
class ZerOHadamard(MatrixInitializer):
    """Deterministic ZerO initializer: partial identity or scaled Hadamard.

    Algorithm 1 of "ZerO Initialization: Initializing Neural Networks with
    only Zeros and Ones" (Zhao et al., 2022), for ``W`` with ``out`` rows
    and ``in`` columns:

    * ``out <= in``: the partial identity ``W[i, i] = 1``;
    * ``out > in``: ``W = c I*_{out x p} H_p I*_{p x in}``, i.e. the top-left
      ``out x in`` block of the Sylvester-Hadamard matrix ``H_p``
      (``H[a, b] = (-1)^popcount(a & b)``) of order
      ``p = 2^ceil(log2(out))``, the next power of two, times
      ``c = 1 / sqrt(p)``.

    **The constant** ``c`` has two readings, chosen by ``constant``:

    * ``"code"`` (default): ``c = 2^(-ceil(log2 out) / 2) = 1 / sqrt(p)``,
      as in the authors' released code, which makes ``H_p / sqrt(p)``
      orthogonal. When ``out`` is a power of two the columns of ``W`` are
      orthonormal; otherwise the dropped rows make them only nearly so.
    * ``"paper"``: ``c = 2^(-(ceil(log2 out) - 1) / 2)``, as the paper's
      Algorithm 1 prints it, larger by ``sqrt(2)``; through a deep stack of
      expanding layers the difference compounds.

    For Conv kernels ``(*kernel_size, in, out)`` the channel matrix sits at
    the spatial center (index ``size // 2`` on every spatial axis) and all
    other taps are zero, as in the authors' code. A depthwise kernel is
    one ``(multiplier, 1)`` channel matrix per input channel, so each
    channel gets the Dirac identity (its center tap is 1 for multiplier 1);
    no channel is left all-zero.

    On other layers (see `MatrixInitializer`) ``in`` and ``out`` are the
    true input channels and units; projection ``p`` of a layer permutes the
    inputs cyclically (a partial identity becomes a partial permutation).
    On an ``Embedding`` (one row per token) the scheme needs
    ``input_dim <= output_dim``, where every token gets its own one-hot
    vector; with more tokens than dimensions the Hadamard rows repeat, so
    that layout is refused.

    Args:
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.
        constant: ``"code"`` or ``"paper"`` (`CONSTANTS`), the reading of
            the Hadamard constant ``c`` above.

    Example:

    >>> kernel = ZerOHadamard()(shape=(4, 8))     # in=4 -> out=8: Hadamard
    >>> float(kernel[0, 0]), float(ZerOHadamard(constant="paper")(shape=(4, 8))[0, 0])
    (0.3535533845424652, 0.5)
    >>> layer = keras.layers.Dense(16, kernel_initializer="zero_hadamard")
    """

    def __init__(
        self,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
        constant: str = "code",
    ):
        self.constant = validation.check_choice("constant", constant, CONSTANTS)
        super().__init__(input_axes, output_axes)

    def get_config(self) -> dict:
        return {**super().get_config(), "constant": self.constant}

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        channels = _channel_matrix_t(view.channels, view.rows, dtype, self.constant)
        spatial = view.spatial_shape
        if not spatial:
            return channels
        center = ops.zeros(spatial, dtype=dtype)
        center = ops.scatter_update(
            center, [[size // 2 for size in spatial]], ops.ones((1,), dtype=dtype)
        )
        return ops.reshape(center[..., None, None] * channels, (view.cols, view.rows))

    def check_view(self, view: shapes.MatrixView) -> None:
        if view.kind == "embedding" and view.rows > view.cols:
            raise ValueError(
                f"zero_hadamard on an Embedding of {view.rows} tokens and "
                f"{view.cols} dimensions repeats the Hadamard rows, so tokens "
                "share vectors (it needs input_dim <= output_dim). Use "
                "'sinusoidal' there, or leave the embedding to its own initializer."
            )


def hadamard_signs(rows: int, cols: int):
    """Top-left ``rows x cols`` block of a Sylvester-Hadamard matrix.

    Args:
        rows: Number of rows, >= 1.
        cols: Number of columns, >= 1.

    Returns:
        An int32 tensor with entries ``(-1)^popcount(a & b)``, 0-based.
    """
    a = ops.arange(rows, dtype="int32")[:, None]
    b = ops.arange(cols, dtype="int32")[None, :]
    common = ops.bitwise_and(a, b)
    parity = ops.zeros_like(common)
    for bit in range(max(rows, cols).bit_length()):
        parity = ops.bitwise_xor(
            parity, ops.bitwise_and(ops.right_shift(common, bit), 1)
        )
    return 1 - 2 * parity


def hadamard_constant(units: int, constant: str = "code") -> float:
    """The scale ``c`` of the Hadamard block for ``units`` outputs.

    Example:

    >>> hadamard_constant(8), hadamard_constant(8, "paper"), hadamard_constant(5)
    (0.3535533905932738, 0.5, 0.3535533905932738)
    """
    exponent = math.ceil(math.log2(units))
    if constant == "paper":  # Algorithm 1 as printed: 2^(-(ceil(log2 m) - 1) / 2)
        exponent -= 1
    return 2.0 ** (-exponent / 2)


def _channel_matrix_t(inputs: int, units: int, dtype: str, constant: str = "code"):
    """``W^T`` (shape ``(in, out)``) of Algorithm 1."""
    if units <= inputs:
        return ops.eye(inputs, units, dtype=dtype)
    # H_p is symmetric, so W^T is c H[:in, :out].
    return ops.cast(hadamard_signs(inputs, units), dtype) * hadamard_constant(units, constant)
