"""Map Keras kernel shapes to the papers' weight-matrix view and back.

The papers in this package describe a layer by a matrix ``W`` of shape
``(m, n)``: ``m`` output units (rows) and ``n = fan_in`` inputs per unit
(columns). Keras stores kernels the other way round:

* Dense: ``(in, out)``, i.e. ``W`` transposed.
* ConvND: ``(*kernel_size, in_channels, out_channels)``: each output channel
  is a unit whose fan-in is the receptive field times the input channels.
* Any other kernel with at least two axes follows the rule of Keras'
  ``compute_fans``: the last axis holds the units, every other axis is
  flattened (row-major) into the fan-in.

Flattening ``(*kernel_size, in)`` row-major gives the kernel as a
``(n, m)`` matrix, which is exactly ``W`` transposed. So a scheme that writes
``W`` (or ``W^T``) once can serve every layer type through this module.

Example:

>>> view = matrix_view((3, 3, 16, 32))        # a Conv2D kernel
>>> view.rows, view.cols                      # m units, n = 3 * 3 * 16
(32, 144)
>>> view.fan_in, view.fan_out                 # Keras' fans, for variances
(144, 288)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from keras import ops


@dataclasses.dataclass(frozen=True)
class MatrixView:
    """The paper's matrix view of a Keras kernel shape.

    Attributes:
        kernel_shape: The Keras kernel shape, as a tuple of ints.
        rows: ``m``, the number of output units (the kernel's last axis).
        cols: ``n``, the fan-in of each unit (product of all other axes).
        receptive_field: Product of the spatial axes (1 for Dense).
        fan_in: Keras' fan-in, ``kernel_shape[-2] * receptive_field``.
        fan_out: Keras' fan-out, ``kernel_shape[-1] * receptive_field``.
    """

    kernel_shape: tuple[int, ...]
    rows: int
    cols: int
    receptive_field: int
    fan_in: int
    fan_out: int

    def fan(self, mode: str) -> float:
        """Return the fan used by a ``VarianceScaling``-style ``mode``.

        Args:
            mode: One of ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``.

        Returns:
            ``fan_in``, ``fan_out`` or their mean.
        """
        if mode == "fan_in":
            return float(self.fan_in)
        if mode == "fan_out":
            return float(self.fan_out)
        if mode == "fan_avg":
            return (self.fan_in + self.fan_out) / 2.0
        raise ValueError(
            "`mode` must be one of 'fan_in', 'fan_out', 'fan_avg'. "
            f"Received: mode={mode!r}"
        )


def matrix_view(shape: Sequence[int]) -> MatrixView:
    """Describe a kernel shape as the paper's ``(m, n)`` matrix.

    Args:
        shape: A Keras kernel shape with at least two axes, all positive.

    Returns:
        The `MatrixView` of the shape.

    Raises:
        ValueError: If the shape has fewer than two axes, or an axis that is
            not a positive integer.

    Example:

    >>> matrix_view((784, 64))
    MatrixView(kernel_shape=(784, 64), rows=64, cols=784, receptive_field=1, fan_in=784, fan_out=64)
    """
    kernel_shape = _checked_shape(shape)
    receptive_field = math.prod(kernel_shape[:-2])
    return MatrixView(
        kernel_shape=kernel_shape,
        rows=kernel_shape[-1],
        cols=math.prod(kernel_shape[:-1]),
        receptive_field=receptive_field,
        fan_in=kernel_shape[-2] * receptive_field,
        fan_out=kernel_shape[-1] * receptive_field,
    )


def matrix_to_kernel(matrix, view: MatrixView, transposed: bool = False):
    """Lay out the paper's matrix as a Keras kernel.

    Args:
        matrix: ``W`` of shape ``(m, n)``, or ``W^T`` of shape ``(n, m)``
            when ``transposed=True``.
        view: The `MatrixView` of the target kernel shape.
        transposed: Whether ``matrix`` is already ``W^T``. Element-wise
            schemes should build ``W^T`` directly: then this is a reshape
            and no transpose is paid.

    Returns:
        A tensor of shape ``view.kernel_shape``.
    """
    expected = (view.cols, view.rows) if transposed else (view.rows, view.cols)
    actual = tuple(ops.shape(matrix))
    if actual != expected:
        raise ValueError(
            f"Expected a matrix of shape {expected} for the kernel shape "
            f"{view.kernel_shape} (transposed={transposed}). Received: {actual}"
        )
    if not transposed:
        matrix = ops.transpose(matrix)
    return ops.reshape(matrix, view.kernel_shape)


def kernel_to_matrix(kernel):
    """Return the paper's matrix ``W`` (shape ``(m, n)``) of a Keras kernel.

    Args:
        kernel: A kernel tensor or array with at least two axes.

    Returns:
        ``W`` with one row per output unit and one column per input.

    Example:

    >>> import numpy as np
    >>> kernel = np.zeros((3, 3, 16, 32))
    >>> tuple(kernel_to_matrix(kernel).shape)
    (32, 144)
    """
    view = matrix_view(tuple(ops.shape(kernel)))
    return ops.transpose(ops.reshape(kernel, (view.cols, view.rows)))


def unit_indices(view: MatrixView, dtype: str = "int32"):
    """One-based row and column indices of ``W``, laid out as ``W^T``.

    Element-wise schemes evaluate their formula on these two broadcastable
    index tensors and get ``W^T`` (shape ``(n, m)``), which
    `matrix_to_kernel(..., transposed=True)` turns into the kernel with a
    reshape only.

    Args:
        view: The `MatrixView` of the kernel.
        dtype: Integer dtype of the indices.

    Returns:
        ``(row_index, col_index)`` of shapes ``(1, m)`` and ``(n, 1)``,
        holding ``i = 1..m`` and ``j = 1..n``.
    """
    row_index = ops.arange(1, view.rows + 1, dtype=dtype)[None, :]
    col_index = ops.arange(1, view.cols + 1, dtype=dtype)[:, None]
    return row_index, col_index


def _checked_shape(shape: Sequence[int]) -> tuple[int, ...]:
    try:
        kernel_shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(
            "`shape` must be a sequence of positive integers. "
            f"Received: shape={shape!r}"
        ) from None
    if len(kernel_shape) < 2:
        raise ValueError(
            "`shape` must have at least 2 axes (e.g. Dense (in, out) or Conv "
            "(*kernel_size, in, out)); these initializers are for kernels, "
            f"not biases or scalars. Received: shape={kernel_shape}"
        )
    if any(d < 1 for d in kernel_shape):
        raise ValueError(
            "Every axis of `shape` must be a positive integer (>= 1). "
            f"Received: shape={kernel_shape}"
        )
    return kernel_shape
