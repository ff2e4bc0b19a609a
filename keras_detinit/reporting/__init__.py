"""Reporting, in one place: result rows, markdown tables, figures, machine.

Reproductions, tuning runs, benchmarks and examples all report through this
package:

* `results`: rows read back from CSV (`Results`), `mean_and_spread`, and
  per-epoch curves in one CSV cell (`format_curve`, `parse_curve`);
* `tables`: ``mean ± std (paper)`` cells, markdown tables and the
  `pivot_table` that lays out a metric over rows x columns of criteria;
* `figures`: matplotlib on the Agg backend (`pyplot`), heatmaps, curves;
* `rows`: CSV rows written atomically (`write_rows`), one `cell` format,
  and an experiment's append-only, self-checking `ResultStore`;
* `verdicts`: a paper's claims against ``mean ± std`` over seeds: held, not
  held, or undecided where the spread does not allow a verdict;
* `machine`: the machine line of a report (`describe_machine`).

Example:

>>> from keras_detinit import reporting
>>> rows = reporting.Results([{"init": "a", "acc": "0.9"}, {"init": "a", "acc": "0.8"}])
>>> reporting.percent_cell(rows.mean_std("acc", init="a"), paper=88.0)
'85.0 ± 5.0 (88)'
"""

from keras_detinit.reporting.figures import heatmap
from keras_detinit.reporting.figures import line_panels
from keras_detinit.reporting.figures import pyplot
from keras_detinit.reporting.figures import save
from keras_detinit.reporting.machine import describe_machine
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.rows import ResultStore
from keras_detinit.reporting.rows import cell
from keras_detinit.reporting.rows import write_rows
from keras_detinit.reporting.results import format_curve
from keras_detinit.reporting.results import mean_and_spread
from keras_detinit.reporting.results import parse_curve
from keras_detinit.reporting.tables import MISSING
from keras_detinit.reporting.tables import markdown_table
from keras_detinit.reporting.tables import number_cell
from keras_detinit.reporting.tables import percent
from keras_detinit.reporting.tables import percent_cell
from keras_detinit.reporting.tables import pivot
from keras_detinit.reporting.tables import pivot_table

__all__ = [
    "MISSING", "ResultStore", "Results", "cell", "write_rows", "describe_machine", "format_curve", "heatmap", "line_panels",
    "markdown_table", "mean_and_spread", "number_cell", "parse_curve", "percent",
    "percent_cell", "pivot", "pivot_table", "pyplot", "save",
]
