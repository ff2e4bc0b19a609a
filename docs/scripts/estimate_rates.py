"""Regenerate the measured rates of `keras_detinit.reproduce.estimates`.

Reads the committed results under ``docs/results/reproduce/`` and writes
``keras_detinit/reproduce/measured_rates.py``: per experiment, one
folder's seconds over its `Experiment.cost`
(`keras_detinit.reproduce.estimates.measured_rate`), with
the folder's backend, ``--stack`` and ``--workers`` (from ``command.txt``).
Run it from anywhere after committing new results or changing a cost:

    python docs/scripts/estimate_rates.py          # rewrite the table
    python docs/scripts/estimate_rates.py --check  # exit 1 if it is out of date

The folder of an experiment is the first usable one of `ALTERNATIVES`
(used only when every run of its command is in), else the folder named like
the experiment. Folders that are not one experiment's results (without
``settings.json``, such as ``unit-pixels/``) are never read.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import pathlib
import shlex
import sys

import keras_detinit_cli
from keras_detinit.reporting.rows import ResultStore
from keras_detinit.reproduce import estimates
from keras_detinit.reproduce import registry
from keras_detinit.reproduce.experiment import config_columns

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results" / "reproduce"
TABLE = ROOT / "keras_detinit" / "reproduce" / "measured_rates.py"
#: Folders preferred to the experiment's own when complete: ``table2`` measured
#: on JAX with --stack at the paper's 10 epochs needs no transfer to ``paper``.
ALTERNATIVES = {"table2": ("table2-paper-jax",)}
#: Significant digits of a rate in the table.
DIGITS = 4
HEADER = '''"""Measured rates of `keras_detinit.reproduce.estimates`: generated, do not edit.

Regenerate from the committed results in docs/results/reproduce/ with:

    python docs/scripts/estimate_rates.py
"""

#: Experiment name -> the fields of its `keras_detinit.reproduce.estimates.Rate`.
RATES = {
'''


@dataclasses.dataclass(frozen=True)
class Folder:
    """One experiment's committed results folder, as its files say."""

    path: pathlib.Path
    experiment: str
    profile: str
    settings: dict
    backend: str
    arguments: argparse.Namespace
    rows: list[dict]

    @property
    def seeds(self) -> range:
        """The seeds its command asked for."""
        count = self.arguments.seeds
        if count is None:
            count = registry.get_experiment(self.experiment).profiles[self.profile].seeds
        return range(self.arguments.first_seed, self.arguments.first_seed + count)


def read_folder(path: pathlib.Path) -> Folder | None:
    """The folder's settings, command and rows; None if it holds no experiment's results."""
    files = [path / name for name in ("settings.json", "command.txt", "results.csv")]
    if not all(file.is_file() for file in files):
        return None
    record = json.loads(files[0].read_text())
    words = shlex.split(files[1].read_text())  # KERAS_BACKEND=... keras-detinit reproduce ...
    arguments = keras_detinit_cli.build_parser().parse_args(
        words[words.index(keras_detinit_cli.PROG) + 1:])
    with files[2].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Folder(path, record["experiment"], record["profile"], record["settings"],
                  record["backend"], arguments, rows)


def complete(folder: Folder) -> bool:
    """Whether every (configuration, seed) of the folder's command has its row."""
    experiment = registry.get_experiment(folder.experiment)
    configurations = experiment.configurations(folder.settings)
    store = ResultStore(folder.path / "results.csv", config_columns(configurations),
                        experiment.columns)
    done = store.done_keys()
    return all(store.key(config, seed) in done
               for config in configurations for seed in folder.seeds)


def choose_folder(name: str, results: pathlib.Path = RESULTS) -> Folder | None:
    """The folder whose rate stands for experiment ``name`` (see the module docstring)."""
    for candidate in ALTERNATIVES.get(name, ()):
        folder = read_folder(results / candidate)
        if folder is not None and folder.experiment == name and complete(folder):
            return folder
    folder = read_folder(results / name)
    return folder if folder is not None and folder.experiment == name and folder.rows else None


def rate_fields(folder: Folder) -> dict:
    """The `keras_detinit.reproduce.estimates.Rate` fields measured in ``folder``."""
    experiment = registry.get_experiment(folder.experiment)
    seconds_per_cost = estimates.measured_rate(experiment, folder.settings, folder.rows)
    fields = {"seconds_per_cost": float(f"{seconds_per_cost:.{DIGITS}g}"),
              "backend": folder.backend, "stacked": folder.arguments.stack,
              "folder": folder.path.relative_to(ROOT).as_posix(),
              "workers": folder.arguments.workers, "runs": len(folder.rows)}
    estimates.Rate(**fields)  # checks them
    return fields


def derive_rates(results: pathlib.Path = RESULTS) -> dict[str, dict]:
    """Experiment name -> rate fields, for every experiment with a usable folder."""
    rates = {}
    for name in sorted(registry.EXPERIMENTS):
        folder = choose_folder(name, results)
        if folder is not None:
            rates[name] = rate_fields(folder)
    return rates


def render(rates: dict[str, dict]) -> str:
    """The text of ``measured_rates.py``."""
    lines = [f"    {name!r}: {{\n" + "".join(f"        {key!r}: {value!r},\n"
                                             for key, value in fields.items()) + "    },\n"
             for name, fields in rates.items()]
    return HEADER + "".join(lines) + "}\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed table differs from the results")
    args = parser.parse_args(argv)
    text = render(derive_rates())
    if args.check:
        current = TABLE.read_text() if TABLE.is_file() else ""
        if current != text:
            print(f"{TABLE.relative_to(ROOT)} is out of date: run {__file__}", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
