"""Reduced reproduction of Horii and Has, section IV: the sigma0 sweep.

A three-layer ReLU network (Dense 256, Dense 128, softmax 10) trained with
plain SGD (batch 100) on MNIST and Fashion-MNIST from
``keras.initializers.RandomNormal(stddev=sigma0)`` for each sigma0 of a grid,
and from ``he_normal``. Per run and epoch it records the training loss, the
validation accuracy (15% of the training set) and, with
`keras_detinit.callbacks.WeightVarianceCallback`, ``V(W, t)`` (mean squared
kernel weight) and ``V / sigma0^2`` (for he_normal: ``V`` over its epoch-0
value). Then `keras_detinit.sigma0.optimal_sigma0` searches the crossing
``V / sigma0^2 = 1`` with pilots of the same length, for comparison with the
grid's argmin of the final training loss.

The paper trains 1000 epochs at learning rate 1e-4 (10 runs per sigma0);
this script defaults to 10 epochs at 1e-2 and one run: the same SGD time
``t = lr * steps`` of the continuous-time approximation, with a 100 times
larger noise temperature ``lr / b``.

Writes ``sigma0_sweep.csv``, ``sigma0_sweep.md`` and four figures in the
manner of the paper's Fig. 2-5 under ``--out``:

    KERAS_BACKEND=jax python examples/sigma0_sweep.py --epochs 10 \\
        --learning-rate 0.01 --out docs/results
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from keras_detinit import datasets
from keras_detinit.callbacks import WeightVarianceCallback
from keras_detinit.models import build_ffnn
from keras_detinit.sigma0 import optimal_sigma0

from _results import Report, add_common_arguments, markdown_table, pyplot

GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
HE = "he_normal"
KEY = "wvar_overall"


def model_builder(hidden, learning_rate):
    """``initializer -> compiled model`` for the sweep and the search."""

    def build(initializer) -> keras.Model:
        model = build_ffnn((28, 28), hidden, 10, activation="relu",
                           kernel_initializer=initializer)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build


def train(build, data, sigma0, args) -> dict:
    """One run of the sweep: per-epoch loss, accuracy, V and V / sigma0^2."""
    keras.utils.set_random_seed(args.seed)
    if sigma0 is None:
        initializer = keras.initializers.HeNormal(seed=keras.random.SeedGenerator(args.seed))
    else:
        initializer = keras.initializers.RandomNormal(
            stddev=sigma0, seed=keras.random.SeedGenerator(args.seed))
    watch = WeightVarianceCallback(sigma0=sigma0, log_layers=False)
    history = build(initializer).fit(
        *data.train, batch_size=args.batch_size, epochs=args.epochs,
        validation_data=tuple(data.validation), verbose=0, callbacks=[watch],
    ).history
    return {
        "loss": history["loss"], "val_accuracy": history["val_accuracy"],
        "v": watch.history[f"{KEY}/v"], "ratio": watch.history[f"{KEY}/ratio"],
    }


def main(argv=None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, out="sigma0_results", epochs=10)
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"])
    parser.add_argument("--sigma0", nargs="+", type=float, default=list(GRID))
    parser.add_argument("--hidden", nargs="+", type=int, default=[256, 128])
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--samples-per-class", type=int, default=0,
                        help="training images per class (0: all)")
    parser.add_argument("--max-pilots", type=int, default=6,
                        help="pilots of the optimal_sigma0 search (0: no search)")
    parser.add_argument("--tolerance", type=float, default=0.001,
                        help="the search stops at |V / sigma0^2 - 1| <= tolerance")
    args = parser.parse_args(argv)
    report = Report(args.out, "sigma0_sweep", argv, __file__)
    build = model_builder(args.hidden, args.learning_rate)
    runs, searches = {}, {}
    for name in args.datasets:
        data = datasets.load_dataset(
            name, data_dir=args.data_dir, validation_fraction=0.15, seed=args.seed,
            samples_per_class=args.samples_per_class or None)
        print(f"{name}: {len(data.train.y)} training images from {data.source}", flush=True)
        for sigma0 in [*args.sigma0, None]:
            start = time.perf_counter()
            run = runs[name, sigma0] = train(build, data, sigma0, args)
            label = HE if sigma0 is None else f"{sigma0:g}"
            for epoch in range(args.epochs + 1):
                report.add(dataset=name, init=label, epoch=epoch,
                           loss=run["loss"][epoch - 1] if epoch else "",
                           val_accuracy=run["val_accuracy"][epoch - 1] if epoch else "",
                           v=run["v"][epoch], ratio=run["ratio"][epoch])
            print(f"{name} sigma0={label}: loss {run['loss'][-1]:.4f}, validation "
                  f"accuracy {run['val_accuracy'][-1]:.4f}, V/sigma0^2 "
                  f"{run['ratio'][-1]:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
        if args.max_pilots:
            searches[name] = optimal_sigma0(
                build, *data.train, lower=min(args.sigma0), upper=max(args.sigma0),
                epochs=args.epochs, batch_size=args.batch_size,
                max_pilots=args.max_pilots, tolerance=args.tolerance, seed=args.seed,
                verbose=True)
            print(f"{name}: optimal_sigma0 estimate {searches[name].sigma0:.4f}", flush=True)
    report.write_csv()
    report.write_markdown("Optimal sigma0: reduced sweep", summary(runs, searches, args))
    figures(runs, searches, args, report)
    return report


def summary(runs, searches, args) -> str:
    parts = [
        f"Three-layer ReLU FFNN {args.hidden} -> 10, plain SGD, learning rate "
        f"{args.learning_rate:g}, batch {args.batch_size}, {args.epochs} epochs, "
        f"one run (seed {args.seed}) per initialization."
    ]
    for name in args.datasets:
        rows, losses = [], {}
        for sigma0 in [*args.sigma0, None]:
            run = runs[name, sigma0]
            losses[sigma0] = run["loss"][-1]
            rows.append([HE if sigma0 is None else f"{sigma0:g}", f"{run['loss'][-1]:.4f}",
                         f"{100 * run['val_accuracy'][-1]:.2f}%", f"{run['v'][-1]:.4g}",
                         f"{run['ratio'][-1]:.3f}"])
        best = min(args.sigma0, key=losses.get)
        text = (f"## {name}\n\n" + markdown_table(
            ["sigma0", "final training loss", "validation accuracy", "V(W, T)",
             "V / sigma0^2"], rows)
            + f"\n\nGrid argmin of the final training loss: sigma0 = {best:g} "
            f"(loss {losses[best]:.4f}; he_normal {losses[None]:.4f}).")
        if name in searches:
            search = searches[name]
            trace = ", ".join(f"{p.sigma0:.4g} (ratio {p.ratio:.3f})" for p in search.trace)
            text += (f" `optimal_sigma0` (bisection, {len(search.trace)} pilots of "
                     f"{args.epochs} epochs, tolerance {args.tolerance:g}): sigma0 = {search.sigma0:.4f} "
                     f"(bracketed: {search.bracketed}, converged: {search.converged}); "
                     f"pilots: {trace}.")
        parts.append(text)
    return "\n\n".join(parts)


def figures(runs, searches, args, report) -> None:
    plt = pyplot()
    names = args.datasets
    colors = plt.get_cmap("viridis")(np.linspace(0, 1, len(args.sigma0)))
    epochs = np.arange(args.epochs + 1)

    def panels(suffix, draw, ylabel, xlabel="epoch"):
        figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
        for axis, name, letter in zip(axes[0], names, "abcdef"):
            draw(axis, name)
            axis.set_title(f"({letter}) {name}")
            axis.set_xlabel(xlabel)
            axis.set_ylabel(ylabel)
        axes[0][-1].legend(fontsize=7, ncol=2)
        figure.tight_layout()
        figure.savefig(report.figure_path(suffix), dpi=120)
        plt.close(figure)

    def variance(axis, name):  # Fig. 2
        for color, sigma0 in zip(colors, args.sigma0):
            axis.plot(epochs, runs[name, sigma0]["v"], color=color, label=f"{sigma0:g}")
            axis.axhline(sigma0**2, color=color, linewidth=0.6, linestyle=":")
        axis.set_yscale("log")

    def loss_vs_v(axis, name):  # Fig. 3
        v = [runs[name, s]["v"][-1] for s in args.sigma0]
        loss = [runs[name, s]["loss"][-1] for s in args.sigma0]
        ratio = [runs[name, s]["ratio"][-1] for s in args.sigma0]
        limit = max(np.abs(np.log(ratio)).max(), 1e-3)
        points = axis.scatter(v, loss, c=np.log(ratio), cmap="coolwarm_r",
                              vmin=-limit, vmax=limit)
        for x, y, s in zip(v, loss, args.sigma0):
            axis.annotate(f"{s:g}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        he = runs[name, None]
        axis.scatter([he["v"][-1]], [he["loss"][-1]], marker="*", s=160, color="black", label=HE)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.figure.colorbar(points, ax=axis, label="log(V / sigma0^2)")

    def ratio(axis, name):  # Fig. 4
        axis.plot(args.sigma0, [runs[name, s]["ratio"][-1] for s in args.sigma0], "o-", label="grid")
        axis.axhline(1.0, color="black", linewidth=0.8)
        if name in searches:
            axis.axvline(searches[name].sigma0, color="red", linestyle="--",
                         label=f"optimal_sigma0 = {searches[name].sigma0:.3f}")
        best = min(args.sigma0, key=lambda s: runs[name, s]["loss"][-1])
        axis.axvline(best, color="green", linestyle=":", label=f"loss argmin = {best:g}")
        axis.set_yscale("log")

    def accuracy(axis, name):  # Fig. 5
        for color, sigma0 in zip(colors, args.sigma0):
            axis.plot(epochs[1:], runs[name, sigma0]["val_accuracy"], color=color, label=f"{sigma0:g}")
        axis.plot(epochs[1:], runs[name, None]["val_accuracy"], "k--", label=HE)

    panels("variance", variance, "V(W, t)")
    panels("loss_vs_v", loss_vs_v, "final training loss", "V(W, T)")
    panels("ratio", ratio, "V / sigma0^2", "sigma0")
    panels("accuracy", accuracy, "validation accuracy")


if __name__ == "__main__":
    main()
