"""Forward signal propagation of the OddSigmoid initializer.

A batch of standard normal inputs goes through ``--depth`` square Dense
layers (no bias) of each width with ``f`` = tanh, softsign and tanh(2x).
After every layer the script records the second moment of the activations
divided by ``B^2`` (``B`` the bound of ``f``) and the fraction of saturated
units, ``|f| > 0.99 B``. The goal checked: the second moment stays within
``[0.05, 0.95] B^2`` at every layer up to the target depth with at most 10%
saturated units. The mean-field prediction of the noise rule
(`keras_detinit.initializers.odd_sigmoid.LengthMap`) is reported beside the
measurement. ``odd_sigmoid`` is the default setting, ``odd_sigmoid:band``
the band setting (``floor=BAND_FLOOR``, ``width_margin=BAND_WIDTH_MARGIN``);
Glorot normal and orthogonal are run for comparison.

Writes ``signal_propagation.csv`` (one row per layer and run),
``signal_propagation.md`` and ``signal_propagation_second_moment.png``:

    KERAS_BACKEND=jax python examples/odd_sigmoid_signal_propagation.py \\
        --out docs/results
"""

from __future__ import annotations

import argparse

import keras
import numpy as np
from keras import ops

from keras_detinit.initializers.odd_sigmoid import LengthMap

from _results import Report, add_common_arguments, markdown_table, pyplot
from odd_sigmoid_scale_robustness import label, odd_sigmoid, odd_sigmoid_settings
from odd_sigmoid_scale_robustness import parse_activation

ACTIVATIONS = ("tanh:1", "softsign:1", "tanh:2")
INITIALIZERS = ("odd_sigmoid", "odd_sigmoid:band", "glorot_normal", "orthogonal")
LOW, HIGH, SATURATED = 0.05, 0.95, 0.10


def propagate(initializer: str, activation, width: int, depth: int, batch: int, seed: int):
    """Per-layer ``E[f^2] / B^2``, saturated fraction, and the Jacobian spread.

    The spread is ``log10(s_max / s_median)`` of the singular values of the
    input-output Jacobian at the first input: how far the network is from
    an isometry, which is what extra noise costs.
    """
    keras.utils.set_random_seed(seed)
    generator = keras.random.SeedGenerator(seed)
    if odd_sigmoid_settings(initializer) is not None:
        init = odd_sigmoid(initializer, activation, depth, seed=generator)
    else:
        init = keras.initializers.get({"class_name": initializer,
                                       "config": {"seed": generator}})
    x = keras.random.normal((batch, width), seed=generator)
    bound = activation.bound
    moments, saturated = [], []
    jacobian = np.eye(width)
    for _ in range(depth):
        kernel = init((width, width))
        pre_activation = ops.matmul(x, kernel)
        jacobian = (jacobian @ ops.convert_to_numpy(kernel).astype("float64")
                    * derivative(activation, ops.convert_to_numpy(pre_activation[0])))
        x = activation(pre_activation)
        values = ops.convert_to_numpy(x)
        moments.append(float(np.mean(values**2)) / bound**2)
        saturated.append(float(np.mean(np.abs(values) > 0.99 * bound)))
    singular_values = np.linalg.svd(jacobian, compute_uv=False)
    spread = float(np.log10(singular_values.max() / np.median(singular_values)))
    return np.array(moments), np.array(saturated), spread


