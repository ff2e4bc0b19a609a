"""Several FFNN runs of one grid trained as one stacked program.

The runs of a grid that differ only in their initializer (one
architecture, activation, dataset and seed, so one batch order) are
independent networks trained on the same batches. Stacked along a leading
member axis (each layer's kernel ``(members, fan_in, units)``, in one
`StackedFFNN` layer), they become one Keras model whose loss is the sum of
the members' losses. Its gradient
with respect to a member's weights is that member's own gradient, and
Adam updates each weight element by element, so each member follows the
trajectory of its own run, up to float rounding of the batched matmuls.
Per-layer work and framework overhead are then paid once per step for all
members, which is what costs most on the papers' tiny, deep layers.

The members start from exactly the weights their single runs would draw:
each is built as `keras_detinit.models.build_ffnn` after
``keras.utils.set_random_seed(seed)`` and copied into its slot.

Example:

>>> import numpy as np
>>> from keras_detinit import models
>>> stacked = build_stacked_ffnn((4,), [3], 2, "relu", members=2)
>>> fresh = [models.build_ffnn((4,), [3], 2, kernel_initializer=name)
...          for name in ("ones", "zeros")]
>>> load_members(stacked, fresh)
>>> logits = keras.ops.convert_to_numpy(stacked(np.ones((1, 4), "float32")))
>>> logits.shape, logits[0, 0].tolist(), logits[0, 1].tolist()
((1, 2, 2), [12.0, 12.0], [0.0, 0.0])
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import protocol as protocols
from keras_detinit import validation


@keras.saving.register_keras_serializable(package="keras_detinit")
class StackedFFNN(keras.layers.Layer):
    """``members`` independent FFNNs evaluated as one layer.

    Layer ``l`` of member ``m`` computes ``activation(x) @ kernel + bias``
    (no activation before the first layer) with its own kernel and bias.
    The whole network is one Keras layer, and the kernels of all layers of
    one shape can be one variable ``(layers, members, fan_in, units)``
    (their biases one ``(layers, members, 1, units)``): on PyTorch, which
    runs eagerly, every Keras layer call and every variable the optimizer
    updates costs more than the arithmetic of these tiny layers, and
    TensorFlow traces the 120-layer 10/6 network of Table 2 with six
    members in 1.6 s instead of 12 s with six variables instead of 242.
    XLA compiles the sliced groups' gradients more slowly (6.3 s against
    2.5 s for that first step), so JAX keeps one variable per layer.

    Input ``(batch, *input_shape)``, shared by every member; output the
    logits ``(batch, members, num_classes)``.

    Args:
        members: Number of stacked networks, >= 1.
        hidden_units: Widths of the hidden layers (may be empty), each >= 1.
        num_classes: Output units of each member, >= 1.
        activation: Activation of every hidden layer.
        group_by_shape: One variable per layer shape (True) or per layer
            (False); None: grouped on every backend but JAX.

    Example:

    >>> layer = StackedFFNN(members=3, hidden_units=[5, 4, 5, 4], num_classes=2,
    ...                     activation="relu", group_by_shape=True)
    >>> tuple(layer(np.ones((7, 6), "float32")).shape)
    (7, 3, 2)
    >>> [tuple(group.shape) for group in layer.kernel_groups]
    [(1, 3, 6, 5), (2, 3, 5, 4), (1, 3, 4, 5), (1, 3, 4, 2)]
    >>> layer.slots  # (group, position) of each layer, input to output
    [(0, 0), (1, 0), (2, 0), (1, 1), (3, 0)]
    """

    def __init__(self, members: int, hidden_units: Sequence[int], num_classes: int,
                 activation=None, group_by_shape: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        if group_by_shape not in (None, True, False):
            raise ValueError("`group_by_shape` must be True, False or None (every backend "
                             f"but JAX). Received: group_by_shape={group_by_shape!r}")
        self.group_by_shape = group_by_shape
        self.members = validation.check_int("members", members, low=1)
        self.hidden_units = [validation.check_int("hidden_units", units, low=1)
                             for units in hidden_units]
        self.num_classes = validation.check_int("num_classes", num_classes, low=1)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        widths = [int(np.prod(input_shape[1:])), *self.hidden_units, self.num_classes]
        shapes = list(zip(widths[:-1], widths[1:]))
        grouped = (keras.backend.backend() != "jax" if self.group_by_shape is None
                   else self.group_by_shape)
        # A group's key: the layer's shape, or the layer itself.
        keys = shapes if grouped else list(enumerate(shapes))
        distinct = list(dict.fromkeys(keys))
        self.slots = [(distinct.index(key), keys[:index].count(key))
                      for index, key in enumerate(keys)]
        self.kernel_groups, self.bias_groups = [], []
        for key in distinct:
            (fan_in, units), count = (key if grouped else key[1]), keys.count(key)
            name = f"{fan_in}x{units}" if grouped else str(key[0])
            self.kernel_groups.append(self.add_weight(
                shape=(count, self.members, fan_in, units), initializer="zeros",
                name=f"kernels_{name}"))
            self.bias_groups.append(self.add_weight(
                shape=(count, self.members, 1, units), initializer="zeros",
                name=f"biases_{name}"))

    def call(self, inputs):
        inputs = keras.ops.reshape(inputs, (keras.ops.shape(inputs)[0], -1))
        if keras.backend.backend() == "torch":
            import torch  # only on the torch backend

            # One fused op per layer instead of a matmul and an add: eager
            # PyTorch pays per op, forward and backward.
            layers = self._layer_weights(lambda group: torch.unbind(group.value))
            affine = lambda x, kernel, bias: torch.baddbmm(bias, x, kernel)  # noqa: E731
        else:
            layers = self._layer_weights(lambda group: keras.ops.unstack(group.value, axis=0))
            affine = lambda x, kernel, bias: keras.ops.matmul(x, kernel) + bias  # noqa: E731
        (kernel, bias), *deeper = layers
        hidden = self._first_layer(inputs, kernel, bias)
        for kernel, bias in deeper:
            hidden = affine(self.activation(hidden), kernel, bias)
        return keras.ops.transpose(hidden, (1, 0, 2))

    def _first_layer(self, inputs, kernel, bias):
        """``(batch, fan_in)`` -> ``(members, batch, units)``, as one matmul.

        The members share the input, so their kernels side by side,
        ``(fan_in, members * units)``, take it in one product, where a
        batched matmul would copy the input once per member.
        """
        fan_in, units = kernel.shape[-2:]
        side_by_side = keras.ops.reshape(keras.ops.transpose(kernel, (1, 0, 2)),
                                         (fan_in, self.members * units))
        hidden = keras.ops.reshape(keras.ops.matmul(inputs, side_by_side),
                                   (-1, self.members, units))
        return keras.ops.transpose(hidden, (1, 0, 2)) + bias

    def _layer_weights(self, unstack) -> list:
        """Per layer, input to output, its ``(kernel, bias)`` unstacked from the groups."""
        kernels = [unstack(group) for group in self.kernel_groups]
        biases = [unstack(group) for group in self.bias_groups]
        return [(kernels[group][position], biases[group][position])
                for group, position in self.slots]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.members, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "members": self.members,
                "hidden_units": list(self.hidden_units), "num_classes": self.num_classes,
                "activation": keras.activations.serialize(self.activation),
                "group_by_shape": self.group_by_shape}


def build_stacked_ffnn(input_shape: Sequence[int], hidden_units: Sequence[int],
                       num_classes: int, activation: str, members: int) -> keras.Model:
    """``members`` FFNNs of `keras_detinit.models.build_ffnn`'s architecture as one model.

    Returns:
        A model from ``(batch, *input_shape)`` to logits
        ``(batch, members, num_classes)``; every weight zero until
        `load_members`.
    """
    inputs = keras.Input(tuple(input_shape))
    network = StackedFFNN(members, hidden_units, num_classes, activation)
    return keras.Model(inputs, network(inputs))


def load_members(stacked: keras.Model, fresh: Sequence[keras.Model]) -> None:
    """Copy each fresh model's Dense weights into its member slot of ``stacked``.

    Raises:
        ValueError: If the number of models or their layer shapes do not
            match the stacked model.
    """
    network = next(layer for layer in stacked.layers if isinstance(layer, StackedFFNN))
    if len(fresh) != network.members:
        raise ValueError(f"`fresh` must hold {network.members} models, one per member. "
                         f"Received: {len(fresh)} models")
    per_model = [[layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
                 for model in fresh]
    if any(len(dense) != len(network.slots) for dense in per_model):
        raise ValueError(f"Each fresh model must have {len(network.slots)} Dense layers. "
                         f"Received: {[len(dense) for dense in per_model]}")
    kernels = [np.zeros(group.shape, "float32") for group in network.kernel_groups]
    biases = [np.zeros(group.shape, "float32") for group in network.bias_groups]
    for index, (group, position) in enumerate(network.slots):
        kernel = np.stack([keras.ops.convert_to_numpy(dense[index].kernel) for dense in per_model])
        if kernel.shape != kernels[group].shape[1:]:
            raise ValueError(f"Layer {index}: the fresh models' kernels stack to "
                             f"{kernel.shape}, the stacked model's is {kernels[group].shape[1:]}.")
        kernels[group][position] = kernel
        biases[group][position] = np.stack(
            [keras.ops.convert_to_numpy(dense[index].bias) for dense in per_model])[:, None, :]
    for variable, value in zip(network.kernel_groups + network.bias_groups, kernels + biases):
        variable.assign(value)


def stacked_cross_entropy(y_true, y_pred):
    """Per example, the sum over members of each member's cross-entropy from logits."""
    return keras.ops.sum(_member_cross_entropies(y_true, y_pred), axis=1)


