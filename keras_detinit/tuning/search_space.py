"""`InitializerHyperModel`: the papers' FFNN with a searchable initializer.

The search space (KerasTuner hyperparameter names):

* ``initializer``: a choice among the schemes (`keras_detinit.tuning.schemes`).
* Each scheme's own hyperparameters, log-uniform and active only when that
  scheme is chosen: ``sigma0`` (``"gaussian"``), ``epsilon``
  (``"epsilon_orthogonal"``), ``relative_noise`` (``"odd_sigmoid"``).
* ``learning_rate``: Adam's, log-uniform when given a range.
* ``depth``, ``width``, ``activation``: hyperparameters when given several
  values, fixed otherwise.

Example:

>>> import keras_tuner
>>> hypermodel = InitializerHyperModel(
...     input_shape=(28, 28), num_classes=10, depth=2, width=[16, 32],
...     schemes=("gaussian", "epsilon_orthogonal", "he_normal"),
...     ranges={"sigma0": (0.01, 1.0)})
>>> hp = keras_tuner.HyperParameters()
>>> model = hypermodel.build(hp)
>>> sorted(hp.values)
['activation', 'depth', 'initializer', 'learning_rate', 'width']
"""

from __future__ import annotations

from typing import Mapping
from typing import Sequence

import keras
import keras_tuner

from keras_detinit import models
from keras_detinit import validation
from keras_detinit.tuning.failures import NonFiniteLoss
from keras_detinit.tuning.schemes import LogRange
from keras_detinit.tuning.schemes import Scheme
from keras_detinit.tuning.schemes import get_scheme

#: The schemes searched by default: the two with hyperparameters of their
#: own, this package's Sinusoidal and Keras' usual defaults.
DEFAULT_SCHEMES = (
    "gaussian",
    "epsilon_orthogonal",
    "sinusoidal",
    "glorot_uniform",
    "he_normal",
)


