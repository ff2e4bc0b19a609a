"""OUI, the Overfitting-Underfitting Indicator (Fernandez-Hernandez et al. 2025).

The *activation pattern* of a sample in a layer is the binary vector
``Z > 0`` over the layer's pre-activations, all non-batch axes flattened (a
Conv layer's pattern covers every position and channel, as in the
authors' implementation). For two samples, ``d`` is the Hamming distance of
their patterns. With ``w`` the pattern length and the cap ``c = w // 2``
(half the layer width, rounded down as in the authors' code),

``OUI = mean over sample pairs of min(d, c) / c``,

a value in ``[0, 1]``: 0 when all samples switch the same units on, 1 when
every pair differs on at least half the units (as independent random
patterns do on average).

**Pairs.** ``num_pairs=None`` averages over all ``N (N - 1) / 2`` pairs of
the ``N`` samples, exactly (``O(N^2 w)`` work, through one matrix product
per block of rows). An integer draws that many pairs uniformly, with
replacement, among pairs of distinct samples, from
``numpy.random.default_rng(seed)``: the same seed gives the same pairs, so
values at different epochs compare like with like.

Example:

>>> import numpy as np
>>> z = np.array([[1.0, 1.0, -1.0, -1.0],
...               [1.0, -1.0, 1.0, -1.0],
...               [1.0, 1.0, -1.0, -1.0]])
>>> oui(z)   # distances 2, 0, 2; cap 2
0.6666666666666666
"""

from __future__ import annotations

import numpy as np
from keras import ops

from keras_detinit import validation
from keras_detinit.diagnostics import balance as balance_lib

# Rows of the Gram matrix computed at once by the exact all-pairs path.
_BLOCK_ROWS = 1024


def activation_patterns(z) -> np.ndarray:
    """Binary patterns ``Z > 0``, one row per sample, as a bool matrix."""
    values = np.asarray(ops.convert_to_numpy(z))
    if values.ndim < 2:
        raise ValueError(
            "`z` must have at least 2 axes (samples, ...). "
            f"Received: shape={values.shape}"
        )
    return values.reshape(values.shape[0], -1) > 0


def oui(z, num_pairs: int | None = None, seed: int = 0) -> float:
    """The OUI of a layer over a batch.

    Args:
        z: Pre-activations of shape ``(samples, ...)``, >= 2 samples and a
            pattern of >= 2 entries.
        num_pairs: None for all pairs (exact), or the number of pairs to
            sample (>= 1); see the module docstring.
        seed: Seed of the pair sampling (>= 0); unused when exact.

    Returns:
        The OUI in ``[0, 1]``; NaN, with a `RuntimeWarning`, if ``z`` holds
        NaN or infinite values.

    Raises:
        ValueError: For too few samples or units, or invalid arguments.
    """
    values = np.asarray(ops.convert_to_numpy(z))
    patterns = activation_patterns(values)
    samples, width = patterns.shape
    if samples < 2 or width < 2:
        raise ValueError(
            "OUI needs at least 2 samples and a pattern of at least 2 units. "
            f"Received: {samples} samples of {width} units"
        )
    if not np.isfinite(values).all():
        return balance_lib.non_finite_result("oui")
    cap = width // 2
    if num_pairs is None:
        return _all_pairs_capped_sum(patterns, cap) / (cap * samples * (samples - 1) / 2)
    num_pairs = validation.check_int("num_pairs", num_pairs, low=1)
    seed = validation.check_int("seed", seed, low=0)
    first, second = sample_pairs(samples, num_pairs, seed)
    distances = np.count_nonzero(patterns[first] != patterns[second], axis=1)
    return float(np.mean(np.minimum(distances, cap)) / cap)


def sample_pairs(samples: int, num_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded uniform pairs ``(i, j)`` of distinct sample indices.

    ``j = (i + k) mod samples`` with ``k`` uniform in ``1 .. samples - 1``
    makes every ordered pair of distinct samples equally likely, hence every
    unordered pair too.
    """
    rng = np.random.default_rng(seed)
    first = rng.integers(0, samples, size=num_pairs)
    second = (first + rng.integers(1, samples, size=num_pairs)) % samples
    return first, second


def _all_pairs_capped_sum(patterns: np.ndarray, cap: int) -> float:
    """Sum over ``i < j`` of ``min(hamming(i, j), cap)``, exactly."""
    # 0/1 products summed in float32 are exact below 2**24 units.
    ones = patterns.astype(np.float32)
    counts = ones.sum(axis=1)
    total = 0.0
    for start in range(0, len(ones), _BLOCK_ROWS):
        block = ones[start : start + _BLOCK_ROWS]
        # |a xor b| = |a| + |b| - 2 <a, b> for binary vectors.
        distances = counts[start : start + len(block), None] + counts[None, :]
        distances -= 2.0 * (block @ ones.T)
        rows = np.arange(start, start + len(block))[:, None]
        upper = np.arange(len(ones))[None, :] > rows
        total += float(np.minimum(distances, cap)[upper].sum(dtype=np.float64))
    return total
