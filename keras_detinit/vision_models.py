"""Small image classifiers: a LeNet-5-style CNN and a Vision Transformer.

Both emit logits (their last Dense layer has no activation), as every
model the package trains does (`keras_detinit.protocol`), and take images
of shape ``(height, width)`` or ``(height, width, channels)``: a grey
image without a channel axis gets one inside the model, so MNIST arrays
go in as they are loaded.

* `build_lenet5`: conv 5x5 (6) - max-pool - conv 5x5 (16) - max-pool -
  Dense 120 - Dense 84 - logits, ReLU (LeCun et al. 1998, with the ReLU
  and max pooling of today's versions).
* `build_vit`: non-overlapping patches embedded by a strided convolution,
  a learned position embedding, pre-norm encoder blocks (layer norm,
  ``keras.layers.MultiHeadAttention``, residual; layer norm, GELU MLP,
  residual), a final layer norm, mean pooling over the tokens and a
  logits head (Dosovitskiy et al. 2021, without the class token).

``kernel_initializer`` goes to every Conv, Dense and attention kernel. The
attention layer gives its query, key and value kernels a copy each, so a
deterministic scheme makes them identical there;
`keras_detinit.reinitialize` re-draws them as distinct projections.

Example:

>>> cnn = build_lenet5((28, 28), 10)
>>> cnn.output_shape, cnn.layers[-1].activation.__name__
((None, 10), 'linear')
>>> vit = build_vit((28, 28), 10, patch_size=14, hidden_dim=8, num_layers=1,
...                 num_heads=2, mlp_dim=16)
>>> vit.output_shape
(None, 10)
"""

from __future__ import annotations

from typing import Sequence

import keras

from keras_detinit import validation

#: Standard deviation of the position embedding's truncated normal draw, as
#: in the original ViT; it is not a kernel, so no scheme under test sets it.
POSITION_STDDEV = 0.02


