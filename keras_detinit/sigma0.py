"""Search the Gaussian initialization scale sigma0 of Horii and Has.

Their optimal condition is ``sigma0^2 = V``: the initialization variance
equals the steady-state mean squared weight ``V(W) = E[||W||^2] / K``
reached by SGD. Neither side is known before training, and the paper leaves
"algorithms that actively search for the optimal initialization variance"
open. `optimal_sigma0` answers with short *pilot* trainings: each pilot
initializes the model with ``keras.initializers.RandomNormal(stddev=sigma0)``,
trains it, and reads the ratio ``r(sigma0) = V(W, T) / sigma0^2`` at the end
with `keras_detinit.callbacks.WeightVarianceCallback`. The paper observes
``r > 1`` for small ``sigma0`` and ``r < 1`` for large ones; the estimate is
the crossing ``r = 1``, found by

* ``method="bisection"`` (default): pilots at both bounds must bracket the
  crossing; then bisection in ``log sigma0``, and the estimate is the
  log-log interpolation of ``r`` between the final bracket;
* ``method="fixed_point"``: ``sigma0 <- sqrt(V(W, T))`` from the geometric
  mean of the bounds, kept inside them; it converges where the map
  ``sigma0 -> sqrt(V)`` contracts.

Both stop when ``|r - 1| <= tolerance`` or after ``max_pilots`` pilots.
Every pilot starts from ``keras.utils.set_random_seed(seed)``, so a search
is deterministic given its seed. `ratio_crossings` reads the same crossing
off a grid of trainings, e.g. one per seed of a sweep.

The model should emit logits and its loss take them (as
`keras_detinit.models.build_ffnn` and `keras_detinit.protocol` do): JAX
and PyTorch clip softmax probabilities at 1e-7 in the cross-entropy, so a
softmax output trains, and moves ``V``, differently per backend.

Example:

>>> def build(initializer):
...     model = keras_detinit.models.build_ffnn(
...         (28, 28), [256, 128], 10, kernel_initializer=initializer)
...     model.compile(optimizer=keras.optimizers.SGD(0.01),
...                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
...     return model
>>> result = optimal_sigma0(build, x, y, lower=0.05, upper=0.5,
...                         epochs=5)  # doctest: +SKIP
>>> result.sigma0, [p.ratio for p in result.trace]  # doctest: +SKIP
>>> ratio_crossings([0.1, 0.2, 0.4], [1.2, 0.9, 0.8])  # from a grid instead
[0.1551...]
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Callable
from typing import Sequence

import keras

from keras_detinit import protocol as protocols
from keras_detinit import validation
from keras_detinit.callbacks.weight_variance import OVERALL
from keras_detinit.callbacks.weight_variance import WeightVarianceCallback

METHODS = ("bisection", "fixed_point")


@dataclasses.dataclass(frozen=True)
class Pilot:
    """One pilot training.

    Attributes:
        sigma0: The initialization's standard deviation.
        v: ``V(W, T)``, the mean squared kernel weight after training.
        ratio: ``v / sigma0^2``.
        loss: The last epoch's training loss.
    """

    sigma0: float
    v: float
    ratio: float
    loss: float


@dataclasses.dataclass(frozen=True)
class Sigma0Search:
    """The result of `optimal_sigma0`.

    Attributes:
        sigma0: The estimate of the ``sigma0`` with ``V / sigma0^2 = 1``.
        method: ``"bisection"`` or ``"fixed_point"``.
        converged: Whether a pilot met the tolerance (bisection: or the
            bracket became narrower than it).
        bracketed: Whether the pilots found ``r > 1`` below and ``r < 1``
            above the estimate. If not, ``sigma0`` is the pilot with the
            ratio closest to 1, at a bound.
        trace: Every pilot, in the order run.

    A pilot that diverges (NaN or infinite ``V`` or loss) ends the search:
    ``sigma0`` is then NaN, ``converged`` and ``bracketed`` are False, and
    a `RuntimeWarning` names the pilot.
    """

    sigma0: float
    method: str
    converged: bool
    bracketed: bool
    trace: tuple[Pilot, ...]


def gaussian_initializer(sigma0: float | None, seed: int) -> keras.initializers.Initializer:
    """``N(0, sigma0^2)`` (He normal for ``sigma0=None``), one draw per layer.

    A seed generator gives every layer its own draw, reproducibly.
    """
    generator = keras.random.SeedGenerator(seed)
    if sigma0 is None:
        return keras.initializers.HeNormal(seed=generator)
    return keras.initializers.RandomNormal(stddev=sigma0, seed=generator)


def train_watched(
    build_model: Callable[[keras.initializers.Initializer], keras.Model],
    data,
    sigma0: float | None,
    seed: int,
    protocol: protocols.TrainingProtocol,
    log_initial: bool = True,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Train from `gaussian_initializer` while watching ``V(W)``.

    Args:
        build_model: Takes a kernel initializer, returns a model (compiled
            by the protocol unless it already is).
        data: A `keras_detinit.datasets.Dataset` or an ``(x, y)`` pair.
        sigma0: The initialization's standard deviation; None for He normal.
        seed: Global seed set before building and training.
        protocol: The training protocol.
        log_initial: Also record ``V`` at initialization (epoch 0).

    Returns:
        ``(history, watched)``: the per-epoch training history, and the
        overall ``"v"`` and ``"ratio"`` curves (ratio = ``V / sigma0^2``).
    """
    keras.utils.set_random_seed(seed)
    model = build_model(gaussian_initializer(sigma0, seed))
    if model.compiled and protocols.ends_in_softmax(model):
        # An uncompiled one gets the protocol's own warning when compiled.
        warnings.warn(
            f"Model {model.name!r} ends in a softmax: unless its loss is computed from "
            "logits, V(W, t) moves differently on TensorFlow than on JAX and PyTorch. "
            "Let the output layer emit logits and compile with from_logits=True.",
            stacklevel=2)
    watch = WeightVarianceCallback(sigma0=sigma0, log_layers=False, log_initial=log_initial)
    history = protocols.train(model, data, protocol, callbacks=[watch])
    watched = {name: watch.history[f"{watch.prefix}_{OVERALL}/{name}"] for name in ("v", "ratio")}
    return history, watched


