"""The statistic ``S`` of every unit and the threshold of Theorem 1.

For a unit with incoming weights ``W_1 .. W_n``, ``S = W_1 + ... + W_n``.
Theorem 1 of "Sinusoidal Initialization, Time for a New Start": with i.i.d.
zero-mean weights of standard deviation ``theta`` and i.i.d. inputs of mean
``mu > 0`` and standard deviation ``sigma``, as ``n`` grows the unit is
skewed with degree ``alpha`` if and only if ``|S| > lambda_n(alpha)``, with
probability tending to one, where

``lambda_n(alpha) = theta * sigma * sqrt(n) / mu * Phi^{-1}(1/2 + alpha)``.

The reason: given the weights, ``Z = sum W_i X_i`` is nearly normal with
mean ``mu S`` and standard deviation ``sigma sqrt(sum W_i^2)``, so
``P(Z > 0) ~ Phi(mu S / (theta sigma sqrt(n)))``.

Example:

>>> import numpy as np
>>> kernel = np.array([[1.0, -2.0], [0.5, 3.0], [-0.5, 1.0]])  # Dense (3, 2)
>>> statistic_s(kernel)
array([1., 2.])
>>> round(skewness_threshold(0.3, fan_in=4, weight_std=1.0,
...                          input_mean=1.0, input_std=1.0), 4)
1.6832
"""

from __future__ import annotations

import math
import statistics

import numpy as np
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.diagnostics.balance import check_alpha


def statistic_s(kernel) -> np.ndarray:
    """``S``, the sum of each unit's incoming weights, for any kernel.

    The kernel is read as the paper's ``(m, n)`` matrix through
    `keras_detinit.shapes.kernel_to_matrix`, so a Conv unit (output channel)
    sums over its whole receptive field and all input channels.

    Args:
        kernel: A Keras kernel (tensor, variable or array), at least 2-D.

    Returns:
        A float64 array of shape ``(m,)``, one ``S`` per unit.
    """
    matrix = np.asarray(ops.convert_to_numpy(shapes.kernel_to_matrix(kernel)))
    return matrix.astype(np.float64).sum(axis=1)


def skewness_threshold(
    alpha: float,
    fan_in: int,
    weight_std: float,
    input_mean: float,
    input_std: float,
) -> float:
    """``lambda_n(alpha)`` of Theorem 1.

    Args:
        alpha: Skewness degree in ``(0, 1/2)``.
        fan_in: ``n``, the number of inputs of the unit, >= 1.
        weight_std: ``theta`` > 0, the standard deviation of the weights.
        input_mean: ``mu`` != 0, the common mean of the inputs (the theorem
            states ``mu > 0``; its general form, Theorem 4, allows any
            nonzero mean, and the threshold uses ``|mu|``).
        input_std: ``sigma`` > 0, the standard deviation of the inputs.

    Returns:
        The threshold on ``|S|``.

    Raises:
        ValueError: If an argument is outside its range.
    """
    alpha = check_alpha(alpha)
    fan_in = validation.check_int("fan_in", fan_in, low=1)
    weight_std = validation.check_positive("weight_std", weight_std)
    input_std = validation.check_positive("input_std", input_std)
    input_mean = validation.check_in_range("input_mean", input_mean)
    if input_mean == 0.0:
        raise ValueError(
            "`input_mean` must be nonzero: with centred inputs S does not "
            "govern skewness (Theorem 1 needs mu > 0). Received: input_mean=0.0"
        )
    quantile = statistics.NormalDist().inv_cdf(0.5 + alpha)
    return weight_std * input_std * math.sqrt(fan_in) / abs(input_mean) * quantile


def predicted_skewed(
    kernel,
    alpha: float,
    input_mean: float,
    input_std: float,
    weight_std: float | None = None,
) -> np.ndarray:
    """Theorem 1's prediction ``|S| > lambda_n(alpha)`` for every unit.

    Args:
        kernel: A Keras kernel, at least 2-D.
        alpha: Skewness degree in ``(0, 1/2)``.
        input_mean: Mean ``mu`` of the layer's inputs, nonzero.
        input_std: Standard deviation ``sigma`` of the inputs, > 0.
        weight_std: ``theta``; default: the standard deviation of all the
            kernel's entries (its estimate for an i.i.d. initializer).

    Returns:
        A boolean array of shape ``(m,)``, True where the theorem predicts a
        skewed unit.
    """
    matrix = np.asarray(ops.convert_to_numpy(shapes.kernel_to_matrix(kernel)))
    if weight_std is None:
        weight_std = float(np.std(matrix.astype(np.float64)))
    threshold = skewness_threshold(
        alpha, matrix.shape[1], weight_std, input_mean, input_std
    )
    return np.abs(statistic_s(kernel)) > threshold
