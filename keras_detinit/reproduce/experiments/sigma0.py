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

The networks emit logits and the loss takes them, so every backend trains
alike (`keras_detinit.protocol`); the pixels are in [0, 1], as the paper
states for its inputs (``pixels="raw"`` gives 0-255).

Profiles: ``quick`` trains 10 epochs at learning rate 1e-2 (the paper's
SGD time ``lr x steps``, after which ``V / sigma0^2`` has barely left 1);
``long`` keeps the paper's 1000 epochs at 1e-4 on 50 training images per
class and 3 seeds, and the report then asks whether the ratio moved and
where it crosses 1 against the spread across seeds (`crossing_text`);
``paper`` is the paper's whole protocol.

Example:

>>> experiment = Sigma0Sweep()
>>> settings = experiment.settings("quick", {"datasets": ["mnist"],
...                                          "sigma0": [0.1, 0.2]})
>>> [config["init"] for config in experiment.configurations(settings)]
['0.1', '0.2', 'he_normal', 'optimal_sigma0']
>>> search, he = ({"dataset": "mnist", "init": init} for init in ("optimal_sigma0", "he_normal"))
>>> experiment.cost(search, settings) / experiment.cost(he, settings)  # max_pilots runs
6.0
>>> long = experiment.settings("long")
>>> long["epochs"], long["learning_rate"], long["samples_per_class"], long["max_pilots"]
(1000, 0.0001, 50, 0)
>>> from keras_detinit.reproduce import reproduce
>>> outcome = reproduce("sigma0", profile="quick")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
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
from keras_detinit.datasets import subsets
from keras_detinit.models import build_ffnn
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import format_curve
from keras_detinit.reporting.results import mean_and_spread
from keras_detinit.reporting.results import parse_curve
from keras_detinit.sigma0 import optimal_sigma0
from keras_detinit.sigma0 import ratio_crossings
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
#: MNIST's and Fashion-MNIST's training sets; the paper trains on them whole.
PAPER_TRAINING_IMAGES = 60000
#: The ``long`` profile: the paper's training length on this many training
#: (and validation) images per class, so that 3 seeds of both datasets finish
#: in about 20 minutes on a 2-core CPU.
LONG_SAMPLES_PER_CLASS = 50
LONG_SEEDS = 3
#: SGD steps of the ``long`` profile (10 classes, batch 100).
LONG_STEPS = PAPER_EPOCHS * 10 * LONG_SAMPLES_PER_CLASS // 100
#: Grid points from here on are where the 10-epoch sweep left the ratio
#: within 1% of 1.
MOVE_FROM = 0.1
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


def validation_subset(data: datasets.Dataset, per_class: int | str,
                      seed: int) -> datasets.Dataset:
    """``data`` with ``per_class`` validation images of each class (``"all"``: all).

    Validating 9,000 images after each of 1000 epochs would cost more than
    the training on a reduced set; a balanced subsample keeps the curve.
    """
    count = protocols.samples_per_class(per_class)
    if count is None:
        return data
    validation = datasets.Split(*subsets.sample_per_class(
        *data.validation, count, seed, data.num_classes))
    return dataclasses.replace(data, validation=validation)


def profile_settings(epochs: int, learning_rate: float,
                     samples_per_class: int | str = protocols.WHOLE_TRAINING_SET,
                     max_pilots: int = 6) -> dict:
    """The settings the profiles share, with their training length and data."""
    return {"datasets": ["mnist", "fashion_mnist"], "sigma0": list(GRID), "hidden": [256, 128],
            "epochs": epochs, "learning_rate": learning_rate, "batch_size": 100,
            "samples_per_class": samples_per_class, "validation_per_class": samples_per_class,
            "pixels": "unit", "max_pilots": max_pilots, "tolerance": 0.001}


