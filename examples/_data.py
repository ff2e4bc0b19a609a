"""Command-line options and data loading shared by the examples."""

from __future__ import annotations

import argparse

import keras

from keras_detinit import datasets


def add_data_arguments(
    parser: argparse.ArgumentParser, samples_per_class: int, epochs: int
) -> None:
    """Add ``--data-dir``, ``--epochs``, ``--samples-per-class`` and ``--seed``."""
    parser.add_argument("--data-dir", default=None, help="directory with the IDX files")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument(
        "--samples-per-class", type=int, default=samples_per_class,
        help="training images per class (0: the whole training set)",
    )
    parser.add_argument("--seed", type=int, default=0, help="split and init seed")


def load_data(name: str, args: argparse.Namespace) -> datasets.Dataset:
    """Load ``name`` as the options ask, with the papers' 15% validation split."""
    data = datasets.load_dataset(
        name,
        data_dir=args.data_dir,
        samples_per_class=args.samples_per_class or None,
        validation_fraction=0.15,
        seed=args.seed,
    )
    print(
        f"backend {keras.backend.backend()}: {len(data.train.y)} training, "
        f"{len(data.validation.y)} validation, {len(data.test.y)} test images "
        f"from {data.source}"
    )
    return data
