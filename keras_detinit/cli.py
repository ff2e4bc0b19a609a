"""The ``keras-detinit`` command.

Example:

    keras-detinit demo --data-dir ../shared/data --epochs 3
    keras-detinit info
    keras-detinit tune --data-dir ../shared/data --samples-per-class 10 \\
        --trials 6 --epochs 3
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-detinit`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ValueError as error:  # bad arguments or data: say so, no traceback
        print(f"keras-detinit: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-detinit",
        description="Weight initialization for Keras 3: demos and tools.",
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser(
        "demo",
        help="train a small FFNN on MNIST with Sinusoidal and Glorot init",
        description="Train the same FFNN once per initializer (Adam, batch "
        "100, 15%% validation) and print validation and test accuracy. The "
        "backend is chosen by KERAS_BACKEND.",
    )
    demo.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    demo.add_argument(
        "--data-dir",
        help="directory with the IDX files (else $KERAS_DETINIT_DATA_DIR, "
        "then Keras' cache, then Keras' download)",
    )
    demo.add_argument(
        "--initializers", nargs="+", default=["sinusoidal", "glorot_uniform"]
    )
    demo.add_argument("--hidden", type=int, nargs="*", default=[256], help="hidden widths")
    demo.add_argument("--epochs", type=int, default=3)
    demo.add_argument("--batch-size", type=int, default=100)
    demo.add_argument("--learning-rate", type=float, default=1e-3)
    demo.add_argument("--samples-per-class", type=int, help="few-shot training set")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_run_demo)

    info = commands.add_parser("info", help="backend, versions, initializer names")
    info.set_defaults(handler=_run_info)
    _add_tune_parser(commands)
    return parser


def _add_tune_parser(commands) -> None:
    tune = commands.add_parser(
        "tune",
        help="KerasTuner search over the initializer, sigma0 and epsilon",
        description="Search the kernel initializer of the papers' FFNN with "
        "KerasTuner (objective: validation accuracy on 15%% of the training "
        "set), print the ranked trials and write results.csv and "
        "objective.png into the project directory. Needs the 'tuner' extra. "
        "Set KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT to run one chief and several workers.",
    )
    tune.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    tune.add_argument("--data-dir", help="directory with the IDX files")
    tune.add_argument("--samples-per-class", type=int, help="few-shot training set (k)")
    tune.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
    tune.add_argument("--trials", type=int, default=10, help="maximum number of trials")
    tune.add_argument("--epochs", type=int, default=5, help="epochs per trial")
    tune.add_argument("--executions-per-trial", type=int, default=1)
    tune.add_argument("--directory", default="keras_detinit_tuning")
    tune.add_argument("--project-name", help="default: DATASET_TUNER")
    existing = tune.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", dest="if_exists", action="store_const", const="resume",
        help="continue an existing project",
    )
    existing.add_argument(
        "--overwrite", dest="if_exists", action="store_const", const="overwrite",
        help="delete an existing project and start afresh",
    )
    tune.add_argument(
        "--schemes", nargs="+",
        help="initializer choices: gaussian, epsilon_orthogonal, odd_sigmoid "
        "(needs an odd-sigmoid --activation such as tanh) or any "
        "initializer name (default: gaussian epsilon_orthogonal sinusoidal "
        "glorot_uniform he_normal)",
    )
    tune.add_argument(
        "--range", nargs=3, action="append", default=[], dest="ranges",
        metavar=("NAME", "LOW", "HIGH"),
        help="log-uniform range of a scheme's hyperparameter, e.g. "
        "--range sigma0 0.01 1 --range epsilon 1e-3 0.5",
    )
    tune.add_argument("--depth", type=int, nargs="+", default=[1],
                      help="hidden layers; several values are searched")
    tune.add_argument("--width", type=int, nargs="+", default=[16],
                      help="units per hidden layer; several values are searched")
    tune.add_argument("--activation", nargs="+", default=["relu"],
                      help="hidden activation; several values are searched")
    rate = tune.add_mutually_exclusive_group()
    rate.add_argument("--learning-rate", type=float, default=1e-3)
    rate.add_argument("--learning-rate-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                      help="search Adam's learning rate log-uniformly")
    tune.add_argument("--batch-size", type=int, default=100)
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--skewness", type=int, nargs="?", const=256, metavar="N",
                      help="attach SkewnessCallback, probing N validation images "
                      "(default 256), to every trial; its metrics go into the CSV")
    tune.add_argument("--max-consecutive-failures", type=int,
                      help="abort after this many failed trials in a row (default: never)")
    tune.add_argument("--no-plot", dest="plot", action="store_false")
    tune.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])
    tune.set_defaults(handler=_run_tune, if_exists="error")


def _run_demo(args: argparse.Namespace) -> int:
    from keras_detinit import demo

    results = demo.run_demo(
        dataset=args.dataset,
        data_dir=args.data_dir,
        initializers=args.initializers,
        hidden_units=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        samples_per_class=args.samples_per_class,
    )
    print()
    print(demo.format_results(results))
    return 0


def _run_tune(args: argparse.Namespace) -> int:
    try:
        result = _tune(args)
    except ImportError as error:  # e.g. the Bayesian tuner without scikit-learn
        print(f"keras-detinit: error: {error}", file=sys.stderr)
        return 2
    print()
    print(result.summary())
    return 0 if result.role == "worker" or result.best is not None else 1


def _tune(args: argparse.Namespace):
    # Imported here: keras-tuner is an optional extra.
    from keras_detinit.tuning import search
    from keras_detinit.tuning import search_space

    return search.tune(
        dataset=args.dataset,
        data_dir=args.data_dir,
        samples_per_class=args.samples_per_class,
        tuner=args.tuner,
        trials=args.trials,
        epochs=args.epochs,
        executions_per_trial=args.executions_per_trial,
        directory=args.directory,
        project_name=args.project_name,
        if_exists=args.if_exists,
        schemes=args.schemes or search_space.DEFAULT_SCHEMES,
        ranges=_ranges(args.ranges),
        depth=_one_or_choices(args.depth),
        width=_one_or_choices(args.width),
        activation=_one_or_choices(args.activation),
        learning_rate=args.learning_rate_range or args.learning_rate,
        batch_size=args.batch_size,
        seed=args.seed,
        skewness_probe=args.skewness,
        max_consecutive_failures=args.max_consecutive_failures,
        plot=args.plot,
        verbose=args.verbose,
    )


def _ranges(triples) -> dict[str, tuple[float, float]]:
    ranges = {}
    for name, low, high in triples:
        if name in ranges:
            raise ValueError(f"--range {name} is given twice.")
        ranges[name] = (_number("--range " + name, low), _number("--range " + name, high))
    return ranges


def _number(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a number.") from None


def _one_or_choices(values: list):
    return values[0] if len(values) == 1 else values


def _run_info(args: argparse.Namespace) -> int:
    import keras

    import keras_detinit

    print(f"keras_detinit {keras_detinit.__version__}")
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print("initializers: " + ", ".join(sorted(keras_detinit.initializers.ALIASES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