class Sigma0Sweep(Experiment):
    """Section IV of Horii and Has, with the `optimal_sigma0` search beside it.

    Settings: ``datasets``, ``sigma0`` (the grid), ``hidden`` (widths),
    ``epochs``, ``learning_rate``, ``batch_size``, ``samples_per_class``
    (``"all"``: the whole training part), ``validation_per_class`` (``"all"``:
    the whole 15% held out), ``pixels`` (``"unit"`` or ``"raw"``), and for the
    search ``max_pilots`` (0: no search) and ``tolerance`` (on
    ``|V / sigma0^2 - 1|``).
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
        "long": Profile(
            seeds=LONG_SEEDS,
            settings=profile_settings(epochs=PAPER_EPOCHS, learning_rate=PAPER_LEARNING_RATE,
                                      samples_per_class=LONG_SAMPLES_PER_CLASS, max_pilots=0),
            reductions=(
                f"the paper's {PAPER_EPOCHS} epochs at learning rate 1e-4 (noise temperature "
                f"lr / b as in the paper) on {LONG_SAMPLES_PER_CLASS} training images per "
                f"class instead of the whole training set ({10 * LONG_SAMPLES_PER_CLASS:,} "
                f"instead of {PAPER_TRAINING_IMAGES:,}), so {LONG_STEPS:,} SGD steps and an "
                f"SGD time lr x steps of {LONG_STEPS * PAPER_LEARNING_RATE:g} instead of about "
                f"{PAPER_EPOCHS * PAPER_TRAINING_IMAGES // 100 * PAPER_LEARNING_RATE:g}; "
                f"validation on {LONG_SAMPLES_PER_CLASS} "
                f"held-out images per class; {LONG_SEEDS} runs per sigma0 instead of "
                f"{PAPER_RUNS}; no optimal_sigma0 search (the crossing is read off the grid, "
                "per seed)"
            ),
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
        data = validation_subset(
            context.dataset(config["dataset"], settings["samples_per_class"], seed,
                            pixels=settings["pixels"]),
            settings["validation_per_class"], seed)
        protocol = sgd_protocol(settings)
        build = model_builder(data, settings["hidden"], protocol)
        if config["init"] == SEARCH:
            return search_run(build, data, seed, settings)
        sigma0 = None if config["init"] == HE else float(config["init"])
        return train_run(build, data, sigma0, seed, protocol)

    def cost(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> float:
        validated = protocols.samples_per_class(settings["validation_per_class"])
        run = training.training_cost(
            settings["epochs"], training.split_images(settings["samples_per_class"]),
            training.VALIDATION_IMAGES if validated is None else training.CLASSES * validated)
        # A search trains up to max_pilots pilots as long as one grid run.
        return run * settings["max_pilots"] if config["init"] == SEARCH else run

    def report(self, results: Results, settings: Mapping[str, Any],
               figures: pathlib.Path) -> str:
        names = [name for name in settings["datasets"] if results.where(dataset=name)]
        plot_figures(results, settings, names, figures)
        parts = [setup_text(results, settings)]
        for name in names:
            parts += [f"## {DATASET_LABELS.get(name, name)}", sweep_table(results, settings, name),
                      convergence_table(results, settings, name),
                      findings(results, settings, name),
                      crossing_text(results, settings, name)]
        parts += [
            "## Figures",
            "Means over seeds, in the manner of the paper's figures.",
            f"![Fig. 2: V(W, t) per epoch; dotted: sigma0^2](figures/{FIGURES['variance']})",
            "![Fig. 3: final training loss against V(W, T), colored by log(V / sigma0^2); "
            f"star: he_normal](figures/{FIGURES['loss_vs_v']})",
            "![Fig. 4: V / sigma0^2 against sigma0 (bars: std over seeds), with the "
            f"optimal_sigma0 estimate and the loss argmin](figures/{FIGURES['ratio']})",
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
    protocols.samples_per_class(settings["validation_per_class"])
    validation.check_choice("pixels", settings["pixels"], datasets.PIXELS)
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
    return "\n\n".join([
        f"A ReLU FFNN (`build_ffnn((28, 28), {settings['hidden']}, 10)`, logits output), "
        "kernels from `keras.initializers.RandomNormal(stddev=sigma0)` or `he_normal`, biases "
        "zero, plain SGD, cross-entropy from the logits (the same on every backend); pixels "
        f"{PIXEL_TEXT[settings['pixels']]}; 15% of the training set held out, of which "
        f"{images_text(settings['validation_per_class'], 'the whole held-out part')} for "
        f"validation; {images_text(settings['samples_per_class'], 'the whole training part')} "
        "for training. `V(W, t)` is the mean squared kernel weight "
        "(`WeightVarianceCallback`), the ratio `V(W, T) / sigma0^2` (for He: over its epoch-0 "
        "value).",
        tables.markdown_table(["", "paper", "here"], rows),
        f"`optimal_sigma0`: bisection in log sigma0 between the grid's ends "
        f"({min(settings['sigma0']):g} and {max(settings['sigma0']):g}), pilots of "
        f"{settings['epochs']} epochs, at most {settings['max_pilots']} pilots, tolerance "
        f"`|V / sigma0^2 - 1| <= {settings['tolerance']:g}`."
        if settings["max_pilots"] else "No `optimal_sigma0` search (`max_pilots=0`).",
    ])


PIXEL_TEXT = {"unit": "in [0, 1] (the paper: inputs normalized to [0, 1])",
              "raw": "0-255 (the paper normalizes to [0, 1])"}


def images_text(per_class: int | str, whole: str) -> str:
    """``"100 images per class"``, or ``whole`` for ``"all"``."""
    count = protocols.samples_per_class(per_class)
    return whole if count is None else f"{count} images per class"


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


def seed_crossing(sigma0: Sequence[float], ratio: Sequence[float]) -> float:
    """The one crossing of ``V / sigma0^2 = 1`` of one seed's grid, else NaN.

    The paper's picture is one crossing, from ``r > 1`` at small sigma0 to
    ``r < 1`` at large ones; no crossing, several crossings, an upward one
    or a diverged run (a non-finite ratio) give NaN.

    Example:

    >>> seed_crossing([0.1, 0.2, 0.4], [1.2, 0.9, 0.8])
    0.1551...
    >>> seed_crossing([0.1, 0.2, 0.4], [1.01, 0.99, 1.02])
    nan
    """
    if not all(math.isfinite(value) and value > 0 for value in ratio):
        return math.nan
    crossings = ratio_crossings(sigma0, ratio)
    if len(crossings) == 1 and ratio[0] > 1.0 > ratio[-1]:
        return crossings[0]
    return math.nan


def side_of_one(mean_std: tuple[float, float]) -> str:
    """Where a ratio's ``mean ± std`` over seeds lies against 1.

    ``"above 1"`` or ``"below 1"`` when 1 lies outside ``mean ± std``;
    ``"within the spread"`` when it lies inside (the seeds cannot tell the
    ratio from 1); ``"no spread (1 seed)"`` and ``"not finite"`` otherwise.

    Example:

    >>> side_of_one((1.004, 0.001)), side_of_one((1.004, 0.005))
    ('above 1', 'within the spread')
    """
    mean, std = mean_std
    if not math.isfinite(mean):
        return "not finite"
    if math.isnan(std):
        return "no spread (1 seed)"
    if abs(mean - 1.0) <= std:
        return "within the spread"
    return "above 1" if mean > 1.0 else "below 1"


def crossing_verdict(sigma0: Sequence[float], sides: Sequence[str],
                     crossing: float) -> str:
    """Whether the grid places a crossing at ``crossing`` beyond the noise.

    The crossing is bracketed by the nearest grid points whose ratio is
    clear of 1 on the expected sides (`side_of_one`): ``"above 1"`` below
    it, ``"below 1"`` above it. It is resolved when those are neighbours;
    grid points between them cannot be told from 1, so the crossing lies
    inside the noise, somewhere in the bracket.

    Example:

    >>> crossing_verdict([0.1, 0.2, 0.4], ["above 1", "below 1", "below 1"], 0.15)
    'resolved between sigma0 = 0.1 and 0.2'
    >>> crossing_verdict([0.1, 0.2, 0.4], ["above 1", "within the spread", "below 1"],
    ...                  0.15)
    'inside the noise: within the spread of 1 at sigma0 = 0.2, clear of it at 0.1 and 0.4'
    """
    if not math.isfinite(crossing):
        return "not defined"
    low = [i for i, value in enumerate(sigma0) if value < crossing and sides[i] == "above 1"]
    high = [i for i, value in enumerate(sigma0) if value > crossing and sides[i] == "below 1"]
    if not (low and high):
        return ("inside the noise: no grid point "
                f"{'below' if not low else 'above'} it is clear of 1 on its side")
    low, high = low[-1], high[0]
    if high == low + 1:
        return f"resolved between sigma0 = {sigma0[low]:g} and {sigma0[high]:g}"
    inside = ", ".join(f"{value:g}" for value in sigma0[low + 1:high])
    return (f"inside the noise: within the spread of 1 at sigma0 = {inside}, clear of it at "
            f"{sigma0[low]:g} and {sigma0[high]:g}")


def final_ratio(row: Mapping[str, Any]) -> float:
    """``V(W, T) / sigma0^2`` of one run: the paper's ratio."""
    return float(row["final_ratio"])


