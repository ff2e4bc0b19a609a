"""Optimal-variance paper, section IV: the sigma0 sweep and `optimal_sigma0`.

Horii and Has train a three-layer ReLU network with plain SGD (batch 100)
on MNIST and Fashion-MNIST from ``N(0, sigma0^2)`` for a grid of sigma0
and from He normal, and follow ``V(W, t)``, the mean squared weight: its
time course (their Fig. 2), the final loss against ``V`` (Fig. 3), the
ratio ``V / sigma0^2`` against sigma0 (Fig. 4) and the validation accuracy
per epoch (Fig. 5). The optimum they predict is ``sigma0^2 = V``.

Each run (dataset, initialization, seed) records per epoch the training
loss, the validation accuracy (15% of the training set), ``V(W, t)`` and
``V / sigma0^2`` with `keras_detinit.callbacks.WeightVarianceCallback`
(for He normal: ``V`` over its epoch-0 value), as curves in CSV cells
(`keras_detinit.reporting.results.format_curve`; ``V`` and the ratio start
at epoch 0, the initialization), the final values and the convergence
metrics of `keras_detinit.reproduce.training.convergence_metrics`. One more
configuration per dataset runs `keras_detinit.sigma0.optimal_sigma0`
between the grid's ends with pilots as long as the sweep's runs, to be
compared with the grid's argmin of the final training loss.

Example:

>>> experiment = Sigma0Sweep()
>>> settings = experiment.settings("quick", {"datasets": ["mnist"],
...                                          "sigma0": [0.1, 0.2]})
>>> [config["init"] for config in experiment.configurations(settings)]
['0.1', '0.2', 'he_normal', 'optimal_sigma0']
>>> experiment.cost({"dataset": "mnist", "init": "optimal_sigma0"}, settings)
6.0
>>> from keras_detinit.reproduce import reproduce
>>> outcome = reproduce("sigma0", profile="quick")  # doctest: +SKIP
"""

from __future__ import annotations

import pathlib
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Sequence

import keras
import numpy as np

from keras_detinit import datasets
from keras_detinit import protocol as protocols
from keras_detinit import validation
from keras_detinit.datasets import locate
from keras_detinit.models import build_ffnn
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import format_curve
from keras_detinit.sigma0 import optimal_sigma0
from keras_detinit.sigma0 import train_watched

GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
HE = "he_normal"
SEARCH = "optimal_sigma0"
DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
#: The paper's protocol (section IV.B) and its findings on the grid.
PAPER_EPOCHS = 1000
PAPER_LEARNING_RATE = 1e-4
PAPER_RUNS = 10
PAPER_OPTIMUM = 0.15
TRAINING_COLUMNS = (
    "loss_curve", "val_accuracy_curve", "v_curve", "ratio_curve",
    "final_loss", "final_val_accuracy", "final_v", "final_ratio",
    *training.CONVERGENCE_COLUMNS,
)
SEARCH_COLUMNS = ("estimate", "bracketed", "converged", "pilots",
                  "pilot_sigma0", "pilot_ratio", "pilot_loss")
FIGURES = {
    "variance": "sigma0_variance.png",
    "loss_vs_v": "sigma0_loss_vs_v.png",
    "ratio": "sigma0_ratio.png",
    "accuracy": "sigma0_accuracy.png",
}

Builder = Callable[[keras.initializers.Initializer], keras.Model]


def grid_label(sigma0: float) -> str:
    """The ``init`` of a grid configuration, e.g. ``"0.15"``.

    ``repr`` round-trips, so `Sigma0Sweep.measure` trains the exact value.
    """
    return repr(float(sigma0))


def sgd_protocol(settings: Mapping[str, Any]) -> protocols.TrainingProtocol:
    """The paper's protocol: plain SGD at the settings' length and rate."""
    return protocols.PAPER_PROTOCOL.replace(
        optimizer="sgd", learning_rate=settings["learning_rate"], epochs=settings["epochs"],
        batch_size=settings["batch_size"])


def model_builder(data: datasets.Dataset, hidden: Sequence[int],
                  protocol: protocols.TrainingProtocol) -> Builder:
    """``initializer -> compiled model``: the FFNN compiled by ``protocol``.

    Example:

    >>> import types
    >>> data = types.SimpleNamespace(train=types.SimpleNamespace(x=np.zeros((4, 28, 28))),
    ...                              num_classes=10)
    >>> sgd = protocols.PAPER_PROTOCOL.replace(optimizer="sgd", learning_rate=0.01)
    >>> model = model_builder(data, [8], sgd)("zeros")
    >>> type(model.optimizer).__name__, [layer.units for layer in model.layers[1:]]
    ('SGD', [8, 10])
    """

    def build(initializer) -> keras.Model:
        model = build_ffnn(data.train.x.shape[1:], hidden, data.num_classes, activation="relu",
                           kernel_initializer=initializer)
        return protocol.compile(model)

    return build


