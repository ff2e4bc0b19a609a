"""Which kernel axes are units and which are fan-in, for each Keras layer.

An initializer sees only a shape, and Keras' rule for it (last axis =
units, everything else = fan-in) is right for ``Dense`` and ``ConvND``
only. This module reads the layer instead and returns a
`keras_detinit.shapes.MatrixView` per kernel:

| Layer | Weight | Units ``m`` | Fan-in ``n`` | Notes |
|---|---|---|---|---|
| ``Dense`` | kernel ``(in, out)`` | ``out`` | ``in`` | Keras' rule |
| ``ConvND`` | kernel ``(*k, in, out)`` | ``out`` | ``prod(k) * in`` | Keras' rule |
| ``ConvNDTranspose`` | kernel ``(*k, out, in)`` | ``out`` | ``prod(k) * in`` | |
| ``DepthwiseConvND`` | kernel ``(*k, C, mult)`` | ``mult`` | ``prod(k)`` | one matrix per channel ``C`` |
| ``SeparableConvND`` | depthwise / pointwise | as above | as above | |
| ``EinsumDense`` | kernel | axes in the output | axes only in the input | from the equation |
| ``MultiHeadAttention`` | Q, K, V, output | per ``EinsumDense`` | | Q, K, V are projections 0, 1, 2 |
| ``LSTMCell``/``GRUCell``/``SimpleRNNCell`` | kernel, recurrent kernel | ``units`` per gate | ``in`` or ``units`` | one block per gate |
| ``Embedding`` | embeddings ``(vocab, dim)`` | ``vocab`` (one row per token) | ``dim`` | |
| ``Embedding`` subclasses | reverse_embeddings ``(dim, vocab)`` | ``vocab`` | ``dim`` | as Dense |

Any other layer with a float weight of two or more axes whose name
contains ``kernel`` or ``embedding`` falls back to Keras' rule, with a
warning, when asked (``unknown="keras_rule"``).

Example:

>>> import keras
>>> layer = keras.layers.LSTMCell(16)
>>> layer.build((None, 8))
>>> [(v.weight, v.view.rows, v.view.cols, v.view.blocks) for v in kernel_views(layer)]
[('kernel', 16, 8, 4), ('recurrent_kernel', 16, 16, 4)]
"""

from __future__ import annotations

import dataclasses
import warnings

import keras

from keras_detinit import shapes

#: What ``unknown`` may be: leave such weights as they are (with or
#: without a warning), or re-draw them with Keras' rule and a warning.
UNKNOWN_POLICIES = ("warn", "ignore", "keras_rule")

_KERNEL_WORDS = ("kernel", "embedding")


@dataclasses.dataclass(frozen=True)
class KernelView:
    """One kernel of a layer and its matrix view.

    Attributes:
        layer: The layer that owns the weight.
        variable: The weight (a `keras.Variable`).
        weight: The weight's name, e.g. ``"recurrent_kernel"``.
        view: Its `keras_detinit.shapes.MatrixView`.
        projection: Index among same-shaped kernels of one parent layer (set
            by `keras_detinit.reinitialize`; 0 here).
    """

    layer: keras.layers.Layer
    variable: object
    weight: str
    view: shapes.MatrixView
    projection: int = 0


def kernel_views(layer: keras.layers.Layer, unknown: str = "warn") -> list[KernelView]:
    """The matrix views of the layer's own kernels.

    Weights of sublayers are not included (ask each sublayer); biases,
    normalization parameters and other weights with fewer than two axes
    never are.

    Args:
        layer: A built Keras layer.
        unknown: For a weight this module does not know (see the module
            docstring): ``"warn"`` (default) leaves it out with a warning,
            ``"ignore"`` leaves it out silently, ``"keras_rule"`` includes
            it with Keras' rule and a warning.

    Returns:
        A list of `KernelView`, in the order of ``layer.weights``.

    Raises:
        ValueError: If ``unknown`` is not one of `UNKNOWN_POLICIES`.
    """
    if unknown not in UNKNOWN_POLICIES:
        raise ValueError(
            f"`unknown` must be one of {UNKNOWN_POLICIES}. Received: unknown={unknown!r}"
        )
    views, strangers = [], []
    for variable in own_weights(layer):
        if not _is_kernel_like(variable):
            continue
        name = _short_name(variable)
        view = known_view(layer, name, tuple(variable.shape))
        if view is None and _named_like_a_kernel(name):
            strangers.append(variable)
            if unknown == "keras_rule":
                view = dataclasses.replace(
                    shapes.matrix_view(tuple(variable.shape)), kind="unknown"
                )
        if view is not None:
            views.append(KernelView(layer, variable, name, view))
    if strangers and unknown != "ignore":
        action = "uses Keras' rule (last axis = units)" if unknown == "keras_rule" else "is left as it is"
        names = ", ".join(f"{_short_name(v)} {tuple(v.shape)}" for v in strangers)
        warnings.warn(
            f"Layer {layer.name!r} ({type(layer).__name__}) is not a layer type "
            f"keras_detinit knows; {names} {action}.",
            stacklevel=2,
        )
    return views


