"""Sinusoidal paper, Table 1 with Fig. 4 and 5: skewed neurons and OUI.

The synthetic setup of the paper's appendix C.2: an MLP
``ReLU -> Linear -> ReLU -> Linear -> ReLU -> Linear`` (zero biases) fed
with standard normal inputs. For each initialization (Glorot uniform, He
normal, orthogonal, LSUV, Sinusoidal) and seed it measures, on the *last*
Linear layer's pre-activations, the fraction of units skewed at
alpha = 0.1 and 0.3 (Definition 1, empirical ``P(Z > 0)``) and the OUI over
all sample pairs, as Table 1 does; and on the *first* Linear layer the same
numbers plus how often Theorem 1's threshold on the statistic ``S`` agrees
with the observed skewness. Nothing is trained, so a run costs one forward
pass (and LSUV's few).

Rows are one per (initialization, seed); the measured columns are
`keras_detinit.diagnostics.layer_summary`'s metrics per layer, prefixed
``first_`` and ``last_`` (e.g. ``last_skewed_0.1``, ``first_oui``), and
``first_theorem1_agreement_0.3``.

Example:

>>> experiment = SkewnessTable()
>>> settings = experiment.settings("quick", {"input_dim": 16, "widths": [12, 12, 8],
...                                          "samples": 256, "lsuv_samples": 64})
>>> [config["init"] for config in experiment.configurations(settings)]
['glorot_uniform', 'he_normal', 'orthogonal', 'lsuv', 'sinusoidal']
>>> row = experiment.measure({"init": "sinusoidal"}, 0, settings, None)
>>> sorted(row) == sorted(experiment.columns)
True
>>> row["first_skewed_0.3"]  # S = 0 and no vanishing row at 16 -> 12
0.0
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import warnings
from typing import Any
from typing import Mapping

import keras
import numpy as np

import keras_detinit  # noqa: F401  (registers "sinusoidal" with Keras)
from keras_detinit import diagnostics
from keras_detinit import validation
from keras_detinit.initializers import Sinusoidal
from keras_detinit.lsuv import lsuv_initialize
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reporting.results import Results

ALPHAS = (0.1, 0.3)
#: The alpha of Fig. 5 and of the Theorem 1 check.
THEOREM_ALPHA = 0.3
#: Table 1 (skewed %, alpha 0.1 and 0.3) and the OUI values of Sec. 3.2.
PAPER = {
    "glorot_uniform": {"skewed_0.1": 82.7, "skewed_0.3": 51.9, "oui": 0.56},
    "he_normal": {"skewed_0.1": 82.8, "skewed_0.3": 51.4, "oui": 0.59},
    "orthogonal": {"skewed_0.1": 84.0, "skewed_0.3": 49.6, "oui": 0.57},
    "lsuv": {"skewed_0.1": 84.3, "skewed_0.3": 50.9, "oui": 0.58},
    "sinusoidal": {"skewed_0.1": 0.2, "skewed_0.3": 0.2, "oui": 0.98},
}
LABELS = {
    "glorot_uniform": "Glorot",
    "he_normal": "He",
    "orthogonal": "Orthogonal",
    "lsuv": "LSUV",
    "sinusoidal": "Sinusoidal",
}
#: Mean and standard deviation of ReLU(N(0, 1)), the first layer's inputs.
RELU_MEAN = 1.0 / math.sqrt(2.0 * math.pi)
RELU_STD = math.sqrt(0.5 - 1.0 / (2.0 * math.pi))
#: Fig. 4 shows 250 samples x 250 neurons.
FIGURE_UNITS = 250
METRICS = tuple(diagnostics.metric_names(ALPHAS))
AGREEMENT = f"theorem1_agreement_{THEOREM_ALPHA:g}"
#: Our choice: the paper states neither widths nor sample counts.
SETTINGS = {"input_dim": 1024, "widths": [1024, 1024, 512], "samples": 4096,
            "lsuv_samples": 1024}
S_HISTOGRAM = "skewness_s_histogram.png"
ACTIVATION_STATES = "skewness_activation_states.png"


def build_mlp(input_dim: int, widths: list[int], kernel_initializer) -> keras.Sequential:
    """``ReLU -> Linear (-> ReLU -> Linear)*`` with zero biases, as in C.2.

    The Linear layers are named ``linear_1 .. linear_L``.

    Example:

    >>> [layer.name for layer in build_mlp(8, [4, 2], "orthogonal").layers]
    ['relu_0', 'linear_1', 'relu_1', 'linear_2']
    """
    layers = [keras.Input((input_dim,)), keras.layers.Activation("relu", name="relu_0")]
    for index, width in enumerate(widths, start=1):
        if index > 1:
            layers.append(keras.layers.Activation("relu", name=f"relu_{index - 1}"))
        layers.append(
            keras.layers.Dense(width, kernel_initializer=kernel_initializer, name=f"linear_{index}")
        )
    return keras.Sequential(layers, name="synthetic_mlp")


def layer_names(settings: Mapping[str, Any]) -> dict[str, str]:
    """``{"first": "linear_1", "last": "linear_L"}`` for the settings' widths."""
    return {"first": "linear_1", "last": f"linear_{len(settings['widths'])}"}


