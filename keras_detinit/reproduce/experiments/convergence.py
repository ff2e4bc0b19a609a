"""The Sinusoidal paper's convergence claims on a CNN and a ViT (Table 3).

The paper trains ResNet-50, MobileNetV3, EfficientNetV2, ViT-B16 and
BERT-mini from Default (He / Glorot), Orthogonal, LSUV and Sinusoidal
initializations, reports per run the validation accuracy after epoch 1
and epoch 10, the maximum and the area under the validation curve (AUC),
and sums up (Sec. 4): "an average increase in final validation accuracy
of 4.9% over the default initialization, 1.7% over orthogonal and 3.4%
over LSUV. Considering the overall training process, the AUC indicates an
average improvement of 20.9% over the default initialization, 5.7% over
orthogonal and 18.0% over LSUV."

**What the two figures are.** The paper gives no formula; its Table 3
gives them back: +4.9% is the mean, over its 11 (model, optimizer) rows,
of the *difference* of the maximum validation accuracies, in percentage
points (Sinusoidal minus Default: 4.85); +20.9% is the mean over the same
rows of the *relative* AUC gain ``AUC_sin / AUC_default - 1`` (20.92%).
This experiment computes both the same way, over its (model, dataset)
cells, for every baseline. Our AUC is the mean accuracy over the epochs
(`keras_detinit.reproduce.training.convergence_metrics`), the paper's the
sum; their ratio, hence the gain, is the same for runs of equal length.

**Here**: `keras_detinit.vision_models`' LeNet-5-style CNN and small ViT on
Fashion-MNIST and MNIST (pixels in ``[0, 1]``), Adam at 1e-3 and batch 64
(the paper's Table 4 learning rate and batch size; its weight decay of
1e-3 is not applied), 15% of the training set held out for validation.
Initializers: Sinusoidal (the paper's formula), Glorot uniform, He normal,
Orthogonal, LSUV and Arcsine (the paper's appendix D.1 control: i.i.d.
draws with Sinusoidal's distribution and variance). "Default" is He normal
for the ReLU CNN and Glorot uniform for the ViT, as the paper's Table 2.

**How each scheme reaches the kernels.** Every model is built with the
scheme as ``kernel_initializer``, so each layer draws its own copy and
Keras hands the attention kernels their true input and output axes.
Deterministic schemes are then re-drawn with `keras_detinit.reinitialize`,
which numbers the query, key and value kernels as projections 0, 1, 2:
without it they would be identical. LSUV (`keras_detinit.lsuv`) starts
from Orthogonal everywhere and rescales the top-level Conv and Dense
layers on one training batch; the attention kernels keep the orthogonal
draw (as the authors' code covers convolutional and linear layers only).
Keras' ``Orthogonal`` sees a query, key or value kernel ``(d, heads,
head_dim)`` as a ``(d * heads) x head_dim`` matrix, so its entries have
variance ``1 / (d * heads)``, not the ``1 / d`` of a ``d x d`` orthogonal
matrix; the output kernel is ``d x d`` and exact. That is what
``kernel_initializer="orthogonal"`` gives a Keras attention layer.
Biases start at zero, layer norms at (1, 0), the ViT's position embedding
from a truncated normal (0.02) whatever the scheme.

Example:

>>> experiment = Convergence()
>>> len(experiment.configurations(experiment.settings("quick")))  # 2 x 2 x 6
24
>>> sorted(experiment.settings("quick")["vit"])
['hidden_dim', 'mlp_dim', 'num_heads', 'num_layers', 'patch_size']
"""

from __future__ import annotations

import math
import pathlib
import warnings
from typing import Any
from typing import Mapping
from typing import Sequence

import keras
import numpy as np

