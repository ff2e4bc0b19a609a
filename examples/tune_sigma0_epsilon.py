"""Tune sigma0 and epsilon with KerasTuner on few-shot MNIST.

Two initializations, each with one parameter, compete in one search:

* ``gaussian``: ``N(0, sigma0^2)`` weights (Horii and Has find
  ``sigma0 = 0.15`` optimal for their three-layer ReLU network), and
* ``epsilon_orthogonal``: Lee et al.'s deterministic ``Q_m I Q_n^T`` with
  ``epsilon`` (0.1 in their experiments),

on the papers' few-shot setting: ``k`` training images per class, 15% of
MNIST's training set for validation, one hidden ReLU layer of 16 units,
Adam (1e-3), batch size 100. The objective is validation accuracy; the
ranked trials are printed, and ``results.csv`` and ``objective.png``
(accuracy against sigma0 and against epsilon) are written to the project
directory. The backend is Keras' (set ``KERAS_BACKEND``).

    KERAS_BACKEND=jax python examples/tune_sigma0_epsilon.py \\
        --data-dir ../shared/data --trials 12 --epochs 10
"""

from __future__ import annotations

import argparse
from typing import Sequence

from keras_detinit import tuning


def main(argv: Sequence[str] | None = None) -> tuning.TuningResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory with the MNIST IDX files")
    parser.add_argument("--samples-per-class", type=int, default=10)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tuner", default="random", choices=sorted(tuning.TUNERS))
    parser.add_argument("--sigma0-range", type=float, nargs=2, default=(1e-2, 1.0))
    parser.add_argument("--epsilon-range", type=float, nargs=2, default=(1e-4, 1.0))
    parser.add_argument("--directory", default="keras_detinit_tuning")
    parser.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])
    args = parser.parse_args(argv)
    result = tuning.tune(
        "mnist",
        data_dir=args.data_dir,
        samples_per_class=args.samples_per_class,
        tuner=args.tuner,
        trials=args.trials,
        epochs=args.epochs,
        directory=args.directory,
        project_name=f"sigma0_epsilon_{args.tuner}",
        if_exists="overwrite",
        schemes=("gaussian", "epsilon_orthogonal"),
        ranges={"sigma0": args.sigma0_range, "epsilon": args.epsilon_range},
        verbose=args.verbose,
    )
    print(result.summary())
    return result


if __name__ == "__main__":
    main()
