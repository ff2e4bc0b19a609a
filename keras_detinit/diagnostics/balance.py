"""Activation balance of units: P(Z > 0), skewed, dead and always-active units.

A unit is *active* on a sample when its pre-activation ``Z`` is positive
(for ReLU-like activations, exactly when its output is positive). Over a
batch, a unit's *balance* estimates ``P(Z > 0)``. Definition 1 of
"Sinusoidal Initialization, Time for a New Start" calls a unit *skewed with
degree alpha* when ``|P(Z > 0) - 1/2| > alpha``, ``alpha`` in ``(0, 1/2)``.

**Layout.** Every function takes a layer's pre-activations ``z`` and the
``axis`` that holds the units (default ``-1``: Dense units, channels-last
Conv channels). All other axes count as samples, so a Conv layer's spatial
positions are samples of each channel. Use ``axis=1`` for channels-first.

**Two estimates of P(Z > 0).**

* ``"empirical"`` (the default): the fraction of samples with ``Z > 0``.
  It is Definition 1 applied to the batch, with no assumption on the law
  of ``Z``; its standard error is at most ``0.5 / sqrt(samples)``.
* ``"gaussian"``: ``Phi(mu / sigma)`` from the unit's batch mean ``mu`` and
  standard deviation ``sigma``, the normal approximation that the proof of
  Theorem 1 (appendix B.1) uses. It varies smoothly with the weights and is
  less noisy on small batches, but is biased whenever ``Z`` is not close to
  normal (deep layers, few inputs, rectified inputs of small fan-in). A
  unit with ``sigma = 0`` is constant: its balance is 1 if ``mu > 0``
  else 0.

The empirical estimate is the default because it measures the definition
itself; the Gaussian one is a model of it.

Inputs may be backend tensors or arrays; they are converted to NumPy and
every result is NumPy (or a Python float).

**Non-finite values.** A unit with a NaN or infinite pre-activation (a
diverged model) has no balance: it is NaN, and every fraction over a layer
holding such a unit is NaN, with a `RuntimeWarning`, never a count that
would read as dead or skewed units.

Example:

>>> import numpy as np
>>> z = np.array([[1.0, -1.0], [2.0, -3.0], [-1.0, -2.0], [0.5, 4.0]])
>>> activation_balance(z)
array([0.75, 0.25])
>>> skewed_fraction(z, alpha=0.2)
1.0
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from keras import ops

from keras_detinit import validation

METHODS = ("empirical", "gaussian")


def unit_samples(z, axis: int = -1) -> np.ndarray:
    """Return ``z`` as a NumPy matrix of shape ``(samples, units)``.

    Args:
        z: Pre-activations with at least two axes (tensor or array).
        axis: The axis holding the units; every other axis holds samples.

    Returns:
        The values with the unit axis moved last and the rest flattened.

    Raises:
        ValueError: If ``z`` has fewer than two axes or no samples, or
            ``axis`` is out of range.
    """
    values = np.asarray(ops.convert_to_numpy(z))
    if values.ndim < 2:
        raise ValueError(
            "`z` must have at least 2 axes (samples, ..., units). "
            f"Received: shape={values.shape}"
        )
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(
            f"`axis` must be in [{-values.ndim}, {values.ndim - 1}] for `z` of "
            f"shape {values.shape}. Received: axis={axis}"
        )
    values = np.moveaxis(values, axis, -1)
    matrix = values.reshape(-1, values.shape[-1])
    if matrix.shape[0] == 0:
        raise ValueError(f"`z` has no samples. Received: shape={values.shape}")
    return matrix


def activation_balance(z, axis: int = -1) -> np.ndarray:
    """Empirical ``P(Z > 0)`` of every unit over the batch.

    Args:
        z: Pre-activations; see the module docstring for the layout.
        axis: The axis holding the units.

    Returns:
        A float64 array with one value in ``[0, 1]`` per unit.
    """
    samples = unit_samples(z, axis)
    balance = np.mean(samples > 0, axis=0, dtype=np.float64)
    return _undefined_where_non_finite(balance, samples)


def gaussian_balance(z, axis: int = -1) -> np.ndarray:
    """Normal approximation ``Phi(mu / sigma)`` of every unit's ``P(Z > 0)``.

    Args:
        z: Pre-activations; see the module docstring for the layout.
        axis: The axis holding the units.

    Returns:
        A float64 array with one value in ``[0, 1]`` per unit; constant
        units (``sigma = 0``) get 1 if their value is positive, else 0.
    """
    matrix = unit_samples(z, axis).astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: the unit turns NaN below
        mean = matrix.mean(axis=0)
        std = matrix.std(axis=0)
    constant = std == 0
    ratio = mean / np.where(constant, 1.0, std)
    # Phi through the backend's erf: NumPy has none, and float32 is far finer
    # than any alpha of interest.
    cdf = 0.5 * (1.0 + ops.convert_to_numpy(ops.erf(ratio / math.sqrt(2.0))))
    balance = np.where(constant, (mean > 0).astype(np.float64), cdf)
    return _undefined_where_non_finite(balance, matrix)


def estimate_balance(z, method: str = "empirical", axis: int = -1) -> np.ndarray:
    """Per-unit ``P(Z > 0)`` by ``method``, ``"empirical"`` or ``"gaussian"``."""
    validation.check_choice("method", method, METHODS)
    if method == "gaussian":
        return gaussian_balance(z, axis)
    return activation_balance(z, axis)


def check_alpha(alpha) -> float:
    """Return ``alpha`` as a float if it lies in ``(0, 1/2)``, else raise."""
    return validation.check_in_range(
        "alpha", alpha, low=0.0, high=0.5, low_inclusive=False, high_inclusive=False
    )


def skewed_units(unit_balance, alpha: float) -> np.ndarray:
    """Definition 1 on given balances: ``|P(Z > 0) - 1/2| > alpha``.

    Args:
        unit_balance: Per-unit ``P(Z > 0)`` (e.g. from `activation_balance`).
        alpha: Skewness degree in ``(0, 1/2)``.

    Returns:
        A boolean array, True for skewed units.

    Raises:
        ValueError: If ``alpha`` is not in ``(0, 1/2)``.
    """
    alpha = check_alpha(alpha)
    return np.abs(np.asarray(unit_balance, dtype=np.float64) - 0.5) > alpha


def skewed_fraction(z, alpha: float, method: str = "empirical", axis: int = -1) -> float:
    """Fraction of a layer's units that are skewed with degree ``alpha``.

    Args:
        z: Pre-activations; see the module docstring for the layout.
        alpha: Skewness degree in ``(0, 1/2)``; 0.3 means beyond 80%-20%.
        method: ``"empirical"`` (default) or ``"gaussian"``.
        axis: The axis holding the units.

    Returns:
        The fraction in ``[0, 1]``.

    Raises:
        ValueError: If ``alpha`` is not in ``(0, 1/2)`` or ``method`` unknown.
    """
    alpha = check_alpha(alpha)
    balance = estimate_balance(z, method, axis)
    return _fraction(skewed_units(balance, alpha), balance, "skewed_fraction")


def dead_fraction(z, axis: int = -1) -> float:
    """Fraction of units never active (``Z <= 0`` on every sample)."""
    balance = activation_balance(z, axis)
    return _fraction(balance == 0.0, balance, "dead_fraction")


def always_active_fraction(z, axis: int = -1) -> float:
    """Fraction of units active (``Z > 0`` on every sample)."""
    balance = activation_balance(z, axis)
    return _fraction(balance == 1.0, balance, "always_active_fraction")


def non_finite_result(what: str) -> float:
    """Warn that ``what`` met NaN or infinite pre-activations; return NaN."""
    warnings.warn(
        f"{what}: the pre-activations hold NaN or infinite values (a diverged "
        "model or probe batch?); the result is NaN.", RuntimeWarning, stacklevel=3)
    return math.nan


def _fraction(flags: np.ndarray, balance: np.ndarray, what: str) -> float:
    if np.isnan(balance).any():
        return non_finite_result(what)
    return float(np.mean(flags))


def _undefined_where_non_finite(balance: np.ndarray, samples: np.ndarray) -> np.ndarray:
    # A NaN sample has no sign; an infinite one means the unit diverged.
    return np.where(np.isfinite(samples).all(axis=0), balance, np.nan)