def derivative(activation, points: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """``f'`` at ``points`` by central differences (float64)."""
    points = points.astype("float64")
    ahead = ops.convert_to_numpy(activation(points + step)).astype("float64")
    behind = ops.convert_to_numpy(activation(points - step)).astype("float64")
    return (ahead - behind) / (2 * step)


def main(argv=None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, out="odd_sigmoid_results", epochs=0)
    parser.add_argument("--activations", nargs="+", default=list(ACTIVATIONS))
    parser.add_argument("--widths", nargs="+", type=int, default=[8, 32, 256])
    parser.add_argument("--initializers", nargs="+", default=list(INITIALIZERS))
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000, help="input samples")
    parser.add_argument("--seeds", type=int, default=3, help="runs per setting")
    args = parser.parse_args(argv)
    report = Report(args.out, "signal_propagation", argv, __file__)
    curves, rows = {}, []
    for spec in args.activations:
        activation = parse_activation(spec)
        rule = odd_sigmoid("odd_sigmoid", activation, args.depth).rule((8, 8))
        predicted = LengthMap(activation).trajectory(
            rule.gain, rule.relative_noise, args.depth)
        curves[label(activation), "mean field"] = predicted
        for name in args.initializers:
            for width in args.widths:
                runs = [propagate(name, activation, width, args.depth, args.batch, seed)
                        for seed in range(args.seed, args.seed + args.seeds)]
                moments = np.mean([m for m, _, _ in runs], axis=0)
                saturated = np.max([s for _, s, _ in runs], axis=0)
                curves[label(activation), name, width] = moments
                for layer in range(args.depth):
                    report.add(activation=label(activation), initializer=name, width=width,
                               layer=layer + 1, second_moment=moments[layer],
                               saturated=saturated[layer], mean_field=predicted[layer])
                worst = [min(m.min() for m, _, _ in runs), max(m.max() for m, _, _ in runs),
                         max(s.max() for _, s, _ in runs)]
                spread = float(np.mean([j for _, _, j in runs]))
                holds = worst[0] >= LOW and worst[1] <= HIGH and worst[2] <= SATURATED
                rows.append([label(activation), f"`{name}`", width, f"{worst[0]:.3f}",
                             f"{worst[1]:.3f}", f"{100 * worst[2]:.1f}%",
                             f"{moments[-1]:.3f}", f"{spread:.1f}",
                             "yes" if holds else "no"])
                print(f"{label(activation)} {name} width {width}: second moment / B^2 in "
                      f"[{worst[0]:.3f}, {worst[1]:.3f}], saturated <= {100 * worst[2]:.1f}%, "
                      f"Jacobian spread {spread:.1f} decades, "
                      f"goal {'met' if holds else 'missed'}", flush=True)
    report.write_csv()
    body = (
        f"{args.depth} square layers, standard normal inputs ({args.batch} samples), "
        f"{args.seeds} seeds. Columns: smallest and largest second moment / B^2 over "
        "all layers and seeds, largest saturated fraction, the last layer's mean "
        "second moment, the seed mean of log10(s_max / s_median) of the input-output "
        "Jacobian's singular values, and whether the goal (within [0.05, 0.95] B^2, "
        "at most 10% saturated, at every layer) holds.\n\n"
        + markdown_table(["activation", "initializer", "width", "min E[f^2]/B^2",
                          "max E[f^2]/B^2", "max saturated", "last layer",
                          "Jacobian spread", "goal"], rows)
    )
    report.write_markdown("Signal propagation", body)
    plot(curves, args, report.figure_path("second_moment"))
    return report


def plot(curves, args, path) -> None:
    plt = pyplot()
    labels = [label(parse_activation(spec)) for spec in args.activations]
    figure, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.6), squeeze=False)
    layers = np.arange(1, args.depth + 1)
    styles = {"odd_sigmoid": "-", "odd_sigmoid:band": "-.", "glorot_normal": "--",
              "orthogonal": ":"}
    for axis, lab in zip(axes[0], labels):
        for index, width in enumerate(args.widths):
            for name in args.initializers:
                axis.plot(layers, curves[lab, name, width], styles.get(name, "-."),
                          color=f"C{index}", label=f"{name}, width {width}")
        axis.plot(layers, curves[lab, "mean field"], color="black", linewidth=0.8,
                  label="mean field (default rule)")
        axis.axhspan(LOW, HIGH, color="green", alpha=0.08)
        axis.set_yscale("log")
        axis.set_ylim(1e-4, 1.2)
        axis.set_title(lab)
        axis.set_xlabel("layer")
    axes[0][0].set_ylabel("E[f^2] / B^2")
    handles, names = axes[0][-1].get_legend_handles_labels()
    figure.legend(handles, names, fontsize=7, ncol=len(args.widths) + 1,
                  loc="upper center", bbox_to_anchor=(0.5, 0.0))
    figure.tight_layout()
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


if __name__ == "__main__":
    main()
