"""Compare one experiment's results from two backends, cell by cell.

Reads the ``results.csv`` of two ``keras-detinit reproduce`` folders of the
same experiment (e.g. TensorFlow and JAX), and writes, for every
configuration present in both, the final validation accuracy as mean ± std
over the seeds of each, and whether the two intervals overlap.

Run from the repository root:

    python docs/scripts/compare_backends.py docs/results/reproduce/table2 \\
        docs/results/reproduce/table2-jax --out docs/results/reproduce/table2-jax/agreement.md
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import sys

from keras_detinit.reporting import verdicts
from keras_detinit.reporting.results import Results
from keras_detinit.reproduce.experiments.ffnn import final_accuracy

#: Columns that do not name a configuration.
NOT_CONFIGURATION = {"seed", "backend", "seconds"}


def read(folder: pathlib.Path) -> Results:
    with open(folder / "results.csv", newline="") as handle:
        return Results(csv.DictReader(handle))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=pathlib.Path)
    parser.add_argument("second", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    first, second = read(args.first), read(args.second)
    columns = [column for column in first.rows[0]
               if column in second.rows[0] and column not in NOT_CONFIGURATION
               and not column.startswith(("acc", "auc", "final", "val"))]
    configurations = {tuple(row[column] for column in columns) for row in second.rows}
    cells, backends = [], []
    for results in (first, second):
        backends.append(", ".join(sorted(set(results.distinct("backend")))))
    seeds = sorted(set(first.distinct("seed")) & set(second.distinct("seed")))
    for values in sorted(configurations):
        criteria = dict(zip(columns, values))
        pairs = [final_accuracy(results, **criteria) for results in (first, second)]
        if any(pair[0] != pair[0] for pair in pairs):  # NaN: absent from one side
            continue
        cells.append((", ".join(values), *pairs))
    command = " ".join(["python", "docs/scripts/compare_backends.py", *map(str, sys.argv[1:])]
                       if argv is None else ["python", "docs/scripts/compare_backends.py", *argv])
    text = "\n\n".join([
        f"# {args.first.name}: {backends[0]} against {backends[1]}",
        f"Final validation accuracy per configuration ({', '.join(columns)}), mean ± std over "
        f"the seeds of each folder (seeds in both: {', '.join(seeds)}).",
        verdicts.agreement_table(cells, (backends[0], backends[1])),
        f"Made by:\n\n```bash\n{command}\n```",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
