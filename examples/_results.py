"""Output shared by the experiment scripts: CSV, a markdown report, PNGs.

Every script writes its rows as CSV and a markdown report that states the
exact command, the backend and the wall time, so a result page can quote
it; figures are drawn with matplotlib's Agg backend.
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import shlex
import sys
import time

import keras

from keras_detinit.reproduce.figures import pyplot  # noqa: F401  (re-exported)
from keras_detinit.reproduce.tables import markdown_table  # noqa: F401  (re-exported)

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: The shared data folder next to the repository.
DEFAULT_DATA_DIR = str(ROOT.parent / "shared" / "data")

sys.path.insert(0, str(ROOT / "benchmarks"))
from timing import describe_backend  # noqa: E402


def add_common_arguments(parser: argparse.ArgumentParser, out: str, epochs: int) -> None:
    """Add ``--data-dir``, ``--epochs``, ``--seed`` and ``--out``."""
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR,
        help="folder holding mnist/ and fashion-mnist/ (IDX files)",
    )
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0, help="split and init seed")
    parser.add_argument("--out", default=out, help="output folder")


class Report:
    """Collects rows and writes ``<stem>.csv``, ``<stem>.md`` under ``out``.

    Args:
        out: Output folder (created).
        stem: File name stem.
        argv: The script's arguments, for the command line in the report.
        script: The script's file name.
    """

    def __init__(self, out: str, stem: str, argv, script: str):
        self.out = pathlib.Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.stem = stem
        arguments = sys.argv[1:] if argv is None else list(argv)
        self.command = shlex.join(
            ["KERAS_BACKEND=" + keras.backend.backend(), "python",
             f"examples/{pathlib.Path(script).name}", *arguments]
        )
        self.start = time.perf_counter()
        self.rows: list[dict] = []

    def add(self, **row) -> dict:
        self.rows.append(row)
        return row

    def write_csv(self) -> pathlib.Path:
        path = self.out / f"{self.stem}.csv"
        fields = list(dict.fromkeys(key for row in self.rows for key in row))
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def write_markdown(self, title: str, body: str) -> pathlib.Path:
        """Write the report: title, body, then command, backend, wall time."""
        minutes, seconds = divmod(time.perf_counter() - self.start, 60)
        path = self.out / f"{self.stem}.md"
        path.write_text(
            f"# {title}\n\n{body.strip()}\n\n"
            f"Command:\n\n```bash\n{self.command}\n```\n\n"
            f"Backend: {describe_backend()}, Keras {keras.__version__}. "
            f"Wall time: {int(minutes)} min {seconds:.0f} s.\n"
        )
        return path

    def figure_path(self, suffix: str) -> pathlib.Path:
        return self.out / f"{self.stem}_{suffix}.png"


def bar_chart(path, groups, ticks, series, values, ylabel, errors=None, target=None) -> None:
    """Save a grouped bar chart: one bar per (group, series), in percent.

    Args:
        path: The PNG to write.
        groups: Keys of the groups, in order.
        ticks: Their tick labels.
        series: Names of the bars within a group (the legend).
        values: ``values[group, name]``.
        ylabel: The y-axis label.
        errors: Optional error bars, keyed as ``values``.
        target: Optional level drawn as a dashed line.
    """
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 4.0))
    width = 0.8 / len(series)
    for index, name in enumerate(series):
        positions = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [values[group, name] for group in groups]
        yerr = None if errors is None else [errors[group, name] for group in groups]
        axes.bar(positions, heights, width, yerr=yerr, capsize=2, label=name)
    if target is not None:
        axes.axhline(target, color="black", linestyle="--", linewidth=1,
                     label=f"{target:g}% target")
    axes.set_xticks(range(len(groups)), ticks)
    axes.set_ylabel(ylabel)
    axes.set_ylim(0, 100)
    axes.legend(fontsize=8, ncol=len(series) + 1, loc="upper center",
                bbox_to_anchor=(0.5, -0.16))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