from keras_detinit import lsuv
from keras_detinit import protocol as protocols
from keras_detinit import reinitialization
from keras_detinit import validation
from keras_detinit import vision_models
from keras_detinit.datasets import locate
from keras_detinit.initializers.matrix import MatrixInitializer
from keras_detinit.initializers.seeding import SeededInitializer
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reporting import verdicts as verdicts_lib
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import format_curve
from keras_detinit.reporting.results import mean_and_spread
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.reproduce.experiments.ffnn import DATASET_LABELS

PAPER = ('Fernández-Hernández et al., "Sinusoidal Initialization, Time for a New '
         'Start"')
#: The models of `keras_detinit.vision_models`, by setting name.
MODELS = {"lenet5": "LeNet-5", "vit": "ViT"}
#: The scheme under test; every other initializer is a baseline.
SINUSOIDAL = "sinusoidal"
#: LSUV is an initialization procedure, not a Keras initializer name.
LSUV = "lsuv"
#: Row labels of the initializers.
LABELS = {"sinusoidal": "Sinusoidal", "glorot_uniform": "Glorot uniform",
          "he_normal": "He normal", "orthogonal": "Orthogonal", "lsuv": "LSUV",
          "arcsine": "Arcsine (i.i.d.)"}
#: The paper's "Default" per model (its Table 2): He for ReLU CNNs, Glorot
#: uniform for a ViT's Linear layers.
DEFAULT_INITIALIZER = {"lenet5": "he_normal", "vit": "glorot_uniform"}
#: The "default" row of the gains: the paper's Default of each model.
DEFAULT = "default"
#: The paper's average gains of Sinusoidal (Sec. 4): maximum validation
#: accuracy in percentage points, AUC in percent, per baseline.
PAPER_GAINS = {DEFAULT: (4.9, 20.9), "orthogonal": (1.7, 5.7), LSUV: (3.4, 18.0)}
#: The ViT of both profiles (`keras_detinit.vision_models.build_vit`).
VIT = {"patch_size": 7, "hidden_dim": 64, "num_layers": 2, "num_heads": 4, "mlp_dim": 128}
#: The start of Sinusoidal's warning about zero or non-cancelling rows.
DEGENERATE_WARNING = "Sinusoidal kernel of shape"
#: What the report says about them instead of a warning per run.
DEGENERATE_ROWS = (
    "Sinusoidal is the paper's formula, degenerate rows included: row i of a layer of m "
    "units and fan-in n is zero where n and m divide 2i, and constant where n divides i "
    "(m >= n). In the default ViT the 64 x 64 attention kernels have zero rows 32 and 64, "
    "the MLP kernels rows 64 and 128 (64 -> 128) and 64 (128 -> 64), and the patch "
    "embedding's row 49 (n = 49) is constant; LeNet-5 has none. "
    "`Sinusoidal(frequencies=\"nondegenerate\")` avoids them.")
#: Measured columns: Table 3's metrics and the curve they come from.
COLUMNS = (*training.CONVERGENCE_COLUMNS, "val_accuracy_curve")

_COMMON = {
    "models": list(MODELS),
    "datasets": ["fashion_mnist", "mnist"],
    "initializers": [SINUSOIDAL, "glorot_uniform", "he_normal", "orthogonal", LSUV, "arcsine"],
    "batch_size": 64,
    "learning_rate": 1e-3,
    "vit": dict(VIT),
}