@keras.saving.register_keras_serializable(package="keras_detinit")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per token position to a ``(batch, tokens, dim)`` input.

    The vectors are drawn from a truncated normal of standard deviation
    ``stddev``. The weight is called ``positions``: it is not a kernel,
    and `keras_detinit.reinitialize` leaves it as it is.

    Args:
        stddev: Standard deviation of the initial draw, > 0.
        **kwargs: Base layer arguments (``name``, ...).

    Example:

    >>> layer = PositionEmbedding()
    >>> tuple(layer(keras.ops.zeros((2, 5, 3))).shape)
    (2, 5, 3)
    """

    def __init__(self, stddev: float = POSITION_STDDEV, **kwargs):
        super().__init__(**kwargs)
        self.stddev = validation.check_positive("stddev", stddev)

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=tuple(input_shape[1:]), name="positions",
            initializer=keras.initializers.TruncatedNormal(stddev=self.stddev),
        )

    def call(self, inputs):
        return inputs + self.positions

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev}


def build_lenet5(
    input_shape: Sequence[int],
    num_classes: int,
    kernel_initializer="he_normal",
    activation: str = "relu",
    name: str = "lenet5",
) -> keras.Model:
    """A LeNet-5-style CNN that emits logits.

    Args:
        input_shape: ``(height, width)`` or ``(height, width, channels)``,
            height and width >= 12 (the second pooling needs a 2 x 2 map).
        num_classes: Number of classes, >= 2.
        kernel_initializer: Initializer of every Conv and Dense kernel.
        activation: Activation of the hidden layers.
        name: The model's name.

    Returns:
        An uncompiled functional model; biases start at zero.

    Example:

    >>> model = build_lenet5((28, 28, 1), 10, kernel_initializer="sinusoidal")
    >>> [layer.name for layer in model.layers if layer.weights]
    ['conv_1', 'conv_2', 'dense_1', 'dense_2', 'logits']
    >>> model.count_params()
    61706
    """
    shape = _check_image_shape(input_shape, num_classes, smallest=12)
    inputs, x = _image_inputs(shape)

    def conv(filters: int, padding: str, index: int):
        return keras.layers.Conv2D(filters, 5, padding=padding, activation=activation,
                                   kernel_initializer=kernel_initializer, name=f"conv_{index}")

    x = conv(6, "same", 1)(x)
    x = keras.layers.MaxPooling2D(2, name="pool_1")(x)
    x = conv(16, "valid", 2)(x)
    x = keras.layers.MaxPooling2D(2, name="pool_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for index, units in enumerate((120, 84), start=1):
        x = keras.layers.Dense(units, activation=activation,
                               kernel_initializer=kernel_initializer, name=f"dense_{index}")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=kernel_initializer,
                                 name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vit(
    input_shape: Sequence[int],
    num_classes: int,
    patch_size: int = 7,
    hidden_dim: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    mlp_dim: int = 128,
    kernel_initializer="glorot_uniform",
    name: str = "vit",
) -> keras.Model:
    """A small pre-norm Vision Transformer that emits logits.

    Args:
        input_shape: ``(height, width)`` or ``(height, width, channels)``;
            ``patch_size`` must divide height and width.
        num_classes: Number of classes, >= 2.
        patch_size: Side of the square, non-overlapping patches, >= 1.
        hidden_dim: Token width, a multiple of ``num_heads``.
        num_layers: Encoder blocks, >= 1.
        num_heads: Attention heads, >= 1 (head size ``hidden_dim // num_heads``).
        mlp_dim: Hidden width of each block's MLP, >= 1.
        kernel_initializer: Initializer of every Conv, Dense and attention
            kernel (the position embedding is drawn apart, see
            `PositionEmbedding`).
        name: The model's name.

    Returns:
        An uncompiled functional model whose attention layers are named
        ``block_<k>_attention``.

    Example:

    >>> model = build_vit((28, 28), 10, patch_size=7, hidden_dim=16, num_layers=1,
    ...                   num_heads=2, mlp_dim=32)
    >>> model.get_layer("block_1_attention").num_heads
    2
    >>> tuple(model.get_layer("position_embedding").positions.shape)
    (16, 16)
    """
    shape = _check_image_shape(input_shape, num_classes, smallest=1)
    patch_size = validation.check_int("patch_size", patch_size, low=1)
    num_layers = validation.check_int("num_layers", num_layers, low=1)
    num_heads = validation.check_int("num_heads", num_heads, low=1)
    mlp_dim = validation.check_int("mlp_dim", mlp_dim, low=1)
    hidden_dim = validation.check_int("hidden_dim", hidden_dim, low=num_heads)
    if hidden_dim % num_heads:
        raise ValueError(f"`hidden_dim` must be a multiple of `num_heads` ({num_heads}). "
                         f"Received: hidden_dim={hidden_dim}")
    height, width = shape[:2]
    if height % patch_size or width % patch_size:
        raise ValueError(f"`patch_size` must divide the image's height and width "
                         f"({height} x {width}). Received: patch_size={patch_size}")
    tokens = (height // patch_size) * (width // patch_size)
    inputs, x = _image_inputs(shape)
    x = keras.layers.Conv2D(hidden_dim, patch_size, strides=patch_size,
                            kernel_initializer=kernel_initializer, name="patch_embedding")(x)
    x = keras.layers.Reshape((tokens, hidden_dim), name="tokens")(x)
    x = PositionEmbedding(name="position_embedding")(x)
    for block in range(1, num_layers + 1):
        x = _encoder_block(x, block, num_heads, mlp_dim, kernel_initializer)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=kernel_initializer,
                                 name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def _encoder_block(x, block: int, num_heads: int, mlp_dim: int, kernel_initializer):
    """Pre-norm: ``x + MHA(LN(x))``, then ``x + MLP(LN(x))``."""
    hidden_dim = x.shape[-1]
    prefix = f"block_{block}"
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{prefix}_norm_1")(x)
    y = keras.layers.MultiHeadAttention(num_heads, hidden_dim // num_heads,
                                        kernel_initializer=kernel_initializer,
                                        name=f"{prefix}_attention")(y, y)
    x = keras.layers.Add(name=f"{prefix}_residual_1")([x, y])
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{prefix}_norm_2")(x)
    y = keras.layers.Dense(mlp_dim, activation="gelu", kernel_initializer=kernel_initializer,
                           name=f"{prefix}_mlp_1")(y)
    y = keras.layers.Dense(hidden_dim, kernel_initializer=kernel_initializer,
                           name=f"{prefix}_mlp_2")(y)
    return keras.layers.Add(name=f"{prefix}_residual_2")([x, y])


def _check_image_shape(input_shape: Sequence[int], num_classes: int,
                       smallest: int) -> tuple[int, ...]:
    """``input_shape`` as a tuple, after checking it and ``num_classes``."""
    validation.check_int("num_classes", num_classes, low=2)
    shape = tuple(input_shape)
    if len(shape) not in (2, 3):
        raise ValueError("`input_shape` must be (height, width) or (height, width, channels). "
                         f"Received: input_shape={shape!r}")
    for axis, size in zip(("height", "width", "channels"), shape):
        validation.check_int(f"input_shape[{axis}]", size,
                             low=1 if axis == "channels" else smallest)
    return shape


def _image_inputs(shape: tuple[int, ...]):
    """The model's input and its ``(batch, height, width, channels)`` tensor."""
    inputs = keras.Input(shape, name="images")
    if len(shape) == 2:  # grey images as loaded: add the channel axis
        return inputs, keras.layers.Reshape((*shape, 1), name="channel")(inputs)
    return inputs, inputs
