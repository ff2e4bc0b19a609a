"""What the deep-narrow paper's experiments share: networks, runs, labels.

Every experiment of that paper trains a ReLU (or other) FFNN with Adam
(1e-3), batch 100 and 15% validation (`keras_detinit.reproduce.training`),
and reports validation accuracy. This module builds the hidden widths,
the initializers (the odd-sigmoid one needs its activation and depth),
trains one configuration and returns the CSV columns, and writes the
convergence table every experiment carries.

Example:

>>> alternating_widths(4)
[10, 6, 10, 6]
>>> label("epsilon_orthogonal")
'Proposed (ε-orth.)'
"""

from __future__ import annotations

from typing import Any
from typing import Mapping
from typing import Sequence

import keras

from keras_detinit import validation
from keras_detinit.datasets import PIXELS
from keras_detinit.datasets import locate

from keras_detinit.initializers import OddSigmoid
from keras_detinit.initializers.odd_sigmoid import BAND_FLOOR
from keras_detinit.initializers.odd_sigmoid import BAND_WIDTH_MARGIN
from keras_detinit.reproduce import training
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import format_curve
from keras_detinit.reporting.results import mean_and_spread

#: The paper these experiments reproduce.
PAPER = ('Lee et al., "Improved weight initialization for deep and narrow feedforward '
         'neural network"')
#: Labels of the papers' columns and of the extra ones.
LABELS = {
    "epsilon_orthogonal": "Proposed (ε-orth.)",
    "orthogonal": "Orthogonal",
    "glorot_uniform": "Xavier",
    "he_normal": "He",
    "zero_hadamard": "ZerO",
    "identity": "Identity",
    "randomized_asymmetric": "RAI",
    "gaussian_submatrix": "GSM",
    "sinusoidal": "Sinusoidal",
    "odd_sigmoid": "OddSigmoid",
}
#: Dataset labels as the paper writes them.
DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "FMNIST"}
#: The measured columns of one training.
TRAINING_COLUMNS = (*training.CONVERGENCE_COLUMNS, "final_loss", "val_accuracy_curve")


def check_settings(settings: Mapping[str, Any], lowest: Mapping[str, int]) -> None:
    """Raise a `ValueError` naming a bad setting before any run starts.

    Args:
        settings: The experiment's settings.
        lowest: Integer settings (single, list or per-dataset dict) and the
            smallest accepted value of each.
    """
    for name in settings["datasets"]:
        locate.get_spec(name)  # an unknown name fails now, not after hours
    validation.check_choice("pixels", settings.get("pixels", "unit"), PIXELS)
    initializers = settings["initializers"]
    if not isinstance(initializers, list) or not initializers:
        raise ValueError("`initializers` must be a non-empty list of initializer names. "
                         f"Received: initializers={initializers!r}")
    for name in initializers:
        if odd_sigmoid_arguments(name) is None:  # OddSigmoid is built per run
            _check_known("initializers", name, make_initializer_of_spec)
    for name in settings.get("activations", []):
        _check_known("activations", name, keras.activations.get)
    for key, low in lowest.items():
        value = settings[key]
        values = value.values() if isinstance(value, dict) else (
            value if isinstance(value, list) else [value])
        for item in values:
            validation.check_int(key, item, low=low)


def _check_known(key: str, name, lookup) -> None:
    try:
        lookup(name)
    except ValueError as error:
        raise ValueError(f"`{key}`: {name!r} is not a Keras name ({error}).") from None


def label(initializer: str) -> str:
    """The column label of an initializer name or spec.

    Example:

    >>> label("zero_hadamard:constant=paper")
    'ZerO (constant=paper)'
    """
    if initializer in LABELS:
        return LABELS[initializer]
    name, colon, arguments = initializer.partition(":")
    return f"{LABELS.get(name, name)} ({arguments})" if colon else initializer


def alternating_widths(depth: int, widths: Sequence[int] = (10, 6)) -> list[int]:
    """``depth`` hidden widths cycling through ``widths`` (10, 6, 10, ...)."""
    return [widths[index % len(widths)] for index in range(depth)]


