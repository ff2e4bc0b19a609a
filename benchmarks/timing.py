"""The one timing protocol of the benchmark scripts.

Every benchmark times its candidates side by side in one process:

1. **Warm-up.** Each candidate first runs ``warmup`` times untimed, so
   tracing, compilation, kernel selection and the allocator's first requests
   are not counted as if they were the steady cost.
2. **Interleaving.** Then the candidates run in turn, ``repeats`` rounds, so
   a change of machine load during the run touches all of them alike and
   their ratios compare like with like.
3. **Summary.** Each candidate keeps all its timed runs; the best (the run
   least disturbed by other load) and the median (what a user typically
   sees) are both reported, and ratios are given for both.

Example:

>>> timings = time_side_by_side(
...     {"short": lambda: sum(range(10)), "long": lambda: sum(range(10**5))},
...     repeats=3,
... )
>>> len(timings["long"].runs)
3
>>> timings["short"].best <= timings["short"].median
True
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from typing import Callable

import keras
from keras import ops

from keras_detinit import reporting
from keras_detinit import validation


@dataclasses.dataclass(frozen=True)
class Timing:
    """The timed runs of one candidate, in seconds.

    Attributes:
        runs: The seconds of each timed run, in the order they ran (warm-up
            runs excluded).
    """

    runs: tuple[float, ...]

    @property
    def best(self) -> float:
        """The shortest run: the one least disturbed by other load."""
        return min(self.runs)

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.runs)

    def ratio(self, reference: Timing) -> dict[str, float]:
        """This candidate's best and median over those of ``reference``."""
        return {
            "best": self.best / reference.best,
            "median": self.median / reference.median,
        }

    def summary(self, digits: int = 4) -> dict:
        """Best, median and every run, to ``digits`` significant digits."""
        return {
            "best_s": _significant(self.best, digits),
            "median_s": _significant(self.median, digits),
            "runs_s": [_significant(seconds, digits) for seconds in self.runs],
        }


def materialize(value) -> None:
    """Wait until the backend tensors in ``value`` are computed.

    Reading one element of each tensor back waits for the whole computation
    that produced it (backends may dispatch asynchronously) without timing a
    copy of all of it. Anything else (NumPy arrays, numbers, ``None``) is
    already there.

    Args:
        value: A tensor, or a nested structure holding tensors.
    """
    for leaf in keras.tree.flatten(value):
        if ops.is_tensor(leaf):
            ops.convert_to_numpy(ops.reshape(leaf, (-1,))[:1])


def wall_seconds(run: Callable[[], object]) -> float:
    """Wall time of one call of ``run``, until its result is computed."""
    start = time.perf_counter()
    materialize(run())
    return time.perf_counter() - start


def time_side_by_side(
    candidates: dict[str, Callable[[], object]],
    repeats: int = 7,
    warmup: int = 1,
    measure: Callable[[Callable[[], object]], float] = wall_seconds,
) -> dict[str, Timing]:
    """Time each candidate, warm-up first, then interleaved.

    Args:
        candidates: Name -> zero-argument callable; by default each call is
            timed until the tensor it returns is computed.
        repeats: Timed runs per candidate, at least 1.
        warmup: Untimed runs per candidate before any timed one, at least 0.
        measure: Turns one call of a candidate into seconds. The default,
            `wall_seconds`, times the whole call; a candidate that times a
            part of its own work (e.g. one epoch inside ``fit``) returns those
            seconds and is measured with ``measure=lambda run: run()``.

    Returns:
        Name -> `Timing`, in the order of ``candidates``.

    Raises:
        ValueError: If ``candidates`` is empty, or ``repeats`` or ``warmup``
            is out of range.
    """
    if not candidates:
        raise ValueError("`candidates` must name at least one callable to time.")
    validation.check_int("repeats", repeats, low=1)
    validation.check_int("warmup", warmup, low=0)
    for _ in range(warmup):
        for run in candidates.values():
            measure(run)
    runs = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            runs[name].append(float(measure(run)))
    return {name: Timing(tuple(seconds)) for name, seconds in runs.items()}


def add_timing_arguments(
    parser: argparse.ArgumentParser, repeats: int, warmup: int, unit: str = "call"
) -> None:
    """Add ``--repeats`` and ``--warmup`` to a benchmark's command line."""
    parser.add_argument("--repeats", type=int, default=repeats,
                        help=f"timed {unit}s per candidate (default: {repeats})")
    parser.add_argument("--warmup", type=int, default=warmup,
                        help=f"untimed {unit}s per candidate first (default: {warmup})")


def describe_timing(repeats: int, warmup: int) -> dict:
    """How a result is timed, on which machine, and its load at the start."""
    return {
        "repeats": repeats,
        "warmup": warmup,
        "order": "interleaved",
        "machine": reporting.describe_machine(),
        "load_average_1_5_15_min": [round(load, 2) for load in os.getloadavg()],
    }


def timing_note(record: dict, unit: str = "call") -> str:
    """One sentence for a report from a `describe_timing` record."""
    return (
        f"Timed side by side: {record['warmup']} warm-up {unit}(s) each, then "
        f"{record['repeats']} interleaved {unit}s each; best and median of those. "
        f"{record['machine']}; load average (1, 5, 15 min) at the start "
        f"{record['load_average_1_5_15_min']}."
    )


def describe_backend() -> str:
    """Backend name and version, e.g. ``"jax 0.10.2"``."""
    name = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(name)
    version = getattr(__import__(module), "__version__", "?") if module else "?"
    return f"{name} {version}"


def _significant(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")