def trained_change(row: Mapping[str, Any]) -> float:
    """``V(W, T) / V(W, 0)`` of one run: what training did, free of the draw's noise."""
    curve = parse_curve(row["v_curve"])
    return float(curve[-1] / curve[0])


PAPER_RATIO = "V(W, T) / sigma0^2"
TRAINED_CHANGE = "V(W, T) / V(W, 0)"
#: The two readings of "V / sigma0^2 moved": the paper's, and training's alone.
QUANTITIES = {PAPER_RATIO: final_ratio, TRAINED_CHANGE: trained_change}


def grid_values(results: Results, settings: Mapping[str, Any], dataset: str,
                quantity: Callable[[Mapping[str, Any]], float]) -> dict[str, list[float]]:
    """Per seed, ``quantity`` of each grid point's run (NaN where missing)."""
    seeds = sorted({str(row["seed"]) for row in results.where(dataset=dataset)}, key=int)
    table = {}
    for seed in seeds:
        rows = [results.where(dataset=dataset, init=init, seed=seed)
                for init in grid_labels(settings)]
        table[seed] = [quantity(found[0]) if found else math.nan for found in rows]
    return table


def crossing_lines(name: str, grid: Sequence[float], labels: Sequence[str],
                   per_seed: Mapping[str, list[float]]) -> list[str]:
    """Sides of 1, per-seed crossings and the mean's crossing of one quantity."""
    columns = np.asarray(list(per_seed.values()), dtype="float64").T
    sides = [side_of_one(mean_and_spread(column)) for column in columns]
    crossings = {seed: seed_crossing(grid, values) for seed, values in per_seed.items()}
    found = [value for value in crossings.values() if math.isfinite(value)]
    mean_crossing = seed_crossing(grid, [float(np.mean(column)) for column in columns])
    return [
        f"* `{name}` against 1: " + "; ".join(
            f"{side} for sigma0 in {{{', '.join(members)}}}"
            for side, members in grouped(labels, sides).items()) + ".",
        f"* Crossing of `{name} = 1` per seed: " + ", ".join(
            f"seed {seed}: {value:.4f}" if math.isfinite(value) else
            f"seed {seed}: no single downward crossing" for seed, value in crossings.items())
        + (f"; {tables.number_cell(mean_and_spread(found), '.4f')} over the {len(found)} "
           "seed(s) with one" if found else "") + ". Crossing of the mean: "
        + (f"sigma0 = {mean_crossing:.4f}, {crossing_verdict(grid, sides, mean_crossing)}."
           if math.isfinite(mean_crossing) else "no single downward crossing."),
    ]


