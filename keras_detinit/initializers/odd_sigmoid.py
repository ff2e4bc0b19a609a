"""The OddSigmoid initializer: diagonal plus noise, tuned to the activation.

The noise rule is derived in ``docs/theory/odd_sigmoid_noise_rule.md``. In
short: with the gain ``g`` at the activation's critical scaling ``w``, the
pre-activation of a unit is ``u = g x_i + sum_j Z_ij x_j``. Writing
``sigma_z = alpha * g / sqrt(fan_in)``, the mean-field second moment of the
activations follows the length map

``q_{l+1} = E[f(u)^2]``, ``u ~ N(0, chi q_l)``, ``chi = g^2 (1 + alpha^2)``.

At ``alpha = 0`` it decays to 0 (algebraically, ``q_l ~ 1 / (2 l)`` for
tanh); noise lifts its fixed point. The *relative noise* ``alpha`` is the
smallest one for which the map, started from unit-variance inputs, keeps
``q_l >= floor * B^2`` for every layer up to ``target_depth``. It depends on
the activation only through the shape of ``f`` (not its scale ``b``), so
``W`` for ``tanh(b x)`` is exactly ``W`` for ``tanh(x)`` divided by ``b``.

A finite layer fluctuates around the mean-field curve, by a relative
amount of order ``sqrt(2 / fan_in)``; ``width_margin`` raises the floor of
a layer to ``floor * exp(width_margin * sqrt(2 / fan_in))`` so that the
measured second moment, not only its mean-field value, stays above
``floor``. The default (``floor = 0.02``, no margin) is the setting that
trains best; `BAND_FLOOR` with `BAND_WIDTH_MARGIN` holds the band
``[0.05, 0.95] B^2`` at every layer of narrow networks too, at a cost in
training speed for softsign (numbers on the theory page).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import keras
import numpy as np
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.activations import OddSigmoidActivation
from keras_detinit.initializers.matrix import SeededMatrixInitializer
from keras_detinit.initializers.registry import register_initializer

#: Relative noise used at least: the base construction's alpha for tanh.
#: It breaks the symmetry of the repeated rows of an expanding layer when
#: the depth alone would ask for no noise.
MIN_RELATIVE_NOISE = 0.085
#: Default floor, q_l >= 0.02 B^2: with it every activation of the
#: scale-robustness experiment trains; 0.05 slows softsign down.
DEFAULT_FLOOR = 0.02
#: Lower edge of the signal band [0.05, 0.95] B^2.
BAND_FLOOR = 0.05
#: Width margin that keeps the measured second moment above `BAND_FLOOR`
#: at every layer for widths 8 to 256 (3.0 is not enough at width 8, 3.6
#: saturates more than 10% of the units there).
BAND_WIDTH_MARGIN = 3.3
_MAX_RELATIVE_NOISE = 8.0
_BISECTION_STEPS = 50
#: Deepest band the rule solves for: the solve iterates the length map
#: once per layer at every bisection step (about 1.5 s at this depth).
MAX_TARGET_DEPTH = 10_000
# The length map is tabulated on these pre-activation variances (in units
# of 1 / f'(0)^2) and interpolated in log-log coordinates.
_TABLE_VARIANCES = np.geomspace(1e-8, 1e6, 561)


@dataclasses.dataclass(frozen=True)
class NoiseRule:
    """The numbers of `OddSigmoid` for one kernel shape.

    Attributes:
        gain: ``g``, the weight of the cyclic identity ``D``.
        noise_stddev: ``sigma_z``, the standard deviation of ``Z``.
        relative_noise: ``alpha = sigma_z sqrt(fan_in) / g``.
    """

    gain: float
    noise_stddev: float
    relative_noise: float


class LengthMap:
    """The mean-field map ``q -> E[f(u)^2]``, ``u ~ N(0, chi q)``.

    ``E[f(u)^2]`` is computed once per activation by Gauss-Hermite
    quadrature on a grid of variances (one ``keras.ops`` call) and
    interpolated; the iteration is plain NumPy.

    Args:
        activation: An `OddSigmoidActivation` (or anything its ``get``
            accepts).
    """

    def __init__(self, activation):
        self.activation = OddSigmoidActivation.get(activation)
        variances = _TABLE_VARIANCES / self.activation.slope**2
        moments = self.activation.second_moment(variances)
        self._log_v = np.log(variances)
        self._log_m = np.log(np.maximum(moments, np.finfo("float64").tiny))

    def __call__(self, variance) -> np.ndarray:
        """``E[f(u)^2]`` for ``u ~ N(0, variance)``."""
        log_v = np.log(np.maximum(np.asarray(variance, "float64"), 1e-300))
        return np.exp(np.interp(log_v, self._log_v, self._log_m))

    def trajectory(
        self, gain: float, relative_noise: float, depth: int, start: float = 1.0
    ) -> np.ndarray:
        """``q_1 .. q_depth`` divided by ``B^2``, from inputs with ``E[x^2] = start``."""
        chi = gain**2 * (1.0 + relative_noise**2)
        moments, q = [], start
        for _ in range(depth):
            q = float(self(chi * q))
            moments.append(q)
        return np.asarray(moments) / self.activation.bound**2


def relative_noise_for(
    activation, target_depth: int, floor: float = DEFAULT_FLOOR, gain: float | None = None
) -> float:
    """The rule's ``alpha``: smallest noise keeping ``q_l >= floor B^2``.

    Bisection on ``alpha`` (the length map increases with it) for the
    mean-field second moment, started from unit-variance inputs, to stay at
    or above ``floor * B^2`` at every layer ``1..target_depth``; never below
    `MIN_RELATIVE_NOISE`.

    Args:
        activation: The layer's odd-sigmoid activation.
        target_depth: Number of layers the band must hold for, in [1, `MAX_TARGET_DEPTH`].
        floor: Lower edge of the band, as a fraction of ``B^2``, in (0, 1).
        gain: ``g``; default the critical scaling ``w``.

    Returns:
        ``alpha`` with ``sigma_z = alpha * g / sqrt(fan_in)``.
    """
    activation = OddSigmoidActivation.get(activation)
    depth = validation.check_int("target_depth", target_depth, high=MAX_TARGET_DEPTH)
    floor = validation.check_in_range(
        "floor", floor, 0.0, 1.0, low_inclusive=False, high_inclusive=False
    )
    gain = activation.critical_scaling if gain is None else gain
    # A model builds one initializer per layer: solve each named case once.
    key = (activation.name, activation.scale, depth, floor, gain)
    if activation.name and key in _SOLVED:
        return _SOLVED[key]
    alpha = _solve(LengthMap(activation), depth, floor, gain)
    if activation.name:
        _SOLVED[key] = alpha
    return alpha


_SOLVED: dict[tuple, float] = {}


def finite_width_floor(floor: float, width_margin: float, fan_in: int) -> float:
    """The floor a layer of ``fan_in`` inputs aims at: ``floor e^(m sqrt(2/n))``.

    The second moment of ``n`` units fluctuates around its mean-field
    value with a relative spread of about ``sqrt(2 / n)`` (the squared norm
    of a row of ``Z`` is ``chi^2_n``); aiming the mean field
    ``width_margin`` such spreads above ``floor`` keeps the measured values
    above it.

    Args:
        floor: The band floor, as a fraction of ``B^2``, in (0, 1).
        width_margin: ``m`` >= 0, in spreads; 0 gives ``floor`` itself.
        fan_in: ``n`` >= 1.

    Returns:
        The raised floor, below 1.

    Example:

    >>> round(finite_width_floor(0.05, 3.3, 8), 3)
    0.26
    """
    raised = floor * math.exp(width_margin * math.sqrt(2.0 / fan_in))
    if raised >= 1.0:
        raise ValueError(
            f"`width_margin`={width_margin:g} raises floor={floor:g} to {raised:.3g} B^2 "
            f"for fan_in={fan_in}; the raised floor must stay below 1. Lower "
            "`width_margin` or `floor`, or widen the layer."
        )
    return raised


def _solve(length_map: LengthMap, depth: int, floor: float, gain: float) -> float:
    """Bisection for `relative_noise_for`."""

    def holds(alpha: float) -> bool:
        return length_map.trajectory(gain, alpha, depth).min() >= floor

    low, high = MIN_RELATIVE_NOISE, _MAX_RELATIVE_NOISE
    if holds(low):
        return low
    if not holds(high):
        raise ValueError(
            f"No relative noise up to {high:g} keeps the second moment of "
            f"{length_map.activation!r} above {floor:g} B^2 with gain {gain:g}."
        )
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        low, high = (low, middle) if holds(middle) else (middle, high)
    return high


@register_initializer("odd_sigmoid")
class OddSigmoid(SeededMatrixInitializer):
    """Signal-preserving initializer for odd-sigmoid activations.

    ``W = g D + Z`` in the paper's ``(m, n)`` view (``m`` units,
    ``n = fan_in``): ``D`` is the cyclic identity of the base construction
    (``D[i, j] = 1`` if ``i = j (mod n)``; a contracting layer gets a
    rectangular identity, an expanding one repeats it), and ``Z`` has
    i.i.d. ``N(0, sigma_z^2)`` entries. For a Conv kernel ``n`` is the
    flattened ``(*kernel_size, in)`` axis, so ``D`` picks one tap per unit.

    **Closed-form parameters** (each can be overridden):

    * ``g = w``, the activation's critical scaling (``1 / f'(0)`` for
      concave members; ``1 / b`` for ``tanh(b x)``): the linearized layer is
      then the identity on the diagonal.
    * ``sigma_z = alpha * g / sqrt(fan_in)`` with ``alpha`` from
      `relative_noise_for(activation, target_depth, floor)`: the smallest
      noise that keeps the mean-field second moment of the activations at
      or above ``floor * B^2`` up to ``target_depth`` layers (see the
      module docstring and the theory page). ``alpha`` does not depend on
      ``b``; ``fan_out`` enters only through ``D``, ``fan_in`` only through
      ``width_margin`` (`finite_width_floor`).

    With the defaults, ``alpha = 0.19`` for ``tanh`` at target depth 100
    and ``0.78`` for softsign, which contracts small signals faster
    (``x - x|x|`` against ``x - x^3/3``). To hold the second moment inside
    ``[0.05, 0.95] B^2`` at every layer of a narrow network, pass
    ``floor=BAND_FLOOR, width_margin=BAND_WIDTH_MARGIN``: more noise, which
    trains softsign more slowly.

    **Output layer.** The rule is for layers followed by ``f``. A softmax
    (or linear) output layer is not: give it ``gain=1.0``.

    Args:
        activation: The layer's activation: a name (``"tanh"``,
            ``"softsign"``, ``"erf"``, ``"isru"`` or another Keras name of
            the class), a callable, or an `OddSigmoidActivation`.
        activation_scale: ``b`` in ``f(x) = h(b x)``; multiplies the scale of
            an `OddSigmoidActivation`.
        target_depth: Layers over which the band must hold, in [1, `MAX_TARGET_DEPTH`].
        floor: Lower edge of the band as a fraction of ``B^2``, in (0, 1).
        width_margin: Finite-width margin ``m`` >= 0: each layer aims at
            `finite_width_floor(floor, m, fan_in)`; 0 aims at ``floor``.
        gain: Override of ``g`` (> 0).
        noise_stddev: Override of ``sigma_z`` (>= 0), the same for every
            shape.
        relative_noise: Override of ``alpha`` (>= 0); excludes
            ``noise_stddev``.
        seed: Seeds ``Z`` like Keras' random initializers: an int or None
            (fixed values), or a `keras.random.SeedGenerator` (new values on
            each call).
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.

    Example:

    >>> init = OddSigmoid(activation="tanh", activation_scale=2.0, seed=0)
    >>> init.rule((16, 16)).gain
    0.5
    >>> layer = keras.layers.Dense(
    ...     16, activation=init.activation, kernel_initializer=init)
    >>> kernel = keras.initializers.get("odd_sigmoid")(shape=(784, 16))
    """

    def __init__(
        self,
        activation="tanh",
        activation_scale: float = 1.0,
        target_depth: int = 100,
        floor: float = DEFAULT_FLOOR,
        width_margin: float = 0.0,
        gain: float | None = None,
        noise_stddev: float | None = None,
        relative_noise: float | None = None,
        seed=None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(seed=seed, input_axes=input_axes, output_axes=output_axes)
        self.activation = OddSigmoidActivation.get(activation, activation_scale)
        self.target_depth = validation.check_int("target_depth", target_depth, high=MAX_TARGET_DEPTH)
        self.floor = validation.check_in_range(
            "floor", floor, 0.0, 1.0, low_inclusive=False, high_inclusive=False
        )
        self.width_margin = validation.check_in_range("width_margin", width_margin, low=0.0)
        self.gain = None if gain is None else validation.check_positive("gain", gain)
        if noise_stddev is not None and relative_noise is not None:
            raise ValueError(
                "Pass at most one of `noise_stddev` and `relative_noise`. "
                f"Received: noise_stddev={noise_stddev!r}, "
                f"relative_noise={relative_noise!r}"
            )
        self.noise_stddev = _non_negative("noise_stddev", noise_stddev)
        self.relative_noise = _non_negative("relative_noise", relative_noise)
        # Solved here so that an impossible floor fails at construction.
        self._alpha = (
            relative_noise_for(self.activation, self.target_depth, self.floor, self.gain)
            if self.noise_stddev is None and self.relative_noise is None
            else self.relative_noise
        )

    def _relative_noise(self, fan_in: int) -> float:
        if self.width_margin == 0.0 or self.relative_noise is not None:
            return self._alpha
        floor = finite_width_floor(self.floor, self.width_margin, fan_in)
        return relative_noise_for(self.activation, self.target_depth, floor, self.gain)

    def rule(self, shape: Sequence[int]) -> NoiseRule:
        """The gain and noise used for a kernel shape.

        Args:
            shape: The Keras kernel shape.

        Returns:
            A `NoiseRule` with ``gain``, ``noise_stddev`` and
            ``relative_noise``.
        """
        return self._rule(self.view(shape))

    def _rule(self, view: shapes.MatrixView) -> NoiseRule:
        gain = self.activation.critical_scaling if self.gain is None else self.gain
        root_n = math.sqrt(view.fan_in)
        if self.noise_stddev is not None:
            return NoiseRule(gain, self.noise_stddev, self.noise_stddev * root_n / gain)
        alpha = self._relative_noise(view.fan_in)
        return NoiseRule(gain, alpha * gain / root_n, alpha)

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        rule = self._rule(view)
        rows = np.arange(view.rows)[None, :]
        cols = np.arange(view.cols)[:, None]
        # D^T[j, i] = 1 where (i - 1) mod n == j - 1: the cyclic identity,
        # built with NumPy rather than half a dozen backend dispatches.
        identity_t = ops.cast(ops.convert_to_tensor(rows % view.cols == cols), dtype)
        noise_t = keras.random.normal(
            (view.cols, view.rows),
            stddev=rule.noise_stddev,
            dtype=dtype,
            seed=self.seed_generator(),
        )
        return rule.gain * identity_t + noise_t

    def get_config(self) -> dict:
        activation = self.activation.get_config()
        return {
            "activation": activation["activation"],
            "activation_scale": activation["scale"],
            "target_depth": self.target_depth,
            "floor": self.floor,
            "width_margin": self.width_margin,
            "gain": self.gain,
            "noise_stddev": self.noise_stddev,
            "relative_noise": self.relative_noise,
            **super().get_config(),
        }


def _non_negative(name: str, value) -> float | None:
    return None if value is None else validation.check_in_range(name, value, low=0.0)
