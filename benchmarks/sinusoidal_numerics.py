"""Sinusoidal numerics report: row cancellation and cross-backend agreement.

For each backend (run in its own process), generates float32 kernels and
measures ``max |row sum| / (a sqrt(n))`` (target <= 1e-5 for m < n up to
8192 x 16384), the largest deviation from eq. (1) evaluated in float64, and
the largest difference between backends (target <= 1e-6).

    python benchmarks/sinusoidal_numerics.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROW_SUM_SHAPES = [(8192, 16384), (8191, 8192), (6000, 12288), (4095, 4096), (1000, 16383)]
AGREEMENT_SHAPES = [(64, 784), (512, 512), (1000, 3001), (4096, 8192)]

WORKER = r"""
import json, math, sys, warnings
import numpy as np
from keras import ops
import keras_detinit
warnings.simplefilter("ignore")
row_sum_shapes, agreement_shapes, out = json.loads(sys.argv[1])
report = {"row_sum_ratio": {}, "error_vs_float64": {}}
for m, n in row_sum_shapes:
    init = keras_detinit.Sinusoidal()
    kernel = ops.convert_to_numpy(init((n, m), dtype="float32")).astype(np.float64)
    ratio = np.abs(kernel.sum(axis=0)).max() / (init.amplitude((n, m)) * math.sqrt(n))
    report["row_sum_ratio"][f"{m}x{n}"] = float(ratio)
arrays = {}
for m, n in agreement_shapes:
    init = keras_detinit.Sinusoidal()
    kernel = ops.convert_to_numpy(init((n, m), dtype="float32"))
    i = np.arange(1, m + 1)[None, :]
    j = np.arange(1, n + 1)[:, None]
    exact = init.amplitude((n, m)) * np.sin(2 * np.pi * i * j / n + 2 * np.pi * i / m)
    report["error_vs_float64"][f"{m}x{n}"] = float(np.abs(kernel - exact).max())
    arrays[f"{m}x{n}"] = kernel
np.savez(out, **arrays)
print(json.dumps(report))
"""


def measure(backend: str, workdir: pathlib.Path) -> tuple[dict, dict]:
    out = workdir / f"{backend}.npz"
    arguments = json.dumps([ROW_SUM_SHAPES, AGREEMENT_SHAPES, str(out)])
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", WORKER, arguments],
        env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), dict(np.load(out))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, help="folder for the JSON report")
    args = parser.parse_args(argv)
    backends = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b)]
    with tempfile.TemporaryDirectory() as tmp:
        results = {b: measure(b, pathlib.Path(tmp)) for b in backends}
    report = {b: r for b, (r, _) in results.items()}
    differences = {}
    for shape in (f"{m}x{n}" for m, n in AGREEMENT_SHAPES):
        kernels = [results[b][1][shape] for b in backends]
        differences[shape] = max(
            float(np.abs(a - b).max()) for a in kernels for b in kernels
        )
    report["cross_backend_max_abs_difference"] = differences
    print("max |row sum| / (a sqrt(n)), float32 (target <= 1e-5):")
    for b in backends:
        print(f"  {b:<10} " + "  ".join(f"{s}: {v:.2e}" for s, v in report[b]["row_sum_ratio"].items()))
    print("max |W - eq.(1) in float64|, float32:")
    for b in backends:
        print(f"  {b:<10} " + "  ".join(f"{s}: {v:.2e}" for s, v in report[b]["error_vs_float64"].items()))
    print(f"max difference between {', '.join(backends)} (target <= 1e-6):")
    print("  " + "  ".join(f"{s}: {v:.2e}" for s, v in differences.items()))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sinusoidal_numerics.json").write_text(json.dumps(report, indent=2) + "\n")
    ok = all(v <= 1e-5 for b in backends for v in report[b]["row_sum_ratio"].values())
    return 0 if ok and all(v <= 1e-6 for v in differences.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
