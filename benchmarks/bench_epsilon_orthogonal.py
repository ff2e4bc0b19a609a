"""Benchmark EpsilonOrthogonal against GlorotUniform and the QR construction.

On the current Keras backend (``KERAS_BACKEND``), for each size ``N`` two
float32 kernels are generated:

* ``N x N``: square, where ``W = Q Q^T`` is the identity (Proposition 1);
* ``N x N/2`` (``N`` inputs, ``N/2`` units): the general closed form.

Each is timed as the best of ``--repeats`` calls, materialized with
``keras.ops.convert_to_numpy``, against ``keras.initializers.GlorotUniform``
of the same shape. The dense-QR construction `epsilon_orthogonal_qr`
(NumPy, float64) is timed once per shape. The script also checks that the
closed form equals the QR construction (max abs difference) and reports
``max |W^T W - I|`` (``W W^T`` for wide ``W``), both in float64 from the
float32 kernel.

Example:

    KERAS_BACKEND=jax python benchmarks/bench_epsilon_orthogonal.py \\
        --sizes 4096 8192 --out results_jax.md
"""

from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np

from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import epsilon_orthogonal_qr

COLUMNS = (
    "backend", "shape", "glorot_s", "eps_orth_s", "qr_s", "eps_vs_glorot",
    "qr_vs_eps", "max_diff_vs_qr", "max_orth_error",
)


def best_seconds(generate, repeats: int) -> float:
    """Best wall time of ``repeats`` calls, each materialized as NumPy."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(generate())
        times.append(time.perf_counter() - start)
    return min(times)


def orthogonality_error(matrix: np.ndarray) -> float:
    """``max |W^T W - I|`` for tall ``W``, ``max |W W^T - I|`` for wide."""
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    return float(np.abs(gram - np.eye(len(gram))).max())


def measure(shape: tuple[int, int], epsilon: float, repeats: int, qr: bool) -> dict:
    init = EpsilonOrthogonal(epsilon)
    glorot = keras.initializers.GlorotUniform(seed=0)
    glorot_s = best_seconds(lambda: glorot(shape, dtype="float32"), repeats)
    eps_s = best_seconds(lambda: init(shape, dtype="float32"), repeats)
    kernel = keras.ops.convert_to_numpy(init(shape, dtype="float32"))
    matrix = kernel.astype(np.float64).T  # W: units x inputs
    row = {
        "backend": keras.backend.backend(),
        "shape": f"{shape[0]}x{shape[1]}",
        "glorot_s": glorot_s,
        "eps_orth_s": eps_s,
        "eps_vs_glorot": eps_s / glorot_s,
        "max_orth_error": orthogonality_error(matrix),
        "qr_s": None,
        "qr_vs_eps": None,
        "max_diff_vs_qr": None,
    }
    if qr:
        start = time.perf_counter()
        reference = epsilon_orthogonal_qr(matrix.shape[0], matrix.shape[1], epsilon)
        row["qr_s"] = time.perf_counter() - start
        row["qr_vs_eps"] = row["qr_s"] / eps_s
        row["max_diff_vs_qr"] = float(np.abs(matrix - reference).max())
    return row


def markdown(rows: list[dict], epsilon: float) -> str:
    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    lines = [
        f"epsilon = {epsilon}, float32 kernels (inputs x units), seconds "
        "(best of repeats; QR timed once).",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-qr", action="store_true", help="skip the QR reference")
    parser.add_argument("--out", help="write results to a .json or .md file")
    args = parser.parse_args(argv)

    rows = []
    for size in args.sizes:
        for shape in ((size, size), (size, size // 2)):
            rows.append(measure(shape, args.epsilon, args.repeats, not args.no_qr))
            print(markdown(rows[-1:], args.epsilon).splitlines()[-1], flush=True)
    text = markdown(rows, args.epsilon)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            if args.out.endswith(".json"):
                json.dump({"epsilon": args.epsilon, "rows": rows}, handle, indent=2)
            else:
                handle.write(text)


if __name__ == "__main__":
    main()