def grouped(labels: Sequence[str], sides: Sequence[str]) -> dict[str, list[str]]:
    """The labels of each side, in first-seen order of the sides."""
    groups: dict[str, list[str]] = {}
    for label, side in zip(labels, sides):
        groups.setdefault(side, []).append(label)
    return groups


def crossing_text(results: Results, settings: Mapping[str, Any], dataset: str) -> str:
    """Whether ``V / sigma0^2`` moved, and where it crosses 1, against the seeds' spread."""
    grid = [float(value) for value in settings["sigma0"]]
    labels = grid_labels(settings)
    values = {name: grid_values(results, settings, dataset, quantity)
              for name, quantity in QUANTITIES.items()}
    spreads = {name: [mean_and_spread(column) for column in
                      np.asarray(list(table.values()), dtype="float64").reshape(-1, len(grid)).T]
               for name, table in values.items()}
    ratio, change = spreads[PAPER_RATIO], spreads[TRAINED_CHANGE]
    rows = [
        [init,
         tables.number_cell(mean_and_spread([curve[0] for curve in results.curves(
             "ratio_curve", dataset=dataset, init=init)]), ".4f"),
         tables.number_cell(paper, ".4f"), distance_cell(paper),
         tables.number_cell(trained, ".4f"), distance_cell(trained)]
        for init, paper, trained in zip(labels, ratio, change)
    ]
    lines = [
        f"* Moved by training: the largest mean `|V(W, T) / V(W, 0) - 1|` for sigma0 >= "
        f"{MOVE_FROM:g} is {largest_move(grid, change)}.",
        *(line for name, table in values.items()
          for line in crossing_lines(name, grid, labels, table)),
        f"* The paper: `V / sigma0^2` above 1 for sigma0 <= 0.1, below 1 for >= 0.2, close "
        f"to 1 at {PAPER_OPTIMUM:g}.",
    ]
    return "\n\n".join([
        "### Does V / sigma0^2 move, and where does it cross 1?",
        f"Mean ± standard deviation over {len(values[PAPER_RATIO])} seed(s). "
        "Within a seed every sigma0 scales the same standard-normal draw, so the draw's "
        "sampling error `V(W, 0) / sigma0^2` shifts that seed's whole ratio curve; "
        "`V(W, T) / V(W, 0)` is what training changed. A value whose `mean ± std` contains 1 "
        "is *within the spread*: the seeds cannot tell it from 1, and a crossing next to such "
        "a point is inside the noise. Distances are `(mean - 1) / std`.",
        tables.markdown_table(["sigma0", "V(W, 0) / sigma0^2", "V(W, T) / sigma0^2",
                               "distance", "V(W, T) / V(W, 0)", "distance"], rows),
        "\n".join(lines),
    ])


