"""Benchmark: overhead of SkewnessCallback on an MNIST epoch.

Target: at most 5% of the epoch time for the 784-512-512-10 MLP on MNIST
with a 1024-sample probe.

Two identical models are trained one epoch per ``fit`` call, without and
with the callback, side by side with `timing.time_side_by_side` (warm-up
epochs each, then alternating), so both see the same machine state. An
epoch is timed from ``on_epoch_begin`` to ``on_epoch_end`` by a timer placed
after SkewnessCallback, so it includes the callback's end-of-epoch work.
Reported: the ratio of the best epoch times (with / without; the best is
the least disturbed by other load), the ratio of the medians, and the
callback's own evaluation, timed directly with the same helper, over the
median plain epoch (a direct measure, hardly exposed to noise). The callback
evaluates once at ``on_train_begin`` (epoch 0) and once per epoch.

Run from the repository root (once per backend):

    KERAS_BACKEND=jax python benchmarks/bench_skewness_callback.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import pathlib
import time

import keras
import report
from timing import add_timing_arguments
from timing import describe_backend
from timing import describe_timing
from timing import time_side_by_side
from timing import timing_note

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import reporting
from keras_detinit.callbacks import SkewnessCallback
from keras_detinit.protocol import PAPER_PROTOCOL

TARGET_OVERHEAD = 0.05
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


class EpochTimer(keras.callbacks.Callback):
    """Wall time of the last epoch, up to this callback's own ``on_epoch_end``."""

    def __init__(self):
        super().__init__()
        self.seconds = float("nan")
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self._start


def mlp(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = models.build_ffnn((28, 28), hidden_units=[512, 512], num_classes=10)
    return models.compile_classifier(model)


def one_epoch(model: keras.Model, x, y, callbacks: list, batch_size: int):
    """A run of one ``fit`` epoch that returns the epoch's own seconds."""
    timer = EpochTimer()

    def run() -> float:
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0,
                  callbacks=[*callbacks, timer])
        return timer.seconds

    return run


def run(args) -> dict:
    timing_record = describe_timing(args.repeats, args.warmup)
    data = datasets.load_dataset(
        "mnist", data_dir=args.data_dir, seed=0, download=False,
        validation_fraction=PAPER_PROTOCOL.validation_fraction,
    )
    (x, y), (x_val, _) = data.train, data.validation
    plain, probed = mlp(args.seed), mlp(args.seed)
    skew = SkewnessCallback(x_val, probe_size=args.probe_size, seed=args.seed)
    epochs = time_side_by_side(
        {
            "plain": one_epoch(plain, x, y, [], args.batch_size),
            "with_callback": one_epoch(probed, x, y, [skew], args.batch_size),
        },
        repeats=args.repeats,
        warmup=args.warmup,
        measure=lambda epoch: epoch(),
    )
    evaluation = time_side_by_side(
        {"evaluate": lambda: skew.evaluate(probed)}, repeats=args.repeats, warmup=args.warmup
    )["evaluate"]
    ratio = epochs["with_callback"].ratio(epochs["plain"])
    share = evaluation.median / epochs["plain"].median
    return {
        "backend": describe_backend(),
        "timing": timing_record,
        "model": "784-512-512-10 MLP (ReLU), Adam",
        "train_samples": int(len(x)),
        "batch_size": args.batch_size,
        "probe_size": args.probe_size,
        "plain_epoch": epochs["plain"].summary(),
        "with_callback_epoch": epochs["with_callback"].summary(),
        "epoch_time_ratio_best": round(ratio["best"], 4),
        "epoch_time_ratio_median": round(ratio["median"], 4),
        "callback_evaluation": evaluation.summary(),
        "callback_evaluation_share": round(share, 4),
        "target_overhead": TARGET_OVERHEAD,
        "meets_target": max(ratio["best"] - 1.0, share) <= TARGET_OVERHEAD,
    }


def as_markdown(result: dict) -> str:
    header = [
        "backend", "plain epoch best / median (s)", "with callback best / median (s)",
        "ratio (best)", "ratio (median)", "callback evaluation median (s)",
        "share of epoch", "target",
    ]
    row = [
        result["backend"],
        f"{result['plain_epoch']['best_s']} / {result['plain_epoch']['median_s']}",
        f"{result['with_callback_epoch']['best_s']} / "
        f"{result['with_callback_epoch']['median_s']}",
        result["epoch_time_ratio_best"], result["epoch_time_ratio_median"],
        result["callback_evaluation"]["median_s"],
        f"{100 * result['callback_evaluation_share']:.2f} %",
        f"<= {1 + TARGET_OVERHEAD:.2f}",
    ]
    note = (
        f"{result['train_samples']} training samples, batch {result['batch_size']}, "
        f"probe {result['probe_size']}. {timing_note(result['timing'], unit='epoch')}"
    )
    return reporting.markdown_table(header, [row]) + "\n\n" + note


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO_ROOT / ".." / "shared" / "data"),
                        help="folder with the MNIST IDX files (default: ../shared/data)")
    parser.add_argument("--probe-size", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=PAPER_PROTOCOL.batch_size)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path,
                        help="folder for skewness_callback_<backend>.json and .md")
    add_timing_arguments(parser, repeats=15, warmup=1, unit="epoch")
    args = parser.parse_args(argv)
    result = run(args)
    report.publish(args.out, "skewness_callback", result, as_markdown(result))


if __name__ == "__main__":
    main()
