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

Other layers lay their kernels out differently, and `layout_view` describes
any of them by naming the role of each axis:

* ``unit_axes``: the output units (rows of ``W``);
* ``input_axes``: the input channels (columns of ``W``, with the spatial
  axes);
* ``spatial_axes``: taps of a receptive field, counted in both fans as in
  Keras' conv rule;
* ``group_axes``: independent copies of the matrix (the channels of a
  depthwise kernel), each with the same ``W``;
* ``blocks``: the units split into this many equal, consecutive blocks,
  each its own ``(m, n)`` matrix (the gates of a recurrent kernel).

The canonical layout of a kernel is its axes reordered as
``(*group_axes, *spatial_axes, *input_axes, *unit_axes)``; reshaped to
``(groups, n, blocks * m)`` it holds ``W^T`` of every block side by side.
Dense and Conv kernels are already canonical, so for them the mapping is a
reshape.

Example:

>>> view = matrix_view((3, 3, 16, 32))        # a Conv2D kernel
>>> view.rows, view.cols                      # m units, n = 3 * 3 * 16
(32, 144)
>>> view.fan_in, view.fan_out                 # Keras' fans, for variances
(144, 288)
>>> query = matrix_view((64, 4, 16), input_axes=[0], output_axes=[1, 2])
>>> query.rows, query.cols, query.fan_out     # 4 heads of 16, fan-in 64
(64, 64, 64)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from keras import ops

#: The ``mode`` values of ``VarianceScaling``-style initializers.
MODES = ("fan_avg", "fan_in", "fan_out")


