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

import abc
import math
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Sequence

import keras

from keras_detinit import validation
from keras_detinit.datasets import PIXELS
from keras_detinit.datasets import locate

from keras_detinit.initializers import OddSigmoid
from keras_detinit.initializers.odd_sigmoid import BAND_FLOOR
from keras_detinit.initializers.odd_sigmoid import BAND_WIDTH_MARGIN
from keras_detinit.reproduce import stacking
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.paper_values import PAPER_INITIALIZERS
from keras_detinit.reporting import verdicts
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
#: The paper's proposed initializer, whose lead its tables claim.
PROPOSED = "epsilon_orthogonal"
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
    name, colon, text = str(spec).partition(":")
    if name != "odd_sigmoid":
        return None
    if not colon:
        return {}
    if text in ODD_SIGMOID_SETTINGS:
        return dict(ODD_SIGMOID_SETTINGS[text])
    hint = (f"use odd_sigmoid, odd_sigmoid:{'|'.join(ODD_SIGMOID_SETTINGS)} or "
            f"odd_sigmoid:KEY=NUMBER,... with KEY in {list(ODD_SIGMOID_ARGUMENTS)}")
    arguments = spec_arguments(spec, ODD_SIGMOID_ARGUMENTS, hint)
    for key, value in arguments.items():
        if not isinstance(value, float):
            raise ValueError(f"`initializers`: {spec!r} is not an OddSigmoid spec; {hint}. "
                             f"Received item: {key}={value}")
    return arguments


def spec_arguments(spec: str, accepted, hint: str) -> dict:
    """The ``key=value`` items after the colon of ``spec``; numbers as floats.

    The one parser of initializer specs (`make_initializer_of_spec`,
    `odd_sigmoid_arguments`).

    Example:

    >>> spec_arguments("zero_hadamard:constant=paper", ["constant"], "")
    {'constant': 'paper'}

    Raises:
        ValueError: For an item that is not ``KEY=VALUE`` with ``KEY`` in
            ``accepted``; the message names the spec and the item, then ``hint``.
    """
    arguments = {}
    for item in str(spec).partition(":")[2].split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or key not in accepted:
            raise ValueError(f"`initializers`: {spec!r}: {item!r} is not KEY=VALUE with KEY "
                             f"in {sorted(accepted)}; {hint}.")
        arguments[key] = _number_or_text(value)
    return arguments


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
    name, colon, _ = str(spec).partition(":")
    base = keras.initializers.get(name)  # an unknown name fails here
    if not colon:
        return name
    arguments = spec_arguments(spec, base.get_config(), f"the arguments of {name!r}")
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
    zero, rai = (keras.initializers.get(make_initializer_of_spec(_spec_of(settings, name)))
                 for name in ("zero_hadamard", "randomized_asymmetric"))
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


def _spec_of(settings: Mapping[str, Any], name: str) -> str:
    """The spec of ``name`` among the settings' initializers, else ``name`` itself."""
    return next((spec for spec in settings.get("initializers", [])
                 if str(spec).partition(":")[0] == name), name)


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
    return _columns(history, checkpoints)


def train_configurations(context, dataset: str, samples_per_class: int | str,
                         hidden_units: Sequence[int], activation: str,
                         initializers: Sequence[str], epochs: int, seed: int,
                         checkpoints: Sequence[int] = (1, 10), pixels: str = "unit") -> list[dict]:
    """`train_configuration` for several initializers at once, as one stacked program.

    Returns:
        One row of columns per initializer, in order
        (`keras_detinit.reproduce.stacking.train_members`).
    """
    data = context.dataset(dataset, samples_per_class, seed, pixels=pixels)
    histories = stacking.train_members(
        data, hidden_units, activation,
        [make_initializer(name, activation, len(hidden_units)) for name in initializers],
        epochs, seed, pool=getattr(context, "models", None),
    )
    return [_columns(history, checkpoints) for history in histories]


def _columns(history: Mapping[str, Sequence[float]], checkpoints: Sequence[int]) -> dict:
    measured = training.convergence_metrics(history["val_accuracy"], checkpoints)
    measured["final_loss"] = float(history["loss"][-1])
    measured["val_accuracy_curve"] = format_curve(history["val_accuracy"])
    return measured