class InitializerHyperModel(keras_tuner.HyperModel):
    """The papers' FFNN whose kernel initializer is searched.

    Every model is `keras_detinit.models.build_ffnn` (flatten, ``depth``
    hidden Dense layers of ``width`` units, a softmax output; one
    initializer for every kernel, zero biases), compiled by
    `keras_detinit.models.compile_classifier` (Adam, sparse categorical
    cross-entropy, accuracy). See the module docstring for the
    hyperparameters.

    Each layer gets its own copy of the initializer, so layers of equal
    shape get different random draws. With ``seed`` set, every build starts
    from the same random state (`keras.utils.set_random_seed`): trials that
    differ only in ``sigma0`` draw the same standard normal weights, scaled
    differently, and shuffle the data alike.

    Args:
        input_shape: Shape of one example, e.g. ``(28, 28)``.
        num_classes: Number of classes, >= 2.
        depth: Number of hidden layers (>= 0), or a list of them to search.
        width: Units of every hidden layer (>= 1), or a list to search.
        activation: Hidden activation name, or a list of names to search.
        schemes: The initializer choices: names of registered schemes
            (``"gaussian"``, ``"epsilon_orthogonal"``, ``"odd_sigmoid"``),
            any initializer name Keras knows, or `Scheme` objects.
        ranges: Overrides of the schemes' default ranges, hyperparameter
            name -> ``(low, high)``, e.g. ``{"sigma0": (0.01, 1.0)}``.
        learning_rate: A number fixes Adam's learning rate; a
            ``(low, high)`` pair or `LogRange` searches it log-uniformly.
        batch_size: Batch size of `fit`, unless the search passes one.
        seed: Seed of every build, or None for unseeded builds.

    Raises:
        ValueError: For an unknown scheme, a range naming no hyperparameter
            of the chosen schemes, a scheme that cannot serve an activation
            choice (``"odd_sigmoid"`` with ``"relu"``), or any invalid value.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28),
        num_classes: int = 10,
        depth: int | Sequence[int] = 1,
        width: int | Sequence[int] = 16,
        activation: str | Sequence[str] = "relu",
        schemes: Sequence[str | Scheme] = DEFAULT_SCHEMES,
        ranges: Mapping[str, tuple[float, float] | LogRange] | None = None,
        learning_rate: float | tuple[float, float] | LogRange = 1e-3,
        batch_size: int = 100,
        seed: int | None = 0,
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.input_shape = tuple(input_shape)
        self.num_classes = validation.check_int("num_classes", num_classes, low=2)
        self.depth = _int_or_choices("depth", depth, low=0)
        self.width = _int_or_choices("width", width, low=1)
        self.activation = _activation_or_choices(activation)
        self.schemes = _resolve_schemes(schemes)
        self.ranges = _scheme_ranges(self.schemes, ranges or {})
        _check_activations(self.schemes, self.ranges, self.activation)
        self.learning_rate = _number_or_range("learning_rate", learning_rate)
        self.batch_size = validation.check_int("batch_size", batch_size)
        self.seed = None if seed is None else validation.check_int("seed", seed, low=0)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        depth = _choose(hp, "depth", self.depth)
        width = _choose(hp, "width", self.width)
        activation = _choose(hp, "activation", self.activation)
        initializer = self._initializer(hp, activation)
        if isinstance(self.learning_rate, LogRange):
            learning_rate = hp.Float(
                "learning_rate",
                self.learning_rate.low,
                self.learning_rate.high,
                sampling="log",
            )
        else:
            learning_rate = hp.Fixed("learning_rate", self.learning_rate)
        model = models.build_ffnn(
            self.input_shape,
            [width] * depth,
            self.num_classes,
            activation,
            initializer,
        )
        return models.compile_classifier(model, learning_rate)

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        """`model.fit`, with the default batch size and `NonFiniteLoss`.

        `NonFiniteLoss` comes first, so a NaN epoch fails the trial before
        KerasTuner records its metrics or saves its weights.
        """
        kwargs.setdefault("batch_size", self.batch_size)
        callbacks = [NonFiniteLoss(), *(callbacks or [])]
        return model.fit(*args, callbacks=callbacks, **kwargs)


    def _initializer(self, hp, activation: str):
        chosen = hp.Choice("initializer", list(self.schemes))
        initializer = None
        for scheme in self.schemes.values():
            values = {}
            with hp.conditional_scope("initializer", [scheme.name]):
                for name in scheme.hyperparameters:
                    values[name] = hp.Float(
                        name, self.ranges[name].low, self.ranges[name].high, sampling="log"
                    )
            if scheme.name == chosen:
                initializer = _build(scheme, values, activation)
        return _per_layer(initializer)


def _build(scheme: Scheme, values: dict, activation: str):
    if scheme.uses_activation:
        return scheme.build(activation=activation, **values)
    return scheme.build(**values)


def _check_activations(schemes: dict[str, Scheme], ranges, activation) -> None:
    """Build each activation-dependent scheme once per activation choice.

    So a scheme that cannot serve an activation (the odd-sigmoid one with
    ReLU) fails here, with its own message, rather than in every trial.
    """
    activations = activation if isinstance(activation, tuple) else (activation,)
    for scheme in schemes.values():
        if not scheme.uses_activation:
            continue
        values = {name: ranges[name].low for name in scheme.hyperparameters}
        for name in activations:
            try:
                _build(scheme, values, name)
            except ValueError as error:
                raise ValueError(
                    f"The scheme {scheme.name!r} cannot be used with the "
                    f"activation {name!r}: {error}"
                ) from error


def _per_layer(initializer):
    """An identifier from which each layer makes its own initializer.

    Keras layers share an initializer *instance*; a random one seeded once
    would then give equal kernels to layers of equal shape. A config, like a
    name, is deserialized per layer, each copy drawing its own seed.
    """
    if isinstance(initializer, (str, dict)):
        return initializer
    return keras.initializers.serialize(initializer)


def _choose(hp, name: str, value):
    if isinstance(value, tuple):
        return hp.Choice(name, list(value))
    return hp.Fixed(name, value)


def _int_or_choices(name: str, value, low: int):
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"`{name}` must not be an empty list. Received: {name}={value!r}")
        return tuple(validation.check_int(name, item, low=low) for item in value)
    return validation.check_int(name, value, low=low)


def _activation_or_choices(value):
    names = value if isinstance(value, (list, tuple)) else [value]
    unknown = [name for name in names if not _is_activation(name)]
    if unknown or not names:
        raise ValueError(
            f"`activation` must name Keras activations (one, or a non-empty "
            f"list). Received: activation={value!r}"
        )
    return tuple(names) if isinstance(value, (list, tuple)) else value


def _is_activation(name) -> bool:
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        return False
    return True


def _number_or_range(name: str, value):
    if isinstance(value, (list, tuple, LogRange)):
        return LogRange.of(name, value)
    return validation.check_positive(name, value)


def _resolve_schemes(schemes) -> dict[str, Scheme]:
    if isinstance(schemes, (str, Scheme)) or not schemes:
        raise ValueError(
            f"`schemes` must be a non-empty list of scheme names or `Scheme`s. "
            f"Received: schemes={schemes!r}"
        )
    resolved = {}
    for item in schemes:
        scheme = get_scheme(item)
        if scheme.name in resolved:
            raise ValueError(f"`schemes` names {scheme.name!r} twice.")
        resolved[scheme.name] = scheme
    owners = {}
    for scheme in resolved.values():
        for name in scheme.hyperparameters:
            if name in owners:
                raise ValueError(
                    f"Schemes {owners[name]!r} and {scheme.name!r} both have a "
                    f"hyperparameter {name!r}; names must be unique."
                )
            owners[name] = scheme.name
    return resolved


def _scheme_ranges(schemes: dict[str, Scheme], overrides) -> dict[str, LogRange]:
    ranges = {}
    for scheme in schemes.values():
        ranges.update(scheme.hyperparameters)
    for name, value in overrides.items():
        if name not in ranges:
            raise ValueError(
                f"`ranges` names {name!r}, which is not a hyperparameter of the "
                f"chosen schemes {list(schemes)}; their hyperparameters are "
                f"{sorted(ranges)}."
            )
        ranges[name] = LogRange.of(name, value)
    return ranges
