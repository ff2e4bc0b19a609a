"""A small CNN on Fashion-MNIST: Sinusoidal kernels against Keras' default.

Two 3 x 3 convolutions (16 and 32 channels, ReLU, 2 x 2 max pooling), a
ReLU Dense(64) layer and a logits output. The same network is trained
once with the Sinusoidal initializer (by default ``Sinusoidal()``, the
same as ``"sinusoidal"``) for every convolution and Dense kernel, and
once with Keras' default ``glorot_uniform``, from the same seed and data:
Adam, batch 100, 15% of the training set held out for validation. Both
initializers give each kernel the Glorot variance, so the comparison
isolates the deterministic structure. Prints both validation and test
accuracies.

The first convolution has more units (16 channels) than inputs (3 x 3 x 1
= 9), so with the paper's formula its row 9 is constant and does not sum
to zero, and Keras warns about it; ``--frequencies nondegenerate`` uses
`Sinusoidal(frequencies="nondegenerate")`, whose rows all cancel.

The defaults are small (1000 images per class, 3 epochs). The backend is
Keras' (set ``KERAS_BACKEND``). Example:

    KERAS_BACKEND=jax python examples/cnn_fashion_mnist.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time

import keras

from keras_detinit import Sinusoidal
from keras_detinit import datasets
from keras_detinit import models
from keras_detinit.initializers.sinusoidal import FREQUENCIES

from _data import add_data_arguments
from _data import load_data


def build_cnn(initializer, num_classes: int = 10) -> keras.Model:
    """The CNN, with ``initializer`` for every convolution and Dense kernel."""

    def conv(filters: int):
        return keras.layers.Conv2D(
            filters, 3, activation="relu", kernel_initializer=initializer
        )

    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Reshape((28, 28, 1)),
        conv(16),
        keras.layers.MaxPooling2D(2),
        conv(32),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", kernel_initializer=initializer),
        keras.layers.Dense(
            num_classes, kernel_initializer=initializer
        ),
    ])


def train(initializer, data: datasets.Dataset, epochs: int, seed: int) -> dict:
    """Train the CNN with one kernel initializer; return its accuracies."""
    keras.utils.set_random_seed(seed)
    model = models.compile_classifier(build_cnn(initializer, data.num_classes))
    start = time.perf_counter()
    history = model.fit(
        *data.train, validation_data=tuple(data.validation), epochs=epochs,
        batch_size=100, verbose=2,
    )
    _, test_accuracy = model.evaluate(*data.test, batch_size=1000, verbose=0)
    return {
        "validation": history.history["val_accuracy"][-1],
        "test": test_accuracy,
        "seconds": time.perf_counter() - start,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser, samples_per_class=1000, epochs=3)
    parser.add_argument(
        "--frequencies", choices=FREQUENCIES, default="paper",
        help="Sinusoidal's frequencies (default: the paper's formula)",
    )
    args = parser.parse_args(argv)

    data = load_data("fashion_mnist", args)
    initializers = {
        "sinusoidal": Sinusoidal(frequencies=args.frequencies),
        "glorot_uniform": "glorot_uniform",
    }
    results = {}
    for name, initializer in initializers.items():
        print(f"--- {name}")
        results[name] = train(initializer, data, args.epochs, args.seed)
    print()
    for name, result in results.items():
        print(
            f"{name}: validation accuracy {result['validation']:.4f}, "
            f"test accuracy {result['test']:.4f} ({result['seconds']:.0f} s)"
        )


if __name__ == "__main__":
    main()
