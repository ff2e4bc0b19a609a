"""A finished search as plain records: ranked, summarized, written to CSV.

Example:

>>> records = [
...     TrialRecord("0", "COMPLETED", 0.81, {"initializer": "gaussian",
...                 "sigma0": 0.15}, rank=1),
...     TrialRecord("1", "FAILED", None, {"initializer": "gaussian",
...                 "sigma0": 0.9}, message="non-finite training loss"),
... ]
>>> print(format_summary(records, "val_accuracy", ("initializer", "sigma0")))
rank trial val_accuracy initializer sigma0
   1     0       0.8100 gaussian    0.15
Failed trials (skipped):
  trial 1 (initializer=gaussian, sigma0=0.9): non-finite training loss
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any
from typing import Mapping
from typing import Sequence

from keras_detinit.reporting.rows import write_rows
from keras_detinit.tuning.failures import FAILED_STATUSES
from keras_detinit.tuning.failures import failure_reason


@dataclasses.dataclass(frozen=True)
class TrialRecord:
    """One trial of a search.

    Attributes:
        trial_id: KerasTuner's trial id.
        status: ``"COMPLETED"``, ``"FAILED"``, ``"INVALID"``, ``"RUNNING"``...
        score: The objective's best value, None unless completed.
        hyperparameters: The trial's active hyperparameter values (a
            scheme's own hyperparameters appear only when it was chosen).
        metrics: Every other metric the trial logged, at its best step.
        message: Why the trial failed, else None.
        rank: 1 for the best completed trial, None for the others.
    """

    trial_id: str
    status: str
    score: float | None
    hyperparameters: Mapping[str, Any]
    metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)
    message: str | None = None
    rank: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


def collect_records(oracle) -> list[TrialRecord]:
    """The oracle's trials, completed ones first, best first.

    Args:
        oracle: A KerasTuner oracle holding the trials (on the chief, in
            distributed mode).

    Returns:
        One `TrialRecord` per trial: the completed ones ranked by the
        objective, then the others in trial order.
    """
    objective = oracle.objective.name
    # get_best_trials pads with unfinished trials: keep the completed ones.
    # A NaN or infinite objective (a diverged trial) is no score to rank.
    ranked = [
        trial
        for trial in oracle.get_best_trials(len(oracle.trials))
        if trial.status == "COMPLETED" and _finite(trial.score)
    ]
    ranked_ids = [trial.trial_id for trial in ranked]
    others = [t for t in oracle.trials.values() if t.trial_id not in ranked_ids]
    records = []
    for rank, trial in enumerate(ranked, start=1):
        records.append(_record(trial, objective, rank))
    for trial in sorted(others, key=lambda t: t.trial_id):
        records.append(_record(trial, objective, None))
    return records


def _record(trial, objective: str, rank: int | None) -> TrialRecord:
    hps = trial.hyperparameters
    names = {hp.name for hp in hps.space}
    values = {
        name: value
        for name, value in hps.values.items()
        # Names outside the space (Hyperband's "tuner/epochs", ...) are
        # set by the oracle for this trial, so they are active.
        if name not in names or hps.is_active(name)
    }
    metrics = {
        name: _value_at(trial.metrics.get_history(name), trial.best_step)
        for name in trial.metrics.metrics
        if name != objective
    }
    diverged = trial.status == "COMPLETED" and not _finite(trial.score)
    failed = trial.status in FAILED_STATUSES or diverged
    if diverged:
        message = f"non-finite {objective} ({trial.score})"
    else:
        message = failure_reason(trial.message) if failed else None
    return TrialRecord(
        trial_id=trial.trial_id,
        status="FAILED" if diverged else trial.status,
        score=trial.score if rank is not None else None,
        hyperparameters=values,
        metrics=metrics,
        message=message,
        rank=rank,
    )


def _finite(score) -> bool:
    return score is not None and math.isfinite(score)


def _value_at(history, step) -> float:
    """A metric at ``step``, or its last value if it has none there."""
    observations = [obs for obs in history if obs.step == step] or history[-1:]
    return float(observations[0].mean()) if observations else float("nan")


def hyperparameter_columns(
    records: Sequence[TrialRecord], first: Sequence[str] = ("initializer",)
) -> list[str]:
    """``first``, then the records' other hyperparameter names, in order seen."""
    columns = list(first)
    for record in records:
        columns += [name for name in record.hyperparameters if name not in columns]
    return columns


def write_csv(
    records: Sequence[TrialRecord],
    path: str | os.PathLike,
    objective: str,
    first: Sequence[str] = ("initializer",),
) -> str:
    """One row per trial: rank, id, status, objective, hyperparameters, metrics.

    A hyperparameter that was inactive in a trial (``sigma0`` when another
    scheme was chosen) is an empty cell, as is the objective of a trial
    that did not complete.

    Returns:
        ``path``, as a string.
    """
    hp_columns = hyperparameter_columns(records, first)
    metric_columns = sorted({name for r in records for name in r.metrics})
    header = ["rank", "trial_id", "status", objective, *hp_columns, *metric_columns, "message"]
    rows = [
        [r.rank, r.trial_id, r.status, r.score,
         *(r.hyperparameters.get(name) for name in hp_columns),
         *(r.metrics.get(name) for name in metric_columns), r.message]
        for r in records
    ]
    write_rows(path, header, rows)
    return str(path)


def format_summary(
    records: Sequence[TrialRecord],
    objective: str,
    first: Sequence[str] = ("initializer",),
) -> str:
    """The ranked table of completed trials, then the failed ones."""
    completed = [r for r in records if r.rank is not None]
    failed = [r for r in records if r.failed]
    lines = []
    if completed:
        hp_columns = hyperparameter_columns(completed, first)
        fixed = [
            name
            for name in hp_columns
            if name not in first
            and len({repr(r.hyperparameters.get(name)) for r in completed}) == 1
        ]
        if fixed:
            lines.append(
                "Same in every trial: "
                + ", ".join(f"{n}={_short(completed[0].hyperparameters.get(n))}" for n in fixed)
            )
        hp_columns = [name for name in hp_columns if name not in fixed]
        rows = [
            [str(r.rank), r.trial_id, f"{r.score:.4f}"]
            + [_short(r.hyperparameters.get(name)) for name in hp_columns]
            for r in completed
        ]
        header = ["rank", "trial", objective, *hp_columns]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [
                cell.rjust(width) if i < 3 else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths))
            ]
            lines.append(" ".join(cells).rstrip())
    else:
        lines.append("No trial completed.")
    if failed:
        lines.append("Failed trials (skipped):")
        for r in failed:
            values = ", ".join(f"{k}={_short(v)}" for k, v in r.hyperparameters.items())
            lines.append(f"  trial {r.trial_id} ({values}): {r.message}")
    return "\n".join(lines)


def _short(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
