"""Re-draw the kernels of any built Keras model, in place (`reinitialize`).

Many models fix their initializers in code (keras-hub backbones among
them), so ``kernel_initializer="sinusoidal"`` cannot be passed. `reinitialize`
walks a built model instead — Sequential, functional, subclassed, nested —
and writes every kernel it knows with the layer-aware view of
`keras_detinit.layer_view`, so that each scheme sees the true units and
fan-in of attention, einsum, depthwise, transposed, recurrent and embedding
kernels.

**Projections.** Inside one layer that is not a model (an attention layer,
a transformer block), kernels of the same name and shape are numbered in
the order Keras tracks them: the query, key and value kernels of
``MultiHeadAttention`` are projections 0, 1 and 2. Our schemes give
projection ``p`` its inputs shifted cyclically (see
`keras_detinit.initializers.MatrixInitializer`), so deterministic schemes
no longer give them identical matrices. Gates of a recurrent kernel are
numbered the same way.

Example:

>>> import keras
>>> inputs = keras.Input((10, 32))
>>> outputs = keras.layers.MultiHeadAttention(4, 8)(inputs, inputs)
>>> model = keras.Model(inputs, outputs)
>>> done = reinitialize(model, "sinusoidal")
>>> [(r.weight.split("/")[-2], r.units, r.fan_in, r.projection) for r in done]
[('query', 32, 32, 0), ('key', 32, 32, 1), ('value', 32, 32, 2), ('attention_output', 32, 32, 0)]
"""

from __future__ import annotations

import dataclasses
from typing import Callable
from typing import Iterable

import keras

from keras_detinit import layer_view
from keras_detinit import models
from keras_detinit.initializers.matrix import MatrixInitializer


@dataclasses.dataclass(frozen=True)
class Reinitialized:
    """One weight that `reinitialize` set.

    Attributes:
        layer: The owning layer's name.
        weight: The weight's path, e.g. ``"encoder/query/kernel"``.
        shape: The weight's shape.
        kind: The layout (``"dense"``, ``"einsum"``, ``"recurrent"``, ...,
            ``"bias"``).
        units: ``m``, units per block (0 for a bias).
        fan_in: ``n``, the fan-in of each unit (0 for a bias).
        blocks: Number of blocks (gates).
        groups: Number of independent copies (depthwise channels).
        projection: Index among same-shaped kernels of the parent layer.
    """

    layer: str
    weight: str
    shape: tuple[int, ...]
    kind: str
    units: int
    fan_in: int
    blocks: int = 1
    groups: int = 1
    projection: int = 0


def reinitialize(
    model: keras.layers.Layer,
    initializer,
    *,
    layers: Iterable | Callable | None = None,
    bias_initializer=None,
    unknown: str = "warn",
) -> list[Reinitialized]:
    """Re-draw, in place, the kernels of a built model.

    Args:
        model: A built Keras model or layer.
        initializer: A name (``"sinusoidal"``), an instance, or anything
            ``keras.initializers.get`` accepts. This package's initializers
            get the layer-aware matrix view; any other initializer is
            called with the kernel's shape, as a layer would call it.
        layers: None for every layer; else layer names or layer objects
            (a layer selects its sublayers too), or a predicate, asked
            about every layer that holds weights itself.
        bias_initializer: None (default) leaves biases as they are; else
            an initializer for the ``bias`` of every layer whose kernel is
            set.
        unknown: What to do with kernel-like weights of layers this package
            does not know: ``"warn"`` (default; leave them, with a warning),
            ``"ignore"``, or ``"keras_rule"`` (re-draw them with Keras'
            rule, with a warning).

    Returns:
        A `Reinitialized` record per weight set, in traversal order.

    Raises:
        ValueError: If the model is not built, a layer name is unknown, or
            the scheme has no meaning for one of the kernels (the message
            names the layer); nothing is written in that case.
    """
    if not model.built:
        raise ValueError(
            f"`model` must be built (call it on data or `model.build(...)`) "
            f"before its weights can be re-drawn. Received: unbuilt {model.name!r}"
        )
    initializer = keras.initializers.get(initializer)
    bias_initializer = None if bias_initializer is None else keras.initializers.get(bias_initializer)
    selected = _selector(model, layers)
    views = [v for v in _walk(model, selected, False, unknown) if v is not None]
    if isinstance(initializer, MatrixInitializer):
        for kernel in views:  # every check before the first write
            _check(initializer, kernel)
    records = [_write_kernel(initializer, kernel) for kernel in views]
    if bias_initializer is not None:
        owners = {id(kernel.layer): kernel.layer for kernel in views}
        for layer in owners.values():
            records.extend(_write_bias(bias_initializer, layer))
    return records


