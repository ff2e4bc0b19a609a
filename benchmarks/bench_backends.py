"""Benchmark: seconds per epoch of the Table 2 network on each backend, side by side.

The network of Table 2 of the deep-narrow paper (120 hidden ReLU layers
alternating 10 and 6 units), the whole MNIST training part with 0-255
pixels, the paper's protocol (Adam, batches of 100, the validation part
evaluated after every epoch, as ``reproduce`` trains). Two paths on each
backend:

* **single**: one run, `keras_detinit.models.build_ffnn` compiled with the
  protocol, as ``reproduce`` trains without ``--stack``;
* **stacked**: ``--members`` runs (the paper's initializers) as one
  `keras_detinit.reproduce.stacking.StackedFFNN` program, as
  ``reproduce --stack`` trains them; its figure is per run: the epoch's
  seconds divided by the members.

A backend is chosen when Keras is imported, so each backend's epochs run in
a process of its own. The rounds interleave the backends (``--rounds``
processes per backend, one after another in turn), so a change of machine
load touches all of them alike. In each process the first epoch of each
path (tracing, compilation, the allocator's first requests) is a warm-up
and is not counted; the next ``--epochs`` are timed one by one, with a
callback around each epoch. The ratios against JAX compare the medians of
all timed epochs.

Run from the repository root:

    python benchmarks/bench_backends.py --data-dir ../shared/data --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

BACKENDS = ("jax", "torch", "tensorflow")
#: The paper's eight initializers, the members of a stacked program.
PAPER_EIGHT = ("epsilon_orthogonal", "orthogonal", "glorot_uniform", "he_normal",
               "zero_hadamard", "identity", "randomized_asymmetric", "gaussian_submatrix")
PATHS = ("single", "stacked")


def measure_epochs(data_dir: str | None, depth: int, epochs: int, members: int) -> dict:
    """In this process's backend: seconds of each timed epoch, per path (per run)."""
    import keras

    from keras_detinit import models
    from keras_detinit import protocol as protocols
    from keras_detinit.reproduce import stacking
    from keras_detinit.reproduce.experiments.ffnn import alternating_widths
    from keras_detinit.reproduce.runner import RunContext

    class EpochSeconds(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    data = RunContext(data_dir, download=False).dataset("mnist", seed=0, pixels="raw")
    shape, hidden = tuple(data.train.x.shape[1:]), alternating_widths(depth)
    protocol = protocols.PAPER_PROTOCOL.replace(epochs=1 + epochs)

    def fresh(initializer):
        keras.utils.set_random_seed(0)
        return models.build_ffnn(shape, hidden, data.num_classes, "relu", initializer)

    single = protocol.compile(fresh(PAPER_EIGHT[0]))
    stacked = stacking.compile_stacked(
        stacking.build_stacked_ffnn(shape, hidden, data.num_classes, "relu", members),
        protocol, members)
    stacking.load_members(stacked, [fresh(name) for name in PAPER_EIGHT[:members]])
    timed = {}
    for path, model, runs in (("single", single, 1), ("stacked", stacked, members)):
        timer = EpochSeconds()
        protocols.train(model, data, protocol, callbacks=[timer], data_order_seed=0)
        timed[path] = [seconds / runs for seconds in timer.seconds[1:]]  # epoch 1: warm-up
    from timing import describe_backend

    return {"backend": describe_backend(), "seconds_per_run_epoch": timed}


def run_child(backend: str, args) -> dict:
    """`measure_epochs` in a fresh process with ``KERAS_BACKEND=backend``."""
    command = [sys.executable, __file__, "--child", "--depth", str(args.depth),
               "--epochs", str(args.epochs), "--members", str(args.members)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    environment = dict(os.environ, KERAS_BACKEND=backend)
    finished = subprocess.run(command, env=environment, check=True, capture_output=True,
                              text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def summarize(epochs: dict[str, dict[str, list[float]]], backends) -> tuple[dict, list[str]]:
    """Median seconds per run-epoch per backend and path, and the ratios to JAX."""
    record, lines = {}, [
        "| backend | single: s/epoch (median, best) | stacked: s per run-epoch (median, best) "
        "| single / JAX | stacked / JAX |", "|---|---|---|---|---|"]
    medians = {backend: {path: statistics.median(epochs[backend][path]) for path in PATHS}
               for backend in backends}
    for backend in backends:
        ratios = ({path: round(medians[backend][path] / medians["jax"][path], 2)
                   for path in PATHS} if "jax" in medians else {})
        record[backend] = {path: {"median_s": round(medians[backend][path], 4),
                                  "best_s": round(min(epochs[backend][path]), 4),
                                  "epochs_s": [round(s, 4) for s in epochs[backend][path]]}
                           for path in PATHS}
        record[backend]["over_jax"] = ratios
        cells = [f"{medians[backend][path]:.3f} ({min(epochs[backend][path]):.3f})"
                 for path in PATHS]
        lines.append(f"| {backend} | {cells[0]} | {cells[1]} | "
                     f"{ratios.get('single', '-')}x | {ratios.get('stacked', '-')}x |")
    return record, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files")
    parser.add_argument("--out", type=pathlib.Path, help="results folder (else print only)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--rounds", type=int, default=2,
                        help="processes per backend, interleaved (default: 2)")
    parser.add_argument("--epochs", type=int, default=2,
                        help="timed epochs per path and process, after one warm-up epoch "
                        "(default: 2)")
    parser.add_argument("--members", type=int, default=8, choices=range(1, 9), metavar="M",
                        help="runs in the stacked program, 1-8 (default: 8)")
    parser.add_argument("--depth", type=int, default=120,
                        help="hidden layers (default: Table 2's 120)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("rounds", "epochs", "depth"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1. Received: {getattr(args, name)}")
    if args.child:
        print(json.dumps(measure_epochs(args.data_dir, args.depth, args.epochs, args.members)))
        return

    epochs = {backend: {path: [] for path in PATHS} for backend in args.backends}
    versions = {}
    load = os.getloadavg()
    for round_index in range(args.rounds):
        for backend in args.backends:
            result = run_child(backend, args)
            versions[backend] = result["backend"]
            for path in PATHS:
                epochs[backend][path] += result["seconds_per_run_epoch"][path]
            print(f"round {round_index + 1}/{args.rounds} {backend}: "
                  f"{result['seconds_per_run_epoch']}", file=sys.stderr, flush=True)
    record, table = summarize(epochs, args.backends)
    network = (f"Table 2: {args.depth} hidden ReLU layers 10/6, MNIST training part "
               "(51,000 images, batches of 100), validation after each epoch")
    note = (f"Each backend in its own process, {args.rounds} processes per backend "
            f"interleaved; per process one warm-up epoch per path, then {args.epochs} timed "
            f"epochs; stacked: {args.members} runs per program, seconds per run. "
            f"{os.cpu_count()} CPU cores; load average (1, 5, 15 min) at the start "
            f"{[round(value, 2) for value in load]}. "
            + "; ".join(versions.values()) + ".")
    markdown = "\n".join(["# Seconds per epoch by backend", "", f"Network: {network}.", "",
                          *table, "", note, "",
                          "Command: `python benchmarks/bench_backends.py "
                          + " ".join(sys.argv[1:]) + "`"])
    result = {"network": network, "rounds": args.rounds, "epochs": args.epochs,
              "members": args.members, "load_average": list(load), "backends": record,
              "versions": versions}
    print(markdown)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "backends.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "backends.md").write_text(markdown + "\n")
        print(f"wrote {args.out / 'backends.json'} and {args.out / 'backends.md'}")


if __name__ == "__main__":
    main()
