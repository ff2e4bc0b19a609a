"""Benchmark: Sinusoidal vs Keras' GlorotUniform on the current backend.

Target: a 4096 x 4096 float32 kernel costs at most 1.5x GlorotUniform, for
both the best and the median run. Both initializers are timed side by side
in one process with `timing.time_side_by_side` (warm-up excluded).

Run from the repository root, once per backend:

    KERAS_BACKEND=jax python benchmarks/bench_sinusoidal.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import warnings

import keras
import report
from timing import add_timing_arguments
from timing import describe_backend
from timing import describe_timing
from timing import time_side_by_side
from timing import timing_note

import keras_detinit
from keras_detinit import reporting

TARGET_RATIO = 1.5


def measure(size: int, repeats: int, warmup: int) -> dict:
    """Time one ``size x size`` float32 kernel of each initializer."""
    shape = (size, size)
    glorot = keras.initializers.GlorotUniform(seed=0)
    sinusoidal = keras_detinit.Sinusoidal()
    timings = time_side_by_side(
        {
            "glorot_uniform": lambda: glorot(shape, dtype="float32"),
            "sinusoidal": lambda: sinusoidal(shape, dtype="float32"),
        },
        repeats=repeats,
        warmup=warmup,
    )
    ratio = timings["sinusoidal"].ratio(timings["glorot_uniform"])
    return {
        "shape": f"{size}x{size}",
        "glorot_uniform": timings["glorot_uniform"].summary(),
        "sinusoidal": timings["sinusoidal"].summary(),
        "ratio_best": round(ratio["best"], 3),
        "ratio_median": round(ratio["median"], 3),
        "target": TARGET_RATIO,
        "meets_target": max(ratio.values()) <= TARGET_RATIO,
    }


def as_markdown(result: dict) -> str:
    rows = [
        [
            result["backend"], row["shape"],
            row["glorot_uniform"]["best_s"], row["glorot_uniform"]["median_s"],
            row["sinusoidal"]["best_s"], row["sinusoidal"]["median_s"],
            f"{row['ratio_best']:.2f}", f"{row['ratio_median']:.2f}", f"<= {row['target']}",
        ]
        for row in result["rows"]
    ]
    header = [
        "backend", "shape", "GlorotUniform best (s)", "GlorotUniform median (s)",
        "Sinusoidal best (s)", "Sinusoidal median (s)", "ratio (best)", "ratio (median)",
        "target",
    ]
    return reporting.markdown_table(header, rows) + "\n\n" + timing_note(result["timing"])


def main(argv=None) -> int:
    # Square layers of even width have the paper's all-zero rows; the
    # warning about them is not what is measured here.
    warnings.filterwarnings("ignore", "Sinusoidal kernel", UserWarning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096])
    parser.add_argument("--out", type=pathlib.Path, help="folder for the JSON and markdown")
    add_timing_arguments(parser, repeats=15, warmup=2)
    args = parser.parse_args(argv)
    result = {
        "backend": describe_backend(),
        "timing": describe_timing(args.repeats, args.warmup),
        "rows": [measure(size, args.repeats, args.warmup) for size in args.sizes],
    }
    report.publish(args.out, "sinusoidal", result, as_markdown(result))
    return 0 if all(row["meets_target"] for row in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
