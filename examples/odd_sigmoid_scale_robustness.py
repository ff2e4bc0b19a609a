"""Activation-scale robustness of the OddSigmoid initializer on MNIST.

60 hidden Dense layers of 16 units with ``f(x) = tanh(b x)`` for
``b`` in {0.5, 1, 2, 4} and softsign, a softmax output of 10 units; Adam
(learning rate 1e-4), batch size 100, 15% of the training set held out for
validation. Every hidden kernel uses the initializer under test; for
``odd_sigmoid`` the hidden layers get ``OddSigmoid(activation=f)`` and the
softmax layer ``OddSigmoid(activation=f, gain=1.0)`` (it is not followed by
``f``), the Keras initializers are used for every layer. ``odd_sigmoid:band``
is OddSigmoid with the band setting (``floor=BAND_FLOOR``,
``width_margin=BAND_WIDTH_MARGIN``); ``odd_sigmoid:floor=0.01,width_margin=1``
sets OddSigmoid's numeric arguments. Biases start at zero.

Writes ``scale_robustness.csv`` (one row per epoch and run),
``scale_robustness.md`` (final validation accuracy table, command, backend,
wall time) and ``scale_robustness_accuracy.png`` under ``--out``.

    KERAS_BACKEND=jax python examples/odd_sigmoid_scale_robustness.py \\
        --epochs 10 --out docs/results
"""

from __future__ import annotations

import argparse
import math
import time

import keras

import keras_detinit  # noqa: F401  (registers the string names)
from keras_detinit import datasets
from keras_detinit import models
from keras_detinit.activations import OddSigmoidActivation
from keras_detinit.initializers import OddSigmoid
from keras_detinit.initializers.odd_sigmoid import BAND_FLOOR
from keras_detinit.initializers.odd_sigmoid import BAND_WIDTH_MARGIN
from keras_detinit.reproduce.results import mean_and_spread
from keras_detinit.reproduce.tables import percent_cell

from _results import Report, add_common_arguments, bar_chart, markdown_table

ACTIVATIONS = ("tanh:0.5", "tanh:1", "tanh:2", "tanh:4", "softsign:1")
INITIALIZERS = ("odd_sigmoid", "odd_sigmoid:band", "glorot_normal", "he_normal", "orthogonal")
#: Named OddSigmoid settings: the default, and the band setting.
ODD_SIGMOID_SETTINGS = {
    "odd_sigmoid": {},
    "odd_sigmoid:band": {"floor": BAND_FLOOR, "width_margin": BAND_WIDTH_MARGIN},
}


def odd_sigmoid_settings(spec: str) -> dict | None:
    """OddSigmoid arguments of an initializer spec, None for other initializers.

    ``"odd_sigmoid"`` and ``"odd_sigmoid:band"`` are `ODD_SIGMOID_SETTINGS`;
    ``"odd_sigmoid:floor=0.01,width_margin=2"`` gives numeric arguments.
    """
    if spec in ODD_SIGMOID_SETTINGS:
        return ODD_SIGMOID_SETTINGS[spec]
    name, _, arguments = spec.partition(":")
    if name != "odd_sigmoid" or not arguments:
        return None
    settings = {}
    for item in arguments.split(","):
        key, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"Expected key=value in {spec!r}, got {item!r}.")
        settings[key.strip()] = float(value)
    return settings


def parse_activation(spec: str) -> OddSigmoidActivation:
    """``"tanh:2"`` -> ``x -> tanh(2 x)``; a bare name means scale 1."""
    name, _, scale = spec.partition(":")
    return OddSigmoidActivation.scaled(name, float(scale or 1.0))


def label(activation: OddSigmoidActivation) -> str:
    if activation.scale == 1.0:
        return f"{activation.name}(x)"
    return f"{activation.name}({activation.scale:g}x)"


def odd_sigmoid(spec: str, activation, depth: int, **overrides) -> OddSigmoid:
    """The OddSigmoid of an initializer spec (see `odd_sigmoid_settings`)."""
    settings = {**odd_sigmoid_settings(spec), **overrides}
    return OddSigmoid(activation, target_depth=depth, **settings)


def kernel_initializers(name: str, activation, depth: int):
    """(hidden initializer factory, output initializer) for one run."""
    if odd_sigmoid_settings(name) is not None:
        hidden = lambda: odd_sigmoid(name, activation, depth)  # noqa: E731
        return hidden, odd_sigmoid(name, activation, depth, gain=1.0)
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


def train(name: str, activation, data, args, seed: int):
    """Train one network; its per-epoch history and the seconds it took."""
    keras.utils.set_random_seed(seed)
    model = build_model(name, activation, args.depth, args.width)
    models.compile_classifier(model, args.learning_rate)
    start = time.perf_counter()
    history = model.fit(
        *data.train, batch_size=args.batch_size, epochs=args.epochs,
        validation_data=tuple(data.validation), verbose=0,
    ).history
    return history, time.perf_counter() - start


def main(argv=None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, out="odd_sigmoid_results", epochs=10)
    parser.add_argument("--activations", nargs="+", default=list(ACTIVATIONS),
                        help="name[:b] for x -> name(b x)")
    parser.add_argument("--initializers", nargs="+", default=list(INITIALIZERS),
                        help="Keras initializer names, odd_sigmoid, odd_sigmoid:band "
                             "or odd_sigmoid:floor=F,width_margin=M")
    parser.add_argument("--depth", type=int, default=60)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--samples-per-class", type=int, default=0,
                        help="training images per class (0: all)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="initialization seeds per cell, from --seed on")
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
            for seed in range(args.seed, args.seed + args.seeds):
                history, seconds = train(name, activation, data, args, seed)
                for epoch, accuracy in enumerate(history["val_accuracy"], start=1):
                    report.add(activation=label(activation), initializer=name, seed=seed,
                               epoch=epoch, loss=history["loss"][epoch - 1],
                               val_accuracy=accuracy, seconds=round(seconds, 1))
                finals.setdefault((label(activation), name), []).append(
                    history["val_accuracy"][-1])
                print(f"{label(activation)} {name} seed {seed}: validation accuracy "
                      f"{history['val_accuracy'][-1]:.4f} after {args.epochs} epochs "
                      f"({seconds:.0f} s)", flush=True)
    report.write_csv()
    labels = [label(parse_activation(spec)) for spec in args.activations]
    summary = {key: mean_and_spread(values) for key, values in finals.items()}
    rows = [[f"`{name}`"] + [percent_cell(summary[lab, name]) for lab in labels]
            for name in args.initializers]
    body = (
        f"{args.depth} hidden layers of {args.width} units, MNIST, Adam "
        f"{args.learning_rate:g}, batch {args.batch_size}, {args.epochs} epochs, "
        f"{len(data.train.y)} training images; validation accuracy (%) after the "
        f"last epoch, mean ± std over {args.seeds} seed(s) from {args.seed}:\n\n"
        + markdown_table(["initializer", *labels], rows)
    )
    report.write_markdown("Activation-scale robustness", body)
    plot(summary, labels, args.initializers, report.figure_path("accuracy"))
    return report


def plot(summary, labels, initializers, path) -> None:
    spreads = {key: 100 * spread for key, (_, spread) in summary.items()}
    bar_chart(path, labels, labels, initializers,
              {key: 100 * mean for key, (mean, _) in summary.items()},
              "validation accuracy (%)", target=80,
              errors=None if any(map(math.isnan, spreads.values())) else spreads)


if __name__ == "__main__":
    main()