#: Named OddSigmoid settings: ``"odd_sigmoid:band"`` holds the band
#: ``[0.05, 0.95] B^2`` at every layer of narrow networks too.
ODD_SIGMOID_SETTINGS = {"band": {"floor": BAND_FLOOR, "width_margin": BAND_WIDTH_MARGIN}}
#: OddSigmoid's numeric arguments an initializer spec may set.
ODD_SIGMOID_ARGUMENTS = ("floor", "width_margin", "gain", "relative_noise", "noise_stddev")


def odd_sigmoid_arguments(spec: str) -> dict | None:
    """OddSigmoid's arguments in an initializer spec; None for other names.

    ``"odd_sigmoid"`` is the default, ``"odd_sigmoid:band"`` the band
    setting (`ODD_SIGMOID_SETTINGS`), and ``"odd_sigmoid:floor=0.01,width_margin=1"``
    sets numeric arguments (`ODD_SIGMOID_ARGUMENTS`); their ranges are
    checked when the initializer is built.

    Example:

    >>> odd_sigmoid_arguments("odd_sigmoid:floor=0.01,width_margin=1")
    {'floor': 0.01, 'width_margin': 1.0}
    >>> odd_sigmoid_arguments("odd_sigmoid"), odd_sigmoid_arguments("he_normal")
    ({}, None)

    Raises:
        ValueError: For an ``odd_sigmoid:...`` spec that is neither a named
            setting nor ``key=number`` items of known keys.
    """
    name, colon, arguments = str(spec).partition(":")
    if name != "odd_sigmoid":
        return None
    if not colon:
        return {}
    if arguments in ODD_SIGMOID_SETTINGS:
        return dict(ODD_SIGMOID_SETTINGS[arguments])
    parsed = {}
    for item in arguments.split(","):
        key, _, value = (part.strip() for part in item.partition("="))
        try:
            if key not in ODD_SIGMOID_ARGUMENTS:
                raise ValueError
            parsed[key] = float(value)
        except ValueError:
            raise ValueError(
                f"`initializers`: {spec!r} is not an OddSigmoid spec; use odd_sigmoid, "
                f"odd_sigmoid:{'|'.join(ODD_SIGMOID_SETTINGS)} or odd_sigmoid:KEY=NUMBER,... "
                f"with KEY in {list(ODD_SIGMOID_ARGUMENTS)}. Received item: {item!r}"
            ) from None
    return parsed


def make_initializer(name: str, activation, depth: int):
    """The kernel initializer for a run; OddSigmoid is told the network.

    OddSigmoid's gain and noise depend on the activation and on the depth
    the signal must survive, so it is built here from its spec
    (`odd_sigmoid_arguments`); any other name is returned as it is. The
    softmax layer's version is `keras_detinit.models.output_initializer`'s.

    Example:

    >>> make_initializer("odd_sigmoid:band", "tanh", 60).width_margin
    3.3
    >>> make_initializer("he_normal", "relu", 60)
    'he_normal'
    """
    arguments = odd_sigmoid_arguments(name)
    if arguments is None:
        return make_initializer_of_spec(name)
    return OddSigmoid(activation=activation, target_depth=max(depth, 1), **arguments)


def make_initializer_of_spec(spec: str):
    """``"name"`` as it is; ``"name:key=value,..."`` as that initializer with those arguments.

    Documented variants of the baselines are spelled this way in settings,
    e.g. ``"zero_hadamard:constant=paper"`` or
    ``"randomized_asymmetric:scale=absolute"``; numbers are read as floats.

    Example:

    >>> make_initializer_of_spec("zero_hadamard:constant=paper").constant
    'paper'
    >>> make_initializer_of_spec("he_normal")
    'he_normal'

    Raises:
        ValueError: For an unknown name, or an argument the initializer
            does not take or accept.
    """
    name, colon, text = str(spec).partition(":")
    if not colon:
        keras.initializers.get(name)  # an unknown name fails here
        return name
    base = keras.initializers.get(name)
    arguments = {}
    for item in text.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or key not in base.get_config():
            raise ValueError(
                f"{spec!r}: {item!r} is not KEY=VALUE with KEY an argument of {name!r} "
                f"({sorted(base.get_config())}).")
        arguments[key] = _number_or_text(value)
    return type(base).from_config({**base.get_config(), **arguments})