def run_pilot(
    build_model: Callable[[keras.initializers.Initializer], keras.Model],
    x,
    y,
    sigma0: float,
    epochs: int,
    batch_size: int = protocols.PAPER_PROTOCOL.batch_size,
    seed: int = 0,
) -> Pilot:
    """Train one pilot from ``N(0, sigma0^2)`` and measure ``V / sigma0^2``.

    Args:
        build_model: Takes a kernel initializer, returns a compiled model
            that emits logits (use plain SGD to match the paper).
        x: Training inputs.
        y: Training labels.
        sigma0: The initialization's standard deviation, > 0.
        epochs: Epochs of the pilot, >= 1.
        batch_size: Batch size, >= 1.
        seed: Global seed set before building and training.

    Returns:
        The `Pilot`.
    """
    sigma0 = validation.check_positive("sigma0", sigma0)
    protocol = protocols.PAPER_PROTOCOL.replace(epochs=epochs, batch_size=batch_size)
    history, watched = train_watched(build_model, (x, y), sigma0, seed, protocol,
                                     log_initial=False)
    v = watched["v"][-1]
    return Pilot(sigma0, v, v / sigma0**2, float(history["loss"][-1]))


def optimal_sigma0(
    build_model: Callable[[keras.initializers.Initializer], keras.Model],
    x,
    y,
    lower: float = 0.01,
    upper: float = 1.0,
    epochs: int = 1,
    batch_size: int = protocols.PAPER_PROTOCOL.batch_size,
    method: str = "bisection",
    max_pilots: int = 8,
    tolerance: float = 0.001,
    seed: int = 0,
    verbose: bool = False,
) -> Sigma0Search:
    """Search the ``sigma0`` whose pilot training ends at ``V = sigma0^2``.

    Args:
        build_model: Takes a kernel initializer, returns a compiled model.
        x: Training inputs of the pilots.
        y: Training labels of the pilots.
        lower: Smallest ``sigma0`` searched, > 0.
        upper: Largest ``sigma0`` searched, > ``lower``.
        epochs: Epochs per pilot, >= 1.
        batch_size: Batch size of the pilots.
        method: ``"bisection"`` or ``"fixed_point"`` (module docstring).
        max_pilots: Most pilot trainings, >= 2 for bisection.
        tolerance: Stop when ``|V / sigma0^2 - 1| <= tolerance``, > 0.
        seed: Seed of every pilot.
        verbose: Print one line per pilot.

    Returns:
        A `Sigma0Search` with the estimate and the trace.

    Raises:
        ValueError: For a non-positive bound, ``lower >= upper``, or another
            invalid argument.
    """
    lower = validation.check_positive("lower", lower)
    upper = validation.check_positive("upper", upper)
    if lower >= upper:
        raise ValueError(
            f"`lower` must be below `upper`. Received: lower={lower}, upper={upper}"
        )
    method = validation.check_choice("method", method, METHODS)
    max_pilots = validation.check_int("max_pilots", max_pilots, low=2 if method == "bisection" else 1)
    tolerance = validation.check_positive("tolerance", tolerance)
    validation.check_int("epochs", epochs)
    trace: list[Pilot] = []

    def pilot(sigma0: float) -> Pilot:
        result = run_pilot(build_model, x, y, sigma0, epochs, batch_size, seed)
        trace.append(result)
        if verbose:
            print(f"pilot {len(trace)}: sigma0={sigma0:.4g} V={result.v:.4g} "
                  f"V/sigma0^2={result.ratio:.4g} loss={result.loss:.4g}", flush=True)
        if not (math.isfinite(result.ratio) and math.isfinite(result.loss)):
            raise _Diverged(result)
        return result

    search = _bisection if method == "bisection" else _fixed_point
    try:
        sigma0, converged, bracketed = search(pilot, lower, upper, max_pilots, tolerance)
    except _Diverged as diverged:
        warnings.warn(
            f"optimal_sigma0: the pilot at sigma0={diverged.pilot.sigma0:.4g} diverged "
            f"(V={diverged.pilot.v}, loss={diverged.pilot.loss}); the search stops with "
            "sigma0=nan. Lower the learning rate or `upper`.", RuntimeWarning, stacklevel=2)
        return Sigma0Search(math.nan, method, False, False, tuple(trace))
    return Sigma0Search(sigma0, method, converged, bracketed, tuple(trace))


