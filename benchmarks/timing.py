"""Timing helpers shared by the benchmark scripts.

Initializers are timed side by side in one process, alternating between the
candidates on every repetition, and the best time of each is kept: ratios
then compare like with like on the same machine state.

Example:

>>> times = best_times({"a": lambda: sum(range(1000))}, repeats=3)
>>> sorted(times)
['a']
"""

from __future__ import annotations

import time
from typing import Callable

import keras
from keras import ops


def materialize(value) -> None:
    """Wait until a (possibly asynchronous) backend tensor is computed."""
    ops.convert_to_numpy(ops.reshape(value, (-1,))[:1])


def best_times(
    candidates: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Best wall time in seconds of each candidate, interleaved.

    Args:
        candidates: Name -> zero-argument callable returning a tensor.
        repeats: Timed calls per candidate.
        warmup: Untimed calls per candidate first (compilation, caches).

    Returns:
        Name -> best time in seconds.
    """
    for _ in range(warmup):
        for make in candidates.values():
            materialize(make())
    best = {name: float("inf") for name in candidates}
    for _ in range(repeats):
        for name, make in candidates.items():
            start = time.perf_counter()
            materialize(make())
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def describe_backend() -> str:
    """Backend name and version, e.g. ``"jax 0.10.2"``."""
    name = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(name)
    version = getattr(__import__(module), "__version__", "?") if module else "?"
    return f"{name} {version}"
