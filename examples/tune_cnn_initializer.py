"""Tune the initialization of your own CNN with KerasTuner.

The network is the user's: two 3 x 3 convolutions (8 and 16 channels, ReLU,
2 x 2 max pooling), a ReLU Dense(32) layer and a logits output
(the package's protocol computes the loss from logits on every backend). Its
``build_model(hp)`` asks `keras_detinit.tuning.choose_initializer` for the
kernel initializer and passes the result to every layer; each layer
builds its own instance, so a Gaussian start draws a new kernel per layer.
The search is a plain `keras_tuner.RandomSearch` over

* ``initializer``: ``gaussian``, ``epsilon_orthogonal`` or ``he_normal``;
* ``sigma0`` (Gaussian only) and ``epsilon`` (epsilon-orthogonal only),
  log-uniform, recorded per trial by KerasTuner's oracle.

``--sigma0-estimate`` centres the ``sigma0`` range on an
`keras_detinit.sigma0.optimal_sigma0` estimate and prints where the tuned
``sigma0`` fell relative to it. The defaults are tiny (10 images per
class, 4 trials of 2 epochs). The device in use is printed first; the
backend is Keras' (set ``KERAS_BACKEND``). Example:

    KERAS_BACKEND=jax python examples/tune_cnn_initializer.py \\
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


def build_model(hp, ranges=None, input_shape=(28, 28), num_classes=10) -> keras.Model:
    """The CNN, every kernel from the searched initializer."""
    initializer = tuning.choose_initializer(hp, schemes=SCHEMES, ranges=ranges)
    model = keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Reshape((*input_shape, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=initializer),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu", kernel_initializer=initializer),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu", kernel_initializer=initializer),
        keras.layers.Dense(num_classes, kernel_initializer=initializer),
    ])
    return models.compile_classifier(model)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_search_arguments(parser)
    args = parser.parse_args(argv)
    return search(build_model, load_data(args.dataset, args), args, "cnn_initializer")


if __name__ == "__main__":
    main()