def distance_cell(mean_std: tuple[float, float]) -> str:
    """``(mean - 1) / std``: the distance from 1 in units of the seeds' spread."""
    mean, std = mean_std
    if not (math.isfinite(mean) and math.isfinite(std)) or std == 0:
        return tables.MISSING
    return f"{(mean - 1.0) / std:+.1f}"


def largest_move(grid: Sequence[float], change: Sequence[tuple[float, float]]) -> str:
    """The largest mean ``|V(T) / V(0) - 1|`` for sigma0 >= `MOVE_FROM`, as text."""
    candidates = [(abs(mean - 1.0), sigma0, std) for sigma0, (mean, std) in zip(grid, change)
                  if sigma0 >= MOVE_FROM and math.isfinite(mean)]
    if not candidates:
        return "not measured"
    move, sigma0, std = max(candidates)
    spread = "" if math.isnan(std) else f" (spread over seeds {100 * std:.2f}%)"
    return f"{100 * move:.2f}% at sigma0 = {sigma0:g}{spread}"


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
        spread = [results.mean_std("final_ratio", dataset=name, init=init) for init in grid]
        # Bars: the standard deviation over seeds (none for one seed).
        axis.errorbar(sigma0, [mean for mean, _ in spread],
                      yerr=np.nan_to_num([std for _, std in spread]), fmt="o-", capsize=3,
                      label="grid, ± std over seeds")
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