class _Diverged(Exception):
    """A pilot ended with a non-finite ``V`` or loss."""

    def __init__(self, pilot: Pilot):
        super().__init__(pilot)
        self.pilot = pilot


def _met(result: Pilot, tolerance: float) -> bool:
    return abs(result.ratio - 1.0) <= tolerance


def _bisection(pilot, lower, upper, max_pilots, tolerance):
    low, high = pilot(lower), pilot(upper)
    for result in (low, high):
        if _met(result, tolerance):
            return result.sigma0, True, True
    if not (low.ratio > 1.0 > high.ratio):
        closest = min((low, high), key=lambda p: abs(math.log(p.ratio)))
        return closest.sigma0, False, False
    for _ in range(max_pilots - 2):
        middle = pilot(math.sqrt(low.sigma0 * high.sigma0))
        if _met(middle, tolerance):
            return middle.sigma0, True, True
        low, high = (middle, high) if middle.ratio > 1.0 else (low, middle)
        if high.sigma0 / low.sigma0 - 1.0 <= tolerance:
            break
    estimate = _log_log_crossing(low.sigma0, low.ratio, high.sigma0, high.ratio)
    return estimate, high.sigma0 / low.sigma0 - 1.0 <= tolerance, True


def _fixed_point(pilot, lower, upper, max_pilots, tolerance):
    sigma0 = math.sqrt(lower * upper)
    below = above = False
    for _ in range(max_pilots):
        result = pilot(sigma0)
        below, above = below or result.ratio > 1.0, above or result.ratio < 1.0
        if _met(result, tolerance):
            return sigma0, True, True
        sigma0 = min(max(math.sqrt(result.v), lower), upper)
    return sigma0, False, below and above


def ratio_crossings(sigma0: Sequence[float], ratio: Sequence[float]) -> list[float]:
    """Where ``r = V / sigma0^2`` crosses 1 along a grid of trainings.

    Between two neighbouring grid points on opposite sides of 1 the
    crossing is interpolated linearly in ``(log sigma0, log r)``, as the
    bisection of `optimal_sigma0` does; a grid point with ``r == 1`` is a
    crossing itself. The paper's picture (``r > 1`` for small sigma0,
    ``r < 1`` for large) gives exactly one crossing; noise can give several,
    a ratio on one side of 1 throughout gives none.

    Args:
        sigma0: The grid, increasing, every value > 0.
        ratio: ``V(W, T) / sigma0^2`` at each grid point, finite and > 0.

    Returns:
        The crossings, increasing.

    Raises:
        ValueError: For grids of different lengths, a grid that does not
            increase, or a ratio that is not finite and positive.

    Example:

    >>> ratio_crossings([0.1, 0.2, 0.4], [1.2, 0.9, 0.8])
    [0.1551...]
    >>> ratio_crossings([0.1, 0.2, 0.4], [1.01, 0.99, 1.02])
    [0.1411..., 0.2525...]
    """
    sigma0 = [validation.check_positive("sigma0[...]", value) for value in sigma0]
    if len(sigma0) != len(ratio):
        raise ValueError(
            "`sigma0` and `ratio` must have one value per grid point. Received: "
            f"{len(sigma0)} sigma0 values and {len(ratio)} ratios")
    if any(high <= low for low, high in zip(sigma0, sigma0[1:])):
        raise ValueError(f"`sigma0` must increase. Received: sigma0={sigma0}")
    for value in ratio:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(
                "Every `ratio` must be finite and > 0 (a diverged run has no crossing). "
                f"Received: ratio={list(ratio)}")
    sides = [(value > 1.0) - (value < 1.0) for value in ratio]
    crossings = [s for s, side in zip(sigma0, sides) if side == 0]
    for i in range(len(sigma0) - 1):
        if sides[i] * sides[i + 1] < 0:
            crossings.append(_log_log_crossing(sigma0[i], ratio[i], sigma0[i + 1], ratio[i + 1]))
    return sorted(crossings)


def _log_log_crossing(low: float, low_ratio: float, high: float, high_ratio: float) -> float:
    # log r is close to linear in log sigma0 between neighbouring points.
    slope = math.log(high_ratio / low_ratio) / math.log(high / low)
    return low * math.exp(-math.log(low_ratio) / slope)