def known_view(layer: keras.layers.Layer, weight: str, shape: tuple[int, ...]):
    """The matrix view of a named weight of a known layer type.

    Args:
        layer: The layer.
        weight: The weight's name (``"kernel"``, ``"embeddings"``, ...).
        shape: The weight's shape.

    Returns:
        A `keras_detinit.shapes.MatrixView`, or None if the layer type or
        the weight is not known.
    """
    layers = keras.layers
    rank = len(shape)
    spatial = tuple(range(rank - 2))
    if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)):
        if weight == "kernel":
            return shapes.layout_view(
                shape, unit_axes=[rank - 2], input_axes=[rank - 1],
                spatial_axes=spatial, kind="conv_transpose",
            )
        return None
    if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)) or (
        isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D))
        and weight == "depthwise_kernel"
    ):
        if weight in ("kernel", "depthwise_kernel"):
            return shapes.layout_view(
                shape, unit_axes=[rank - 1], input_axes=[],
                spatial_axes=spatial, group_axes=[rank - 2], kind="depthwise",
            )
        return None
    conv_types = (layers.Conv1D, layers.Conv2D, layers.Conv3D, layers.SeparableConv1D, layers.SeparableConv2D)
    if isinstance(layer, conv_types) and weight in ("kernel", "pointwise_kernel"):
        return _with_kind(shapes.matrix_view(shape), "conv")
    if isinstance(layer, layers.EinsumDense) and weight == "kernel":
        input_axes, output_axes = einsum_axes(layer.equation)
        return _with_kind(shapes.matrix_view(shape, input_axes, output_axes), "einsum")
    if isinstance(layer, layers.Dense) and weight == "kernel":
        return _with_kind(shapes.matrix_view(shape), "dense")
    if isinstance(layer, layers.Embedding) and weight == "embeddings":
        return shapes.layout_view(shape, unit_axes=[0], input_axes=[1], kind="embedding")
    if isinstance(layer, layers.Embedding) and weight == "reverse_embeddings":
        # An untied output projection (dim -> vocabulary logits), as Dense.
        return _with_kind(shapes.matrix_view(shape), "dense")
    gates = _gates(layer)
    if gates and weight in ("kernel", "recurrent_kernel"):
        return shapes.layout_view(
            shape, unit_axes=[1], input_axes=[0], blocks=gates, kind="recurrent"
        )
    return None


def einsum_axes(equation: str) -> tuple[list[int], list[int]]:
    """Input and output axes of an ``EinsumDense`` kernel, from its equation.

    A kernel axis whose letter appears in the output holds units; any
    other is summed over, so it is fan-in (Keras 3.15 derives the same).

    Args:
        equation: E.g. ``"abc,cde->abde"``.

    Returns:
        ``(input_axes, output_axes)``.

    Example:

    >>> einsum_axes("abc,cde->abde")     # a query projection
    ([0], [1, 2])
    >>> einsum_axes("abcd,cde->abe")     # an attention output projection
    ([0, 1], [2])
    """
    try:
        operands, output = equation.split("->")
        _, kernel = operands.split(",")
    except ValueError:
        raise ValueError(
            "`equation` must have the form 'input,kernel->output'. "
            f"Received: equation={equation!r}"
        ) from None
    letters = kernel.strip().replace(".", "")
    output_axes = [axis for axis, letter in enumerate(letters) if letter in output]
    input_axes = [axis for axis, letter in enumerate(letters) if letter not in output]
    return input_axes, output_axes


def own_weights(layer: keras.layers.Layer) -> list:
    """The layer's weights that no sublayer holds.

    Args:
        layer: A Keras layer.

    Returns:
        The weights, in the order of ``layer.weights``.
    """
    held = {id(w) for child in sublayers(layer) for w in child.weights}
    return [w for w in layer.weights if id(w) not in held]


def sublayers(layer: keras.layers.Layer) -> list:
    """The layer's direct sublayers (Keras tracks them as it builds)."""
    return list(layer._flatten_layers(include_self=False, recursive=False))


def _gates(layer) -> int:
    cells = (
        (keras.layers.LSTMCell, 4),
        (keras.layers.GRUCell, 3),
        (keras.layers.SimpleRNNCell, 1),
    )
    return next((gates for cls, gates in cells if isinstance(layer, cls)), 0)


def _with_kind(view: shapes.MatrixView, kind: str) -> shapes.MatrixView:
    return dataclasses.replace(view, kind=kind)


def _short_name(variable) -> str:
    return variable.path.rsplit("/", 1)[-1]


def _is_kernel_like(variable) -> bool:
    dtype = keras.backend.standardize_dtype(variable.dtype)
    return len(variable.shape) >= 2 and keras.backend.is_float_dtype(dtype)


def _named_like_a_kernel(name: str) -> bool:
    return any(word in name.lower() for word in _KERNEL_WORDS)
