"""Activation-scale robustness of the OddSigmoid initializer on MNIST.

60 hidden Dense layers of 16 units with ``f(x) = tanh(b x)`` for
``b`` in {0.5, 1, 2, 4} and softsign, a softmax output of 10 units; Adam
(learning rate 1e-4), batch size 100, 15% of the training set held out for
validation. Every hidden kernel uses the initializer under test; for
``odd_sigmoid`` the hidden layers get ``OddSigmoid(activation=f)`` and the
softmax layer ``OddSigmoid(activation=f, gain=1.0)`` (it is not followed by
``f``), the Keras initializers are used for every layer. Biases start at
zero.

Writes ``scale_robustness.csv`` (one row per epoch and run),
``scale_robustness.md`` (final validation accuracy table, command, backend,
wall time) and ``scale_robustness_accuracy.png`` under ``--out``.

    KERAS_BACKEND=jax python examples/odd_sigmoid_scale_robustness.py \\
        --epochs 10 --out docs/results
"""

from __future__ import annotations

import argparse
import time

import keras

import keras_detinit  # noqa: F401  (registers the string names)
from keras_detinit import datasets
from keras_detinit import models
from keras_detinit.activations import OddSigmoidActivation
from keras_detinit.initializers import OddSigmoid

from _results import Report, add_common_arguments, bar_chart, markdown_table

ACTIVATIONS = ("tanh:0.5", "tanh:1", "tanh:2", "tanh:4", "softsign:1")
INITIALIZERS = ("odd_sigmoid", "glorot_normal", "he_normal", "orthogonal")


def parse_activation(spec: str) -> OddSigmoidActivation:
    """``"tanh:2"`` -> ``x -> tanh(2 x)``; a bare name means scale 1."""
    name, _, scale = spec.partition(":")
    return OddSigmoidActivation.scaled(name, float(scale or 1.0))


def label(activation: OddSigmoidActivation) -> str:
    if activation.scale == 1.0:
        return f"{activation.name}(x)"
    return f"{activation.name}({activation.scale:g}x)"


def kernel_initializers(name: str, activation, depth: int):
    """(hidden initializer factory, output initializer) for one run."""
    if name == "odd_sigmoid":
        hidden = lambda: OddSigmoid(activation, target_depth=depth)  # noqa: E731
        return hidden, OddSigmoid(activation, target_depth=depth, gain=1.0)
    return (lambda: keras.initializers.get(name)), keras.initializers.get(name)


def build_model(name: str, activation, depth: int, width: int) -> keras.Model:
    """``depth`` Dense layers of ``width`` units with ``activation``, softmax."""
    hidden, output = kernel_initializers(name, activation, depth)
    layers = [keras.Input((28, 28)), keras.layers.Flatten()]
    layers += [
        keras.layers.Dense(width, activation=activation, kernel_initializer=hidden())
        for _ in range(depth)
    ]
    layers.append(keras.layers.Dense(10, activation="softmax", kernel_initializer=output))
    return keras.Sequential(layers)


def main(argv=None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, out="odd_sigmoid_results", epochs=10)
    parser.add_argument("--activations", nargs="+", default=list(ACTIVATIONS),
                        help="name[:b] for x -> name(b x)")
    parser.add_argument("--initializers", nargs="+", default=list(INITIALIZERS))
    parser.add_argument("--depth", type=int, default=60)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--samples-per-class", type=int, default=0,
                        help="training images per class (0: all)")
    args = parser.parse_args(argv)
    report = Report(args.out, "scale_robustness", argv, __file__)
    data = datasets.load_dataset(
        "mnist", data_dir=args.data_dir, validation_fraction=0.15, seed=args.seed,
        samples_per_class=args.samples_per_class or None,
    )
    print(f"backend {keras.backend.backend()}: {len(data.train.y)} training, "
          f"{len(data.validation.y)} validation images from {data.source}", flush=True)
    finals = {}
    for spec in args.activations:
        activation = parse_activation(spec)
        for name in args.initializers:
            keras.utils.set_random_seed(args.seed)
            model = build_model(name, activation, args.depth, args.width)
            models.compile_classifier(model, args.learning_rate)
            start = time.perf_counter()
            history = model.fit(
                *data.train, batch_size=args.batch_size, epochs=args.epochs,
                validation_data=tuple(data.validation), verbose=0,
            ).history
            seconds = time.perf_counter() - start
            for epoch, accuracy in enumerate(history["val_accuracy"], start=1):
                report.add(activation=label(activation), initializer=name, epoch=epoch,
                           loss=history["loss"][epoch - 1], val_accuracy=accuracy,
                           seconds=round(seconds, 1))
            finals[label(activation), name] = history["val_accuracy"][-1]
            print(f"{label(activation)} {name}: validation accuracy "
                  f"{history['val_accuracy'][-1]:.4f} after {args.epochs} epochs "
                  f"({seconds:.0f} s)", flush=True)
    report.write_csv()
    labels = [label(parse_activation(spec)) for spec in args.activations]
    rows = [[f"`{name}`"] + [f"{100 * finals[lab, name]:.1f}%" for lab in labels]
            for name in args.initializers]
    body = (
        f"{args.depth} hidden layers of {args.width} units, MNIST, Adam "
        f"{args.learning_rate:g}, batch {args.batch_size}, {args.epochs} epochs, "
        f"{len(data.train.y)} training images; validation accuracy after the "
        "last epoch:\n\n" + markdown_table(["initializer", *labels], rows)
    )
    report.write_markdown("Activation-scale robustness", body)
    plot(finals, labels, args.initializers, report.figure_path("accuracy"))
    return report


def plot(finals, labels, initializers, path) -> None:
    bar_chart(path, labels, labels, initializers,
              {key: 100 * value for key, value in finals.items()},
              "validation accuracy (%)", target=80)


if __name__ == "__main__":
    main()
