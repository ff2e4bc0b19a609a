"""What the ``keras-detinit`` commands do, once their arguments are parsed.

The parser and the error handling live in `keras_detinit_cli`, which
answers ``--help`` without importing Keras; each ``run_<command>`` here
receives the parsed arguments and returns the exit status.

Example:

    keras-detinit demo --data-dir ../shared/data --epochs 3
    keras-detinit info
    keras-detinit tune --data-dir ../shared/data --samples-per-class 10 \\
        --trials 6 --epochs 3
    keras-detinit reproduce table1 --profile quick --data-dir ../shared/data
    keras-detinit reproduce table2 --workers 2 --data-dir ../shared/data
    keras-detinit reproduce table2 --executor ray --workers 8 --address HEAD:6379
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import keras

from keras_detinit_cli import main

__all__ = ["main", "run_demo", "run_info", "run_reproduce", "run_tune"]


def run_demo(args: argparse.Namespace) -> int:
    """``keras-detinit demo``: train and print the accuracy table."""
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


def run_tune(args: argparse.Namespace) -> int:
    """``keras-detinit tune``: search, then print the ranked trials."""
    try:
        result = _tune(args)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"finished trials are kept in {args.directory}, resume with --resume"
        ) from None
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


def run_reproduce(args: argparse.Namespace) -> int:
    """``keras-detinit reproduce``: measure, then write the report."""
    if args.backend and args.backend != keras.backend.backend():
        # Keras was imported before the command ran (e.g. called from
        # Python): the backend is fixed, so run again under the asked one.
        env = dict(os.environ, KERAS_BACKEND=args.backend)
        return subprocess.call([sys.executable, "-m", "keras_detinit_cli", *args.argv], env=env)
    from keras_detinit.reproduce import runner

    # Recorded as the command that regenerates the folder from scratch; an
    # explicit --backend already names the backend.
    words = [word for word in args.argv
             if word not in ("--resume", "--overwrite", "--report-only", "--quiet")]
    command = runner.command_line(words, backend=not args.backend)
    outcome = runner.reproduce(
        args.experiment,
        profile=args.profile,
        out=args.out,
        data_dir=args.data_dir,
        seeds=args.seeds,
        first_seed=args.first_seed,
        resume=args.resume,
        overwrite=args.overwrite,
        report_only=args.report_only,
        overrides=_overrides(args.overrides),
        command=command,
        download=args.download,
        show_progress=not args.quiet,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        gpus_per_task=args.gpus_per_task,
        stack=args.stack,
    )
    print(f"{outcome.measured} runs measured; {len(outcome.results)} rows in "
          f"{outcome.out / runner.RESULTS_FILE}; report: {outcome.report}")
    if outcome.failures:
        print(f"{len(outcome.failures)} runs failed, listed in "
              f"{outcome.out / runner.FAILURES_FILE} and the report; --resume retries them.",
              file=sys.stderr)
        return 1
    return 0


def run_info(args: argparse.Namespace) -> int:
    """``keras-detinit info``: versions, backend libraries, device, names."""
    import keras_detinit
    from keras_detinit import devices

    print(f"keras_detinit {keras_detinit.__version__}")
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    libraries = devices.backend_libraries()
    print("backend libraries: " + (", ".join(f"{name} {version}" for name, version in
                                             libraries.items()) or "none installed"))
    print(f"device: {devices.describe_device()}")
    print("initializers: " + ", ".join(sorted(keras_detinit.initializers.ALIASES)))
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


if __name__ == "__main__":
    sys.exit(main())
