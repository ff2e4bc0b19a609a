"""Make the documentation's figures from the initializers themselves.

For every initializer registered in `keras_detinit.initializers.ALIASES`,
and Keras' ``glorot_uniform`` for comparison, one PNG with a heatmap and a
histogram of a generated Dense kernel, seen as the papers' matrix ``W``
(``m`` units x ``n`` inputs): ``docs/initializers/figures/<name>.png``.
Also the home page's picture, ``docs/figures/home.png``: Sinusoidal and
Glorot side by side, with the sums of their rows.

Run from the repository root (any backend; random initializers use seed 0,
and their values differ between backends):

    KERAS_BACKEND=jax python docs/scripts/make_figures.py

Needs matplotlib (``pip install -e ".[plots]"``).
"""

from __future__ import annotations

import argparse
import inspect
import pathlib
from typing import Sequence

import keras
import numpy as np

import keras_detinit  # noqa: F401  (registers the initializers)
from keras_detinit import shapes
from keras_detinit.initializers import ALIASES
from keras_detinit.reporting.figures import pyplot

plt = pyplot()

DOCS = pathlib.Path(__file__).resolve().parents[1]
#: A Dense layer with 100 inputs and 64 units: ``W`` is 64 x 100. With
#: ``m < n`` every Sinusoidal row sums to zero, and this shape has no
#: degenerate row (a (128, 64) kernel would have an all-zero row 64).
KERNEL_SHAPE = (100, 64)
COMPARISON = "glorot_uniform"
SEED = 0
# PNG metadata holds the matplotlib version by default; leaving it out keeps
# the files identical between runs.
PNG_METADATA = {"Software": None}


def initializer_names() -> list[str]:
    """Every registered name, then Keras' default for comparison."""
    return sorted(ALIASES) + [COMPARISON]


def make_initializer(name: str) -> keras.initializers.Initializer:
    """The initializer ``name`` with default arguments and, if random, seed 0."""
    cls = type(keras.initializers.get(name))
    accepts_seed = "seed" in inspect.signature(cls).parameters
    return cls(seed=SEED) if accepts_seed else cls()


def generated_matrix(name: str) -> np.ndarray:
    """``W`` (``m x n``) of the ``KERNEL_SHAPE`` kernel made by ``name``."""
    kernel = make_initializer(name)(KERNEL_SHAPE, dtype="float32")
    return np.asarray(keras.ops.convert_to_numpy(shapes.kernel_to_matrix(kernel)))


def draw_heatmap(axes, matrix: np.ndarray, title: str) -> None:
    limit = float(np.abs(matrix).max()) or 1.0
    m, n = matrix.shape
    image = axes.imshow(
        matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
        interpolation="nearest", extent=(0.5, n + 0.5, m + 0.5, 0.5),
    )
    axes.figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03)
    axes.set_title(title)
    axes.set_xlabel("input j (1-based)")
    axes.set_ylabel("unit i (1-based)")


def draw_histogram(axes, matrix: np.ndarray) -> None:
    values = matrix.ravel()
    counts, _, _ = axes.hist(values, bins=60, color="#3f51b5")
    # Sparse matrices put nearly every entry in one bin: a log scale keeps
    # the other bins visible.
    crowded = counts.max() > values.size / 4
    if crowded:
        axes.set_yscale("log")
    row_sums = np.abs(matrix.sum(axis=1))
    axes.set_title(
        f"entries: mean {values.mean():+.1e}, std {values.std():.4f}\n"
        f"rows: max |row sum| {row_sums.max():.1e}",
        fontsize=10,
    )
    axes.set_xlabel("weight")
    axes.set_ylabel("count (log scale)" if crowded else "count")


def matrix_title(name: str) -> str:
    m, n = KERNEL_SHAPE[1], KERNEL_SHAPE[0]
    return f"{name}: Dense kernel {KERNEL_SHAPE} as W ({m} x {n})"


def save(figure, path: pathlib.Path) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(figure)
    return path


def initializer_figure(name: str, directory: pathlib.Path) -> pathlib.Path:
    """Heatmap and histogram of ``name``'s matrix, saved as ``<name>.png``."""
    matrix = generated_matrix(name)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.5, 1]},
        layout="constrained",
    )
    draw_heatmap(left, matrix, matrix_title(name))
    draw_histogram(right, matrix)
    return save(figure, directory / f"{name}.png")


def home_figure(path: pathlib.Path) -> pathlib.Path:
    """Sinusoidal and Glorot heatmaps, and the sum of each of their rows."""
    figure, axes = plt.subplots(
        1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.3, 1.3, 1]},
        layout="constrained",
    )
    sums = {}
    for ax, name in zip(axes[:2], ("sinusoidal", COMPARISON)):
        matrix = generated_matrix(name)
        draw_heatmap(ax, matrix, f"{name}: W ({matrix.shape[0]} x {matrix.shape[1]})")
        sums[name] = matrix.sum(axis=1)
    for name, marker in zip(sums, ("o", "s")):
        axes[2].plot(
            np.arange(1, len(sums[name]) + 1), sums[name], marker, markersize=3,
            label=name,
        )
    axes[2].axhline(0.0, color="black", linewidth=0.6)
    axes[2].set_title("row sums S = sum_j W[i, j]")
    axes[2].set_xlabel("unit i")
    axes[2].set_ylabel("S")
    axes[2].legend(loc="upper right", fontsize=8)
    return save(figure, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs-dir", type=pathlib.Path, default=DOCS,
        help="where docs/initializers/figures and docs/figures are written",
    )
    parser.add_argument(
        "--names", nargs="+", default=initializer_names(),
        help="initializers to draw (default: every registered one and "
        f"{COMPARISON})",
    )
    args = parser.parse_args(argv)
    for name in args.names:
        print(initializer_figure(name, args.docs_dir / "initializers" / "figures"))
    print(home_figure(args.docs_dir / "figures" / "home.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