def _number_or_text(value: str):
    try:
        return float(value)
    except ValueError:
        return value


def protocol_notes(settings: Mapping[str, Any]) -> str:
    """The protocol choices the paper leaves open, as this run made them.

    Example:

    >>> print(protocol_notes({"pixels": "raw"}).splitlines()[0])
    Protocol choices the paper leaves open, as run here:
    """
    pixels = settings.get("pixels", "unit")
    zero = make_initializer_of_spec(_spec_of(settings, "zero_hadamard") or "zero_hadamard")
    rai = make_initializer_of_spec(
        _spec_of(settings, "randomized_asymmetric") or "randomized_asymmetric")
    zero = keras.initializers.get(zero)
    rai = keras.initializers.get(rai)
    return "\n".join([
        "Protocol choices the paper leaves open, as run here:",
        "",
        f"- Input scale `pixels={pixels!r}`: " + PIXEL_READINGS[pixels],
        "- Loss: cross-entropy computed from the output layer's logits on every backend "
        "(`keras_detinit.protocol`), as TensorFlow, the paper's framework, computes it "
        "for a softmax output.",
        f"- ZerO constant `{zero.constant}`: " + ZERO_READINGS[zero.constant],
        f"- RAI scale `{rai.scale}`: " + RAI_READINGS[rai.scale],
    ])


def _spec_of(settings: Mapping[str, Any], name: str) -> str | None:
    return next((spec for spec in settings.get("initializers", [])
                 if str(spec).partition(":")[0] == name), None)


#: What each input scale means, and why (see docs/results/index.md).
PIXEL_READINGS = {
    "raw": "0-255 pixel values as float32. The paper (TensorFlow, Adam 1e-3, batch 100) "
           "never says it normalizes, and its levels support this reading: e.g. softmax "
           "regression with He lands near its 87.9% only with raw pixels.",
    "unit": "pixels scaled to [0, 1], a common default the paper does not state.",
}
ZERO_READINGS = {
    "code": "c = 2^(-ceil(log2 m)/2), as the ZerO authors' released code.",
    "paper": "c = 2^(-(ceil(log2 m)-1)/2), as the ZerO paper's Algorithm 1 prints it.",
}
RAI_READINGS = {
    "fan_in": "symmetric entries with std 0.6007/sqrt(fan_in): the paper's 0.6007 read as "
              "Lu et al.'s fan-in-scaled constant.",
    "absolute": "symmetric entries with std 0.6007, the paper's words taken literally.",
}


def train_configuration(context, dataset: str, samples_per_class: int | str,
                        hidden_units: Sequence[int], activation: str, initializer: str,
                        epochs: int, seed: int, checkpoints: Sequence[int] = (1, 10),
                        pixels: str = "unit") -> dict:
    """Train one configuration and return its CSV columns.

    The model comes from the context's pool when it has one
    (`keras_detinit.reproduce.training.ModelPool`).

    Returns:
        The `TRAINING_COLUMNS` (plus ``acc_epoch<k>`` per checkpoint).
    """
    data = context.dataset(dataset, samples_per_class, seed, pixels=pixels)
    history = training.train_classifier(
        data, hidden_units, activation,
        make_initializer(initializer, activation, len(hidden_units)), epochs, seed,
        pool=getattr(context, "models", None),
    )
    measured = training.convergence_metrics(history["val_accuracy"], checkpoints)
    measured["final_loss"] = float(history["loss"][-1])
    measured["val_accuracy_curve"] = format_curve(history["val_accuracy"])
    return measured


def final_accuracy(results: Results, **criteria) -> tuple[float, float]:
    """Mean and std over the selected runs of the last epoch's accuracy."""
    return mean_and_spread([curve[-1] for curve in
                            results.curves("val_accuracy_curve", **criteria) if curve.size])


def convergence_table(results: Results, initializers: Sequence[str], **criteria) -> str:
    """Mean convergence metrics per initializer over the selected runs.

    Means are over configurations and seeds alike: a summary of speed, not
    a cell to compare with one of the paper's, so no ``± std``.
    """
    return training.convergence_table(results, initializers, label=label, spread=False,
                                      **criteria)
