"""Deep and narrow ReLU network on MNIST (Table 2 of Lee et al.).

120 hidden Dense layers alternating 10 and 6 units, ReLU, a softmax output
of 10 units; Adam (learning rate 1e-3), batch size 100, cross-entropy,
15% of the training set held out for validation, as in section 4 of
"Improved weight initialization for deep and narrow feedforward neural
network". Every kernel uses the initializer under test, biases start at
zero. The paper reports 86.7% validation accuracy after 10 epochs with its
epsilon-orthogonal initializer and 11.3% with He initialization.

The backend is Keras' (set ``KERAS_BACKEND``). Example:

    KERAS_BACKEND=jax python examples/deep_narrow_relu.py \\
        --initializers epsilon_orthogonal he_normal --epochs 10 \\
        --data-dir ../shared/data/mnist --out deep_narrow_relu.csv
"""

from __future__ import annotations

import argparse
import csv
import time

import keras

import keras_detinit  # noqa: F401  (registers the string names)
from keras_detinit import datasets
from keras_detinit import models

HIDDEN_WIDTHS = (10, 6)
FIELDS = (
    "backend", "initializer", "epoch", "loss", "accuracy", "val_loss",
    "val_accuracy", "seconds",
)


def build_model(initializer: str, depth: int = 120) -> keras.Model:
    """The paper's network: ``depth`` ReLU layers of 10, 6, 10, 6, ... units.

    Args:
        initializer: A kernel initializer name known to Keras (this
            package's names included).
        depth: Number of hidden layers.

    Returns:
        A model from 28 x 28 images to 10 class probabilities, compiled with
        Adam (learning rate 1e-3).
    """
    widths = [HIDDEN_WIDTHS[index % 2] for index in range(depth)]
    model = models.build_ffnn((28, 28), widths, 10, "relu", initializer)
    return models.compile_classifier(model, learning_rate=1e-3)


def run(initializer: str, data: datasets.Dataset, epochs: int, depth: int) -> list[dict]:
    """Train one model and return one row of metrics per epoch."""
    model = build_model(initializer, depth)
    start = time.perf_counter()
    history = model.fit(
        data.train.x,
        data.train.y,
        batch_size=100,
        epochs=epochs,
        validation_data=tuple(data.validation),
        verbose=2,
    )
    seconds = time.perf_counter() - start
    rows = []
    for epoch in range(epochs):
        row = {key: history.history[key][epoch] for key in FIELDS[3:7]}
        row.update(
            backend=keras.backend.backend(),
            initializer=initializer,
            epoch=epoch + 1,
            seconds=round(seconds, 1),
        )
        rows.append(row)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--initializers", nargs="+", default=["epsilon_orthogonal", "he_normal"],
        help="kernel initializer names, e.g. epsilon_orthogonal he_normal "
        "zero_hadamard randomized_asymmetric gaussian_submatrix orthogonal",
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--depth", type=int, default=120, help="hidden layers")
    parser.add_argument("--data-dir", default=None, help="directory with MNIST")
    parser.add_argument("--seed", type=int, default=0, help="split and init seed")
    parser.add_argument("--out", default=None, help="CSV file for the metrics")
    args = parser.parse_args(argv)

    data = datasets.load_dataset(
        "mnist", data_dir=args.data_dir, validation_fraction=0.15, seed=args.seed
    )
    print(
        f"backend={keras.backend.backend()} train={len(data.train.y)} "
        f"validation={len(data.validation.y)} source={data.source}"
    )
    rows = []
    for initializer in args.initializers:
        keras.utils.set_random_seed(args.seed)
        rows.extend(run(initializer, data, args.epochs, args.depth))
        final = rows[-1]
        print(
            f"{initializer}: validation accuracy {final['val_accuracy']:.4f} "
            f"after {args.epochs} epochs ({final['seconds']} s)"
        )
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    summary = {row["initializer"]: row["val_accuracy"] for row in rows}
    print("final validation accuracy:", {k: round(float(v), 4) for k, v in summary.items()})


if __name__ == "__main__":
    main()
