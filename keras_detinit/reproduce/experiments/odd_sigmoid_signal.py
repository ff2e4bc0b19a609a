"""Odd-sigmoid paper: forward signal propagation at initialization.

The paper's claim: the noise scale keeps "forward activations well
dispersed up to a target layer", neither collapsing to zero nor saturating.
Here, with no training: standard normal inputs go through ``depth`` square
Dense layers (no bias) of each width with ``f`` = tanh, softsign and
tanh(2x). After every layer the run records the second moment of the
activations over ``B^2`` (``B`` the bound of ``f``) and the fraction of
saturated units, ``|f| > 0.99 B``. The goal checked: the second moment
within ``[0.05, 0.95] B^2`` at every layer up to the target depth, with at
most 10% saturated units. Also measured: the spread of the singular values
of the input-output Jacobian at one input, ``log10(s_max / s_median)``, how
far the network is from an isometry (what the extra noise costs). The
mean-field prediction of the default rule is drawn beside the measurement.

Example:

>>> experiment = OddSigmoidSignal()
>>> settings = experiment.settings("quick", {"widths": [4], "depth": 3, "batch": 8})
>>> configs = experiment.configurations(settings)
>>> len(configs)  # 3 activations x 4 initializers x 1 width
12
>>> row = experiment.measure(configs[0], 0, settings, None)
>>> 0 < row["min_second_moment"] <= row["max_second_moment"] < 1
True
"""

from __future__ import annotations

import pathlib
from typing import Any
from typing import Mapping

import keras
import numpy as np
from keras import ops

from keras_detinit import models
from keras_detinit.initializers.odd_sigmoid import LengthMap
from keras_detinit.reporting import figures as figures_lib
from keras_detinit.reporting import tables
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import Profile
from keras_detinit.reproduce.experiment import grid
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.experiments import odd_sigmoid_common as common
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import format_curve

#: The band ``[LOW, HIGH] B^2`` and the largest saturated fraction of the goal.
LOW, HIGH, SATURATED = 0.05, 0.95, 0.10
#: A unit is saturated beyond this fraction of the bound.
SATURATION_LEVEL = 0.99
#: A layer's fixed cost (drawing the kernel, dispatching the operations,
#: converting to NumPy) in multiply-adds: fitted on the committed
#: ``paper`` run, where width 256 took about 25 times as long as width 32.
LAYER_COST = 2_000_000
_COMMON = {
    "activations": ["tanh", "softsign", "tanh:2"],
    "initializers": ["odd_sigmoid", "odd_sigmoid:band", "glorot_normal", "orthogonal"],
    "depth": 100,
}


class OddSigmoidSignal(Experiment):
    """Second moment and saturation per layer at initialization (no training)."""

    name = "odd_sigmoid_signal"
    title = "Odd-sigmoid paper: forward signal propagation at initialization"
    source = (f"{common.PAPER}: the claim that forward activations stay well dispersed "
              "up to the target layer.")
    columns = ("min_second_moment", "max_second_moment", "max_saturated",
               "last_second_moment", "jacobian_spread", "second_moment_curve",
               "saturated_curve")
    profiles = {
        "paper": Profile(seeds=3, settings={**_COMMON, "widths": [8, 32, 256], "batch": 1000}),
        "quick": Profile(
            seeds=1, settings={**_COMMON, "widths": [8, 32], "batch": 256},
            reductions="one seed instead of three, widths 8 and 32 without 256, and 256 "
            "input samples instead of 1000.",
        ),
    }

    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        common.check_settings(settings, settings["activations"],
                              {"widths": 1, "depth": 1, "batch": 1}, settings["depth"])
        return grid(activation=settings["activations"], init=settings["initializers"],
                    width=settings["widths"])

    def cost(self, config, settings) -> float:
        # Per layer: a fixed cost, the batch's product with the kernel and
        # the Jacobian's, in multiply-adds.
        width = config["width"]
        return settings["depth"] * (LAYER_COST + (settings["batch"] + width) * width**2)

    def measure(self, config, seed, settings, context) -> dict:
        moments, saturated, spread = propagate(config["activation"], config["init"],
                                               config["width"], settings["depth"],
                                               settings["batch"], seed)
        return {
            "min_second_moment": float(moments.min()),
            "max_second_moment": float(moments.max()),
            "max_saturated": float(saturated.max()),
            "last_second_moment": float(moments[-1]),
            "jacobian_spread": spread,
            "second_moment_curve": format_curve(moments),
            "saturated_curve": format_curve(saturated),
        }

    def report(self, results: Results, settings, figures: pathlib.Path) -> str:
        figure = figures / "odd_sigmoid_signal_second_moment.png"
        _plot(results, settings, figure)
        rows = [[common.activation_label(config["activation"]),
                 common.initializer_label(config["init"]), config["width"],
                 *_summary(results, **config)]
                for config in self.configurations(settings)]
        table = tables.markdown_table(
            ["activation", "initializer", "width", "min E[f^2]/B^2", "max E[f^2]/B^2",
             "max saturated", "last layer", "Jacobian spread", "goal"], rows)
        return "\n\n".join([
            common.seeds_note(results),
            f"{settings['depth']} square layers (no bias), {settings['batch']} standard "
            "normal inputs per seed, no training. Columns: the smallest and largest "
            "second moment over B^2 over all layers and seeds, the largest saturated "
            f"fraction (|f| > {SATURATION_LEVEL} B), the last layer's second moment "
            "(seed mean), the seed mean of log10(s_max / s_median) of the input-output "
            "Jacobian's singular values (0 for an isometry), and whether the goal holds: "
            f"within [{LOW}, {HIGH}] B^2 with at most {SATURATED:.0%} saturated units at "
            "every layer, on every seed.",
            "## The goal, per activation and width",
            _goal_summary(results, settings),
            "## Per initializer",
            table,
            f"![Second moment per layer](figures/{figure.name})",
            "The black line is the mean-field prediction of the default rule "
            "(`keras_detinit.initializers.odd_sigmoid.LengthMap`); curves are seed means, "
            "the green band is the goal.",
        ])


