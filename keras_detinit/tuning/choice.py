"""`choose_initializer`: a searchable kernel initializer for any Keras model.

It registers the search space's ``"initializer"`` choice and each scheme's
own hyperparameters (``sigma0`` for ``"gaussian"``, ``epsilon`` for
``"epsilon_orthogonal"``, ``relative_noise`` for ``"odd_sigmoid"``...),
each log-uniform and active only when its scheme is chosen (a KerasTuner
conditional scope), and returns the chosen initializer in a form every
Keras layer accepts. Call it once in a ``build_model(hp)`` and pass its
result to as many layers as you like.

**One draw per layer.** The result is the initializer's config (a dict,
or a plain name for schemes without hyperparameters), never an instance:
Keras turns a config into a new initializer object in each layer, so a
random scheme draws a new kernel for every layer, as it does for a name
such as ``"he_normal"``. A Keras layer keeps an initializer *instance* as
it is given, and an unseeded Keras random initializer repeats its draw for
equal shapes. ``keras.initializers.get(choice)`` gives an instance, e.g.
to call it directly.

Example:

>>> import keras
>>> import keras_tuner
>>> def build_model(hp):
...     initializer = choose_initializer(
...         hp, schemes=("gaussian", "epsilon_orthogonal", "he_normal"),
...         ranges={"sigma0": (0.01, 1.0)})
...     return keras.Sequential([
...         keras.Input((8, 8, 1)),
...         keras.layers.Conv2D(4, 3, kernel_initializer=initializer),
...         keras.layers.Flatten(),
...         keras.layers.Dense(10, kernel_initializer=initializer),
...     ])
>>> hp = keras_tuner.HyperParameters()
>>> model = build_model(hp)
>>> hp.values["initializer"], model.layers[0].kernel_initializer.stddev
('gaussian', 0.01)
"""

from __future__ import annotations

from typing import Mapping
from typing import Sequence

import keras
import keras_tuner

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

#: The name of the scheme choice in the search space.
CHOICE = "initializer"


def choose_initializer(
    hp: keras_tuner.HyperParameters,
    schemes: Sequence[str | Scheme] = DEFAULT_SCHEMES,
    ranges: Mapping[str, tuple[float, float] | LogRange] | None = None,
    activation: str | None = None,
):
    """Register the initializer's hyperparameters; return the chosen one.

    Registers ``"initializer"`` (a choice among ``schemes``) and, under
    ``hp.conditional_scope("initializer", [scheme])``, each scheme's own
    hyperparameters, log-uniform over its range. Works with every
    KerasTuner tuner; the trials' hyperparameters (``sigma0``, ``epsilon``,
    ...) are recorded by the oracle, active only where their scheme was
    chosen.

    Args:
        hp: The trial's `keras_tuner.HyperParameters`.
        schemes: The choices: names of registered schemes (``"gaussian"``,
            ``"epsilon_orthogonal"``, ``"odd_sigmoid"``), any initializer
            name Keras knows, or `Scheme` objects.
        ranges: Overrides of the schemes' default ranges, hyperparameter
            name -> ``(low, high)`` or `LogRange`, e.g.
            ``{"sigma0": tuning.sigma0_range(estimate)}``.
        activation: The activation of the layers the initializer serves;
            needed by schemes built for one (``"odd_sigmoid"``: ``"tanh"``,
            ``"softsign"``, ...), ignored by the others.

    Returns:
        The chosen initializer as a config dict or a name: pass it to
        every layer that should use it; each layer builds its own instance.

    Raises:
        ValueError: For an unknown scheme, a range naming no hyperparameter
            of the schemes, an invalid range, or a scheme that needs an
            activation and got none or one it cannot serve.

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> hp.values.update(initializer="epsilon_orthogonal", epsilon=0.1)
    >>> chosen = choose_initializer(hp, schemes=("gaussian", "epsilon_orthogonal"))
    >>> chosen["class_name"], chosen["config"]["epsilon"]
    ('EpsilonOrthogonal', 0.1)
    """
    resolved = resolve_schemes(schemes)
    scheme_ranges = resolve_ranges(resolved, ranges or {})
    check_activations(resolved, scheme_ranges, (activation,))
    chosen = hp.Choice(CHOICE, list(resolved))
    initializer = None
    for scheme in resolved.values():
        values = {}
        with hp.conditional_scope(CHOICE, [scheme.name]):
            for name in scheme.hyperparameters:
                bounds = scheme_ranges[name]
                values[name] = hp.Float(name, bounds.low, bounds.high, sampling="log")
        if scheme.name == chosen:
            initializer = build_scheme(scheme, values, activation)
    return per_layer(initializer)


def per_layer(initializer):
    """``initializer`` as a config Keras turns into one instance per layer.

    Names, configs and callables that are not Keras initializers pass
    through unchanged.

    Example:

    >>> per_layer(keras.initializers.RandomNormal(stddev=0.5))["config"]
    {'seed': None, 'mean': 0.0, 'stddev': 0.5}
    >>> per_layer("he_normal")
    'he_normal'
    """
    if isinstance(initializer, keras.initializers.Initializer):
        return keras.initializers.serialize(initializer)
    return initializer


def build_scheme(scheme: Scheme, values: Mapping[str, float], activation: str | None):
    """The scheme's initializer for these hyperparameter values."""
    if scheme.uses_activation:
        return scheme.build(activation=activation, **values)
    return scheme.build(**values)


def check_activations(
    schemes: Mapping[str, Scheme],
    ranges: Mapping[str, LogRange],
    activations: Sequence[str | None],
) -> None:
    """Build each activation-dependent scheme once per activation.

    So a scheme that cannot serve an activation (the odd-sigmoid one with
    ReLU, or with none given) fails before any trial, with its own message.
    """
    for scheme in schemes.values():
        if not scheme.uses_activation:
            continue
        values = {name: ranges[name].low for name in scheme.hyperparameters}
        for name in activations:
            if name is None:
                raise ValueError(
                    f"The scheme {scheme.name!r} is built for one activation: "
                    "pass `activation`, the activation of the layers it "
                    "initializes (e.g. 'tanh'). Received: activation=None"
                )
            try:
                build_scheme(scheme, values, name)
            except ValueError as error:
                raise ValueError(
                    f"The scheme {scheme.name!r} cannot be used with the "
                    f"activation {name!r}: {error}"
                ) from error


def resolve_schemes(schemes: Sequence[str | Scheme]) -> dict[str, Scheme]:
    """Scheme name -> `Scheme`; names and hyperparameter names unique."""
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


def resolve_ranges(
    schemes: Mapping[str, Scheme],
    overrides: Mapping[str, tuple[float, float] | LogRange],
) -> dict[str, LogRange]:
    """Every hyperparameter's range: the schemes' defaults, then ``overrides``."""
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
