"""The odd-sigmoid activation class: odd, smooth, bounded, increasing.

An activation ``f`` of the class has a slope ``f'(0) > 0`` at the origin, a
bound ``B = lim f(x)`` as ``x -> inf``, and a *critical scaling*
``w = inf_{y > 0} y / f(y)``: the map ``x -> f(a x)`` has the fixed point 0
only when ``a < w`` and two more, ``+-xi_a``, when ``a > w``. For members
that are concave on ``x > 0`` (tanh, softsign, erf, ``x / sqrt(1 + x^2)``)
``y / f(y)`` increases, so ``w = 1 / f'(0)``.

`OddSigmoidActivation` wraps a member, optionally scaled, ``x -> h(b x)``,
and gives these numbers: in closed form for the known members (`KNOWN`),
and measured with ``keras.ops`` on a grid for any other callable, which is
then also checked to belong to the class. Stating ``b`` explicitly (rather
than passing ``lambda x: tanh(b * x)``) keeps the activation serializable as
a name and a scale, and its numbers exact.

Example:

>>> act = OddSigmoidActivation.scaled("tanh", 2.0)   # x -> tanh(2 x)
>>> act.slope, act.bound, act.critical_scaling
(2.0, 1.0, 0.5)
>>> layer = keras.layers.Dense(16, activation=act)
>>> OddSigmoidActivation("relu")
Traceback (most recent call last):
...
ValueError: Activation 'relu' is not in the odd-sigmoid class ...
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import keras
import numpy as np
from keras import ops

from keras_detinit import validation


@dataclasses.dataclass(frozen=True)
class Member:
    """A known member ``h`` of the class, with its exact numbers.

    Attributes:
        function: ``h`` as a function of a tensor, built from ``keras.ops``.
        slope: ``h'(0)``.
        bound: ``lim h(x)`` as ``x -> inf``.
        formula: ``h(x)`` in words, for documentation.
    """

    function: Callable
    slope: float
    bound: float
    formula: str


def _erf(x):
    return ops.erf(x)


def _isru(x):
    return ops.multiply(x, ops.rsqrt(1.0 + ops.square(x)))


#: The members with closed forms; all are concave on ``x > 0``.
KNOWN: dict[str, Member] = {
    "tanh": Member(keras.activations.tanh, 1.0, 1.0, "tanh(x)"),
    "softsign": Member(keras.activations.softsign, 1.0, 1.0, "x / (1 + |x|)"),
    "erf": Member(_erf, 2.0 / math.sqrt(math.pi), 1.0, "erf(x)"),
    "isru": Member(_isru, 1.0, 1.0, "x / sqrt(1 + x^2)"),
}

# Probe points for the numerical checks: |x| = 2^k spans float32's useful
# range; the fine grid resolves the shape up to 4 half-bound widths.
_POWERS = np.arange(-20, 51, dtype="float64")
_FINE_POINTS = 4001
_HERMITE_NODES = 80


class OddSigmoidActivation:
    """A member of the odd-sigmoid class, ``f(x) = h(scale * x)``.

    Calling the object applies ``f`` (it is a valid Keras activation). The
    properties give ``f``'s numbers, exact for the names in `KNOWN` and
    measured otherwise (accurate to about ``1e-4`` relative in float32).

    Args:
        activation: The base function ``h``: a name in `KNOWN`, the name of
            another Keras activation, or a callable on tensors. A callable
            that is a registered Keras activation is stored by its name.
        scale: ``b > 0`` in ``f(x) = h(b x)``.

    Raises:
        ValueError: If ``h`` is not odd, bounded, strictly increasing and
            smooth (e.g. ``"relu"``, ``"sigmoid"``, ``"gelu"``,
            ``"linear"``, ``"hard_tanh"``), or ``scale`` is not positive.

    Example:

    >>> act = OddSigmoidActivation("softsign")
    >>> act.critical_scaling
    1.0
    >>> custom = OddSigmoidActivation(lambda x: keras.ops.arctan(x))
    >>> round(custom.bound, 4), round(custom.slope, 4)
    (1.5708, 1.0)
    """

    def __init__(self, activation: str | Callable = "tanh", scale: float = 1.0):
        self.scale = validation.check_positive("scale", scale)
        self.name = _name_of(activation)
        self.base = KNOWN[self.name].function if self.name in KNOWN else (
            keras.activations.get(activation) if isinstance(activation, str)
            else activation
        )
        member = KNOWN.get(self.name) or _measure(self.base, self._label)
        self._base_slope = member.slope
        self._base_bound = member.bound
        # Concave members have w = 1 / h'(0); others need the infimum.
        self._base_critical = (
            1.0 / member.slope if self.name in KNOWN
            else _critical_scaling(self.base, member)
        )

    @classmethod
    def scaled(cls, activation: str | Callable, scale: float) -> "OddSigmoidActivation":
        """The activation ``x -> h(scale * x)``, e.g. ``scaled("tanh", 2)``."""
        return cls(activation, scale)

    @classmethod
    def get(cls, identifier, scale: float = 1.0) -> "OddSigmoidActivation":
        """Build from a name, callable, config dict or instance.

        An instance keeps its own scale, multiplied by ``scale``.
        """
        if isinstance(identifier, cls):
            base = identifier.name if identifier.name else identifier.base
            return cls(base, identifier.scale * scale)
        if isinstance(identifier, dict):
            return cls(identifier["activation"], identifier.get("scale", 1.0) * scale)
        return cls(identifier, scale)

    def __call__(self, x):
        return self.base(x * self.scale) if self.scale != 1.0 else self.base(x)

    @property
    def slope(self) -> float:
        """``f'(0) = scale * h'(0)``."""
        return self.scale * self._base_slope

    @property
    def bound(self) -> float:
        """``B = lim f(x)`` as ``x -> inf``."""
        return self._base_bound

    @property
    def critical_scaling(self) -> float:
        """``w = inf_{y>0} y / f(y)`` (``1 / f'(0)`` for concave members)."""
        return self._base_critical / self.scale

    def second_moment(self, variances) -> np.ndarray:
        """``E[f(u)^2]`` for ``u ~ N(0, v)``, for each ``v`` in ``variances``.

        Gauss-Hermite quadrature with 80 nodes, evaluated with ``keras.ops``
        in one call; returned as a NumPy array of the same shape.
        """
        v = np.asarray(variances, dtype="float64")
        nodes, weights = np.polynomial.hermite_e.hermegauss(_HERMITE_NODES)
        points = np.sqrt(v)[..., None] * nodes
        values = _evaluate(self, points)
        return (values**2 * weights).sum(axis=-1) / math.sqrt(2.0 * math.pi)

    def get_config(self) -> dict:
        """``{"activation": name, "scale": b}``.

        Raises:
            ValueError: If ``h`` is an unnamed callable (a lambda, or a
                function not registered with Keras).
        """
        if not self.name:
            raise ValueError(
                f"The activation {self.base!r} has no name Keras can restore. "
                "Use a name (e.g. 'tanh' with scale=b for tanh(b x)) or "
                "register the function with "
                "`keras.saving.register_keras_serializable`."
            )
        return {"activation": self.name, "scale": self.scale}

    def __repr__(self) -> str:
        return f"OddSigmoidActivation({self._label!r}, scale={self.scale:g})"

    @property
    def _label(self) -> str:
        return self.name or getattr(self.base, "__name__", repr(self.base))


def _name_of(activation) -> str:
    """The restorable name of an activation, or ``""`` for an unnamed one."""
    if isinstance(activation, str):
        if activation in KNOWN:
            return activation
        keras.activations.get(activation)  # raises for an unknown name
        return activation
    if not callable(activation):
        raise ValueError(
            "`activation` must be a name or a callable. "
            f"Received: activation={activation!r}"
        )
    for name, member in KNOWN.items():
        if activation is member.function:
            return name
    if getattr(activation, "__name__", "") == "<lambda>":
        return ""
    try:
        name = keras.activations.serialize(activation)
    except Exception:  # lambdas, closures: not restorable by name
        return ""
    return name if isinstance(name, str) else ""


def _evaluate(function: Callable, points: np.ndarray) -> np.ndarray:
    """``function`` on ``points`` with keras.ops, in float64 where possible."""
    try:
        dtype = validation.float_dtype("float64")
    except ValueError:
        dtype = "float32"
    values = function(ops.convert_to_tensor(points, dtype=dtype))
    return np.asarray(ops.convert_to_numpy(values), dtype="float64")


def _not_in_class(label: str, reason: str) -> ValueError:
    return ValueError(
        f"Activation {label!r} is not in the odd-sigmoid class (odd, smooth, "
        f"bounded, strictly increasing): {reason}"
    )


def _measure(function: Callable, label: str) -> Member:
    """Check that ``function`` is in the class; measure slope and bound."""
    x = np.concatenate([-(2.0**_POWERS), [0.0], 2.0**_POWERS])
    y = _evaluate(function, x)
    count = len(_POWERS)
    neg, zero, pos = y[:count], y[count], y[count + 1:]
    scale = max(np.max(np.abs(y[np.isfinite(y)]), initial=0.0), 1e-30)
    if not np.all(np.isfinite(y)):
        raise _not_in_class(label, "it is not finite everywhere.")
    tolerance = 1e-5 * (np.abs(pos) + np.abs(neg)) + 1e-12 * scale
    asymmetric = np.flatnonzero(np.abs(pos + neg) > tolerance)
    if abs(zero) > 1e-6 * scale or asymmetric.size:
        # Report the violation nearest to x = 1, the most readable one.
        shown = int(np.argmin(np.abs(_POWERS))) if not asymmetric.size else int(
            asymmetric[np.argmin(np.abs(_POWERS[asymmetric]))]
        )
        raise _not_in_class(
            label,
            f"it is not odd (f(0) = {zero:.4g}, f({2.0 ** _POWERS[shown]:.4g}) = "
            f"{pos[shown]:.4g} but f(-x) = {neg[shown]:.4g}).",
        )
    bound = pos[-1]
    if bound <= 0 or abs(pos[-1] - pos[-2]) > 1e-4 * abs(bound):
        raise _not_in_class(
            label,
            f"it is not bounded with a positive limit (f(2^49) = {pos[-2]:.4g}, "
            f"f(2^50) = {pos[-1]:.4g}).",
        )
    half = float(2.0 ** _POWERS[np.argmax(pos >= bound / 2)])
    fine = np.linspace(0.0, 4.0 * half, _FINE_POINTS)
    values = _evaluate(function, fine)
    derivative = np.diff(values) / np.diff(fine)
    slope = _slope_at_zero(function, half)
    # Where f has reached its bound in floating point the slope is 0.
    resolved = values[1:] < (1.0 - 1e-4) * bound
    if not slope > 0 or np.any(derivative[resolved] <= 0):
        raise _not_in_class(
            label, f"it is not strictly increasing on [0, {4 * half:.4g}]."
        )
    if np.max(np.abs(np.diff(derivative))) > 0.1 * slope:
        kink = fine[1 + int(np.argmax(np.abs(np.diff(derivative))))]
        raise _not_in_class(label, f"its slope jumps near x = {kink:.4g}.")
    return Member(function, slope, float(bound), label)


def _slope_at_zero(function: Callable, half: float) -> float:
    """``f'(0)`` by Richardson-extrapolated central differences."""
    step = 1e-3 * half
    points = np.array([step, 2 * step, -step, -2 * step])
    f1, f2, m1, m2 = _evaluate(function, points)
    return float((8.0 * (f1 - m1) - (f2 - m2)) / (12.0 * step))


def _critical_scaling(function: Callable, member: Member) -> float:
    """``inf_{y>0} y / f(y)``: ``1 / f'(0)`` at the origin, or lower inside."""
    y = np.geomspace(1e-3, 1e3, 2001) / member.slope
    ratio = y / _evaluate(function, y)
    return float(min(1.0 / member.slope, np.min(ratio)))