class Convergence(Experiment):
    """Table 3's convergence metrics of a LeNet-5 CNN and a small ViT."""

    name = "convergence"
    title = "Sinusoidal paper, Table 3: convergence of a CNN and a ViT"
    source = (f"{PAPER}, Table 3 and Sec. 4 (+4.9% final validation accuracy, +20.9% "
              "convergence speed), appendix D.1 (arcsine control).")
    columns = COLUMNS
    profiles = {
        "paper": Profile(
            seeds=3, settings={**_COMMON, "samples_per_class": protocols.WHOLE_TRAINING_SET,
                               "epochs": 100},
            reductions="the paper's protocol (100 epochs as its ResNet-50 and ViT-B16, "
            "Adam 1e-3, batch 64, whole training set) on small models and datasets: "
            "LeNet-5 and a 2-block ViT on Fashion-MNIST and MNIST instead of ResNet-50, "
            "MobileNetV3, EfficientNetV2, ViT-B16 and BERT-mini; no weight decay; 3 seeds. "
            "About a day on a 2-core CPU (72 runs of about 20 minutes); meant for a GPU.",
        ),
        "quick": Profile(
            seeds=3, settings={**_COMMON, "samples_per_class": 500, "epochs": 10},
            reductions="500 training images per class (5,000 of the 51,000) and 10 "
            "epochs instead of 100: the maximum and the AUC are over 10 epochs. About 15 "
            "minutes on a 2-core CPU with JAX (measured: 15m11s for the 72 runs).",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        check_settings(settings)
        # Runs of one dataset are adjacent (it stays loaded); CSV columns
        # start with the model.
        return [{"model": c["model"], "dataset": c["dataset"], "init": c["init"]}
                for c in grid(dataset=settings["datasets"], model=settings["models"],
                              init=settings["initializers"])]

    def cost(self, config, settings) -> float:
        # Every run validates on the whole held-out part after each epoch.
        return training.training_cost(settings["epochs"],
                                      training.split_images(settings["samples_per_class"]),
                                      training.VALIDATION_IMAGES)

    def measure(self, config, seed, settings, context) -> dict:
        data = context.dataset(config["dataset"], settings["samples_per_class"], seed)
        run_protocol = training_protocol(settings)
        keras.utils.set_random_seed(seed)
        model = initialized_model(config["model"], config["init"], data, seed, settings)
        # A context that reuses models (the runner's default) trains its
        # compiled model of this architecture, loaded with these weights.
        if getattr(context, "models", None) is not None:
            architecture = (config["model"], data.train.x.shape[1:], data.num_classes,
                            tuple(sorted(settings["vit"].items())))
            model = context.models.load(architecture, model, run_protocol)
        history = protocols.train(model, data, run_protocol, data_order_seed=seed)
        measured = training.convergence_metrics(history["val_accuracy"])
        measured["val_accuracy_curve"] = format_curve(history["val_accuracy"])
        return measured

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        parts = [_protocol_sentence(settings)]
        if SINUSOIDAL in settings["initializers"] and "vit" in settings["models"]:
            parts.append(DEGENERATE_ROWS)
        for model in settings["models"]:
            for dataset in settings["datasets"]:
                parts += [f"## {MODELS[model]}, {DATASET_LABELS.get(dataset, dataset)}",
                          training.convergence_table(results, settings["initializers"],
                                                     label=label, model=model,
                                                     dataset=dataset)]
        parts += ["## Gains of Sinusoidal", gains_table(results, settings),
                  "## Verdict", verdicts(results, settings), "## Validation curves"]
        for model in settings["models"]:
            figure = figures / f"convergence_{model}.png"
            plot_curves(results, settings, model, figure)
            parts.append(f"![{MODELS[model]} validation curves](figures/{figure.name})")
        return "\n\n".join(parts)


def check_settings(settings: Mapping[str, Any]) -> None:
    """Raise a `ValueError` naming a bad setting before any run starts."""
    for key, known in (("models", MODELS), ("datasets", None), ("initializers", None)):
        values = settings[key]
        if not isinstance(values, list) or not values:
            raise ValueError(f"`{key}` must be a non-empty list. Received: {key}={values!r}")
        for value in values:
            if known is not None:
                validation.check_choice(f"{key}[...]", value, tuple(known))
            elif key == "datasets":
                locate.get_spec(value)  # an unknown name fails now, not after hours
            elif value != LSUV:
                _check_initializer(value)
    for key in ("epochs", "batch_size"):
        validation.check_int(key, settings[key], low=1)
    protocols.samples_per_class(settings["samples_per_class"])
    validation.check_positive("learning_rate", settings["learning_rate"])
    vit = settings["vit"]
    if not isinstance(vit, dict) or sorted(vit) != sorted(VIT):
        raise ValueError(f"`vit` must be a dict with the keys {sorted(VIT)}. "
                         f"Received: vit={vit!r}")
    for key, value in vit.items():
        validation.check_int(f"vit[{key}]", value, low=1)
    if vit["hidden_dim"] % vit["num_heads"] or 28 % vit["patch_size"]:
        raise ValueError("`vit`: `hidden_dim` must be a multiple of `num_heads`, and "
                         "`patch_size` must divide the images' 28 pixels. Received: "
                         f"vit={vit!r}")


def _check_initializer(name) -> None:
    try:
        keras.initializers.get(name)
    except ValueError as error:
        raise ValueError(f"`initializers`: {name!r} is neither {LSUV!r} nor a Keras "
                         f"initializer name ({error}).") from None


def label(initializer: str) -> str:
    """The row label of an initializer name."""
    return LABELS.get(initializer, initializer)


def training_protocol(settings: Mapping[str, Any]) -> protocols.TrainingProtocol:
    """The package's protocol with the experiment's epochs, batch and rate."""
    return protocols.PAPER_PROTOCOL.replace(epochs=settings["epochs"],
                                            batch_size=settings["batch_size"],
                                            learning_rate=settings["learning_rate"])


def build_model(model: str, input_shape: Sequence[int], num_classes: int,
                kernel_initializer, vit: Mapping[str, int]) -> keras.Model:
    """The ``model`` of `MODELS`, every kernel drawn by its layer."""
    if model == "lenet5":
        return vision_models.build_lenet5(input_shape, num_classes, kernel_initializer)
    return vision_models.build_vit(input_shape, num_classes,
                                   kernel_initializer=kernel_initializer, **vit)


def is_deterministic(initializer) -> bool:
    """Whether ``initializer`` is one of this package's deterministic schemes.

    Example:

    >>> is_deterministic("sinusoidal"), is_deterministic("arcsine")
    (True, False)
    >>> is_deterministic("glorot_uniform")
    False
    """
    resolved = keras.initializers.get(initializer)
    return isinstance(resolved, MatrixInitializer) and not isinstance(resolved,
                                                                      SeededInitializer)


def initialized_model(model: str, initializer: str, data, seed: int,
                      settings: Mapping[str, Any]) -> keras.Model:
    """A fresh model whose kernels follow ``initializer`` (see the module docstring).

    Call ``keras.utils.set_random_seed`` first for reproducible draws.

    Args:
        model: A name of `MODELS`.
        initializer: A Keras initializer name, or `LSUV`.
        data: The run's `keras_detinit.datasets.Dataset` (LSUV's batch).
        seed: Seed of LSUV's batch and orthonormal draw.
        settings: The experiment's settings (``batch_size``, ``vit``).
    """
    shape, classes = tuple(data.train.x.shape[1:]), data.num_classes
    with warnings.catch_warnings():
        # The paper's formula has zero rows in some layers (`DEGENERATE_ROWS`):
        # the scheme as published is what is tested, said once in the report.
        warnings.filterwarnings("ignore", message=DEGENERATE_WARNING, category=UserWarning)
        built = build_model(model, shape, classes, "orthogonal" if initializer == LSUV
                            else initializer, settings["vit"])
        # Random schemes keep the layers' draws: a copy per layer, so independent
        # kernels. Deterministic ones get distinct query, key and value kernels.
        if initializer != LSUV and is_deterministic(initializer):
            reinitialization.reinitialize(built, initializer)
    if initializer == LSUV:
        x = data.train.x
        rows = np.random.default_rng(seed).choice(len(x), min(settings["batch_size"], len(x)),
                                                  replace=False)
        lsuv.lsuv_initialize(built, x[np.sort(rows)], seed=seed)
    return built


# -- report ----------------------------------------------------------------------


def _protocol_sentence(settings) -> str:
    return (f"Adam ({settings['learning_rate']:g}), batch {settings['batch_size']}, "
            f"{settings['epochs']} epochs, "
            f"{protocols.describe_samples_per_class(settings['samples_per_class'])} training "
            "images per class, validation on the 15% held out. Cells: validation accuracy "
            "in % after epoch 1 and 10, the maximum, and the AUC as the mean accuracy over "
            "the epochs; mean ± std over seeds.")


def baselines(settings) -> list[str]:
    """The gains' rows: `DEFAULT`, then every initializer but Sinusoidal."""
    inits = settings["initializers"]
    default = all(DEFAULT_INITIALIZER[model] in inits for model in settings["models"])
    return [*([DEFAULT] if default else []), *(init for init in inits if init != SINUSOIDAL)]


def seed_gains(results: Results, baseline: str, metric: str,
               cells: Sequence[Mapping[str, str]]) -> list[float]:
    """Per seed, the paper's mean gain of Sinusoidal over ``baseline``.

    For ``acc_max`` the mean over ``cells`` of the difference in
    percentage points, for ``auc`` the mean of ``100 (sin / base - 1)``:
    the two figures of the paper's Sec. 4. Seeds are paired (the same
    seed draws the same data split and batch order for every scheme);
    a seed missing a run is left out.

    Args:
        results: The experiment's rows.
        baseline: An initializer name, or `DEFAULT` for each model's.
        metric: ``"acc_max"`` or ``"auc"``.
        cells: ``{"model": ..., "dataset": ...}`` to average over.

    Example:

    >>> rows = Results([
    ...     {"model": "vit", "dataset": "mnist", "init": init, "seed": "0", "auc": auc}
    ...     for init, auc in (("sinusoidal", "0.6"), ("orthogonal", "0.5"))])
    >>> [round(g, 6) for g in seed_gains(rows, "orthogonal", "auc",
    ...                                  [{"model": "vit", "dataset": "mnist"}])]
    [20.0]
    """
    gains = []
    for seed in results.distinct("seed"):
        per_cell = []
        for cell in cells:
            other = DEFAULT_INITIALIZER[cell["model"]] if baseline == DEFAULT else baseline
            ours = results.values(metric, init=SINUSOIDAL, seed=seed, **cell)
            theirs = results.values(metric, init=other, seed=seed, **cell)
            if ours.size and theirs.size:
                per_cell.append(100 * (ours[0] - theirs[0]) if metric == "acc_max"
                                else 100 * (ours[0] / theirs[0] - 1))
        if len(per_cell) == len(cells):
            gains.append(float(np.mean(per_cell)))
    return gains


_GAIN_WORDS = {"held": "holds", "not held": "fails", "undecided": "undecided"}


def verdict(mean: float, spread: float) -> str:
    """``holds`` / ``fails`` when the gain is outside its spread, else ``undecided``.

    Example:

    >>> verdict(2.0, 0.5), verdict(-2.0, 0.5), verdict(0.3, 0.5), verdict(1.0, float("nan"))
    ('holds', 'fails', 'undecided', 'undecided')
    """
    return _GAIN_WORDS[verdicts_lib.against((mean, spread), 0.0)]


def _cells(settings, models=None) -> list[dict]:
    return grid(model=models or settings["models"], dataset=settings["datasets"])


def gain_text(mean: float, spread: float, paper: float | None = None) -> str:
    """A signed gain ``± spread``, the paper's value in parentheses.

    Example:

    >>> gain_text(1.234, 0.5, 4.9), gain_text(-0.2, float("nan")), gain_text(float("nan"), 0)
    ('+1.2 ± 0.5 (+4.9)', '-0.2', '–')
    """
    if math.isnan(mean):
        text = tables.MISSING
    else:
        text = f"{mean:+.1f}" + ("" if math.isnan(spread) else f" ± {spread:.1f}")
    return text if paper is None else f"{text} ({paper:+g})"


def _gain_cell(gains: Sequence[float], paper: float | None) -> str:
    return gain_text(*mean_and_spread(gains), paper)


def gains_table(results: Results, settings) -> str:
    """Gains per baseline (rows): max accuracy and AUC, per model and overall."""
    models = settings["models"]
    header = ["Baseline", *(f"max acc. (pp), {MODELS[m]}" for m in models),
              "max acc. (pp), all", *(f"AUC (%), {MODELS[m]}" for m in models), "AUC (%), all",
              "verdict acc. / AUC"]
    rows = []
    for baseline in baselines(settings):
        paper = PAPER_GAINS.get(baseline, (None, None))
        row = [_baseline_label(baseline)]
        overall = []
        for metric, paper_value in zip(("acc_max", "auc"), paper):
            row += [_gain_cell(seed_gains(results, baseline, metric, _cells(settings, [m])),
                               None) for m in models]
            gains = seed_gains(results, baseline, metric, _cells(settings))
            row.append(_gain_cell(gains, paper_value))
            overall.append(verdict(*mean_and_spread(gains)))
        rows.append([*row, " / ".join(overall)])
    return "\n\n".join([
        "Gain of Sinusoidal over each baseline, as the paper computes its +4.9% and "
        "+20.9%: the maximum validation accuracy's difference in percentage points, and "
        "the relative AUC gain in %, averaged over the (model, dataset) cells; mean ± std "
        "over seeds (each seed's gain over the cells), the paper's average over its 11 "
        "(model, optimizer) runs in parentheses. Verdict: holds (fails) when the gain is "
        "above (below) zero by more than its spread, undecided otherwise.",
        tables.markdown_table(header, rows)])


def _baseline_label(baseline: str) -> str:
    if baseline == DEFAULT:
        return ("Default (" + ", ".join(f"{label(init)} on {MODELS[model]}"
                                        for model, init in DEFAULT_INITIALIZER.items()) + ")")
    return label(baseline)


def verdicts(results: Results, settings) -> str:
    """The plain answer for each of the paper's two headline claims."""
    if DEFAULT not in baselines(settings):
        return (f"The headline claims compare with the default initialization; add "
                f"{sorted(set(DEFAULT_INITIALIZER.values()))} to `initializers` to judge them.")
    lines = []
    claims = (("acc_max", "final validation accuracy", "percentage points", 0),
              ("auc", "convergence speed (AUC)", "%", 1))
    for metric, claim, unit, index in claims:
        mean, spread = mean_and_spread(seed_gains(results, DEFAULT, metric, _cells(settings)))
        paper = PAPER_GAINS[DEFAULT][index]
        size = ("" if math.isnan(mean) else
                " Its size matches the paper's within the spread." if abs(mean - paper) <= spread
                else f" It is {'smaller' if mean < paper else 'larger'} than the paper's.")
        lines.append(f"* +{paper:g}{' pp' if index == 0 else '%'} {claim} over the default "
                     f"initialization: **{verdict(mean, spread)}** at this scale; ours "
                     f"{gain_text(mean, spread)} {unit} (mean ± std over seeds).{size}")
    return "\n".join(lines)


def plot_curves(results: Results, settings, model: str, path: pathlib.Path) -> None:
    """One panel per dataset: each initializer's mean validation curve ± std."""
    panels = {}
    for dataset in settings["datasets"]:
        series = {}
        for init in settings["initializers"]:
            curves = [curve for curve in results.curves("val_accuracy_curve", model=model,
                                                        dataset=dataset, init=init)
                      if curve.size]
            if curves:
                length = min(curve.size for curve in curves)
                stacked = np.stack([curve[:length] for curve in curves])
                series[label(init)] = (np.arange(1, length + 1), stacked.mean(axis=0),
                                       stacked.std(axis=0))
        panels[f"{MODELS[model]}, {DATASET_LABELS.get(dataset, dataset)}"] = series
    figures_lib.line_panels(path, panels, "epoch", "validation accuracy (%)")
