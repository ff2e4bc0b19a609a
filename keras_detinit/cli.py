"""The ``keras-detinit`` command.

Example:

    keras-detinit demo --data-dir ../shared/data --epochs 3
    keras-detinit info
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
    return parser


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


def _run_info(args: argparse.Namespace) -> int:
    import keras

    import keras_detinit

    print(f"keras_detinit {keras_detinit.__version__}")
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print("initializers: " + ", ".join(sorted(keras_detinit.initializers.ALIASES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
