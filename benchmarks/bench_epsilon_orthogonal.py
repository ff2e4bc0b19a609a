"""Benchmark EpsilonOrthogonal against GlorotUniform and the QR construction.

On the current Keras backend (``KERAS_BACKEND``), for each size ``N`` two
float32 kernels are generated:

* ``N x N``: square, where ``W = Q Q^T`` is the identity (Proposition 1);
* ``N x N/2`` (``N`` inputs, ``N/2`` units): the general closed form.

EpsilonOrthogonal and ``keras.initializers.GlorotUniform`` of the same shape
are timed side by side with `timing.time_side_by_side` (warm-up excluded,
best and median of ``--repeats`` interleaved calls). The dense-QR
construction `epsilon_orthogonal_qr` (NumPy, float64; nothing to compile,
6-45 s a call) is timed with the same helper, ``--qr-repeats`` calls after
``--qr-warmup``. The script also checks that the closed form equals the QR
construction (max abs difference) and reports ``max |W^T W - I|``
(``W W^T`` for wide ``W``), both in float64 from the float32 kernel.

Run from the repository root, once per backend:

    KERAS_BACKEND=jax python benchmarks/bench_epsilon_orthogonal.py \\
        --sizes 4096 8192 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import pathlib

import keras
import numpy as np
import report
from timing import add_timing_arguments
from timing import describe_backend
from timing import describe_timing
from timing import time_side_by_side
from timing import timing_note

from keras_detinit import reporting
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import epsilon_orthogonal_qr


def orthogonality_error(matrix: np.ndarray) -> float:
    """``max |W^T W - I|`` for tall ``W``, ``max |W W^T - I|`` for wide."""
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    return float(np.abs(gram - np.eye(len(gram))).max())


def measure(shape: tuple[int, int], args) -> dict:
    """Time one kernel shape and check it against the QR construction."""
    init = EpsilonOrthogonal(args.epsilon)
    glorot = keras.initializers.GlorotUniform(seed=0)
    timings = time_side_by_side(
        {
            "glorot_uniform": lambda: glorot(shape, dtype="float32"),
            "epsilon_orthogonal": lambda: init(shape, dtype="float32"),
        },
        repeats=args.repeats,
        warmup=args.warmup,
    )
    eps, glorot_timing = timings["epsilon_orthogonal"], timings["glorot_uniform"]
    kernel = keras.ops.convert_to_numpy(init(shape, dtype="float32"))
    matrix = kernel.astype(np.float64).T  # W: units x inputs
    row = {
        "shape": f"{shape[0]}x{shape[1]}",
        "glorot_uniform": glorot_timing.summary(),
        "epsilon_orthogonal": eps.summary(),
        "eps_vs_glorot": _rounded(eps.ratio(glorot_timing)),
        "max_orth_error": orthogonality_error(matrix),
    }
    if args.qr_repeats:
        references = []

        def qr():
            references.append(epsilon_orthogonal_qr(*matrix.shape, args.epsilon))

        qr_timing = time_side_by_side(
            {"qr": qr}, repeats=args.qr_repeats, warmup=args.qr_warmup
        )["qr"]
        row["qr"] = qr_timing.summary()
        row["qr_vs_eps"] = _rounded(qr_timing.ratio(eps), digits=1)
        row["max_diff_vs_qr"] = float(np.abs(matrix - references[-1]).max())
    return row


def _rounded(ratio: dict[str, float], digits: int = 3) -> dict[str, float]:
    return {key: round(value, digits) for key, value in ratio.items()}


def as_markdown(result: dict) -> str:
    def qr_cells(row):
        if "qr" not in row:
            return ["-"] * 4
        return [row["qr"]["best_s"], row["qr_vs_eps"]["best"], row["qr_vs_eps"]["median"],
                f"{row['max_diff_vs_qr']:.3g}"]

    header = [
        "backend", "shape", "GlorotUniform best (s)", "GlorotUniform median (s)",
        "EpsilonOrthogonal best (s)", "EpsilonOrthogonal median (s)",
        "vs Glorot (best)", "vs Glorot (median)", "QR best (s)", "QR / closed form (best)",
        "QR / closed form (median)", "max diff to QR", "max orth error",
    ]
    rows = [
        [result["backend"], row["shape"],
         row["glorot_uniform"]["best_s"], row["glorot_uniform"]["median_s"],
         row["epsilon_orthogonal"]["best_s"], row["epsilon_orthogonal"]["median_s"],
         row["eps_vs_glorot"]["best"], row["eps_vs_glorot"]["median"],
         *qr_cells(row), f"{row['max_orth_error']:.3g}"]
        for row in result["rows"]
    ]
    qr = result["qr_timing"]
    note = (
        f"epsilon = {result['epsilon']}, float32 kernels (inputs x units). "
        f"QR construction (NumPy, float64): {qr['warmup']} warm-up, {qr['repeats']} "
        f"timed call(s) per shape. {timing_note(result['timing'])}"
    )
    return reporting.markdown_table(header, rows) + "\n\n" + note


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--qr-repeats", type=int, default=1,
                        help="timed QR constructions per shape (0: skip QR)")
    parser.add_argument("--qr-warmup", type=int, default=0,
                        help="untimed QR constructions first")
    parser.add_argument("--out", type=pathlib.Path, help="folder for the JSON and markdown")
    add_timing_arguments(parser, repeats=7, warmup=1)
    args = parser.parse_args(argv)

    result = {
        "backend": describe_backend(),
        "epsilon": args.epsilon,
        "timing": describe_timing(args.repeats, args.warmup),
        "qr_timing": {"repeats": args.qr_repeats, "warmup": args.qr_warmup},
        "rows": [],
    }
    for size in args.sizes:
        for shape in ((size, size), (size, size // 2)):
            result["rows"].append(measure(shape, args))
            print(json.dumps(result["rows"][-1]), flush=True)
    report.publish(args.out, "epsilon_orthogonal", result, as_markdown(result))


if __name__ == "__main__":
    main()
