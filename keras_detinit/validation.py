"""Argument checks shared by the whole package.

Every check raises a `ValueError` that names the parameter, the accepted
range and the value received. Nothing is silently clamped.

Example:

>>> check_positive("epsilon", 0.1)
0.1
>>> check_choice("mode", "fan_avg", ("fan_in", "fan_out", "fan_avg"))
'fan_avg'
"""

from __future__ import annotations

import math
import warnings
from typing import Iterable

import keras
from keras import ops

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def float_dtype(dtype: str | None) -> str:
    """Resolve a dtype argument to a floating dtype this backend can hold.

    Args:
        dtype: A dtype name or object, or None for `keras.config.floatx()`.

    Returns:
        The standardized dtype name.

    Raises:
        ValueError: If the dtype is not floating point, or the backend cannot
            represent it (e.g. float64 on JAX without ``jax_enable_x64``).
    """
    name = keras.backend.standardize_dtype(dtype or keras.config.floatx())
    if not keras.backend.is_float_dtype(name):
        raise ValueError(
            f"`dtype` must be a floating dtype, one of {FLOAT_DTYPES}. "
            f"Received: dtype={name!r}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        held = keras.backend.standardize_dtype(ops.zeros((), dtype=name).dtype)
    if held != name:
        raise ValueError(
            f"`dtype={name!r}` is not available on the "
            f"{keras.backend.backend()!r} backend as configured (it would "
            f"become {held!r}). On JAX, set JAX_ENABLE_X64=1 for float64."
        )
    return name


def check_choice(name: str, value, choices: Iterable):
    """Return ``value`` if it is one of ``choices``, else raise."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {choices}. Received: {name}={value!r}"
        )
    return value


def check_positive(name: str, value) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise."""
    return check_in_range(name, value, low=0.0, low_inclusive=False)


def check_in_range(
    name: str,
    value,
    low: float = -math.inf,
    high: float = math.inf,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float if it is finite and within the range.

    Args:
        name: Parameter name used in the error message.
        value: The value to check.
        low: Lower bound.
        high: Upper bound.
        low_inclusive: Whether ``low`` itself is accepted.
        high_inclusive: Whether ``high`` itself is accepted.

    Returns:
        ``float(value)``.

    Raises:
        ValueError: If ``value`` is not a finite real number in the range.
    """
    interval = (
        ("[" if low_inclusive else "(")
        + f"{low:g}, {high:g}"
        + ("]" if high_inclusive else ")")
    )
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(
            f"`{name}` must be a finite number in {interval}. "
            f"Received: {name}={value!r}"
        )
    above_low = number >= low if low_inclusive else number > low
    below_high = number <= high if high_inclusive else number < high
    if not (above_low and below_high):
        raise ValueError(
            f"`{name}` must be in {interval}. Received: {name}={value!r}"
        )
    return number


def check_int(name: str, value, low: int = 1, high: int | None = None) -> int:
    """Return ``value`` if it is an integer in ``[low, high]``, else raise.

    ``high=None`` sets no upper bound.
    """
    bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        raise ValueError(
            f"`{name}` must be an integer {bounds}. Received: {name}={value!r}"
        )
    return value