def train_run(build: Builder, data: datasets.Dataset, sigma0: float | None, seed: int,
              protocol: protocols.TrainingProtocol) -> dict:
    """One run of the sweep; ``sigma0=None`` is He normal.

    Returns:
        The `TRAINING_COLUMNS` values: curves as CSV text, finals as floats.
    """
    history, watched = train_watched(build, data, sigma0, seed, protocol)
    curves = {"loss": history["loss"], "val_accuracy": history["val_accuracy"], **watched}
    return {
        **{f"{name}_curve": format_curve(values) for name, values in curves.items()},
        **{f"final_{name}": float(values[-1]) for name, values in curves.items()},
        **training.convergence_metrics(curves["val_accuracy"]),
    }


def search_run(build: Builder, data: datasets.Dataset, seed: int,
               settings: Mapping[str, Any]) -> dict:
    """`optimal_sigma0` between the grid's ends; returns the `SEARCH_COLUMNS`."""
    search = optimal_sigma0(
        build, data.train.x, data.train.y, lower=min(settings["sigma0"]),
        upper=max(settings["sigma0"]), epochs=settings["epochs"],
        batch_size=settings["batch_size"], max_pilots=settings["max_pilots"],
        tolerance=settings["tolerance"], seed=seed,
    )
    return {
        "estimate": search.sigma0,
        "bracketed": int(search.bracketed),
        "converged": int(search.converged),
        "pilots": len(search.trace),
        "pilot_sigma0": format_curve(pilot.sigma0 for pilot in search.trace),
        "pilot_ratio": format_curve(pilot.ratio for pilot in search.trace),
        "pilot_loss": format_curve(pilot.loss for pilot in search.trace),
    }


def profile_settings(epochs: int, learning_rate: float) -> dict:
    """The settings both profiles share, with their training length."""
    return {"datasets": ["mnist", "fashion_mnist"], "sigma0": list(GRID), "hidden": [256, 128],
            "epochs": epochs, "learning_rate": learning_rate, "batch_size": 100,
            "samples_per_class": protocols.WHOLE_TRAINING_SET, "max_pilots": 6, "tolerance": 0.001}


