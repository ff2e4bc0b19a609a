"""The initializer schemes a search chooses among, and their own hyperparameters.

A *scheme* is one value of the search's ``"initializer"`` choice. A plain
initializer name (``"glorot_uniform"``, ``"sinusoidal"``, ...) is a scheme
without hyperparameters. A scheme with hyperparameters of its own is
registered here once, with a builder and the log-uniform range of each
hyperparameter; the search space then samples those hyperparameters only
when the scheme is chosen (a KerasTuner conditional scope), and the CLI,
the CSV and the plot pick them up by name.

Registered schemes:

* ``"gaussian"``: ``keras.initializers.RandomNormal(stddev=sigma0)``, the
  ``N(0, sigma0^2)`` initialization of Horii and Has, with ``sigma0``
  log-uniform in ``[1e-3, 1]`` (they find ``sigma0 = 0.15`` optimal for a
  three-layer ReLU network on MNIST).
* ``"epsilon_orthogonal"``: `keras_detinit.initializers.EpsilonOrthogonal`
  with ``epsilon`` log-uniform in ``[1e-4, 1]`` (Lee et al. use 0.1).
* ``"odd_sigmoid"``: `keras_detinit.initializers.OddSigmoid` for the hidden
  layers' activation (which must be an odd sigmoid such as ``"tanh"``),
  with its noise scale ``relative_noise`` (``alpha = sigma_z sqrt(fan_in)
  / g``) log-uniform in ``[1e-2, 1]``.

Example:

>>> scheme = get_scheme("gaussian")
>>> scheme.hyperparameters
{'sigma0': LogRange(low=0.001, high=1.0)}
>>> scheme.build(sigma0=0.15).stddev
0.15
>>> register_scheme(Scheme(
...     "my_uniform",
...     lambda limit: keras.initializers.RandomUniform(-limit, limit),
...     {"limit": LogRange(0.01, 1.0)},
... ))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Callable
from typing import Mapping

import keras

from keras_detinit import validation
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import OddSigmoid

#: Hyperparameter names the search space itself uses; schemes may not.
RESERVED_NAMES = ("initializer", "depth", "width", "activation", "learning_rate")


@dataclasses.dataclass(frozen=True)
class LogRange:
    """A log-uniform search range ``[low, high]``, ``0 < low < high``.

    Args:
        low: Smallest value, finite and > 0.
        high: Largest value, finite and > ``low``.
    """

    low: float
    high: float

    def __post_init__(self):
        low = validation.check_positive("low", self.low)
        high = validation.check_positive("high", self.high)
        if not low < high:
            raise ValueError(
                f"A log-uniform range needs 0 < low < high. Received: "
                f"low={self.low!r}, high={self.high!r}"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @classmethod
    def around(cls, center: float, factor: float) -> LogRange:
        """``[center / factor, center * factor]``: centred on a log scale.

        Args:
            center: The range's geometric centre, finite and > 0.
            factor: How far each bound lies from it, as a ratio, > 1.

        Example:

        >>> LogRange.around(0.15, 10.0)
        LogRange(low=0.015, high=1.5)
        """
        center = validation.check_positive("center", center)
        factor = validation.check_in_range("factor", factor, low=1.0, low_inclusive=False)
        return cls(center / factor, center * factor)

    @classmethod
    def of(cls, name: str, value) -> LogRange:
        """A `LogRange` from a ``(low, high)`` pair; errors name ``name``."""
        if isinstance(value, LogRange):
            return value
        try:
            low, high = value
            return cls(low, high)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`{name}` must be a range (low, high) with 0 < low < high. "
                f"Received: {name}={value!r}"
            ) from error


@dataclasses.dataclass(frozen=True)
class Scheme:
    """An initializer scheme: a builder and its conditional hyperparameters.

    Attributes:
        name: The value of the ``"initializer"`` hyperparameter.
        build: Called with one keyword argument per hyperparameter; returns
            a Keras initializer (instance, name or config).
        hyperparameters: Hyperparameter name -> default `LogRange`. Names
            are shared by the whole search space, so unique across schemes.
        uses_activation: Whether ``build`` also takes the hidden layers'
            activation name, as the keyword argument ``activation``.
    """

    name: str
    build: Callable[..., object]
    hyperparameters: Mapping[str, LogRange] = dataclasses.field(default_factory=dict)
    uses_activation: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(
                f"A scheme's `name` must be a non-empty string. Received: "
                f"name={self.name!r}"
            )
        ranges = {
            key: LogRange.of(key, value) for key, value in self.hyperparameters.items()
        }
        for key in ranges:
            if key in RESERVED_NAMES:
                raise ValueError(
                    f"Scheme {self.name!r}: hyperparameter name {key!r} is "
                    f"reserved by the search space {RESERVED_NAMES}."
                )
        object.__setattr__(self, "hyperparameters", ranges)


#: Scheme name -> `Scheme`, for the schemes with hyperparameters of their own.
SCHEMES: dict[str, Scheme] = {}


def register_scheme(scheme: Scheme) -> Scheme:
    """Add a scheme with its own hyperparameters to the search space.

    Args:
        scheme: The scheme; its name and hyperparameter names must not be
            taken by another registered scheme.

    Returns:
        ``scheme``.

    Raises:
        ValueError: If the name or a hyperparameter name is taken.
    """
    if scheme.name in SCHEMES:
        raise ValueError(f"A scheme named {scheme.name!r} is already registered.")
    for other in SCHEMES.values():
        shared = set(scheme.hyperparameters) & set(other.hyperparameters)
        if shared:
            raise ValueError(
                f"Scheme {scheme.name!r}: hyperparameter names {sorted(shared)} "
                f"are already used by scheme {other.name!r}."
            )
    SCHEMES[scheme.name] = scheme
    return scheme


def get_scheme(scheme: str | Scheme) -> Scheme:
    """Resolve a scheme: a `Scheme`, a registered name or an initializer name.

    Args:
        scheme: A `Scheme`, the name of a registered one, or any name
            `keras.initializers.get` knows (Keras' and this package's).

    Returns:
        The `Scheme`; a plain initializer name gives one without
        hyperparameters.

    Raises:
        ValueError: If the name is neither registered nor an initializer.
    """
    if isinstance(scheme, Scheme):
        return scheme
    if scheme in SCHEMES:
        return SCHEMES[scheme]
    try:
        keras.initializers.get(scheme)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Unknown initializer scheme {scheme!r}: not one of the schemes "
            f"with hyperparameters {sorted(SCHEMES)} and not an initializer "
            "name Keras knows (e.g. 'glorot_uniform', 'he_normal', "
            "'sinusoidal')."
        ) from error
    return Scheme(scheme, lambda: scheme)


def _gaussian(sigma0: float):
    return keras.initializers.RandomNormal(mean=0.0, stddev=sigma0)


def _odd_sigmoid(relative_noise: float, activation: str):
    return OddSigmoid(activation=activation, relative_noise=relative_noise)


register_scheme(Scheme("gaussian", _gaussian, {"sigma0": LogRange(1e-3, 1.0)}))
register_scheme(
    Scheme("epsilon_orthogonal", EpsilonOrthogonal, {"epsilon": LogRange(1e-4, 1.0)})
)
register_scheme(
    Scheme(
        "odd_sigmoid",
        _odd_sigmoid,
        {"relative_noise": LogRange(1e-2, 1.0)},
        uses_activation=True,
    )
)
