"""Pre-activations of chosen layers of a Sequential or functional model.

The diagnostics need each layer's *pre-activation*: what the layer computes
before its ``activation``. A probe model, built once from the model's graph,
returns the inputs of the chosen layers; each layer is then applied to its
input with its ``activation`` attribute set to linear for that call only.
This serves every layer that applies ``activation`` last (all Keras Dense,
EinsumDense and convolution layers), bias included; a layer without an
``activation`` attribute contributes its plain output.

Only top-level layers of a model with a graph (Sequential or functional)
can be probed; a subclassed model has no graph to read, and the error says
what to do.

Example:

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((4,)),
...                           keras.layers.Dense(3, activation="relu", name="hidden")])
>>> probe = PreActivationProbe(model)
>>> {name: z.shape for name, z in probe(np.ones((5, 4))).items()}
{'hidden': (5, 3)}
"""

from __future__ import annotations

import contextlib
from typing import Sequence

import keras
import numpy as np
from keras import ops
from keras import tree


def has_kernel(layer) -> bool:
    """Whether a layer holds a weight kernel of >= 2 axes (Dense, Conv, ...)."""
    try:
        kernel = getattr(layer, "kernel", None)
    except (AttributeError, ValueError):
        return False
    return kernel is not None and len(kernel.shape) >= 2


def select_layers(model: keras.Model, layers: Sequence | None = None) -> list:
    """The model's layers to probe.

    Args:
        model: A Sequential or functional model.
        layers: None for every top-level layer with a kernel (Dense, Conv,
            ...), or a sequence of layer names and/or layer objects.

    Returns:
        The layers, in the model's order when ``layers`` is None, else in
        the given order.

    Raises:
        ValueError: If a name or layer is not a top-level layer of the
            model, or nothing is selected.
    """
    if layers is None:
        chosen = [layer for layer in model.layers if has_kernel(layer)]
    else:
        by_name = {layer.name: layer for layer in model.layers}
        chosen = []
        for item in layers:
            name = item if isinstance(item, str) else getattr(item, "name", None)
            if name not in by_name or not (isinstance(item, str) or by_name[name] is item):
                raise ValueError(
                    f"`layers` names {item!r}, which is not a top-level layer of "
                    f"model {model.name!r}. Its layers: {sorted(by_name)}"
                )
            chosen.append(by_name[name])
    if not chosen:
        raise ValueError(
            f"No layer of model {model.name!r} to probe: it has no top-level "
            "layer with a kernel. Name the layers with `layers=[...]`."
        )
    return chosen


def graph_inputs(model: keras.Model, sample_input=None):
    """The symbolic inputs of a Sequential or functional model.

    A Sequential model defined without ``keras.Input`` is built first from
    ``sample_input``'s shape (what its first call would do).

    Raises:
        TypeError: If the model has no graph (a subclassed model).
        ValueError: For an unbuilt Sequential model and no ``sample_input``.
    """
    if isinstance(model, keras.Sequential):
        try:
            return model.inputs
        except (AttributeError, ValueError):
            if sample_input is None:
                raise ValueError(
                    f"Sequential model {model.name!r} has no inputs yet: start "
                    "it with `keras.Input(shape)`, build it, or pass a sample "
                    "input batch."
                ) from None
        model.build(tree.map_structure(lambda x: (None,) + tuple(np.shape(x)[1:]), sample_input))
        return model.inputs
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise TypeError(
            f"Cannot probe model {model.name!r} of class "
            f"{type(model).__name__}: the layer diagnostics read each layer's "
            "input from the model's graph, which only Sequential and "
            "functional models have. Build the same layers as a functional "
            "model (`inputs = keras.Input(shape); outputs = ...; "
            "keras.Model(inputs, outputs)`) or a Sequential starting with "
            "`keras.Input`, or return the pre-activations from `call()` and "
            "pass them to `keras_detinit.diagnostics` functions yourself."
        )
    return inputs


class PreActivationProbe:
    """Computes the pre-activations of chosen layers for a batch.

    Args:
        model: A Sequential or functional model.
        layers: Layers to probe (see `select_layers`); default: every
            top-level layer with a kernel.
        sample_input: An input batch; needed only to build a Sequential
            model defined without ``keras.Input``.

    Raises:
        TypeError: For a model without a graph (e.g. subclassed).
        ValueError: For unknown layers.
    """

    def __init__(self, model: keras.Model, layers: Sequence | None = None, sample_input=None):
        inputs = graph_inputs(model, sample_input)
        self.layers = select_layers(model, layers)
        self._model = keras.Model(inputs, [layer.input for layer in self.layers])

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def __call__(self, x) -> dict[str, np.ndarray]:
        """Pre-activations of every probed layer, as NumPy arrays by name."""
        x = tree.map_structure(ops.convert_to_tensor, x)
        layer_inputs = self._model(x, training=False)
        if not isinstance(layer_inputs, (list, tuple)):
            layer_inputs = [layer_inputs]
        return {
            layer.name: ops.convert_to_numpy(pre_activation(layer, inputs))
            for layer, inputs in zip(self.layers, layer_inputs)
        }


def pre_activation(layer, inputs):
    """Apply ``layer`` to ``inputs`` without its activation (inference mode)."""
    with _linear_activation(layer):
        return layer(inputs, training=False)


@contextlib.contextmanager
def _linear_activation(layer):
    # Layers apply `self.activation` last, so swapping it for one call is
    # the one way to reach the pre-activation of any of them, bias included.
    if not hasattr(layer, "activation"):
        yield
        return
    activation = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield
    finally:
        layer.activation = activation
