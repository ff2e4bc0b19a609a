"""Command-line options and the search shared by the ``tune_*`` examples.

Each example defines ``build_model(hp, ranges)`` for its own network, with
`keras_detinit.tuning.choose_initializer` for the kernels, and runs it
through a plain `keras_tuner.RandomSearch` here.
"""

from __future__ import annotations

import argparse
import functools

import keras_tuner

from keras_detinit import datasets
from keras_detinit import tuning

from _data import add_data_arguments

OBJECTIVE = "val_accuracy"
#: The schemes the examples search: a Gaussian start with its sigma0, the
#: epsilon-orthogonal one with its epsilon, and Keras' ReLU default.
SCHEMES = ("gaussian", "epsilon_orthogonal", "he_normal")


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options, and ``--trials``, ``--directory``, ``--sigma0-estimate``."""
    add_data_arguments(parser, samples_per_class=10, epochs=2)
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "fashion_mnist"))
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--directory", default="keras_detinit_tuning",
                        help="KerasTuner's project directory")
    parser.add_argument(
        "--sigma0-estimate", type=float, default=None,
        help="an optimal_sigma0 estimate: centre the sigma0 range on it "
        "(a decade either side) and compare the tuned sigma0 with it",
    )
    parser.add_argument("--verbose", type=int, default=0, choices=[0, 1, 2])


def search(build_model, data: datasets.Dataset, args: argparse.Namespace, name: str):
    """Tune ``build_model(hp, ranges)`` with a plain RandomSearch; print the results.

    Returns:
        The trials as `keras_detinit.tuning.TrialRecord`s, best first.
    """
    ranges = {}
    if args.sigma0_estimate is not None:
        ranges["sigma0"] = tuning.sigma0_range(args.sigma0_estimate)
    print(f"{name}: random search, {args.trials} trials; {tuning.describe_device()}")
    tuner = keras_tuner.RandomSearch(
        functools.partial(build_model, ranges=ranges),
        objective=OBJECTIVE,
        max_trials=args.trials,
        seed=args.seed + 1,  # KerasTuner reads seed 0 as "no seed".
        directory=args.directory,
        project_name=name,
        overwrite=True,
    )
    tuner.search(
        *data.train, validation_data=tuple(data.validation), epochs=args.epochs,
        batch_size=100, verbose=args.verbose,
    )
    records = tuning.collect_records(tuner.oracle)
    print(tuning.format_summary(records, OBJECTIVE, ("initializer", "sigma0", "epsilon")))
    if args.sigma0_estimate is not None:
        print(tuning.compare_sigma0(records, args.sigma0_estimate))
    return records
