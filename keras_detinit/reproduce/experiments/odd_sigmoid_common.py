"""What the odd-sigmoid studies share: activations, networks, checks, verdicts.

The three ``odd_sigmoid_*`` experiments test the claims of the odd-sigmoid
paper (`PAPER`) with this package's `OddSigmoid`. Their activations are
written ``name[:b]`` for ``x -> name(b x)`` (``"tanh:2"``); their
initializers are Keras names or OddSigmoid specs (``"odd_sigmoid"``,
``"odd_sigmoid:band"``, ``"odd_sigmoid:floor=0.01,width_margin=1"``, read
by `keras_detinit.reproduce.experiments.ffnn.make_initializer`). Networks
are `keras_detinit.models.build_ffnn`'s, trained through
`keras_detinit.protocol.train`; the softmax layer of an OddSigmoid network
gets ``gain=1.0`` there (`keras_detinit.models.output_initializer`).

A claim measured over seeds gets a verdict only when the spread allows:
`verdict` calls a threshold inside ``mean ± std`` "undecided", and
`compare` does the same for two cells whose ``mean ± std`` overlap (both
from `keras_detinit.reporting.verdicts`).

Example:

>>> activation_label("tanh:2"), activation_label("softsign")
('tanh(2x)', 'softsign(x)')
>>> verdict((0.85, 0.02), 0.80), verdict((0.81, 0.02), 0.80)
('held', 'undecided')
>>> compare((0.90, 0.01), (0.70, 0.05)), compare((0.90, 0.01), (0.89, 0.02))
('ahead', 'undecided')
"""

from __future__ import annotations

import math
from typing import Any
from typing import Mapping
from typing import Sequence

import keras

from keras_detinit import models
from keras_detinit import protocol
from keras_detinit import validation
from keras_detinit.activations import OddSigmoidActivation
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reporting import verdicts

#: The paper whose claims these experiments test.
PAPER = ('Lee, Choi, Kim, "Signal Preserving Weight Initialization for Odd-Sigmoid '
         'Activations" (arXiv 2509.23085)')
#: Baselines the paper names: Xavier, He and orthogonal.
BASELINES = ("glorot_normal", "he_normal", "orthogonal")
#: The initializers of every study: OddSigmoid's two settings, the baselines.
INITIALIZERS = ("odd_sigmoid", "odd_sigmoid:band", *BASELINES)
#: The reproduction's seeds start here: the default floor was chosen on
#: seeds 0-2, so results on them would flatter it.
UNTUNED_FIRST_SEED = 3


def parse_activation(spec: str) -> OddSigmoidActivation:
    """``"tanh:2"`` -> ``x -> tanh(2 x)``; a bare name means scale 1.

    Raises:
        ValueError: Naming the ``activations`` setting, for a malformed
            scale or an activation outside the odd-sigmoid class.
    """
    name, _, scale = str(spec).partition(":")
    try:
        return OddSigmoidActivation.scaled(name, float(scale or 1.0))
    except ValueError as error:
        raise ValueError(
            f"`activations`: {spec!r} must be NAME or NAME:B (x -> NAME(B x), B > 0) with "
            f"NAME an odd-sigmoid activation such as tanh or softsign ({error})"
        ) from None


def activation_label(spec: str) -> str:
    """``"tanh:2"`` -> ``"tanh(2x)"``, ``"tanh"`` -> ``"tanh(x)"``."""
    activation = parse_activation(spec)
    scale = "" if activation.scale == 1.0 else f"{activation.scale:g}"
    return f"{activation.name}({scale}x)"


def initializer_label(name: str) -> str:
    """The row label of an initializer: the spec as code."""
    return f"`{name}`"


def check_settings(settings: Mapping[str, Any], activations: Sequence[str],
                   lowest: Mapping[str, int], depth: int) -> None:
    """Raise a `ValueError` naming a bad setting before any run starts.

    Every initializer is built once per activation, so a bad OddSigmoid
    argument (a floor out of range) fails here, not after an hour.

    Args:
        settings: The experiment's settings.
        activations: The activation specs the runs use.
        lowest: Integer settings (single or list) and their smallest values.
        depth: The networks' depth, OddSigmoid's target depth.
    """
    ffnn.check_settings({"datasets": settings.get("datasets", []),
                         "initializers": settings["initializers"],
                         **{key: settings[key] for key in lowest}}, lowest)
    if not activations:
        raise ValueError("`activations` must name at least one activation. "
                         f"Received: activations={list(activations)!r}")
    for spec in activations:
        activation = parse_activation(spec)
        for name in settings["initializers"]:
            ffnn.make_initializer(name, activation, depth)
    if "learning_rate" in settings:
        validation.check_positive("learning_rate", settings["learning_rate"])


def build_network(activation: str, initializer: str, depth: int, width: int,
                  input_shape: Sequence[int], num_classes: int, seed: int) -> keras.Model:
    """``depth`` Dense layers of ``width`` units with ``activation``, softmax.

    Seeds Keras with ``seed`` first, so the weights (and the batch order of
    a training that follows) repeat.
    """
    keras.utils.set_random_seed(seed)
    function = parse_activation(activation)
    return models.build_ffnn(input_shape, [width] * depth, num_classes, function,
                             ffnn.make_initializer(initializer, function, depth))


def training_protocol(settings: Mapping[str, Any]) -> protocol.TrainingProtocol:
    """The paper's protocol with the study's epochs, learning rate and batch size."""
    return protocol.PAPER_PROTOCOL.replace(
        epochs=settings["epochs"], learning_rate=settings["learning_rate"],
        batch_size=settings.get("batch_size", protocol.PAPER_PROTOCOL.batch_size))


#: The spread-aware verdicts, in their one home (`keras_detinit.reporting.verdicts`).
verdict = verdicts.against
compare = verdicts.compare


def seeds_note(results) -> str:
    """A sentence on whether the seeds include those the defaults were tuned on.

    Example:

    >>> from keras_detinit.reporting.results import Results
    >>> seeds_note(Results([{"seed": "3"}, {"seed": "4"}]))[:40]
    'Seeds from 3 on: none of them is a seed '
    """
    seeds = sorted({int(seed) for seed in results.distinct("seed")})
    tuned = [seed for seed in seeds if seed < UNTUNED_FIRST_SEED]
    if tuned:
        return (f"Seeds {', '.join(map(str, tuned))} are among those OddSigmoid's default "
                f"`floor` was chosen on (0-{UNTUNED_FIRST_SEED - 1}): for a fair test, run "
                f"with `--first-seed {UNTUNED_FIRST_SEED}`.")
    return (f"Seeds from {UNTUNED_FIRST_SEED} on: none of them is a seed OddSigmoid's "
            f"default `floor` was chosen on (0-{UNTUNED_FIRST_SEED - 1}).")


def best(cells: Mapping[str, tuple[float, float]]) -> str:
    """The key of the cell with the highest mean (NaN cells last)."""
    return max(cells, key=lambda key: -math.inf if math.isnan(cells[key][0])
               else cells[key][0])