def _walk(layer, selected, chosen: bool, unknown: str):
    """Yield the `KernelView`s of ``layer`` and its sublayers, numbered."""
    if chosen or selected(layer):
        yield from layer_view.kernel_views(layer, unknown)
    # Names and layer objects select whole subtrees; a predicate does not.
    chosen = chosen or (selected.subtree and selected(layer))
    children = layer_view.sublayers(layer)
    numbered = not isinstance(layer, keras.Model)
    counts: dict = {}
    for child in children:
        for kernel in _walk(child, selected, chosen, unknown):
            if numbered and kernel.layer is child:
                key = (kernel.weight, kernel.view.kernel_shape)
                projection = counts.get(key, 0)
                counts[key] = projection + 1
                kernel = dataclasses.replace(kernel, projection=projection)
            yield kernel


class _Selector:
    def __init__(self, test: Callable, subtree: bool):
        self.test, self.subtree = test, subtree

    def __call__(self, layer) -> bool:
        return bool(self.test(layer))


def _selector(model, layers) -> _Selector:
    if layers is None:
        return _Selector(lambda layer: True, subtree=True)
    if callable(layers):
        return _Selector(layers, subtree=False)
    wanted = list(layers)
    everything = list(model._flatten_layers(include_self=True, recursive=True))
    names = {layer.name for layer in everything}
    missing = [w for w in wanted if isinstance(w, str) and w not in names]
    if missing:
        raise ValueError(
            f"`layers` names layers that are not in the model: {missing}. "
            f"The model has: {sorted(names)}"
        )
    ids = {id(w) for w in wanted if not isinstance(w, str)}
    return _Selector(lambda layer: layer.name in wanted or id(layer) in ids, subtree=True)


def _check(initializer: MatrixInitializer, kernel: layer_view.KernelView) -> None:
    try:
        initializer.check_view(kernel.view)
    except ValueError as error:
        raise ValueError(
            f"Layer {kernel.layer.name!r} ({type(kernel.layer).__name__}), weight "
            f"{kernel.weight!r}: {error}"
        ) from None


def _write_kernel(initializer, kernel: layer_view.KernelView) -> Reinitialized:
    variable, view = kernel.variable, kernel.view
    # A copy per kernel, as each layer gets one: a shared unseeded random
    # initializer would repeat its draw for kernels of equal shape.
    initializer = models.layer_copy(initializer)
    if isinstance(initializer, MatrixInitializer):
        values = initializer.kernel(view, variable.dtype, kernel.projection)
    else:
        values = initializer(view.kernel_shape, dtype=variable.dtype)
    variable.assign(values)
    return Reinitialized(
        layer=kernel.layer.name,
        weight=variable.path,
        shape=view.kernel_shape,
        kind=view.kind,
        units=view.rows,
        fan_in=view.cols,
        blocks=view.blocks,
        groups=view.groups,
        projection=kernel.projection,
    )


def _write_bias(initializer, layer) -> list[Reinitialized]:
    records = []
    for variable in layer_view.own_weights(layer):
        if variable.path.rsplit("/", 1)[-1] == "bias":
            shape = tuple(variable.shape)
            variable.assign(initializer(shape, dtype=variable.dtype))
            records.append(Reinitialized(layer.name, variable.path, shape, "bias", 0, 0))
    return records
