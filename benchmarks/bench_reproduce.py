"""Benchmark: runs per hour of ``reproduce``, by model reuse and by workers.

Two measurements, both on the network of Table 2 of the deep-narrow paper
(120 hidden ReLU layers alternating 10 and 6 units, the whole MNIST
training part, 0-255 pixels as in ``table2``, one epoch per run):

1. **Model reuse.** One run of the experiment (`Table2.measure`) with a
   `RunContext` that builds, traces and compiles a fresh model per run
   (``reuse_models=False``, the old path) against one that keeps one
   compiled model per architecture and loads each run's freshly
   initialized weights into it (``reuse_models=True``). Both are timed side by side with
   `timing.time_side_by_side`; the warm-up runs (the reused model's build
   among them) are excluded, so the figures are the steady cost of each
   further run. Each call draws the next initializer and seed, as a grid
   does.
2. **Workers.** A small grid of ``keras-detinit reproduce table2`` (one
   dataset, ``--grid-activations`` x ``--grid-initializers``, one epoch),
   run as the command a user types, serially and with ``--workers 2``,
   side by side. Each command is timed whole, from the start of its
   process to its exit: the workers' start (a backend import each) is
   part of what ``--workers`` costs.

Run from the repository root, once per backend:

    KERAS_BACKEND=jax python benchmarks/bench_reproduce.py --data-dir ../shared/data \\
        --out benchmarks/results
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import keras
import report
from timing import add_timing_arguments
from timing import describe_backend
from timing import describe_timing
from timing import time_side_by_side
from timing import timing_note

from keras_detinit.reproduce.experiments.table2 import Table2
from keras_detinit.reproduce.runner import RunContext

SECONDS_PER_HOUR = 3600.0
#: Initializers the reuse measurement cycles through, one per run.
INITIALIZERS = ("epsilon_orthogonal", "he_normal", "glorot_uniform", "orthogonal")


def reuse_candidates(data_dir: str | None, download: bool, depth: int) -> dict:
    """``"fresh model per run"`` and ``"reused model"``: one Table 2 run per call."""
    experiment = Table2()
    settings = experiment.settings("quick", {"epochs": 1, "datasets": ["mnist"],
                                             "activations": ["relu"], "depth": depth})
    runs = itertools.cycle([({"dataset": "mnist", "activation": "relu", "init": init}, seed)
                            for seed in range(3) for init in INITIALIZERS])

    def candidate(context):
        def run():
            config, seed = next(runs)
            return experiment.measure(config, seed, settings, context)["acc_max"]
        return run

    return {
        "fresh model per run": candidate(RunContext(data_dir, download, reuse_models=False)),
        "reused model": candidate(RunContext(data_dir, download, reuse_models=True)),
    }


def workers_candidates(data_dir: str | None, activations: list[str],
                       initializers: list[str], depth: int) -> dict:
    """The grid's ``reproduce`` command, serial and with ``--workers 2``, per call."""
    overrides = {"epochs": 1, "datasets": ["mnist"], "activations": activations,
                 "initializers": initializers, "depth": depth}
    base = [sys.executable, "-m", "keras_detinit_cli", "reproduce", "table2", "--quiet",
            "--seeds", "1", "--overwrite"]
    for key, value in overrides.items():
        base += ["--set", f"{key}={json.dumps(value)}"]
    if data_dir:
        base += ["--data-dir", data_dir]
    environment = dict(os.environ, KERAS_BACKEND=keras.backend.backend())

    def candidate(extra):
        def run():
            with tempfile.TemporaryDirectory() as out:
                subprocess.run([*base, "--out", out, *extra], env=environment, check=True,
                               stdout=subprocess.DEVNULL)
        return run

    return {"serial": candidate([]), "--workers 2": candidate(["--workers", "2"])}


def runs_per_hour(seconds: float, runs: int = 1) -> float:
    return round(SECONDS_PER_HOUR * runs / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files")
    parser.add_argument("--no-download", dest="download", action="store_false")
    parser.add_argument("--out", type=pathlib.Path, help="results folder (else print only)")
    add_timing_arguments(parser, repeats=5, warmup=1, unit="run")
    parser.add_argument("--grid-repeats", type=int, default=1,
                        help="timed commands per candidate of the workers grid (default: 1)")
    parser.add_argument("--grid-activations", nargs="+", default=["relu", "tanh"])
    parser.add_argument("--grid-initializers", nargs="+",
                        default=["epsilon_orthogonal", "he_normal"])
    parser.add_argument("--skip-workers", action="store_true",
                        help="measure model reuse only")
    parser.add_argument("--depth", type=int, default=120,
                        help="hidden layers (default: Table 2's 120; fewer for a quick check)")
    args = parser.parse_args()

    record = {"backend": describe_backend(),
              "network": f"Table 2: {args.depth} hidden ReLU layers 10/6, MNIST training "
                         "part, 1 epoch",
              "reuse": {"timing": describe_timing(args.repeats, args.warmup)}}
    reuse = time_side_by_side(reuse_candidates(args.data_dir, args.download, args.depth),
                              repeats=args.repeats, warmup=args.warmup)
    for name, timing in reuse.items():
        record["reuse"][name] = {**timing.summary(),
                                 "runs_per_hour_median": runs_per_hour(timing.median)}
    fresh, reused = reuse["fresh model per run"], reuse["reused model"]
    record["reuse"]["speedup"] = {key: round(1 / value, 2)
                                  for key, value in reused.ratio(fresh).items()}
    lines = [f"# reproduce: runs per hour ({record['backend']})", "",
             f"Network: {record['network']}.", "",
             "| path | best s/run | median s/run | runs per hour (median) |", "|---|---|---|---|"]
    lines += [f"| {name} | {timing.best:.2f} | {timing.median:.2f} | "
              f"{runs_per_hour(timing.median)} |" for name, timing in reuse.items()]
    lines += ["", f"Reused over fresh: {record['reuse']['speedup']['median']}x (median), "
              f"{record['reuse']['speedup']['best']}x (best).",
              timing_note(record["reuse"]["timing"], "run"), ""]

    if not args.skip_workers:
        grid_runs = len(args.grid_activations) * len(args.grid_initializers)
        record["workers"] = {"timing": describe_timing(args.grid_repeats, 0),
                             "grid_runs": grid_runs}
        workers = time_side_by_side(
            workers_candidates(args.data_dir, args.grid_activations, args.grid_initializers,
                               args.depth),
            repeats=args.grid_repeats, warmup=0)
        for name, timing in workers.items():
            record["workers"][name] = {**timing.summary(),
                                       "runs_per_hour_median": runs_per_hour(timing.median,
                                                                             grid_runs)}
        speedup = {key: round(1 / value, 2) for key, value in
                   workers["--workers 2"].ratio(workers["serial"]).items()}
        record["workers"]["speedup"] = speedup
        lines += [f"## --workers 2 on a grid of {grid_runs} runs (whole commands)", "",
                  "| command | best s | median s | runs per hour (median) |", "|---|---|---|---|"]
        lines += [f"| {name} | {timing.best:.1f} | {timing.median:.1f} | "
                  f"{runs_per_hour(timing.median, grid_runs)} |"
                  for name, timing in workers.items()]
        lines += ["", f"--workers 2 over serial: {speedup['median']}x (median), "
                  f"{speedup['best']}x (best). No warm-up: each command starts its "
                  "own processes, as a user's does.",
                  timing_note(record["workers"]["timing"], "command")]
    report.publish(args.out, "reproduce", record, "\n".join(lines))


if __name__ == "__main__":
    main()
