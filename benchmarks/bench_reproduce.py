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
   A third candidate trains ``--stack-members`` runs (the paper's
   initializers) as one stacked program (`Table2.measure_stack`,
   ``reproduce --stack``); its figures are per run, the call's time divided
   by the members.
2. **Six runs against one.** ``keras-detinit reproduce table2`` with one
   run, and with six runs of the same architecture (``--stack``), as
   whole commands: what a user pays for six runs over one, start and
   compilation included.
3. **Workers.** A small grid of ``keras-detinit reproduce table2`` (one
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
#: The paper's eight initializers, the members of a stacked call.
PAPER_EIGHT = ("epsilon_orthogonal", "orthogonal", "glorot_uniform", "he_normal",
               "zero_hadamard", "identity", "randomized_asymmetric", "gaussian_submatrix")


def reuse_candidates(data_dir: str | None, download: bool, depth: int, members: int) -> dict:
    """``"fresh model per run"``, ``"reused model"`` (one Table 2 run per call), ``"stacked"``.

    A ``"stacked"`` call trains ``members`` runs as one program.
    """
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

    stacked_context = RunContext(data_dir, download, reuse_models=True)
    stack = [{"dataset": "mnist", "activation": "relu", "init": init}
             for init in PAPER_EIGHT[:members]]
    # Stacks of one seed share its data split, as a grid's stacks do.
    seeds = itertools.cycle([seed for seed in range(3) for _ in range(3)])

    def stacked():
        return experiment.measure_stack(stack, next(seeds), settings, stacked_context)

    return {
        "fresh model per run": candidate(RunContext(data_dir, download, reuse_models=False)),
        "reused model": candidate(RunContext(data_dir, download, reuse_models=True)),
        STACKED: stacked,
    }


#: The stacked candidate's name; its timings are per call of ``members`` runs.
STACKED = "stacked"


def _command(data_dir: str | None, overrides: dict, extra: list[str]):
    """A call that runs ``keras-detinit reproduce table2`` with ``overrides`` whole."""
    command = [sys.executable, "-m", "keras_detinit_cli", "reproduce", "table2", "--quiet",
               "--seeds", "1", "--overwrite", *extra]
    for key, value in overrides.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    if data_dir:
        command += ["--data-dir", data_dir]
    environment = dict(os.environ, KERAS_BACKEND=keras.backend.backend())

    def run():
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([*command, "--out", out], env=environment, check=True,
                           stdout=subprocess.DEVNULL)
    return run


def six_runs_candidates(data_dir: str | None, depth: int) -> dict:
    """One run, and six runs of one architecture stacked, each as a whole command."""
    base = {"epochs": 1, "datasets": ["mnist"], "activations": ["relu"], "depth": depth}
    return {"one run": _command(data_dir, {**base, "initializers": ["epsilon_orthogonal"]}, []),
            "six runs, --stack": _command(
                data_dir, {**base, "initializers": list(PAPER_EIGHT[:6])}, ["--stack"])}


def workers_candidates(data_dir: str | None, activations: list[str],
                       initializers: list[str], depth: int) -> dict:
    """The grid's ``reproduce`` command, serial and with ``--workers 2``, per call."""
    overrides = {"epochs": 1, "datasets": ["mnist"], "activations": activations,
                 "initializers": initializers, "depth": depth}
    return {"serial": _command(data_dir, overrides, []),
            "--workers 2": _command(data_dir, overrides, ["--workers", "2"])}


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
                        help="measure model reuse (and six runs) only")
    parser.add_argument("--stack-members", type=int, default=8, choices=range(1, 9),
                        metavar="M", help="runs per stacked call, 1-8 (default: 8, the "
                        "paper's initializers)")
    parser.add_argument("--six-repeats", type=int, default=1,
                        help="timed commands per candidate of the six-runs check (default: 1)")
    parser.add_argument("--depth", type=int, default=120,
                        help="hidden layers (default: Table 2's 120; fewer for a quick check)")
    args = parser.parse_args()

    record = {"backend": describe_backend(),
              "network": f"Table 2: {args.depth} hidden ReLU layers 10/6, MNIST training "
                         "part, 1 epoch",
              "reuse": {"timing": describe_timing(args.repeats, args.warmup)}}
    members = args.stack_members
    reuse = time_side_by_side(
        reuse_candidates(args.data_dir, args.download, args.depth, members),
        repeats=args.repeats, warmup=args.warmup)
    per_run = {name: 1 / members if name == STACKED else 1.0 for name in reuse}
    for name, timing in reuse.items():
        record["reuse"][name] = {
            **timing.summary(), "runs_per_call": members if name == STACKED else 1,
            "runs_per_hour_median": runs_per_hour(timing.median * per_run[name])}
    fresh, reused = reuse["fresh model per run"], reuse["reused model"]
    record["reuse"]["speedup"] = {key: round(1 / value, 2)
                                  for key, value in reused.ratio(fresh).items()}
    record["reuse"]["stacked_speedup_over_reused"] = {
        key: round(members / value, 2)
        for key, value in reuse[STACKED].ratio(reused).items()}
    lines = [f"# reproduce: runs per hour ({record['backend']})", "",
             f"Network: {record['network']}.", "",
             "| path | best s/run | median s/run | runs per hour (median) |", "|---|---|---|---|"]
    lines += [f"| {name}{f' ({members} runs per call)' if name == STACKED else ''} | "
              f"{timing.best * per_run[name]:.2f} | {timing.median * per_run[name]:.2f} | "
              f"{runs_per_hour(timing.median * per_run[name])} |"
              for name, timing in reuse.items()]
    stacked_speedup = record["reuse"]["stacked_speedup_over_reused"]
    lines += ["", f"Reused over fresh: {record['reuse']['speedup']['median']}x (median), "
              f"{record['reuse']['speedup']['best']}x (best). Stacked over reused, per run: "
              f"{stacked_speedup['median']}x (median), {stacked_speedup['best']}x (best).",
              timing_note(record["reuse"]["timing"], "run"), ""]

    six = time_side_by_side(six_runs_candidates(args.data_dir, args.depth),
                            repeats=args.six_repeats, warmup=0)
    ratio = six["six runs, --stack"].ratio(six["one run"])
    record["six_runs"] = {"timing": describe_timing(args.six_repeats, 0),
                          **{name: timing.summary() for name, timing in six.items()},
                          "ratio": {key: round(value, 2) for key, value in ratio.items()}}
    lines += ["## Six runs of one architecture against one run (whole commands)", "",
              "| command | best s | median s |", "|---|---|---|"]
    lines += [f"| {name} | {timing.best:.1f} | {timing.median:.1f} |"
              for name, timing in six.items()]
    lines += ["", f"Six runs cost {record['six_runs']['ratio']['median']}x one run "
              "(median; target: at most 2.5x).",
              timing_note(record["six_runs"]["timing"], "command"), ""]

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
    record["command"] = (f"KERAS_BACKEND={keras.backend.backend()} python "
                         f"benchmarks/bench_reproduce.py {' '.join(sys.argv[1:])}")
    lines += ["", f"Command: `{record['command']}` (from the repository root)."]
    report.publish(args.out, "reproduce", record, "\n".join(lines))


if __name__ == "__main__":
    main()