def inputs(settings: Mapping[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's standard normal inputs and its separate LSUV batch."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((settings["samples"], settings["input_dim"]), dtype=np.float32)
    lsuv_batch = rng.standard_normal((settings["lsuv_samples"], settings["input_dim"]),
                                     dtype=np.float32)
    return x, lsuv_batch


def initialized_mlp(init: str, settings: Mapping[str, Any], seed: int,
                    lsuv_batch: np.ndarray) -> keras.Sequential:
    """The MLP under ``init``; LSUV starts orthogonal, as Algorithm 1 does."""
    keras.utils.set_random_seed(seed)
    with warnings.catch_warnings():
        # Sinusoidal warns about its zero rows on square layers; they are
        # part of the paper's formula and are measured like any other row.
        warnings.simplefilter("ignore", UserWarning)
        if init != "lsuv":
            return build_mlp(settings["input_dim"], settings["widths"], init)
        model = build_mlp(settings["input_dim"], settings["widths"], "orthogonal")
    lsuv_initialize(model, lsuv_batch, seed=seed)
    return model


def threshold_of(kernel, alpha: float) -> float:
    """Theorem 1's ``lambda_n(alpha)`` for a first-layer kernel (ReLU inputs)."""
    matrix = np.asarray(keras.ops.convert_to_numpy(kernel), dtype=np.float64)
    return diagnostics.skewness_threshold(alpha, matrix.shape[0], float(np.std(matrix)),
                                          RELU_MEAN, RELU_STD)


def theorem_1_agreement(kernel, z: np.ndarray, alpha: float = THEOREM_ALPHA) -> float:
    """Share of units where ``|S| > lambda_n(alpha)`` matches observed skewness."""
    observed = diagnostics.skewed_units(diagnostics.activation_balance(z), alpha)
    predicted = diagnostics.predicted_skewed(kernel, alpha, RELU_MEAN, RELU_STD)
    return float(np.mean(observed == predicted))


@dataclasses.dataclass(frozen=True)
class FigureData:
    """What Fig. 4 and 5 and the Sinusoidal outlier list need of one model.

    Attributes:
        s: ``S`` of each first-layer unit.
        skewed: Whether each first-layer unit is skewed at `THEOREM_ALPHA`.
        threshold: Theorem 1's threshold for the first layer.
        states: ``Z > 0`` of the last layer, samples x units.
        last_balance: ``P(Z > 0)`` of each last-layer unit.
        last_shape: The last layer's kernel shape.
    """

    s: np.ndarray
    skewed: np.ndarray
    threshold: float
    states: np.ndarray
    last_balance: np.ndarray
    last_shape: tuple[int, ...]


def figure_data(init: str, settings: Mapping[str, Any], seed: int) -> FigureData:
    """Rebuild one model (initialization only) and read what the figures need."""
    names = layer_names(settings)
    x, lsuv_batch = inputs(settings, seed)
    model = initialized_mlp(init, settings, seed, lsuv_batch)
    z = diagnostics.PreActivationProbe(model, list(dict.fromkeys(names.values())))(x)
    kernel = model.get_layer(names["first"]).kernel
    last = z[names["last"]]
    return FigureData(
        s=diagnostics.statistic_s(kernel),
        skewed=diagnostics.skewed_units(diagnostics.activation_balance(z[names["first"]]),
                                        THEOREM_ALPHA),
        threshold=threshold_of(kernel, THEOREM_ALPHA),
        states=last > 0,
        last_balance=diagnostics.activation_balance(last),
        last_shape=tuple(model.get_layer(names["last"]).kernel.shape),
    )


def plot_s_histograms(data: Mapping[str, FigureData], path: pathlib.Path) -> None:
    """Fig. 5: histogram of ``S`` per initialization, skewed units stacked."""
    plt = figures_lib.pyplot()
    figure, axes = plt.subplots(1, len(data), figsize=(4.0 * len(data), 3.8), squeeze=False)
    for axis, (init, item) in zip(axes[0], data.items()):
        spread = max(float(np.max(np.abs(item.s))), 1e-6)
        axis.hist(
            [item.s[item.skewed], item.s[~item.skewed]], bins=np.linspace(-spread, spread, 41),
            stacked=True, color=["tab:blue", "tab:orange"],
            label=[f"skewed ({item.skewed.sum()})", f"not skewed ({(~item.skewed).sum()})"],
        )
        if item.threshold < spread:
            for sign in (-1, 1):
                axis.axvline(sign * item.threshold, color="black", ls="--", lw=1)
        # Sinusoidal's S is rounding noise: without a note its axis misleads.
        note = " (|S| tiny: note the x scale)" if spread < 1e-3 else ""
        axis.set_title(LABELS[init] + note, fontsize=10)
        axis.set_xlabel("S (sum of a unit's weights)")
        axis.set_ylim(top=axis.get_ylim()[1] * 1.35)  # room for the legend
        axis.legend(fontsize=8, loc="upper left")
    axes[0][0].set_ylabel("units of the first Linear layer")
    figure.suptitle(f"Statistic S and skewness at alpha = {THEOREM_ALPHA:g} "
                    "(dashed: Theorem 1's threshold)", fontsize=11)
    figures_lib.save(figure, path)


def plot_activation_states(data: Mapping[str, FigureData], path: pathlib.Path,
                           seed: int) -> None:
    """Fig. 4: active (white) / inactive states, random samples x random units."""
    plt = figures_lib.pyplot()
    figure, axes = plt.subplots(1, len(data), figsize=(3.2 * len(data), 3.6), squeeze=False)
    rng = np.random.default_rng(seed)
    for axis, (init, item) in zip(axes[0], data.items()):
        samples, units = (
            np.sort(rng.choice(size, min(FIGURE_UNITS, size), replace=False))
            for size in item.states.shape
        )
        axis.imshow(item.states[np.ix_(samples, units)], cmap="gray", vmin=0, vmax=1,
                    interpolation="nearest", aspect="auto")
        axis.set_title(LABELS[init])
        axis.set_xlabel("neuron")
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0][0].set_ylabel("sample")
    figure.suptitle("Activation states of the last Linear layer (white: Z > 0)", fontsize=11)
    figures_lib.save(figure, path)


class SkewnessTable(Experiment):
    """Skewed neurons and OUI at initialization (Sinusoidal paper, Table 1)."""

    name = "skewness"
    title = "Sinusoidal paper, Table 1: skewed neurons and OUI at initialization"
    source = ("Fernández-Hernández et al., \"Sinusoidal Initialization\", Table 1, "
              "with Fig. 4 and 5 drawn in their manner (appendix C.2 setup).")
    columns = (*(f"first_{metric}" for metric in METRICS), f"first_{AGREEMENT}",
               *(f"last_{metric}" for metric in METRICS))
    profiles = {
        # The paper repeats each measurement three times (appendix C).
        "quick": Profile(seeds=3, settings=SETTINGS),
        "paper": Profile(seeds=10, settings=SETTINGS),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        check_settings(settings)
        return [{"init": init} for init in PAPER]

    def measure(self, config, seed, settings, context) -> dict:
        names = layer_names(settings)
        x, lsuv_batch = inputs(settings, seed)
        model = initialized_mlp(config["init"], settings, seed, lsuv_batch)
        z = diagnostics.PreActivationProbe(model, list(dict.fromkeys(names.values())))(x)
        row = {}
        for prefix, layer in names.items():
            summary = diagnostics.layer_summary(z[layer], ALPHAS, oui_pairs=None)
            row.update({f"{prefix}_{key}": value for key, value in summary.items()})
        row[f"first_{AGREEMENT}"] = theorem_1_agreement(
            model.get_layer(names["first"]).kernel, z[names["first"]])
        return row

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        seeds = results.distinct("seed")
        seed = int(seeds[0])
        data = {init: figure_data(init, settings, seed) for init in PAPER}
        plot_s_histograms(data, figures / S_HISTOGRAM)
        plot_activation_states(data, figures / ACTIVATION_STATES, seed)
        last = layer_names(settings)["last"]
        return "\n\n".join([
            setup_text(settings, seeds),
            f"## Last Linear layer (`{last}`): ours vs the paper",
            "Cells: ours as mean ± std over seeds, the paper's value in parentheses.",
            last_layer_table(results),
            "## First Linear layer (`linear_1`), where Theorem 1 applies",
            "Agreement: share of units where Theorem 1's prediction `|S| > λ_n(0.3)` "
            "(θ = the kernel's standard deviation; μ, σ of ReLU(N(0, 1))) matches the "
            "observed skewness at α = 0.3.",
            first_layer_table(results),
            "## Comparison",
            "\n".join([*comparison(results), *sinusoidal_outliers(data["sinusoidal"], seed)]),
            "## Figures",
            f"Fig. 5 in its manner (statistic S of the first Linear layer; blue: skewed at "
            f"α = 0.3; seed {seed}):\n\n![Histogram of S](figures/{S_HISTOGRAM})",
            f"Fig. 4 in its manner (activation states of the last Linear layer, "
            f"{FIGURE_UNITS} random samples x {FIGURE_UNITS} random units; white: active; "
            f"seed {seed}):\n\n![Activation states](figures/{ACTIVATION_STATES})",
        ])


def check_settings(settings: Mapping[str, Any]) -> None:
    """Raise a `ValueError` naming a bad setting before any run starts."""
    for key in ("input_dim", "samples", "lsuv_samples"):
        validation.check_int(key, settings[key], low=1)
    if not isinstance(settings["widths"], list) or not settings["widths"]:
        raise ValueError(f"`widths` must be a non-empty list, got {settings['widths']!r}.")
    for width in settings["widths"]:
        validation.check_int("widths[...]", width, low=1)


def setup_text(settings: Mapping[str, Any], seeds: list[str]) -> str:
    """The setup, with what the paper leaves open said as ours."""
    widths = " -> ".join(str(width) for width in [settings["input_dim"], *settings["widths"]])
    last = layer_names(settings)["last"]
    return "\n".join([
        "Synthetic MLP of the paper's appendix C.2, "
        "`ReLU -> Linear -> ReLU -> Linear -> ReLU -> Linear`, standard normal inputs.",
        "",
        f"* Input dimension {settings['input_dim']}; Linear widths {widths}; zero biases. "
        "The paper states neither the widths nor the number of samples: both are our choice.",
        f"* {settings['samples']} input samples per seed; seeds {', '.join(seeds)} (seed of "
        "the inputs and of `keras.utils.set_random_seed`). The paper reports the mean of "
        "three repetitions (appendix C).",
        f"* LSUV: orthogonal start, then unit pre-activation variance (tolerance 0.1, at most "
        f"10 rescalings per layer) on a separate batch of {settings['lsuv_samples']} normal "
        "samples.",
        "* Skewed: Definition 1 with the empirical P(Z > 0) over the samples. OUI: all sample "
        "pairs, cap = half the layer width. Table 1 measures both on the pre-activation of the "
        f"last Linear layer (`{last}`, {settings['widths'][-1]} units).",
    ])


def last_layer_table(results: Results) -> str:
    """Table 1 and the OUI values: ours as mean ± std, the paper's in brackets."""
    rows = [
        [LABELS[init],
         *(tables.percent_cell(results.mean_std(f"last_skewed_{alpha:g}", init=init),
                               paper[f"skewed_{alpha:g}"]) for alpha in ALPHAS),
         tables.number_cell(results.mean_std("last_oui", init=init), ".2f", paper["oui"])]
        for init, paper in PAPER.items()
    ]
    return tables.markdown_table(
        ["Initialization", *(f"skewed % α={alpha:g}" for alpha in ALPHAS), "OUI"], rows)


def first_layer_table(results: Results) -> str:
    """Skewness, OUI, dead units and Theorem 1 agreement of the first layer."""
    rows = [
        [LABELS[init],
         *(tables.percent_cell(results.mean_std(f"first_skewed_{alpha:g}", init=init))
           for alpha in ALPHAS),
         tables.number_cell(results.mean_std("first_oui", init=init), ".2f"),
         tables.percent_cell(results.mean_std("first_dead", init=init)),
         tables.percent_cell(results.mean_std(f"first_{AGREEMENT}", init=init))]
        for init in PAPER
    ]
    return tables.markdown_table(
        ["Initialization", *(f"skewed % α={alpha:g}" for alpha in ALPHAS), "OUI", "dead %",
         "Theorem 1 agreement %"], rows)


def comparison(results: Results) -> list[str]:
    """Plain statements computed from the numbers, beside the paper's."""
    random_inits = [init for init in PAPER if init != "sinusoidal"]

    def spread(column: str, scale: float, digits: int, inits=random_inits) -> str:
        means = [scale * results.mean_std(column, init=init)[0] for init in inits]
        return f"{min(means):.{digits}f}–{max(means):.{digits}f}"

    def paper_spread(key: str) -> str:
        values = [PAPER[init][key] for init in random_inits]
        return f"{min(values):g}–{max(values):g}"

    sinusoidal = {key: results.mean_std(f"last_{key}", init="sinusoidal")[0]
                  for key in ("skewed_0.1", "skewed_0.3", "oui", "dead")}
    return [
        f"* Random schemes (Glorot, He, orthogonal, LSUV): "
        f"{spread('last_skewed_0.1', 100, 1)} % skewed at α = 0.1 "
        f"(paper {paper_spread('skewed_0.1')} %), {spread('last_skewed_0.3', 100, 1)} % at "
        f"α = 0.3 (paper {paper_spread('skewed_0.3')} %), OUI {spread('last_oui', 1, 2)} "
        f"(paper {paper_spread('oui')}).",
        f"* Sinusoidal: {100 * sinusoidal['skewed_0.1']:.1f} % / "
        f"{100 * sinusoidal['skewed_0.3']:.1f} % skewed (paper "
        f"{PAPER['sinusoidal']['skewed_0.1']:g} % / {PAPER['sinusoidal']['skewed_0.3']:g} %), "
        f"OUI {sinusoidal['oui']:.2f} (paper {PAPER['sinusoidal']['oui']:g}); "
        f"{100 * sinusoidal['dead']:.1f} % of its last-layer units are never active.",
        "* The qualitative claim to check: every random scheme leaves most last-layer units "
        "skewed and an OUI near 0.6, Sinusoidal almost none and an OUI near 1. The exact "
        "percentages depend on the widths and the number of samples, which the paper does not "
        "give, so agreement to a few points is what can be expected.",
        f"* Theorem 1 on the first layer: the threshold on |S| classifies "
        f"{spread(f'first_{AGREEMENT}', 100, 1, list(PAPER))} % of units like the observed "
        "skewness.",
    ]


def sinusoidal_outliers(data: FigureData, seed: int) -> list[str]:
    """Which last-layer Sinusoidal units are skewed, and which are vanishing rows."""
    zero_rows = set(Sinusoidal().degenerate_rows(data.last_shape).zero)
    lines = []
    for alpha in ALPHAS:
        rows = np.flatnonzero(diagnostics.skewed_units(data.last_balance, alpha)) + 1
        described = ", ".join(
            f"{i} (P(Z > 0) = {data.last_balance[i - 1]:.2f}"
            + (", a vanishing row" if i in zero_rows else "") + ")"
            for i in rows
        )
        lines.append(f"  * α = {alpha:g}: rows {described or 'none'}.")
    return [
        f"* Which Sinusoidal units are skewed in the last layer (seed {seed}; rows "
        "i = 1..m of the paper's matrix). A *vanishing row* is one that is zero in exact "
        "arithmetic (`n | 2i` and `m | 2i`, listed by `Sinusoidal.degenerate_rows`): in floating "
        "point it holds rounding noise of one sign, and the layer's inputs are non-negative "
        "ReLU outputs, so its sign never changes. For the other rows: the inputs of a deeper "
        "layer (the previous layer's ReLU outputs) no longer share one mean, so a row's mean "
        "term sum_j mu_j W_ij need not vanish although S = 0 (the effect appendix B.1 "
        "describes), and Z need not be normal; a few rows then cross the weaker threshold.",
        *lines,
    ]
