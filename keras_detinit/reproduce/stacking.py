"""Several FFNN runs of one grid trained as one stacked program.

The runs of a grid that differ only in their initializer (one
architecture, activation, dataset and seed, so one batch order) are
independent networks trained on the same batches. Stacked along a leading
member axis (every kernel ``(members, fan_in, units)``), they become one
Keras model whose loss is the sum of the members' losses. Its gradient
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
class StackedDense(keras.layers.Layer):
    """``members`` independent Dense layers evaluated as one.

    Input ``(batch, fan_in)`` (shared by every member, the first layer) or
    ``(members, batch, fan_in)``; output ``(members, batch, units)``.

    Args:
        members: Number of stacked networks, >= 1.
        units: Units of each member's layer, >= 1.
        activation: Activation of each member's layer.
    """

    def __init__(self, members: int, units: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.members = validation.check_int("members", members, low=1)
        self.units = validation.check_int("units", units, low=1)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(self.members, input_shape[-1], self.units),
                                      initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.members, self.units), initializer="zeros",
                                    name="bias")

    def call(self, inputs):
        if len(inputs.shape) == 2:
            outputs = keras.ops.einsum("bi,mio->mbo", inputs, self.kernel)
        else:
            outputs = keras.ops.matmul(inputs, self.kernel)
        return self.activation(outputs + self.bias[:, None, :])

    def compute_output_shape(self, input_shape):
        return (self.members, input_shape[-2] if len(input_shape) == 3 else input_shape[0],
                self.units)

    def get_config(self):
        return {**super().get_config(), "members": self.members, "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


def build_stacked_ffnn(input_shape: Sequence[int], hidden_units: Sequence[int],
                       num_classes: int, activation: str, members: int) -> keras.Model:
    """``members`` FFNNs of `keras_detinit.models.build_ffnn`'s architecture as one model.

    Returns:
        A model from ``(batch, *input_shape)`` to logits
        ``(batch, members, num_classes)``; every weight zero until
        `load_members`.
    """
    inputs = keras.Input(tuple(input_shape))
    hidden = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        hidden = StackedDense(members, units, activation)(hidden)
    logits = StackedDense(members, num_classes)(hidden)
    return keras.Model(inputs, keras.ops.transpose(logits, (1, 0, 2)))


def load_members(stacked: keras.Model, fresh: Sequence[keras.Model]) -> None:
    """Copy each fresh model's Dense weights into its member slot of ``stacked``.

    Raises:
        ValueError: If the number of models or their layer shapes do not
            match the stacked model.
    """
    layers = [layer for layer in stacked.layers if isinstance(layer, StackedDense)]
    if len(fresh) != layers[0].members:
        raise ValueError(f"`fresh` must hold {layers[0].members} models, one per member. "
                         f"Received: {len(fresh)} models")
    per_model = [[layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
                 for model in fresh]
    for index, layer in enumerate(layers):
        kernels = np.stack([keras.ops.convert_to_numpy(dense[index].kernel) for dense in per_model])
        biases = np.stack([keras.ops.convert_to_numpy(dense[index].bias) for dense in per_model])
        if kernels.shape != tuple(layer.kernel.shape):
            raise ValueError(f"Layer {index}: the fresh models' kernels stack to "
                             f"{kernels.shape}, the stacked model's is {tuple(layer.kernel.shape)}.")
        layer.kernel.assign(kernels)
        layer.bias.assign(biases)


def stacked_cross_entropy(y_true, y_pred):
    """Per example, the sum over members of each member's cross-entropy from logits."""
    return keras.ops.sum(_member_cross_entropies(y_true, y_pred), axis=1)


def _member_cross_entropies(y_true, y_pred):
    labels = keras.ops.cast(keras.ops.reshape(y_true, (-1, 1)), "int32")
    labels = keras.ops.broadcast_to(labels, keras.ops.shape(y_pred)[:2])
    return keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True)


def member_metrics(members: int) -> list:
    """Each member's cross-entropy and accuracy, named ``member<i>_loss`` / ``_accuracy``."""
    metrics = []
    for member in range(members):
        metrics.append(keras.metrics.MeanMetricWrapper(
            _MemberLoss(member), name=f"member{member}_loss"))
        metrics.append(keras.metrics.MeanMetricWrapper(
            _MemberAccuracy(member), name=f"member{member}_accuracy"))
    return metrics


class _MemberLoss:
    def __init__(self, member: int):
        self.member = member

    def __call__(self, y_true, y_pred):
        return keras.losses.sparse_categorical_crossentropy(
            y_true, y_pred[:, self.member], from_logits=True)


class _MemberAccuracy(_MemberLoss):
    def __call__(self, y_true, y_pred):
        return keras.metrics.sparse_categorical_accuracy(y_true, y_pred[:, self.member])


def compile_stacked(model: keras.Model, protocol: protocols.TrainingProtocol,
                    members: int) -> keras.Model:
    """Compile ``model`` with the protocol's optimizer and the members' summed loss."""
    if protocol.loss != "sparse_categorical_crossentropy" or not protocol.from_logits:
        raise ValueError("Stacked training implements the cross-entropy from logits only. "
                         f"Received: loss={protocol.loss!r}, from_logits={protocol.from_logits}")
    model.compile(optimizer=protocol.make_optimizer(), loss=stacked_cross_entropy,
                  metrics=member_metrics(members))
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
        model = pool.load(architecture, build_stacked_ffnn(*architecture[1:]), run_protocol,
                          compile=lambda built: compile_stacked(built, run_protocol, members))
    load_members(model, fresh)
    history = protocols.train(model, data, run_protocol, data_order_seed=seed)
    return [{"loss": history[f"member{member}_loss"],
             "val_accuracy": history[f"val_member{member}_accuracy"]}
            for member in range(members)]
