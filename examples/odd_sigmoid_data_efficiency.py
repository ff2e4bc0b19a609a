"""Data efficiency: MLPs trained on 100 or 500 images, OddSigmoid vs others.

The odd-sigmoid paper's data-efficiency experiment: MLPs trained 10 epochs
on 100 and 500 training images (10 or 50 per class) of MNIST and
Fashion-MNIST, with the OddSigmoid initializer (default and band settings,
``odd_sigmoid`` and ``odd_sigmoid:band``) against Xavier
(``glorot_normal``), He (``he_normal``) and ``orthogonal``. The paper's
network and optimizer settings are not known; here: ``--depth`` tanh layers
of ``--width`` units and a softmax output (the model of
``odd_sigmoid_scale_robustness.py``), Adam (1e-3), batch 16, accuracy on the
full 10,000-image test set, mean and standard deviation over ``--seeds``
seeds (each seed draws its own subsample and initialization).

Writes ``data_efficiency.csv``, ``data_efficiency.md`` and
``data_efficiency_accuracy.png`` under ``--out``:

    KERAS_BACKEND=jax python examples/odd_sigmoid_data_efficiency.py \\
        --epochs 10 --out docs/results
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit.reproduce.results import mean_and_spread
from keras_detinit.reproduce.tables import percent_cell

from _results import Report, add_common_arguments, bar_chart, markdown_table
from odd_sigmoid_scale_robustness import INITIALIZERS, build_model, parse_activation


def run(name, data, activation, args) -> float:
    """Train one model, return its test accuracy."""
    model = build_model(name, activation, args.depth, args.width)
    models.compile_classifier(model, args.learning_rate)
    model.fit(*data.train, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    return float(model.evaluate(*data.test, batch_size=1000, verbose=0)[1])


def main(argv=None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, out="odd_sigmoid_results", epochs=10)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"])
    parser.add_argument("--samples", nargs="+", type=int, default=[100, 500],
                        help="training images (a multiple of 10)")
    parser.add_argument("--initializers", nargs="+", default=list(INITIALIZERS))
    parser.add_argument("--activation", default="tanh:1", help="name[:b]")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    report = Report(args.out, "data_efficiency", argv, __file__)
    activation = parse_activation(args.activation)
    results = {}
    for dataset in args.datasets:
        for samples in args.samples:
            for seed in range(args.seed, args.seed + args.seeds):
                data = datasets.load_dataset(
                    dataset, data_dir=args.data_dir, samples_per_class=samples // 10,
                    validation_fraction=0.15, seed=seed)
                for name in args.initializers:
                    keras.utils.set_random_seed(seed)
                    start = time.perf_counter()
                    accuracy = run(name, data, activation, args)
                    results.setdefault((dataset, samples, name), []).append(accuracy)
                    report.add(dataset=dataset, samples=samples, seed=seed,
                               initializer=name, test_accuracy=accuracy)
                    print(f"{dataset} {samples} samples seed {seed} {name}: test accuracy "
                          f"{accuracy:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    report.write_csv()
    columns = [(d, s) for d in args.datasets for s in args.samples]
    rows = [[f"`{name}`"] + [percent_cell(mean_and_spread(results[d, s, name]))
                             for d, s in columns] for name in args.initializers]
    body = (
        f"{args.depth} hidden layers of {args.width} units, activation "
        f"{args.activation}, Adam {args.learning_rate:g}, batch {args.batch_size}, "
        f"{args.epochs} epochs; test accuracy (%), mean ± std over {args.seeds} seeds:\n\n"
        + markdown_table(["initializer"] + [f"{d}, {s}" for d, s in columns], rows)
    )
    report.write_markdown("Data efficiency", body)
    plot(results, columns, args.initializers, report.figure_path("accuracy"))
    return report


def plot(results, columns, initializers, path) -> None:
    keys = [(c, n) for c in columns for n in initializers]
    bar_chart(path, columns, [f"{d}\n{s} images" for d, s in columns], initializers,
              {(c, n): 100 * np.mean(results[(*c, n)]) for c, n in keys},
              "test accuracy (%)",
              errors={(c, n): 100 * np.std(results[(*c, n)]) for c, n in keys})


if __name__ == "__main__":
    main()