@dataclasses.dataclass(frozen=True)
class MatrixView:
    """The paper's matrix view of a Keras kernel shape.

    Attributes:
        kernel_shape: The Keras kernel shape, as a tuple of ints.
        rows: ``m``, the number of output units of one block.
        cols: ``n``, the fan-in of each unit (receptive field times input
            channels).
        receptive_field: Product of the spatial axes (1 without any).
        fan_in: ``n``; for Dense and Conv, Keras' fan-in.
        fan_out: ``m * receptive_field``; for Dense and Conv, Keras'
            fan-out.
        unit_axes: Kernel axes of the units.
        input_axes: Kernel axes of the input channels.
        spatial_axes: Kernel axes of the receptive field.
        group_axes: Kernel axes that index independent copies of ``W``.
        blocks: Number of ``(m, n)`` blocks the units are split into.
        kind: What the kernel is, for schemes whose meaning depends on it
            (``"kernel"`` unless a layer says more, e.g. ``"embedding"``).
    """

    kernel_shape: tuple[int, ...]
    rows: int
    cols: int
    receptive_field: int
    fan_in: int
    fan_out: int
    unit_axes: tuple[int, ...] = dataclasses.field(default=(), repr=False)
    input_axes: tuple[int, ...] = dataclasses.field(default=(), repr=False)
    spatial_axes: tuple[int, ...] = dataclasses.field(default=(), repr=False)
    group_axes: tuple[int, ...] = dataclasses.field(default=(), repr=False)
    blocks: int = dataclasses.field(default=1, repr=False)
    kind: str = dataclasses.field(default="kernel", repr=False)

    @property
    def groups(self) -> int:
        """Number of independent copies of the matrix."""
        return _product(self.kernel_shape, self.group_axes)

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Sizes of the spatial axes, in canonical order."""
        return tuple(self.kernel_shape[axis] for axis in self.spatial_axes)

    @property
    def channels(self) -> int:
        """Number of input channels: ``n`` without the receptive field."""
        return self.cols // self.receptive_field

    @property
    def is_canonical(self) -> bool:
        """Whether the kernel is laid out as ``W^T`` (a reshape away)."""
        order = self.group_axes + self.spatial_axes + self.input_axes + self.unit_axes
        return order == tuple(range(len(self.kernel_shape))) and self.groups == 1

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
            f"`mode` must be one of {MODES}. Received: mode={mode!r}"
        )


def matrix_view(
    shape: Sequence[int],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> MatrixView:
    """Describe a kernel shape as the paper's ``(m, n)`` matrix.

    Without axes, Keras' rule applies: the last axis holds the units, the
    one before it the input channels, any others the receptive field. With
    ``input_axes`` and ``output_axes`` (as Keras 3.15+ derives them for an
    ``EinsumDense`` kernel from its equation) the output axes are the units
    and the input axes the fan-in.

    Args:
        shape: A Keras kernel shape with at least two axes, all positive.
        input_axes: Axes of the fan-in, or None for Keras' rule.
        output_axes: Axes of the units, or None for Keras' rule. Pass both
            or neither; together they must name every axis once.

    Returns:
        The `MatrixView` of the shape.

    Raises:
        ValueError: If the shape has fewer than two axes, or an axis that is
            not a positive integer, or the axes do not split the shape.

    Example:

    >>> matrix_view((784, 64))
    MatrixView(kernel_shape=(784, 64), rows=64, cols=784, receptive_field=1, fan_in=784, fan_out=64)
    """
    kernel_shape = _checked_shape(shape)
    if input_axes is None and output_axes is None:
        rank = len(kernel_shape)
        return layout_view(
            kernel_shape,
            unit_axes=(rank - 1,),
            input_axes=(rank - 2,),
            spatial_axes=tuple(range(rank - 2)),
        )
    if input_axes is None or output_axes is None:
        raise ValueError(
            "Pass both `input_axes` and `output_axes`, or neither. Received: "
            f"input_axes={input_axes!r}, output_axes={output_axes!r}"
        )
    return layout_view(kernel_shape, unit_axes=output_axes, input_axes=input_axes)


def layout_view(
    shape: Sequence[int],
    *,
    unit_axes: Sequence[int],
    input_axes: Sequence[int],
    spatial_axes: Sequence[int] = (),
    group_axes: Sequence[int] = (),
    blocks: int = 1,
    kind: str = "kernel",
) -> MatrixView:
    """Describe a kernel by the role of each of its axes.

    Args:
        shape: The kernel shape, all axes positive.
        unit_axes: Axes of the output units (at least one).
        input_axes: Axes of the input channels.
        spatial_axes: Axes of the receptive field.
        group_axes: Axes of independent copies of ``W``.
        blocks: Number of equal blocks the units split into, >= 1; it must
            divide the last unit axis.
        kind: A label for schemes whose meaning depends on the layer.

    Returns:
        The `MatrixView`.

    Raises:
        ValueError: If the axes do not name every axis of ``shape`` exactly
            once, or ``blocks`` does not divide the units.

    Example:

    >>> lstm = layout_view((8, 4 * 16), unit_axes=[1], input_axes=[0], blocks=4)
    >>> lstm.rows, lstm.cols, lstm.blocks     # four gates of 16 units
    (16, 8, 4)
    """
    kernel_shape = _checked_shape(shape)
    roles = {
        "unit_axes": _axes("unit_axes", unit_axes, kernel_shape),
        "input_axes": _axes("input_axes", input_axes, kernel_shape),
        "spatial_axes": _axes("spatial_axes", spatial_axes, kernel_shape),
        "group_axes": _axes("group_axes", group_axes, kernel_shape),
    }
    named = sorted(axis for axes in roles.values() for axis in axes)
    if named != list(range(len(kernel_shape))) or not roles["unit_axes"]:
        raise ValueError(
            f"The axes must name every axis of the kernel shape {kernel_shape} "
            "exactly once, with at least one unit axis. Received: "
            + ", ".join(f"{name}={axes}" for name, axes in roles.items())
        )
    units = _product(kernel_shape, roles["unit_axes"])
    if not isinstance(blocks, int) or blocks < 1 or units % blocks:
        raise ValueError(
            f"`blocks` must be a positive integer dividing the {units} units "
            f"of the kernel shape {kernel_shape}. Received: blocks={blocks!r}"
        )
    receptive_field = _product(kernel_shape, roles["spatial_axes"])
    rows = units // blocks
    cols = receptive_field * _product(kernel_shape, roles["input_axes"])
    return MatrixView(
        kernel_shape=kernel_shape,
        rows=rows,
        cols=cols,
        receptive_field=receptive_field,
        fan_in=cols,
        fan_out=rows * receptive_field,
        blocks=blocks,
        kind=kind,
        **roles,
    )


def matrix_to_kernel(matrix, view: MatrixView, transposed: bool = False):
    """Lay out the paper's matrix as a Keras kernel.

    Args:
        matrix: ``W`` of shape ``(blocks * m, n)`` (the blocks stacked), or
            ``W^T`` of shape ``(n, blocks * m)`` when ``transposed=True``.
            Every group of the kernel gets the same matrix.
        view: The `MatrixView` of the target kernel shape.
        transposed: Whether ``matrix`` is already ``W^T``. Element-wise
            schemes should build ``W^T`` directly: then, for Dense and Conv
            kernels, this is a reshape and no transpose is paid.

    Returns:
        A tensor of shape ``view.kernel_shape``.
    """
    units = view.blocks * view.rows
    expected = (view.cols, units) if transposed else (units, view.cols)
    actual = tuple(ops.shape(matrix))
    if actual != expected:
        raise ValueError(
            f"Expected a matrix of shape {expected} for the kernel shape "
            f"{view.kernel_shape} (transposed={transposed}). Received: {actual}"
        )
    if not transposed:
        matrix = ops.transpose(matrix)
    if view.is_canonical:
        return ops.reshape(matrix, view.kernel_shape)
    order = _canonical_order(view)
    canonical_shape = tuple(view.kernel_shape[axis] for axis in order)
    if view.groups > 1:
        matrix = ops.broadcast_to(matrix[None], (view.groups, view.cols, units))
    canonical = ops.reshape(matrix, canonical_shape)
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return ops.transpose(canonical, inverse)


def kernel_to_matrix(kernel, view: MatrixView | None = None):
    """Return the paper's matrix ``W`` of a Keras kernel.

    Args:
        kernel: A kernel tensor or array with at least two axes.
        view: Its `MatrixView`; None for Keras' rule (`matrix_view`).

    Returns:
        ``W`` with one row per output unit (all blocks stacked) and one
        column per input: shape ``(blocks * m, n)``, or
        ``(groups, blocks * m, n)`` when the view has group axes.

    Example:

    >>> import numpy as np
    >>> kernel = np.zeros((3, 3, 16, 32))
    >>> tuple(kernel_to_matrix(kernel).shape)
    (32, 144)
    """
    if view is None:
        view = matrix_view(tuple(ops.shape(kernel)))
    units = view.blocks * view.rows
    if view.group_axes:
        canonical = ops.transpose(kernel, _canonical_order(view))
        return ops.transpose(
            ops.reshape(canonical, (view.groups, view.cols, units)), (0, 2, 1)
        )
    if not view.is_canonical:
        kernel = ops.transpose(kernel, _canonical_order(view))
    return ops.transpose(ops.reshape(kernel, (view.cols, units)))


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
        holding ``i = 1..m`` and ``j = 1..n`` (``m`` units of one block).
    """
    row_index = ops.arange(1, view.rows + 1, dtype=dtype)[None, :]
    col_index = ops.arange(1, view.cols + 1, dtype=dtype)[:, None]
    return row_index, col_index


def _canonical_order(view: MatrixView) -> tuple[int, ...]:
    return view.group_axes + view.spatial_axes + view.input_axes + view.unit_axes


def _product(shape: tuple[int, ...], axes: Sequence[int]) -> int:
    return math.prod(shape[axis] for axis in axes)


def _axes(name: str, axes: Sequence[int], shape: tuple[int, ...]) -> tuple[int, ...]:
    rank = len(shape)
    try:
        values = tuple(int(axis) for axis in axes)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a sequence of integer axes in [-{rank}, {rank}). "
            f"Received: {name}={axes!r}"
        ) from None
    if any(not -rank <= axis < rank for axis in values):
        raise ValueError(
            f"`{name}` must hold axes in [-{rank}, {rank}) for the kernel shape "
            f"{shape}. Received: {name}={axes!r}"
        )
    return tuple(axis % rank for axis in values)


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
