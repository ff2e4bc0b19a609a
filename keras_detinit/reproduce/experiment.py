"""What an experiment of ``keras-detinit reproduce`` is made of.

An experiment lists its configurations for a profile's settings, measures
one (configuration, seed) pair at a time, and turns the collected rows into
a markdown report with figures. The runner (`keras_detinit.reproduce.runner`)
does the rest: CSV, resuming, progress, the command line.

Example:

>>> class Squares(Experiment):
...     name = "squares"
...     title = "Squares"
...     source = "none"
...     columns = ("square",)
...     profiles = {"quick": Profile(seeds=1, settings={"n": 3})}
...     def configurations(self, settings):
...         return [{"x": x} for x in range(settings["n"])]
...     def measure(self, config, seed, settings, context):
...         return {"square": config["x"] ** 2}
...     def report(self, results, settings, figures):
...         return f"{len(results)} rows"
>>> [Squares().measure(c, 0, {}, None) for c in Squares().configurations({"n": 3})]
[{'square': 0}, {'square': 1}, {'square': 4}]
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import pathlib
from typing import Any
from typing import ClassVar
from typing import Mapping

from keras_detinit.reporting.results import Results

#: The profiles an experiment may offer: every one offers ``quick`` and
#: ``paper``; ``long`` (the paper's training length on reduced data) only
#: where the paper's length is the point (``sigma0``).
PROFILES = ("quick", "paper", "long")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Settings of one profile of an experiment.

    Attributes:
        seeds: Default number of seeds (seeds ``0 .. seeds - 1``).
        settings: Values the experiment reads (epochs, widths, datasets...).
        reductions: What this profile reduces against the paper's protocol,
            in words; empty for the paper's own protocol.
    """

    seeds: int
    settings: Mapping[str, Any]
    reductions: str = ""


def grid(**axes) -> list[dict]:
    """Every combination of the axes' values, the first axis outermost.

    Example:

    >>> grid(dataset=["mnist"], width=[2, 4])
    [{'dataset': 'mnist', 'width': 2}, {'dataset': 'mnist', 'width': 4}]
    """
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def config_columns(configurations: list[Mapping[str, Any]]) -> list[str]:
    """The CSV columns naming a configuration: every key, in order of appearance.

    Example:

    >>> config_columns([{"dataset": "mnist"}, {"dataset": "mnist", "width": 2}])
    ['dataset', 'width']
    """
    return list(dict.fromkeys(key for config in configurations for key in config))


class Experiment(abc.ABC):
    """One table or figure of a paper, as configurations to measure.

    Subclasses set the class attributes and implement `configurations`,
    `measure` and `report`.

    Attributes:
        name: The name on the command line, e.g. ``"table1"``.
        title: A one-line title for the report.
        source: The paper and the table or figure reproduced.
        columns: The measured columns `measure` returns, in CSV order.
        profiles: ``{"quick": Profile, "paper": Profile}``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    source: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    profiles: ClassVar[Mapping[str, Profile]]

    @abc.abstractmethod
    def configurations(self, settings: Mapping[str, Any]) -> list[dict]:
        """Every configuration to measure (once per seed), in run order.

        Configurations that share data should be adjacent: the runner keeps
        only the most recently used datasets in memory.
        """

    @abc.abstractmethod
    def measure(self, config: Mapping[str, Any], seed: int, settings: Mapping[str, Any],
                context) -> dict:
        """Measure one configuration with one seed; returns ``columns`` values.

        Args:
            config: One of `configurations`.
            seed: The seed of the data split, the sampling and the weights.
            settings: The profile's settings (with any overrides).
            context: A `keras_detinit.reproduce.runner.RunContext`, which
                loads datasets.
        """

    @abc.abstractmethod
    def report(self, results: Results, settings: Mapping[str, Any],
               figures: pathlib.Path) -> str:
        """Markdown body of the report; writes PNG figures into ``figures``.

        Figures are linked as ``figures/<name>.png``, relative to the report.
        """

    #: The configuration key in which runs of one stacked program differ
    #: (`measure_stack`); None: the experiment does not stack.
    stack_over: ClassVar[str | None] = None

    def measure_stack(self, configs: list[Mapping[str, Any]], seed: int,
                      settings: Mapping[str, Any], context) -> list[dict]:
        """Measure configurations equal but for `stack_over` as one program.

        Each returned row must be the one `measure` would give, up to float
        rounding; a test per experiment shows it.

        Raises:
            NotImplementedError: Where the experiment does not stack.
        """
        raise NotImplementedError(f"Experiment {self.name!r} does not stack its runs.")

    def check_stackable(self) -> None:
        """Raise a ValueError, naming ``stack``, if the experiment has no `stack_over`."""
        if self.stack_over is None:
            raise ValueError(f"`stack`: experiment {self.name!r} cannot stack its runs; "
                             "run it without --stack.")

    def stacks(self, runs: list[tuple[dict, int]]) -> list[tuple[tuple[dict, ...], int]]:
        """``runs`` grouped into stacks: same seed, configurations equal but for `stack_over`.

        Groups keep the order of their first run.

        Raises:
            ValueError: If the experiment does not stack.
        """
        self.check_stackable()
        groups: dict = {}
        for config, seed in runs:
            rest = tuple(sorted((key, repr(value)) for key, value in config.items()
                                if key != self.stack_over))
            groups.setdefault((rest, seed), []).append(config)
        return [(tuple(configs), seed) for (_, seed), configs in groups.items()]

    def cost(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> float:
        """Relative run time of a configuration, for the ETA (default 1)."""
        return 1.0

    def settings(self, profile: str, overrides: Mapping[str, Any] | None = None) -> dict:
        """The profile's settings with ``overrides`` applied.

        Raises:
            ValueError: For an unknown profile or an unknown setting.
        """
        if profile not in self.profiles:
            raise ValueError(
                f"`profile` must be one of {sorted(self.profiles)} for experiment "
                f"{self.name!r}, got {profile!r}."
            )
        settings = dict(self.profiles[profile].settings)
        for key, value in (overrides or {}).items():
            if key not in settings:
                raise ValueError(
                    f"Unknown setting {key!r} for experiment {self.name!r}; "
                    f"its settings are {sorted(settings)}."
                )
            settings[key] = value
        return settings
