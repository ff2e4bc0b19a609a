"""Benchmark: overhead of SkewnessCallback on an MNIST epoch.

Target: at most 5% of the epoch time for the 784-512-512-10 MLP on MNIST
with a 1024-sample probe.

Two identical models are trained one epoch per ``fit`` call, alternately
without and with the callback, so both see the same machine state. An
epoch is timed from ``on_epoch_begin`` to ``on_epoch_end`` by a timer placed
after SkewnessCallback, so it includes the callback's end-of-epoch work.
Reported: the ratio of the best epoch times (with / without; the best
time, as in `timing.best_times`, is the least disturbed by other load), the
ratio of the medians, and the callback's own end-of-epoch time over the
best plain epoch (a direct measure, hardly exposed to noise). The epoch-0 evaluation at
``on_train_begin`` happens once per ``fit`` and is reported separately.

Run from the repository root (once per backend):

    KERAS_BACKEND=jax python benchmarks/bench_skewness_callback.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import keras

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import describe_backend  # noqa: E402

from keras_detinit import datasets  # noqa: E402
from keras_detinit import models  # noqa: E402
from keras_detinit.callbacks import SkewnessCallback  # noqa: E402

TARGET_OVERHEAD = 0.05
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, up to this callback's own ``on_epoch_end``."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def mlp(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = models.build_ffnn((28, 28), hidden_units=[512, 512], num_classes=10)
    return models.compile_classifier(model)


def run(args) -> dict:
    data = datasets.load_dataset(
        "mnist", data_dir=args.data_dir, validation_fraction=0.15, seed=0, download=False
    )
    (x, y), (x_val, _) = data.train, data.validation
    plain, probed = mlp(args.seed), mlp(args.seed)
    skew = SkewnessCallback(x_val, probe_size=args.probe_size, seed=args.seed)
    plain_timer, probed_timer = EpochTimer(), EpochTimer()
    fit = dict(batch_size=args.batch_size, epochs=1, verbose=0)
    # Warm-up epoch each: compilation and caches are not timed.
    plain.fit(x, y, callbacks=[EpochTimer()], **fit)
    probed.fit(x, y, callbacks=[skew, EpochTimer()], **fit)
    end_of_epoch, train_begin = [], []
    for _ in range(args.repeats):
        plain.fit(x, y, callbacks=[plain_timer], **fit)
        probed.fit(x, y, callbacks=[skew, probed_timer], **fit)
        train_begin.append(skew.seconds[0])
        end_of_epoch.append(skew.seconds[-1])
    plain_epoch = min(plain_timer.seconds)
    probed_epoch = min(probed_timer.seconds)
    callback_epoch_end = statistics.median(end_of_epoch)
    ratio = probed_epoch / plain_epoch
    median_ratio = statistics.median(probed_timer.seconds) / statistics.median(plain_timer.seconds)
    direct = callback_epoch_end / plain_epoch
    return {
        "backend": describe_backend(),
        "model": "784-512-512-10 MLP (ReLU), Adam",
        "train_samples": int(len(x)),
        "batch_size": args.batch_size,
        "probe_size": args.probe_size,
        "repeats": args.repeats,
        "plain_epoch_s": round(plain_epoch, 4),
        "with_callback_epoch_s": round(probed_epoch, 4),
        "plain_epoch_all_s": [round(t, 4) for t in plain_timer.seconds],
        "with_callback_epoch_all_s": [round(t, 4) for t in probed_timer.seconds],
        "epoch_time_ratio": round(ratio, 4),
        "median_epoch_time_ratio": round(median_ratio, 4),
        "callback_epoch_end_s": round(callback_epoch_end, 4),
        "callback_epoch_end_share": round(direct, 4),
        "callback_train_begin_s": round(statistics.median(train_begin), 4),
        "target_overhead": TARGET_OVERHEAD,
        "meets_target": max(ratio - 1.0, direct) <= TARGET_OVERHEAD,
    }


def as_markdown(result: dict) -> str:
    return "\n".join(
        [
            "| backend | best plain epoch (s) | best with callback (s) | ratio | median ratio "
            "| callback end-of-epoch (s) | share of epoch | epoch-0 evaluation (s) | target |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {result['backend']} | {result['plain_epoch_s']} | "
            f"{result['with_callback_epoch_s']} | {result['epoch_time_ratio']} | "
            f"{result['median_epoch_time_ratio']} | "
            f"{result['callback_epoch_end_s']} | {100 * result['callback_epoch_end_share']:.2f} % | "
            f"{result['callback_train_begin_s']} | <= {1 + TARGET_OVERHEAD:.2f} |",
        ]
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO_ROOT / ".." / "shared" / "data"),
                        help="folder with the MNIST IDX files (default: ../shared/data)")
    parser.add_argument("--probe-size", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs per variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for skewness_callback_<backend>.json and .md")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2))
    print(as_markdown(result))
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"skewness_callback_{keras.backend.backend()}"
        (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / f"{stem}.md").write_text(as_markdown(result) + "\n")


if __name__ == "__main__":
    main()
