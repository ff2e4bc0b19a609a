"""Watch skewed neurons during training: SkewnessCallback + CSVLogger.

Trains the same MLP (784-256-256-10, ReLU) on MNIST twice, with Sinusoidal
and with Keras' glorot_uniform kernels. A `SkewnessCallback` logs the
fraction of skewed units (alpha = 0.1 and 0.3) and OUI into the epoch logs,
a `CSVLogger` placed after it writes them to CSV, and the script plots the
mean skewed fraction per epoch, epoch 0 being the initialization.

    KERAS_BACKEND=jax python examples/skewness_callback.py \\
        --data-dir ../shared/data --epochs 5 --out skewness_run
"""

from __future__ import annotations

import argparse
import csv
import pathlib

import keras

from keras_detinit import models
from keras_detinit.callbacks import SkewnessCallback
from keras_detinit.reporting import pyplot

from _data import add_data_arguments
from _data import load_data

INITIALIZERS = ("sinusoidal", "glorot_uniform")
METRICS = ("skewed_0.1", "skewed_0.3", "oui")


def train(initializer: str, data, args) -> pathlib.Path:
    """Fit one model with the callbacks; return its CSV log."""
    keras.utils.set_random_seed(args.seed)
    model = models.build_ffnn((28, 28), [256, 256], 10, "relu", initializer)
    models.compile_classifier(model, learning_rate=1e-3)
    path = args.out / f"{initializer}.csv"
    model.fit(
        *data.train,
        validation_data=tuple(data.validation),
        epochs=args.epochs,
        batch_size=100,
        verbose=2,
        callbacks=[
            SkewnessCallback(data.validation.x, probe_size=args.probe_size, seed=args.seed),
            keras.callbacks.CSVLogger(str(path)),
        ],
    )
    return path


def curve(path: pathlib.Path, metric: str) -> list[float]:
    """Epoch 0 (the initialization) followed by the value after each epoch."""
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return [float(rows[0][f"skew_init_mean/{metric}"])] + [
        float(row[f"skew_mean/{metric}"]) for row in rows
    ]


def plot(paths: dict[str, pathlib.Path], out: pathlib.Path) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.2))
    for axis, metric in zip(axes, METRICS):
        for name, path in paths.items():
            values = curve(path, metric)
            axis.plot(range(len(values)), values, marker="o", label=name)
        axis.set_title(f"mean {metric}")
        axis.set_xlabel("epoch (0 = initialization)")
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser, samples_per_class=0, epochs=5)
    parser.add_argument("--probe-size", type=int, default=1024)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("skewness_run"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_data("mnist", args)
    paths = {name: train(name, data, args) for name in INITIALIZERS}
    for name, path in paths.items():
        print(f"{name}: mean skewed fraction (alpha 0.1) per epoch "
              + " ".join(f"{v:.3f}" for v in curve(path, "skewed_0.1")))
    plot(paths, args.out / "skewness_per_epoch.png")
    print(f"wrote {', '.join(str(p) for p in paths.values())} and "
          f"{args.out / 'skewness_per_epoch.png'}")


if __name__ == "__main__":
    main()