def _member_cross_entropies(y_true, y_pred):
    """``(batch, members)`` cross-entropies of the logits ``(batch, members, classes)``."""
    # Flat (batch * members, classes) rows: PyTorch's cross-entropy over a
    # middle axis is several times slower than over rows.
    rows = keras.ops.reshape(y_pred, (-1, keras.ops.shape(y_pred)[-1]))
    labels = keras.ops.reshape(_member_labels(y_true, y_pred), (-1,))
    losses = keras.losses.sparse_categorical_crossentropy(labels, rows, from_logits=True)
    return keras.ops.reshape(losses, keras.ops.shape(y_pred)[:2])


def _member_labels(y_true, y_pred):
    """The labels ``(batch,)`` broadcast to every member: ``(batch, members)``."""
    labels = keras.ops.cast(keras.ops.reshape(y_true, (-1, 1)), "int32")
    return keras.ops.broadcast_to(labels, keras.ops.shape(y_pred)[:2])


class MemberMetrics(keras.metrics.Metric):
    """Each member's mean cross-entropy and accuracy, in one metric.

    The logs hold ``member<i>_loss`` and ``member<i>_accuracy`` for every
    member ``i``: the ``loss`` and ``accuracy`` its single run would log.
    One update per step for all members, where a metric per member would
    cost a Keras metric update each.

    Args:
        members: Number of stacked networks, >= 1.
        name: The metric's name.

    Example:

    >>> metric = MemberMetrics(2)
    >>> logits = np.array([[[2.0, 0.0], [0.0, 2.0]]], "float32")  # (batch, members, classes)
    >>> metric.update_state(np.array([0]), logits)
    >>> {key: round(float(value), 4) for key, value in metric.result().items()}
    {'member0_loss': 0.1269, 'member0_accuracy': 1.0, 'member1_loss': 2.1269, 'member1_accuracy': 0.0}
    """

    def __init__(self, members: int, name: str = "members", **kwargs):
        super().__init__(name=name, **kwargs)
        self.members = validation.check_int("members", members, low=1)
        self.loss_sum = self.add_variable(shape=(self.members,), initializer="zeros",
                                          name="loss_sum")
        self.correct = self.add_variable(shape=(self.members,), initializer="zeros",
                                         name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("MemberMetrics does not weight samples. Received: a sample_weight")
        losses = _member_cross_entropies(y_true, y_pred)
        hits = keras.ops.equal(keras.ops.argmax(y_pred, axis=-1), _member_labels(y_true, y_pred))
        self.loss_sum.assign_add(keras.ops.sum(losses, axis=0))
        self.correct.assign_add(keras.ops.sum(keras.ops.cast(hits, self.dtype), axis=0))
        self.count.assign_add(keras.ops.cast(keras.ops.shape(y_pred)[0], self.dtype))

    def result(self):
        count = keras.ops.maximum(self.count, 1.0)  # before any update: zeros, not NaN
        losses, accuracies = self.loss_sum / count, self.correct / count
        logs = {}
        for member in range(self.members):
            logs[f"member{member}_loss"] = losses[member]
            logs[f"member{member}_accuracy"] = accuracies[member]
        return logs

    def get_config(self):
        return {"members": self.members, "name": self.name, "dtype": self.dtype}


def compile_stacked(model: keras.Model, protocol: protocols.TrainingProtocol,
                    members: int) -> keras.Model:
    """Compile ``model`` with the protocol's optimizer and the members' summed loss."""
    if protocol.loss != "sparse_categorical_crossentropy" or not protocol.from_logits:
        raise ValueError("Stacked training implements the cross-entropy from logits only. "
                         f"Received: loss={protocol.loss!r}, from_logits={protocol.from_logits}")
    model.compile(optimizer=protocol.make_optimizer(), loss=stacked_cross_entropy,
                  metrics=[MemberMetrics(members)])
    return model


def train_members(data: datasets.Dataset, hidden_units: Sequence[int], activation: str,
                  initializers: Sequence, epochs: int, seed: int,
                  learning_rate: float = 1e-3,
                  protocol: protocols.TrainingProtocol = protocols.PAPER_PROTOCOL,
                  pool=None) -> list[dict[str, list[float]]]:
    """Train one FFNN per initializer, stacked, on the seed's batch order.

    Each member gives the history of
    `keras_detinit.reproduce.training.train_classifier` with its
    initializer and the same arguments.

    Args:
        data: Training and validation parts.
        hidden_units: Widths of the hidden layers (may be empty).
        activation: Hidden-layer activation.
        initializers: One kernel initializer per member (>= 1).
        epochs: Number of epochs, >= 1.
        seed: Seed of every member's weights and of the batch order.
        learning_rate: The optimizer's learning rate.
        protocol: The rest of the training protocol.
        pool: A `keras_detinit.reproduce.training.ModelPool` to reuse the
            compiled stacked model from; None builds one.

    Returns:
        Per member, ``{"loss": [...], "val_accuracy": [...]}``.
    """
    if not initializers:
        raise ValueError("`initializers` must name at least one member. Received: []")
    run_protocol = protocol.replace(epochs=epochs, learning_rate=learning_rate)
    input_shape = tuple(data.train.x.shape[1:])
    fresh = []
    for initializer in initializers:
        keras.utils.set_random_seed(seed)  # the weights of the member's single run
        fresh.append(models.build_ffnn(input_shape, tuple(hidden_units), data.num_classes,
                                       activation, initializer))
    members = len(fresh)
    architecture = ("stacked-ffnn", input_shape, tuple(hidden_units), data.num_classes,
                    activation, members)
    if pool is None:
        model = compile_stacked(build_stacked_ffnn(*architecture[1:]), run_protocol, members)
    else:
        model = pool.compiled(architecture, lambda: build_stacked_ffnn(*architecture[1:]),
                              run_protocol,
                              compile=lambda built: compile_stacked(built, run_protocol, members))
    load_members(model, fresh)
    history = protocols.train(model, data, run_protocol, data_order_seed=seed)
    return [{"loss": history[f"member{member}_loss"],
             "val_accuracy": history[f"val_member{member}_accuracy"]}
            for member in range(members)]
