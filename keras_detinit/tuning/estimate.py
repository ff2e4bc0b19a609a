"""The optimal-variance estimate as a search option, and the tuned sigma0 beside it.

`keras_detinit.sigma0.optimal_sigma0` estimates, from a few short pilot
trainings, the ``sigma0`` at which the initialization variance equals the
steady-state mean squared weight (Horii and Has' optimal condition
``sigma0^2 = V``). `sigma0_range` centres a search's ``sigma0`` range on
that estimate; `compare_sigma0` says where the best Gaussian trial fell
relative to it, as a ratio: a ratio near 1 means the search agrees with
the condition.

Example:

>>> sigma0_range(0.15)
LogRange(low=0.015, high=1.5)
>>> records = [TrialRecord("3", "COMPLETED", 0.9,
...                        {"initializer": "gaussian", "sigma0": 0.12}, rank=1)]
>>> compare_sigma0(records, 0.15)
'Best gaussian trial 3: sigma0=0.12, 0.8 x the optimal_sigma0 estimate 0.15.'
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

from keras_detinit.sigma0 import Sigma0Search
from keras_detinit.tuning.results import TrialRecord
from keras_detinit.tuning.schemes import LogRange

#: Each bound of `sigma0_range` by default: a decade either side of the
#: estimate, two decades in all (the Gaussian scheme's default range spans
#: three, [1e-3, 1]).
DEFAULT_FACTOR = 10.0


def sigma0_range(estimate: float | Sigma0Search, factor: float = DEFAULT_FACTOR) -> LogRange:
    """The ``sigma0`` search range centred (log scale) on an estimate.

    Args:
        estimate: An ``optimal_sigma0`` result (its ``sigma0``) or a number,
            finite and > 0.
        factor: Each bound's ratio to the estimate, > 1: the range is
            ``[estimate / factor, estimate * factor]``.

    Returns:
        The `LogRange`, for ``ranges={"sigma0": ...}``.

    Raises:
        ValueError: If the estimate is not finite and > 0 (a diverged
            ``optimal_sigma0`` search returns NaN), or ``factor <= 1``.
    """
    return LogRange.around(_check_estimate(estimate), factor)


def compare_sigma0(
    records: Sequence[TrialRecord], estimate: float | Sigma0Search
) -> str:
    """One line: the best Gaussian trial's ``sigma0`` relative to ``estimate``.

    Args:
        records: A search's trials, as `keras_detinit.tuning.collect_records`
            returns them (ranked).
        estimate: The ``optimal_sigma0`` estimate (a number or its
            result), finite and > 0.

    Returns:
        The line; it says so when no Gaussian trial completed.
    """
    estimate = _check_estimate(estimate)
    ranked = sorted(
        (r for r in records if r.rank is not None and "sigma0" in r.hyperparameters),
        key=lambda r: r.rank,
    )
    if not ranked:
        return (
            f"No completed trial has a sigma0 to compare with the optimal_sigma0 "
            f"estimate {estimate:.4g}."
        )
    best = ranked[0]
    sigma0 = best.hyperparameters["sigma0"]
    return (
        f"Best {best.hyperparameters.get('initializer', 'gaussian')} trial "
        f"{best.trial_id}: sigma0={sigma0:.4g}, {sigma0 / estimate:.3g} x the "
        f"optimal_sigma0 estimate {estimate:.4g}."
    )


def _check_estimate(estimate) -> float:
    value = estimate.sigma0 if isinstance(estimate, Sigma0Search) else estimate
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        math.isfinite(value) and value > 0
    ):
        raise ValueError(
            "`estimate` must be a finite sigma0 > 0 (or an optimal_sigma0 "
            "result holding one; a diverged search holds NaN). Received: "
            f"estimate={value!r}"
        )
    return float(value)
