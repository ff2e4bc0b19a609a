"""A progress line with a bar, the elapsed time and an ETA.

The ETA weights the remaining work by each configuration's relative cost,
so a run mixing cheap and expensive configurations estimates fairly. One
line is printed per finished run, which reads well in a terminal and in a
log file alike.

Example:

>>> bar = ProgressBar(total_cost=4.0, total_runs=4, clock=iter([0, 10]).__next__)
>>> bar.advance(1.0, "first run")  # doctest: +NORMALIZE_WHITESPACE
'[#####...............]  25%  1/4  elapsed 10s  ETA 30s  first run'
"""

from __future__ import annotations

import sys
import time
from typing import Callable

BAR_WIDTH = 20


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1m15s"``, ``3700`` -> ``"1h01m"``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


class ProgressBar:
    """Counts finished runs and estimates the time left.

    Args:
        total_cost: Summed cost of the runs still to do when it starts.
        total_runs: Number of runs still to do when it starts.
        clock: Seconds since some origin (for tests); `time.perf_counter`.
        stream: Where to print; ``None`` prints nothing (`advance` still
            returns the line).
    """

    def __init__(self, total_cost: float, total_runs: int,
                 clock: Callable[[], float] = time.perf_counter, stream=None):
        self.total_cost = max(float(total_cost), 1e-12)
        self.total_runs = total_runs
        self.clock = clock
        self.stream = stream
        self.start = clock()
        self.done_cost = 0.0
        self.done_runs = 0

    def advance(self, cost: float, label: str) -> str:
        """Record a finished run of ``cost`` and print the progress line."""
        self.done_cost += cost
        self.done_runs += 1
        elapsed = self.clock() - self.start
        fraction = min(self.done_cost / self.total_cost, 1.0)
        remaining = elapsed * (1.0 - fraction) / max(fraction, 1e-12)
        filled = int(round(BAR_WIDTH * fraction))
        line = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * fraction:3.0f}%  "
            f"{self.done_runs}/{self.total_runs}  elapsed {format_duration(elapsed)}  "
            f"ETA {format_duration(remaining)}  {label}"
        )
        if self.stream is not None:
            print(line, file=self.stream, flush=True)
        return line


def stderr_progress(total_cost: float, total_runs: int) -> ProgressBar:
    """A `ProgressBar` printing to standard error."""
    return ProgressBar(total_cost, total_runs, stream=sys.stderr)
