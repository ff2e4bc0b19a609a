"""How long ``keras-detinit reproduce`` will take, from measured rates.

A rate is the seconds a run takes per unit of `Experiment.cost`, over the
rows of one committed results folder
(``docs/results/reproduce/<name>/``), measured on the reference machine: a
2-core CPU. An experiment's cost grows with the work its settings ask for
(epochs, training images, depth, pilots), so a rate measured on the
``quick`` profile carries over to ``paper``: the estimate of a call is the
rate times the summed cost of its pending runs, one after another in one
process. It holds for the backend, the ``--stack`` setting and the workers
the rate was measured with (workers that share the CPU make each run
slower, so the estimate of one process high). A per-run overhead that does
not grow with the settings (tracing, compiling) makes the estimate of a
profile longer than the rate's too high, and of a shorter one too low.

`RATES` is the table of `keras_detinit.reproduce.measured_rates`, which
``python docs/scripts/estimate_rates.py`` regenerates from the committed
folders.

Example:

>>> from keras_detinit.reproduce.experiment import Experiment, Profile
>>> class Sleep(Experiment):
...     name, title, source, columns = "sleep", "Sleep", "none", ("slept",)
...     profiles = {"paper": Profile(seeds=2, settings={"sizes": [1, 3]})}
...     def configurations(self, settings):
...         return [{"size": size} for size in settings["sizes"]]
...     def measure(self, config, seed, settings, context):
...         return {"slept": config["size"]}
...     def report(self, results, settings, figures):
...         return ""
...     def cost(self, config, settings):
...         return config["size"]
>>> experiment = Sleep()
>>> settings = experiment.settings("paper")
>>> rows = [{"size": "1", "seed": "0", "seconds": "2.5"},
...         {"size": "3", "seed": "0", "seconds": "6.0"}]
>>> rate = measured_rate(experiment, settings, rows)  # (2.5 + 6.0) / (1 + 3)
>>> rate
2.125
>>> rates = {"sleep": Rate(rate, backend="jax", stacked=False, folder="results/sleep")}
>>> runs = [(config, seed) for seed in range(2) for config in experiment.configurations(settings)]
>>> estimate_seconds(experiment, settings, runs, rates)  # 2.125 s x (1 + 3) x 2 seeds
17.0
>>> print(describe_estimate(experiment, settings, runs, rates))
estimated: about 17s for 4 runs in one process (from the rate measured in results/sleep: jax, not stacked, one process, on the reference 2-core CPU); --workers N and a GPU shorten it
>>> print(describe_estimate(experiment, settings, runs, {}))
estimated: no measured rate for sleep; the progress line gives an ETA after the first run
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any
from typing import Iterable
from typing import Mapping
from typing import Sequence

from keras_detinit import validation
from keras_detinit.reporting.rows import ResultStore
from keras_detinit.reproduce import measured_rates
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import config_columns
from keras_detinit.reproduce.progress import format_duration

#: The machine every committed rate was measured on.
REFERENCE_MACHINE = "the reference 2-core CPU"
#: The Keras backends a rate may name.
BACKENDS = ("tensorflow", "jax", "torch")

#: A pending run: (configuration, seed).
Run = tuple[Mapping[str, Any], int]


@dataclasses.dataclass(frozen=True)
class Rate:
    """Seconds per unit of `Experiment.cost`, as measured in one results folder.

    Attributes:
        seconds_per_cost: The folder's seconds over its cost
            (`measured_rate`); finite and > 0.
        backend: The Keras backend of the runs.
        stacked: Whether the runs were measured with ``--stack``.
        folder: The results folder, relative to the repository.
        workers: Processes that measured runs at once (``--workers``),
            sharing the machine's cores.
        runs: Rows the rate is measured over (0: not recorded).

    Raises:
        ValueError: For a rate that is not finite and > 0, an unknown
            backend, an empty folder or a bad count, naming the field.
    """

    seconds_per_cost: float
    backend: str
    stacked: bool
    folder: str
    workers: int = 1
    runs: int = 0

    def __post_init__(self):
        validation.check_positive("seconds_per_cost", self.seconds_per_cost)
        validation.check_choice("backend", self.backend, BACKENDS)
        if not isinstance(self.stacked, bool):
            raise ValueError(f"`stacked` must be True or False. Received: stacked={self.stacked!r}")
        if not isinstance(self.folder, str) or not self.folder:
            raise ValueError(f"`folder` must be a non-empty path. Received: folder={self.folder!r}")
        validation.check_int("workers", self.workers, low=1)
        validation.check_int("runs", self.runs, low=0)

    def describe(self) -> str:
        """Where and how the rate was measured, in words.

        Example:

        >>> Rate(0.01, "tensorflow", True, "docs/results/reproduce/width", workers=2).describe()
        'docs/results/reproduce/width: tensorflow, stacked, 2 worker processes at once, on the reference 2-core CPU'
        """
        processes = ("one process" if self.workers == 1
                     else f"{self.workers} worker processes at once")
        return (f"{self.folder}: {self.backend}, {_stacked(self.stacked)}, {processes}, "
                f"on {REFERENCE_MACHINE}")


#: Experiment name -> its measured `Rate` (`keras_detinit.reproduce.measured_rates`).
RATES: Mapping[str, Rate] = {name: Rate(**fields)
                             for name, fields in measured_rates.RATES.items()}


def measured_rate(experiment: Experiment, settings: Mapping[str, Any],
                  rows: Iterable[Mapping[str, Any]]) -> float:
    """Seconds per unit of `Experiment.cost`: the rows' seconds over their cost.

    The total over the total, a mean of each run's seconds per cost weighted
    by its cost, so that the rate gives back the rows' own summed time (a
    median would miss the runs a cost underrates: compiling, an expensive
    initializer).

    Args:
        experiment: The experiment the rows measured.
        settings: The settings they were measured with (``settings.json``).
        rows: Rows of its ``results.csv``, as text: configuration columns
            and ``seconds``. Rows that name no configuration of
            ``settings`` are left out.

    Raises:
        ValueError: If no row names a configuration of ``settings`` or
            their cost is 0, or for a row's ``seconds`` or a
            configuration's cost that is not a finite number >= 0.
    """
    configurations = experiment.configurations(settings)
    store = ResultStore("results.csv", config_columns(configurations), [])  # for its keys
    by_key = {store.key(config, ""): config for config in configurations}
    seconds = cost = 0.0
    for row in rows:
        config = by_key.get(store.key(row, ""))
        if config is not None:
            seconds += validation.check_in_range("seconds", row["seconds"], low=0.0)
            cost += _cost(experiment, config, settings)
    if not cost:
        raise ValueError(f"`rows`: none names a configuration of experiment "
                         f"{experiment.name!r} with these settings at a cost > 0; there is "
                         "no rate to measure.")
    return seconds / cost


def estimate_seconds(experiment: Experiment, settings: Mapping[str, Any],
                     runs: Sequence[Run], rates: Mapping[str, Rate] | None = None
                     ) -> float | None:
    """Seconds the ``runs`` take one after another, or None without a rate.

    Args:
        experiment: The experiment.
        settings: Its settings for the runs (a profile's, with overrides).
        runs: The pending ``(configuration, seed)`` pairs.
        rates: Experiment name -> `Rate`; default `RATES`.

    Raises:
        ValueError: For a configuration whose cost is not a finite number >= 0.
    """
    rate = (RATES if rates is None else rates).get(experiment.name)
    if rate is None:
        return None
    return rate.seconds_per_cost * sum(_cost(experiment, config, settings)
                                       for config, _ in runs)


def describe_estimate(experiment: Experiment, settings: Mapping[str, Any],
                      runs: Sequence[Run], rates: Mapping[str, Rate] | None = None,
                      backend: str | None = None, stack: bool | None = None) -> str:
    """The line `keras_detinit.reproduce.runner.reproduce` prints before the runs.

    Arguments as `estimate_seconds`; ``backend`` and ``stack``, if given,
    are the call's, named when they differ from the rate's. The line names
    the rate's folder, backend, ``--stack`` setting and workers, and says
    when there is no rate or nothing to run.

    Example:

    >>> from keras_detinit.reproduce import registry
    >>> table2 = registry.get_experiment("table2")
    >>> settings = table2.settings("paper")
    >>> runs = [(config, 0) for config in table2.configurations(settings)]
    >>> rates = {"table2": Rate(0.01, "jax", True, "docs/results/reproduce/table2-paper-jax")}
    >>> print(describe_estimate(table2, settings, runs, rates, backend="torch", stack=False))
    estimated: about 16m24s for 82 runs in one process (from the rate measured in docs/results/reproduce/table2-paper-jax: jax, stacked, one process, on the reference 2-core CPU; this call: torch, not stacked); --workers N and a GPU shorten it
    """
    rates = RATES if rates is None else rates
    if not runs:
        return "estimated: nothing left to run"
    seconds = estimate_seconds(experiment, settings, runs, rates)
    if seconds is None:
        return (f"estimated: no measured rate for {experiment.name}; the progress line gives "
                "an ETA after the first run")
    if not math.isfinite(seconds):
        raise ValueError(f"The estimate of {len(runs)} runs of {experiment.name!r} is not "
                         f"finite ({seconds}); check the experiment's costs.")
    rate = rates[experiment.name]
    source = rate.describe()
    backend = rate.backend if backend is None else backend
    stack = rate.stacked if stack is None else stack
    if (backend, stack) != (rate.backend, rate.stacked):
        source += f"; this call: {backend}, {_stacked(stack)}"
    count = len(runs)
    return (f"estimated: about {format_duration(seconds)} for {count} run{'s' * (count != 1)} "
            f"in one process (from the rate measured in {source}); --workers N and a GPU "
            "shorten it")


def _stacked(stack: bool) -> str:
    return "stacked" if stack else "not stacked"


def _cost(experiment: Experiment, config: Mapping[str, Any],
          settings: Mapping[str, Any]) -> float:
    return validation.check_in_range(f"cost of {config}", experiment.cost(config, settings),
                                     low=0.0)
