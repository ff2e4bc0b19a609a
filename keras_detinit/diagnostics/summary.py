"""All diagnostics of one layer's pre-activations, as named numbers.

`layer_summary` is what `keras_detinit.callbacks.SkewnessCallback` logs per
layer and what the Table 1 reproduction reports. Metric names:

* ``skewed_<alpha>``: fraction of units skewed with degree ``alpha``
  (Definition 1), one per alpha, e.g. ``skewed_0.1``; ``alpha`` is written
  with Python's ``g`` format.
* ``oui``: the OUI of the layer (`keras_detinit.diagnostics.oui`); NaN
  for a layer whose pattern has a single unit, where it is undefined.
* ``dead``: fraction of units never active on the batch.
* ``always_active``: fraction of units active on every sample.

A layer whose pre-activations hold NaN or infinite values (a diverged
model) gets NaN for every metric, with a `RuntimeWarning`: it is neither
dead nor skewed, it has no pattern to measure.

Example:

>>> import numpy as np
>>> z = np.array([[1.0, -1.0], [2.0, -3.0], [-1.0, -2.0], [0.5, 4.0]])
>>> layer_summary(z, alphas=(0.1,), oui_pairs=None)
{'skewed_0.1': 1.0, 'oui': 0.8333333333333334, 'dead': 0.0, 'always_active': 0.0}
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from keras import ops

from keras_detinit.diagnostics import balance as balance_lib
from keras_detinit.diagnostics.oui import oui


def skewed_key(alpha: float) -> str:
    """Metric name of the skewed fraction at ``alpha``, e.g. ``skewed_0.1``."""
    return f"skewed_{balance_lib.check_alpha(alpha):g}"


def metric_names(alphas: Sequence[float]) -> list[str]:
    """The metric names `layer_summary` returns, in order."""
    return [skewed_key(alpha) for alpha in alphas] + ["oui", "dead", "always_active"]


def layer_summary(
    z,
    alphas: Sequence[float] = (0.1, 0.3),
    method: str = "empirical",
    oui_pairs: int | None = 4096,
    seed: int = 0,
    axis: int = -1,
    name: str = "layer_summary",
) -> dict[str, float]:
    """Skewed fractions, OUI, dead and always-active fractions of a layer.

    Args:
        z: The layer's pre-activations, units on ``axis``.
        alphas: Skewness degrees, each in ``(0, 1/2)``.
        method: Estimate of ``P(Z > 0)`` for the skewed fractions,
            ``"empirical"`` (default) or ``"gaussian"``. Dead and
            always-active units are always counted on the batch itself.
        oui_pairs: Sample pairs for the OUI (None: all pairs).
        seed: Seed of the OUI's pair sampling.
        axis: The axis holding the units.
        name: What the warning about non-finite values names, e.g. the layer.

    Returns:
        Metric name -> value, in the order of `metric_names`; all NaN if
        ``z`` holds a NaN or infinite value.
    """
    z = np.asarray(ops.convert_to_numpy(z))
    if not np.isfinite(z).all():
        undefined = balance_lib.non_finite_result(name)
        return dict.fromkeys(metric_names(alphas), undefined)
    observed = balance_lib.activation_balance(z, axis)
    estimate = observed if method == "empirical" else balance_lib.estimate_balance(z, method, axis)
    summary = {
        skewed_key(alpha): float(np.mean(balance_lib.skewed_units(estimate, alpha)))
        for alpha in alphas
    }
    width = int(np.prod(np.shape(z)[1:]))
    summary["oui"] = oui(z, num_pairs=oui_pairs, seed=seed) if width >= 2 else math.nan
    summary["dead"] = float(np.mean(observed == 0.0))
    summary["always_active"] = float(np.mean(observed == 1.0))
    return summary