class FFNNExperiment(Experiment):
    """An experiment of the deep-narrow paper: each run trains one FFNN.

    Subclasses say how a configuration trains (`training_arguments`); the
    runs of one seed that differ only in ``init`` may be trained as one
    stacked program (``reproduce --stack``).
    """

    stack_over = "init"

    @abc.abstractmethod
    def training_arguments(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> dict:
        """`train_configuration`'s arguments but the context, initializer and seed."""

    def measure(self, config, seed, settings, context) -> dict:
        return train_configuration(context, initializer=config["init"], seed=seed,
                                   **self.training_arguments(config, settings))

    def measure_stack(self, configs, seed, settings, context) -> list[dict]:
        arguments = self.training_arguments(configs[0], settings)
        for config in configs[1:]:
            if self.training_arguments(config, settings) != arguments:
                raise ValueError(f"Configurations {configs[0]} and {config} do not train "
                                 "the same network: they cannot be stacked.")
        return train_configurations(context, initializers=[config["init"] for config in configs],
                                    seed=seed, **arguments)


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


def leads(cells: Sequence[tuple[str, Mapping[str, Any]]], initializers: Sequence[str],
          value: Callable[..., tuple[float, float]],
          paper: Callable[..., float | None] | None = None) -> list[verdicts.Lead]:
    """Per cell, the proposed initializer against the best of the paper's others.

    Args:
        cells: ``(label, criteria)`` pairs, one per cell.
        initializers: The experiment's initializers; the rivals are those of
            the paper (`PAPER_INITIALIZERS`) other than `PROPOSED`, so extra
            columns (Sinusoidal, OddSigmoid) do not enter the paper's claim.
        value: ``value(init=..., **criteria)`` -> mean and std in [0, 1].
        paper: ``paper(init=..., **criteria)`` -> the paper's % or None.
            Without it (or a number for every initializer), the claim is
            the paper's text: the proposed one leads.

    Returns:
        One `keras_detinit.reporting.verdicts.Lead` per cell; none when
        `PROPOSED` or every rival is missing.

    Example:

    >>> from keras_detinit.reporting.results import Results
    >>> rows = Results([{"init": "epsilon_orthogonal", "seed": s, "acc": a}
    ...                 for s, a in enumerate([0.90, 0.92])]
    ...                + [{"init": "he_normal", "seed": s, "acc": a}
    ...                   for s, a in enumerate([0.50, 0.60])])
    >>> [lead] = leads([("all", {})], ["epsilon_orthogonal", "he_normal"],
    ...                lambda **c: rows.mean_std("acc", **c))
    >>> lead.rival, lead.verdict
    ('He', 'held')
    """
    rivals = [init for init in initializers if init in PAPER_INITIALIZERS and init != PROPOSED]
    if PROPOSED not in initializers or not rivals:
        return []
    found = []
    for cell, criteria in cells:
        values = {init: value(init=init, **criteria) for init in rivals}
        rival = max(rivals, key=lambda init: -math.inf if math.isnan(values[init][0])
                    else values[init][0])
        found.append(verdicts.Lead(cell, value(init=PROPOSED, **criteria), label(rival),
                                   values[rival], _paper_margin(rivals, criteria, paper)))
    return found


def _paper_margin(rivals, criteria, paper) -> float | None:
    if paper is None:
        return None
    proposed = paper(init=PROPOSED, **criteria)
    others = [paper(init=init, **criteria) for init in rivals]
    if proposed is None or any(other is None for other in others):
        return None
    return float(proposed - max(others))


def leads_section(leads_found: Sequence[verdicts.Lead], what: str) -> str:
    """The report section of `leads`: how the verdicts are made, the tally, the table."""
    if not leads_found:
        return "The proposed initializer or every rival was not measured."
    return "\n\n".join([
        f"Per cell, {label(PROPOSED)} against the best of the paper's other initializers "
        f"({what}). The paper's margin is its proposed value minus its best other; "
        f"within ±{verdicts.EVEN_MARGIN:g} point the paper calls the cell even. Ours: "
        "ahead or behind where the two mean ± std intervals do not overlap, else "
        "undecided. Verdict: whether our seeds show the paper's sign (an even cell holds "
        "when ours cannot separate the two).",
        f"The paper's sign {verdicts.tally([lead.verdict for lead in leads_found])}.",
        verdicts.lead_table(leads_found, label(PROPOSED)),
    ])
