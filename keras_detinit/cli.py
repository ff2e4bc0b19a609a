"""The ``keras-detinit`` command.

Example:

    keras-detinit demo --data-dir ../shared/data --epochs 3
    keras-detinit info
    keras-detinit tune --data-dir ../shared/data --samples-per-class 10 \\
        --trials 6 --epochs 3
    keras-detinit reproduce table1 --profile quick --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-detinit`` console script."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
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
    _add_reproduce_parser(commands)
    return parser


def _add_reproduce_parser(commands) -> None:
    from keras_detinit.reproduce.experiment import PROFILES
    from keras_detinit.reproduce.registry import EXPERIMENTS

    listing = "; ".join(f"{name}: {entry[2]}" for name, entry in EXPERIMENTS.items())
    reproduce = commands.add_parser(
        "reproduce",
        help="reproduce a paper's table or figure (CSV, markdown, PNG)",
        description="Run one of the papers' experiments: every configuration "
        "once per seed, one CSV row each as it finishes (resumable), then "
        "report.md with mean +- std beside the paper's values, figures/*.png "
        "and command.txt in --out. Experiments: " + listing + ".",
    )
    reproduce.add_argument("experiment", choices=sorted(EXPERIMENTS))
    reproduce.add_argument(
        "--profile", default="quick", choices=PROFILES,
        help="quick: reduced for a 2-core CPU (reductions are printed); "
        "paper: the paper's full protocol, meant for a GPU (default: quick)",
    )
    reproduce.add_argument(
        "--backend", choices=["tensorflow", "jax", "torch"],
        help="Keras backend (default: KERAS_BACKEND, else Keras' default)",
    )
    reproduce.add_argument(
        "--data-dir",
        help="directory with the IDX files (else $KERAS_DETINIT_DATA_DIR, "
        "then Keras' cache, then Keras' download)",
    )
    reproduce.add_argument("--out", help="output directory "
                           "(default: keras_detinit_results/EXPERIMENT-PROFILE)")
    reproduce.add_argument("--seeds", type=int, help="number of seeds 0..N-1 "
                           "(default: the profile's, printed at the start)")
    existing = reproduce.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true",
                          help="continue the results already in --out")
    existing.add_argument("--overwrite", action="store_true",
                          help="discard the results already in --out")
    reproduce.add_argument(
        "--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
        help="replace a profile setting; VALUE is JSON, e.g. --set epochs=2 "
        "--set datasets='[\"mnist\"]' (report.md lists the settings)",
    )
    reproduce.add_argument("--no-download", dest="download", action="store_false",
                           help="never download a dataset")
    reproduce.add_argument("--quiet", action="store_true", help="no progress lines")
    reproduce.set_defaults(handler=_run_reproduce)


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


def _run_reproduce(args: argparse.Namespace) -> int:
    import keras

    if args.backend and args.backend != keras.backend.backend():
        # The backend is fixed when Keras is imported: run again under it.
        env = dict(os.environ, KERAS_BACKEND=args.backend)
        return subprocess.call([sys.executable, "-m", "keras_detinit.cli", *args.argv], env=env)
    from keras_detinit.reproduce import runner

    # Recorded as the command that regenerates the folder from scratch; an
    # explicit --backend already names the backend.
    words = [word for word in args.argv if word not in ("--resume", "--overwrite", "--quiet")]
    command = runner.command_line(words, backend=not args.backend)
    outcome = runner.reproduce(
        args.experiment,
        profile=args.profile,
        out=args.out,
        data_dir=args.data_dir,
        seeds=args.seeds,
        resume=args.resume,
        overwrite=args.overwrite,
        overrides=_overrides(args.overrides),
        command=command,
        download=args.download,
        show_progress=not args.quiet,
    )
    print(f"{outcome.measured} runs measured; {len(outcome.results)} rows in "
          f"{outcome.out / runner.RESULTS_FILE}; report: {outcome.report}")
    return 0


def _overrides(pairs: list[str]) -> dict:
    overrides = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {pair!r}.")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text  # a bare word, e.g. --set dataset=mnist
    return overrides


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