class Sigma0Sweep(Experiment):
    """Section IV of Horii and Has, with the `optimal_sigma0` search beside it.

    Settings: ``datasets``, ``sigma0`` (the grid), ``hidden`` (widths),
    ``epochs``, ``learning_rate``, ``batch_size``, ``samples_per_class``
    (``"all"``: the whole training part), and for the search ``max_pilots`` (0: no
    search) and ``tolerance`` (on ``|V / sigma0^2 - 1|``).
    """

    name = "sigma0"
    title = "Optimal sigma0: the initialization-variance sweep"
    source = ("Horii and Has, Optimal condition for initialization variance in deep neural "
              "networks: an SGD dynamics perspective, section IV (Fig. 2-5)")
    columns = (*TRAINING_COLUMNS, *SEARCH_COLUMNS)
    profiles = {
        "quick": Profile(
            seeds=1,
            settings=profile_settings(epochs=10, learning_rate=0.01),
            reductions=(
                f"10 epochs at learning rate 1e-2 instead of {PAPER_EPOCHS} at 1e-4 (the same "
                "SGD time lr x steps of the paper's continuous-time approximation, with a "
                "100 times larger noise temperature lr / b), and 1 run per sigma0 instead "
                f"of {PAPER_RUNS}"
            ),
        ),
        "paper": Profile(
            seeds=PAPER_RUNS,
            settings=profile_settings(epochs=PAPER_EPOCHS, learning_rate=PAPER_LEARNING_RATE),
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        check_settings(settings)
        inits = trained_labels(settings)
        if settings["max_pilots"]:
            inits.append(SEARCH)
        return [{"dataset": dataset, "init": init}
                for dataset in settings["datasets"] for init in inits]

    def measure(self, config: Mapping[str, Any], seed: int, settings: Mapping[str, Any],
                context) -> dict:
        data = context.dataset(config["dataset"], settings["samples_per_class"], seed)
        protocol = sgd_protocol(settings)
        build = model_builder(data, settings["hidden"], protocol)
        if config["init"] == SEARCH:
            return search_run(build, data, seed, settings)
        sigma0 = None if config["init"] == HE else float(config["init"])
        return train_run(build, data, sigma0, seed, protocol)

    def cost(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> float:
        # A search trains up to max_pilots pilots as long as one grid run.
        return float(settings["max_pilots"]) if config["init"] == SEARCH else 1.0

    def report(self, results: Results, settings: Mapping[str, Any],
               figures: pathlib.Path) -> str:
        names = [name for name in settings["datasets"] if results.where(dataset=name)]
        plot_figures(results, settings, names, figures)
        parts = [setup_text(results, settings)]
        for name in names:
            parts += [f"## {DATASET_LABELS.get(name, name)}", sweep_table(results, settings, name),
                      convergence_table(results, settings, name),
                      findings(results, settings, name)]
        parts += [
            "## Figures",
            "Means over seeds, in the manner of the paper's figures.",
            f"![Fig. 2: V(W, t) per epoch; dotted: sigma0^2](figures/{FIGURES['variance']})",
            "![Fig. 3: final training loss against V(W, T), colored by log(V / sigma0^2); "
            f"star: he_normal](figures/{FIGURES['loss_vs_v']})",
            "![Fig. 4: V / sigma0^2 against sigma0, with the optimal_sigma0 estimate and the "
            f"loss argmin](figures/{FIGURES['ratio']})",
            "![Fig. 5: validation accuracy per epoch; dashed: he_normal]"
            f"(figures/{FIGURES['accuracy']})",
        ]
        return "\n\n".join(parts)


def check_settings(settings: Mapping[str, Any]) -> None:
    """Raise a `ValueError` naming a bad setting before any run starts."""
    grid = settings["sigma0"]
    if not isinstance(grid, list) or not grid:
        raise ValueError(f"`sigma0` must be a non-empty list, got {grid!r}.")
    for sigma0 in grid:
        validation.check_positive("sigma0[...]", sigma0)
    for name in settings["datasets"]:
        locate.get_spec(name)  # an unknown name fails now, not after hours
    for key in ("epochs", "batch_size"):
        validation.check_int(key, settings[key], low=1)
    protocols.samples_per_class(settings["samples_per_class"])
    validation.check_positive("learning_rate", settings["learning_rate"])
    max_pilots = validation.check_int("max_pilots", settings["max_pilots"], low=0)
    if max_pilots:
        # Checked here so that a bad search fails before the grid is trained.
        validation.check_positive("tolerance", settings["tolerance"])
        if max_pilots < 2 or min(grid) == max(grid):
            raise ValueError(
                "The search needs `max_pilots` >= 2 (or 0 for no search) and two distinct "
                f"`sigma0` values to bracket; got max_pilots={max_pilots}, sigma0={grid}."
            )


def setup_text(results: Results, settings: Mapping[str, Any]) -> str:
    """The protocol, beside the paper's."""
    seeds = len(results.distinct("seed"))
    rows = [
        ["epochs", PAPER_EPOCHS, settings["epochs"]],
        ["learning rate", f"{PAPER_LEARNING_RATE:g}", f"{settings['learning_rate']:g}"],
        ["runs per sigma0", PAPER_RUNS, seeds],
        ["batch size", protocols.PAPER_PROTOCOL.batch_size, settings["batch_size"]],
        ["hidden widths", "not stated", ", ".join(map(str, settings["hidden"]))],
    ]
    training_images = (
        "the whole training part"
        if protocols.samples_per_class(settings["samples_per_class"]) is None
        else f"{settings['samples_per_class']} training images per class")
    return "\n\n".join([
        f"A ReLU FFNN (`build_ffnn((28, 28), {settings['hidden']}, 10)`, softmax output), "
        "kernels from `keras.initializers.RandomNormal(stddev=sigma0)` or `he_normal`, biases "
        f"zero, plain SGD, cross-entropy; 15% of the training set held out for validation, "
        f"{training_images} for training. `V(W, t)` is the mean squared kernel weight "
        "(`WeightVarianceCallback`), the ratio `V(W, T) / sigma0^2` (for He: over its epoch-0 "
        "value).",
        tables.markdown_table(["", "paper", "here"], rows),
        f"`optimal_sigma0`: bisection in log sigma0 between the grid's ends "
        f"({min(settings['sigma0']):g} and {max(settings['sigma0']):g}), pilots of "
        f"{settings['epochs']} epochs, at most {settings['max_pilots']} pilots, tolerance "
        f"`|V / sigma0^2 - 1| <= {settings['tolerance']:g}`."
        if settings["max_pilots"] else "No `optimal_sigma0` search (`max_pilots=0`).",
    ])


def grid_labels(settings: Mapping[str, Any]) -> list[str]:
    """The ``init`` of every grid configuration, in the grid's order."""
    return [grid_label(sigma0) for sigma0 in settings["sigma0"]]


def trained_labels(settings: Mapping[str, Any]) -> list[str]:
    """The trained initializations: the grid, then He normal."""
    return [*grid_labels(settings), HE]


def sweep_table(results: Results, settings: Mapping[str, Any], dataset: str) -> str:
    """sigma0, final loss, validation accuracy, V and the ratio, mean ± std."""
    rows = [
        [init,
         tables.number_cell(results.mean_std("final_loss", dataset=dataset, init=init), ".4f"),
         tables.percent_cell(results.mean_std("final_val_accuracy", dataset=dataset,
                                              init=init)),
         tables.number_cell(results.mean_std("final_v", dataset=dataset, init=init), ".4g"),
         tables.number_cell(results.mean_std("final_ratio", dataset=dataset, init=init), ".3f")]
        for init in trained_labels(settings)
    ]
    return tables.markdown_table(["sigma0", "final training loss", "validation accuracy %",
                                  "V(W, T)", "V / sigma0^2"], rows)


def convergence_table(results: Results, settings: Mapping[str, Any], dataset: str) -> str:
    """Validation accuracy at epochs 1 and 10, its maximum and normalized AUC."""
    return ("Convergence (validation accuracy %; AUC: mean over epochs):\n\n"
            + training.convergence_table(results, trained_labels(settings), "sigma0",
                                         dataset=dataset))


def mean_of(results: Results, column: str, dataset: str, init: str) -> float:
    """The mean over seeds of one configuration's ``column``."""
    return results.mean_std(column, dataset=dataset, init=init)[0]


def loss_argmin(results: Results, settings: Mapping[str, Any], dataset: str) -> str:
    """The grid label with the lowest mean final training loss."""
    return min(grid_labels(settings),
               key=lambda init: mean_of(results, "final_loss", dataset, init))


def findings(results: Results, settings: Mapping[str, Any], dataset: str) -> str:
    """The grid's argmin against He normal and the search, and the paper's claims."""
    grid = grid_labels(settings)
    best = loss_argmin(results, settings, dataset)
    best_accuracy = max(grid, key=lambda init: mean_of(results, "final_val_accuracy",
                                                       dataset, init))
    above = [init for init in grid if mean_of(results, "final_ratio", dataset, init) > 1]
    below = [init for init in grid if mean_of(results, "final_ratio", dataset, init) < 1]
    he_loss = mean_of(results, "final_loss", dataset, HE)
    best_loss = mean_of(results, "final_loss", dataset, best)
    relation = "below" if best_loss < he_loss else "not below"
    lines = [
        f"* Grid argmin of the final training loss: sigma0 = {best} (loss {best_loss:.4f}); "
        f"he_normal {he_loss:.4f}, so the argmin is {relation} He's (paper: optimum near "
        f"{PAPER_OPTIMUM:g}, slightly below He).",
        f"* Highest final validation accuracy of the grid: sigma0 = {best_accuracy} "
        f"(paper's Fig. 5: {PAPER_OPTIMUM:g}).",
        f"* V / sigma0^2 above 1 for sigma0 in {{{', '.join(above) or 'none'}}}, below 1 for "
        f"{{{', '.join(below) or 'none'}}} (paper: above 1 for sigma0 <= 0.1, below for "
        f">= 0.2, close to 1 at {PAPER_OPTIMUM:g}).",
    ]
    if results.where(dataset=dataset, init=SEARCH):
        lines.append(search_text(results, dataset, best))
    return "\n".join(lines)


def search_text(results: Results, dataset: str, best: str) -> str:
    """The `optimal_sigma0` estimate over seeds and the first seed's pilots."""
    rows = results.where(dataset=dataset, init=SEARCH)
    first = min(rows, key=lambda row: int(row["seed"]))
    trace = ", ".join(
        f"{sigma0:.4g}: {ratio:.3f}" for sigma0, ratio in zip(
            *(results.curves(column, dataset=dataset, init=SEARCH, seed=first["seed"])[0]
              for column in ("pilot_sigma0", "pilot_ratio"))))
    estimate = tables.number_cell(results.mean_std("estimate", dataset=dataset, init=SEARCH), ".4f")
    count = len(rows)
    return (
        f"* `optimal_sigma0` estimate {estimate} (grid argmin {best}); bracketed in "
        f"{int(sum(results.values('bracketed', dataset=dataset, init=SEARCH)))} of {count} "
        f"seeds, converged to the tolerance in "
        f"{int(sum(results.values('converged', dataset=dataset, init=SEARCH)))} of {count}. "
        f"Pilots of seed {first['seed']} (sigma0: ratio): {trace}."
    )


def mean_curve(results: Results, column: str, **criteria) -> np.ndarray:
    """The mean over seeds of a per-epoch curve."""
    return np.mean(np.stack(results.curves(column, **criteria)), axis=0)


def plot_figures(results: Results, settings: Mapping[str, Any], names: list[str],
                 folder: pathlib.Path) -> None:
    """The paper's Fig. 2-5, one panel per dataset, means over seeds."""
    plt = figures_lib.pyplot()
    grid = grid_labels(settings)
    sigma0 = [float(init) for init in grid]
    colors = plt.get_cmap("viridis")(np.linspace(0, 1, len(grid)))

    def final(column: str, dataset: str, init: str) -> float:
        return mean_of(results, column, dataset, init)

    def panels(key: str, draw: Callable, ylabel: str, xlabel: str = "epoch") -> None:
        figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8),
                                    squeeze=False)
        for axis, name, letter in zip(axes[0], names, "abcdef"):
            draw(axis, name)
            axis.set_title(f"({letter}) {DATASET_LABELS.get(name, name)}")
            axis.set_xlabel(xlabel)
            axis.set_ylabel(ylabel)
        axes[0][-1].legend(fontsize=7, ncol=2)
        figures_lib.save(figure, folder / FIGURES[key])

    def variance(axis, name: str) -> None:  # Fig. 2
        for color, init, value in zip(colors, grid, sigma0):
            curve = mean_curve(results, "v_curve", dataset=name, init=init)
            axis.plot(np.arange(curve.size), curve, color=color, label=init)
            axis.axhline(value**2, color=color, linewidth=0.6, linestyle=":")
        axis.set_yscale("log")

    def loss_vs_v(axis, name: str) -> None:  # Fig. 3
        v = [final("final_v", name, init) for init in grid]
        loss = [final("final_loss", name, init) for init in grid]
        log_ratio = np.log([final("final_ratio", name, init) for init in grid])
        limit = max(float(np.abs(log_ratio).max()), 1e-3)
        points = axis.scatter(v, loss, c=log_ratio, cmap="coolwarm_r", vmin=-limit, vmax=limit)
        for x, y, init in zip(v, loss, grid):
            axis.annotate(init, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        axis.scatter([final("final_v", name, HE)], [final("final_loss", name, HE)], marker="*",
                     s=160, color="black", label=HE)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.figure.colorbar(points, ax=axis, label="log(V / sigma0^2)")

    def ratio(axis, name: str) -> None:  # Fig. 4
        axis.plot(sigma0, [final("final_ratio", name, init) for init in grid], "o-",
                  label="grid")
        axis.axhline(1.0, color="black", linewidth=0.8)
        if results.where(dataset=name, init=SEARCH):
            estimate = final("estimate", name, SEARCH)
            axis.axvline(estimate, color="red", linestyle="--",
                         label=f"optimal_sigma0 = {estimate:.3f}")
        best = loss_argmin(results, settings, name)
        axis.axvline(float(best), color="green", linestyle=":", label=f"loss argmin = {best}")
        axis.set_yscale("log")

    def accuracy(axis, name: str) -> None:  # Fig. 5
        for color, init in zip(colors, grid):
            curve = mean_curve(results, "val_accuracy_curve", dataset=name, init=init)
            axis.plot(np.arange(1, curve.size + 1), curve, color=color, label=init)
        curve = mean_curve(results, "val_accuracy_curve", dataset=name, init=HE)
        axis.plot(np.arange(1, curve.size + 1), curve, "k--", label=HE)

    panels("variance", variance, "V(W, t)")
    panels("loss_vs_v", loss_vs_v, "final training loss", "V(W, T)")
    panels("ratio", ratio, "V / sigma0^2", "sigma0")
    panels("accuracy", accuracy, "validation accuracy")