def propagate(activation: str, initializer: str, width: int, depth: int, batch: int,
              seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-layer ``E[f^2] / B^2``, saturated fraction, and the Jacobian spread.

    Every layer draws its own kernel (`keras_detinit.models.layer_copy`, as
    `build_ffnn` does) after ``keras.utils.set_random_seed(seed)``; the
    inputs are NumPy's standard normal draws of ``seed``, the same on every
    backend. The spread is ``log10(s_max / s_median)`` of the singular
    values of the input-output Jacobian at the first input.
    """
    keras.utils.set_random_seed(seed)
    function = common.parse_activation(activation)
    init = ffnn.make_initializer(initializer, function, depth)
    x = ops.convert_to_tensor(
        np.random.default_rng(seed).standard_normal((batch, width)).astype("float32"))
    moments, saturated = [], []
    jacobian = np.eye(width)
    for _ in range(depth):
        kernel = keras.initializers.get(models.layer_copy(init))((width, width))
        pre_activation = ops.matmul(x, kernel)
        slopes = _derivative(function, ops.convert_to_numpy(pre_activation[0]))
        jacobian = jacobian @ ops.convert_to_numpy(kernel).astype("float64") * slopes
        x = function(pre_activation)
        values = ops.convert_to_numpy(x).astype("float64")
        moments.append(float(np.mean(values**2)) / function.bound**2)
        saturated.append(float(np.mean(np.abs(values) > SATURATION_LEVEL * function.bound)))
    singular_values = np.linalg.svd(jacobian, compute_uv=False)
    spread = float(np.log10(singular_values.max() / np.median(singular_values)))
    return np.asarray(moments), np.asarray(saturated), spread


def _derivative(function, points: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """``f'`` at ``points`` by central differences."""
    ahead = ops.convert_to_numpy(function(ops.convert_to_tensor(points + step)))
    behind = ops.convert_to_numpy(function(ops.convert_to_tensor(points - step)))
    return (ahead.astype("float64") - behind.astype("float64")) / (2 * step)


def _worst(results: Results, **criteria) -> tuple[float, float, float]:
    """Lowest and highest second moment and most saturation over the seeds."""
    def extreme(reduce, column):
        values = results.values(column, **criteria)
        return float(reduce(values)) if values.size else float("nan")

    return (extreme(np.min, "min_second_moment"), extreme(np.max, "max_second_moment"),
            extreme(np.max, "max_saturated"))


def _meets_goal(low: float, high: float, saturated: float) -> bool:
    return low >= LOW and high <= HIGH and saturated <= SATURATED


def _summary(results: Results, **criteria) -> list[str]:
    low, high, saturated = _worst(results, **criteria)
    last = results.mean_std("last_second_moment", **criteria)[0]
    spread = results.mean_std("jacobian_spread", **criteria)[0]
    if np.isnan(low):
        return [tables.MISSING] * 6
    return [f"{low:.3f}", f"{high:.3f}", f"{100 * saturated:.1f}%", f"{last:.3f}",
            f"{spread:.1f}", "yes" if _meets_goal(low, high, saturated) else "no"]


def _goal_summary(results: Results, settings) -> str:
    """Per activation and width: which initializers meet the goal."""
    rows = []
    for activation in settings["activations"]:
        for width in settings["widths"]:
            meeting = [common.initializer_label(init) for init in settings["initializers"]
                       if _meets_goal(*_worst(results, activation=activation, init=init,
                                              width=width))]
            rows.append([common.activation_label(activation), width,
                         ", ".join(meeting) or "none"])
    return tables.markdown_table(["activation", "width", "initializers meeting the goal"],
                                 rows)


def _mean_field(activation: str, depth: int) -> np.ndarray:
    """The default rule's mean-field ``q_l / B^2``, layers 1..depth."""
    function = common.parse_activation(activation)
    rule = ffnn.make_initializer("odd_sigmoid", function, depth).rule((8, 8))
    return LengthMap(function).trajectory(rule.gain, rule.relative_noise, depth)


def _plot(results: Results, settings, path: pathlib.Path) -> None:
    plt = figures_lib.pyplot()
    activations = settings["activations"]
    figure, axes = plt.subplots(1, len(activations), figsize=(4.2 * len(activations), 3.6),
                                squeeze=False)
    layers = np.arange(1, settings["depth"] + 1)
    styles = ["-", "-.", "--", ":"]
    for axis, activation in zip(axes[0], activations):
        for color, width in enumerate(settings["widths"]):
            for index, init in enumerate(settings["initializers"]):
                curves = results.curves("second_moment_curve", activation=activation,
                                        init=init, width=width)
                if curves:
                    axis.plot(layers, np.mean(np.stack(curves), axis=0),
                              styles[index % len(styles)], color=f"C{color}",
                              label=f"{init}, width {width}")
        axis.plot(layers, _mean_field(activation, settings["depth"]), color="black",
                  linewidth=0.8, label="mean field (default rule)")
        axis.axhspan(LOW, HIGH, color="green", alpha=0.08)
        axis.set_yscale("log")
        axis.set_ylim(1e-4, 1.2)
        axis.set_title(common.activation_label(activation), fontsize=9)
        axis.set_xlabel("layer")
    axes[0][0].set_ylabel("E[f^2] / B^2")
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figures_lib.save(figure, path)
