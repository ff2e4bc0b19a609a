"""Tune the initialization of a small transformer with KerasTuner.

Each image is a sequence of 28 tokens, its rows: a Dense embedding of 32
features plus a learned position embedding, one transformer block
(2-head self-attention and a ReLU feed-forward layer of 64 units, each
with a residual connection and layer normalization), average pooling over
the tokens and a logits output. ``build_model(hp)`` asks
`keras_detinit.tuning.choose_initializer` for the kernel initializer and
passes it to the embedding, the attention (which gives its query, key,
value and output projections a copy each), the feed-forward layers and
the output. A plain `keras_tuner.RandomSearch` searches the scheme
(``gaussian``, ``epsilon_orthogonal``, ``he_normal``) with ``sigma0`` or
``epsilon``.

``--sigma0-estimate`` centres the ``sigma0`` range on an
`keras_detinit.sigma0.optimal_sigma0` estimate. The defaults are tiny (10
images per class, 4 trials of 2 epochs). The device in use is printed
first; the backend is Keras' (set ``KERAS_BACKEND``). Example:

    KERAS_BACKEND=torch python examples/tune_transformer_initializer.py \\
        --data-dir ../shared/data --samples-per-class 100 --trials 12
"""

from __future__ import annotations

import argparse

import keras

from keras_detinit import models
from keras_detinit import tuning

from _data import load_data
from _tuning import SCHEMES
from _tuning import add_search_arguments
from _tuning import search

FEATURES = 32
HEADS = 2


class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position (token index) to the sequence."""

    def build(self, input_shape):
        # The usual transformer start; positions are not part of the search.
        self.positions = self.add_weight(
            shape=tuple(input_shape[1:]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="positions",
        )

    def call(self, inputs):
        return inputs + self.positions


def build_model(hp, ranges=None, input_shape=(28, 28), num_classes=10) -> keras.Model:
    """The transformer, every kernel from the searched initializer."""
    initializer = tuning.choose_initializer(hp, schemes=SCHEMES, ranges=ranges)

    def dense(units, activation=None):
        return keras.layers.Dense(units, activation, kernel_initializer=initializer)

    inputs = keras.Input(input_shape)
    x = PositionEmbedding()(dense(FEATURES)(inputs))
    attention = keras.layers.MultiHeadAttention(
        HEADS, FEATURES // HEADS, kernel_initializer=initializer
    )(x, x)
    x = keras.layers.LayerNormalization()(x + attention)
    x = keras.layers.LayerNormalization()(x + dense(FEATURES)(dense(2 * FEATURES, "relu")(x)))
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = dense(num_classes)(x)
    return models.compile_classifier(keras.Model(inputs, outputs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_search_arguments(parser)
    args = parser.parse_args(argv)
    return search(
        build_model, load_data(args.dataset, args), args, "transformer_initializer"
    )


if __name__ == "__main__":
    main()
