"""CSV rows, written and read back safely.

`write_rows` replaces a whole file atomically (a temporary file moved over
it), so an interruption leaves the old file or the new one, never a cut
one. `cell` is how every value is written. `ResultStore` is an
experiment's ``results.csv``: appended row by row, never trusted blindly.

A run that is killed can leave the file cut anywhere: inside the last row,
or after its key columns. Before rows are counted as done or appended to,
`ResultStore.repair` checks the file:

* its header must be the experiment's columns, in order (else a
  `ValueError` names the file and the difference);
* a last line without its line break was cut while being written: it is
  removed, so the next row starts on a line of its own;
* a row with missing or extra cells, or without its ``seed``, ``backend``
  or ``seconds``, is incomplete: it is removed and measured again.

Example:

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "results.csv"
>>> store = ResultStore(path, ["init"], ["accuracy"])
>>> store.append({"init": "glorot", "seed": 0, "accuracy": 0.9,
...               "backend": "jax", "seconds": 1.5})
>>> _ = path.open("a").write("sinusoi")  # a row cut by an interruption
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     store.repair()
1
>>> "incomplete row" in str(caught[0].message)
True
>>> [row["init"] for row in store.read()]
['glorot']
"""

from __future__ import annotations

import csv
import io
import math
import os
import pathlib
import warnings
from typing import Any
from typing import Iterable
from typing import Mapping
from typing import Sequence

#: Columns every row ends with, after the experiment's own.
RUN_COLUMNS = ("backend", "seconds")
#: Columns a finished row always fills (measured values may be NaN, i.e. empty).
REQUIRED = ("seed", *RUN_COLUMNS)


class ResultStore:
    """``results.csv``: appended one row at a time, read back for resuming.

    Args:
        path: The CSV file.
        config_columns: Columns naming a configuration.
        measured_columns: Columns an experiment measures.
    """

    def __init__(self, path: os.PathLike, config_columns: Sequence[str],
                 measured_columns: Sequence[str]):
        self.path = pathlib.Path(path)
        self.config_columns = list(config_columns)
        self.fields = [*self.config_columns, "seed", *measured_columns, *RUN_COLUMNS]

    def key(self, config: Mapping[str, Any], seed) -> tuple:
        """Identity of a (configuration, seed) pair, as text."""
        # Compare as written to the CSV, so a float reads back as its own key.
        return tuple(str(cell(config.get(column, ""))) for column in self.config_columns) + (
            str(seed),)

    def read(self) -> list[dict]:
        """The complete rows, as dicts of text.

        Raises:
            ValueError: If the header is not this experiment's.
        """
        return [row for row in self._rows() if self._complete(row)]

    def done_keys(self) -> set[tuple]:
        """Keys of the (configuration, seed) pairs with a complete row."""
        return {self.key(row, row["seed"]) for row in self.read()}

    def repair(self) -> int:
        """Remove a cut last line and incomplete rows; return how many rows went.

        The file is rewritten only when something is removed, through a
        temporary file, so a second interruption cannot lose kept rows.

        Raises:
            ValueError: If the header is not this experiment's.
        """
        if not self.path.exists():
            return 0
        text = self.path.read_text(encoding="utf-8")
        rows = self._rows(text)
        kept = [row for row in rows if self._complete(row)]
        cut = bool(text) and not text.endswith("\n")
        if not cut and len(kept) == len(rows):
            return 0
        # A cut line holds a row unless it is the header itself.
        removed = len(rows) - len(kept) + int(cut and "\n" in text)
        write_rows(self.path, self.fields, [[row[name] for name in self.fields] for row in kept])
        warnings.warn(
            f"{self.path}: removed {removed} incomplete row(s) left by an interrupted "
            "run; they are measured again.", stacklevel=2)
        return removed

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one finished row (the header first, into an empty file)."""
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.fields, extrasaction="raise")
            if new:
                writer.writeheader()
            writer.writerow({key: cell(value) for key, value in row.items()})

    def _rows(self, text: str | None = None) -> list[dict]:
        if text is None:
            if not self.path.exists():
                return []
            text = self.path.read_text(encoding="utf-8")
        if not text.endswith("\n"):
            # The last line was cut while being written: never a finished row.
            text = text[:text.rfind("\n") + 1]
        if not text:
            return []
        reader = csv.DictReader(io.StringIO(text, newline=""))
        self._check_header(reader.fieldnames or [])
        return list(reader)

    def _check_header(self, header: list[str]) -> None:
        if header == self.fields:
            return
        missing = [name for name in self.fields if name not in header]
        unexpected = [name for name in header if name not in self.fields]
        difference = (f"missing {missing}, unexpected {unexpected}" if missing or unexpected
                      else "the same columns in another order")
        raise ValueError(
            f"{self.path} does not hold this experiment's results: its columns differ "
            f"({difference}). Expected the columns {self.fields}. Choose another "
            "--out, or pass --overwrite to discard the file."
        )

    def _complete(self, row: Mapping[str, Any]) -> bool:
        # DictReader fills a short row with None and keeps a long one's extra
        # cells under the key None.
        if None in row or any(row.get(name) is None for name in self.fields):
            return False
        return all(row[name] != "" for name in REQUIRED)


def cell(value) -> str | Any:
    """A value as written to a CSV: floats to 6 significant digits, NaN and None empty.

    Example:

    >>> cell(0.123456789), cell(float("nan")), cell(None), cell("relu")
    ('0.123457', '', '', 'relu')
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def write_rows(path: os.PathLike, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write ``header`` and ``rows`` (values through `cell`) to ``path`` atomically.

    The rows go to a temporary file beside ``path``, which then replaces it:
    an interruption leaves either the previous file or the new one.
    """
    path = pathlib.Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temporary, path)
