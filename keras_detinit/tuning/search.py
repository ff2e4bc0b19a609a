"""`tune`: a KerasTuner search over the initialization, with its report.

One call loads the data, builds an `InitializerHyperModel`, runs a random,
Bayesian or Hyperband search on validation accuracy, and writes, into the
project directory, ``results.csv`` (every trial) and ``objective.png``
(validation accuracy against ``sigma0`` and ``epsilon``). The search runs
on whatever device the Keras backend computes on.

**Distributed mode.** With KerasTuner's environment variables
``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT`` set, the process whose tuner id contains
``"chief"`` serves the oracle (it trains nothing) and the others run trials
it hands out; the chief writes the summary, CSV and PNG at the end.

Example:

>>> result = tune("mnist", data_dir="/data", samples_per_class=10,
...               trials=6, epochs=3)  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import sys
from typing import Mapping
from typing import Sequence

import keras
import keras_tuner

from keras_detinit import datasets
from keras_detinit import protocol as protocols
from keras_detinit import validation
from keras_detinit.devices import describe_device
from keras_detinit.tuning import plots
from keras_detinit.tuning import results as results_lib
from keras_detinit.tuning.estimate import compare_sigma0
from keras_detinit.tuning.estimate import sigma0_range
from keras_detinit.tuning.results import TrialRecord
from keras_detinit.tuning.schemes import LogRange
from keras_detinit.tuning.schemes import Scheme
from keras_detinit.tuning.search_space import DEFAULT_SCHEMES
from keras_detinit.tuning.search_space import InitializerHyperModel
from keras_detinit.tuning.tuners import HYPERBAND_FACTOR
from keras_detinit.tuning.tuners import TUNERS
from keras_detinit.tuning.tuners import make_tuner
from keras_detinit.tuning.workers import VISIBLE_DEVICES

OBJECTIVE = "val_accuracy"
IF_EXISTS = ("error", "resume", "overwrite")
RESULTS_CSV = "results.csv"
OBJECTIVE_PNG = "objective.png"


@dataclasses.dataclass(frozen=True)
class TuningResult:
    """What a search found.

    Attributes:
        records: Every trial, completed ones first, best first (empty on a
            distributed worker: the chief holds the results).
        objective: The objective's name, ``"val_accuracy"``.
        parameters: The schemes' own hyperparameters (``sigma0``, ...).
        csv_path: The CSV written, or None.
        png_path: The PNG written, or None.
        role: ``"single"``, ``"chief"`` or ``"worker"``.
        device: The backend and its devices, e.g. ``"backend jax on gpu:0"``.
        tuner: The KerasTuner tuner, e.g. for ``tuner.get_best_models()``.
        sigma0_estimate: The `optimal_sigma0` estimate the ``sigma0`` range
            was centred on, or None.
    """

    records: tuple[TrialRecord, ...]
    objective: str
    parameters: tuple[str, ...]
    csv_path: str | None
    png_path: str | None
    role: str
    device: str
    tuner: keras_tuner.Tuner
    sigma0_estimate: float | None = None

    @property
    def best(self) -> TrialRecord | None:
        """The best completed trial, or None if none completed."""
        return next((r for r in self.records if r.rank == 1), None)

    def summary(self) -> str:
        """The ranked table, the failed trials and the files written."""
        if self.role == "worker":
            return "Worker done; the chief writes the summary of the search."
        completed = sum(r.rank is not None for r in self.records)
        failed = sum(r.failed for r in self.records)
        lines = [
            f"{len(self.records)} trials: {completed} completed, {failed} failed; "
            f"ranked by {self.objective}; {self.device}",
            results_lib.format_summary(
                self.records, self.objective, ("initializer", *self.parameters)
            ),
        ]
        if self.sigma0_estimate is not None:
            lines.append(compare_sigma0(self.records, self.sigma0_estimate))
        lines += [f"Wrote {path}" for path in (self.csv_path, self.png_path) if path]
        return "\n".join(lines)


def tune(
    dataset: str = "mnist",
    data_dir: str | os.PathLike | None = None,
    samples_per_class: int | None = None,
    tuner: str = "random",
    trials: int = 10,
    epochs: int = 5,
    executions_per_trial: int = 1,
    directory: str | os.PathLike = "keras_detinit_tuning",
    project_name: str | None = None,
    if_exists: str = "error",
    schemes: Sequence[str | Scheme] = DEFAULT_SCHEMES,
    ranges: Mapping[str, tuple[float, float] | LogRange] | None = None,
    sigma0_estimate: float | None = None,
    depth: int | Sequence[int] = 1,
    width: int | Sequence[int] = 16,
    activation: str | Sequence[str] = "relu",
    learning_rate: float | tuple[float, float] | LogRange = protocols.PAPER_PROTOCOL.learning_rate,
    batch_size: int = protocols.PAPER_PROTOCOL.batch_size,
    validation_fraction: float = protocols.PAPER_PROTOCOL.validation_fraction,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    skewness_probe: int | None = None,
    max_consecutive_failures: int | None = None,
    plot: bool = True,
    verbose: int = 2,
) -> TuningResult:
    """Search the initialization of the papers' FFNN with KerasTuner.

    The data are the papers': ``validation_fraction`` of the training set
    held out (stratified), optionally a balanced few-shot training subset
    of ``samples_per_class`` images per class. The objective is validation
    accuracy; see `InitializerHyperModel` for the search space.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        data_dir: Directory with the IDX files (see `keras_detinit.datasets`).
        samples_per_class: Few-shot training set size per class, or None.
        tuner: ``"random"``, ``"bayesian"`` or ``"hyperband"``.
        trials: Maximum number of trials, >= 1 (also caps Hyperband, whose
            schedule may end sooner).
        epochs: Training epochs per trial; for Hyperband its ``max_epochs``,
            >= 3 (its trials train 1, 3, 9, ... epochs up to this).
        executions_per_trial: Trainings per trial, averaged, >= 1.
        directory: Where KerasTuner keeps its projects.
        project_name: The project's folder; default ``"{dataset}_{tuner}"``.
        if_exists: What to do when the project exists: ``"error"``,
            ``"resume"`` (run the remaining trials) or ``"overwrite"``.
        schemes: The initializer choices (see `InitializerHyperModel`).
        ranges: Overrides of the schemes' ranges, e.g.
            ``{"sigma0": (0.01, 1.0)}``.
        sigma0_estimate: An `keras_detinit.sigma0.optimal_sigma0` estimate:
            the ``sigma0`` range becomes `sigma0_range` of it (a decade
            either side) unless ``ranges`` sets one, and the summary says
            where the best Gaussian trial's ``sigma0`` fell relative to it.
        depth: Hidden layers, or a list to search.
        width: Hidden units per layer, or a list to search.
        activation: Hidden activation, or a list to search.
        learning_rate: Adam's learning rate, or a ``(low, high)`` range to
            search log-uniformly.
        batch_size: Batch size, >= 1.
        validation_fraction: Share of the training set held out, in (0, 1).
        seed: Seed of the data split, the subset, every model build and
            the tuner's sampling.
        callbacks: Extra Keras callbacks for every trial (KerasTuner copies
            them per trial), e.g. `keras_detinit.callbacks.SkewnessCallback`;
            their logged metrics go into the CSV.
        skewness_probe: If given, also attach
            `keras_detinit.callbacks.SkewnessCallback` probing this many
            validation images (>= 2) to every trial.
        max_consecutive_failures: Abort the search after this many failed
            trials in a row; None never aborts (failures are skipped).
        plot: Whether to write the PNG (needs matplotlib).
        verbose: 0 silent, 1 progress bars, 2 one line per epoch.

    Returns:
        A `TuningResult`; ``print(result.summary())`` shows the ranking.

    Raises:
        ValueError: For an invalid argument, missing data, or an existing
            project with ``if_exists="error"``.
    """
    validation.check_choice("tuner", tuner, tuple(TUNERS))
    validation.check_choice("if_exists", if_exists, IF_EXISTS)
    trials = validation.check_int("trials", trials)
    epochs = validation.check_int("epochs", epochs)
    validation.check_int("executions_per_trial", executions_per_trial)
    validation.check_int("seed", seed, low=0)
    if tuner == "hyperband" and epochs < HYPERBAND_FACTOR:
        raise ValueError(
            f"The Hyperband tuner needs `epochs` >= {HYPERBAND_FACTOR} (its "
            f"max_epochs, with reduction factor {HYPERBAND_FACTOR}); with fewer "
            f"it runs one trial per iteration. Received: epochs={epochs}"
        )
    if max_consecutive_failures is not None:
        validation.check_int("max_consecutive_failures", max_consecutive_failures)
    ranges = _centred_ranges(ranges, sigma0_estimate)
    data = datasets.load_dataset(
        dataset,
        data_dir=data_dir,
        samples_per_class=protocols.samples_per_class(samples_per_class),
        validation_fraction=validation_fraction,
        seed=seed,
    )
    hypermodel = InitializerHyperModel(
        input_shape=data.train.x.shape[1:],
        num_classes=data.num_classes,
        depth=depth,
        width=width,
        activation=activation,
        schemes=schemes,
        ranges=ranges,
        learning_rate=learning_rate,
        batch_size=batch_size,
        seed=seed,
    )
    project_name = project_name or f"{data.name}_{tuner}"
    project_dir = os.path.join(directory, project_name)
    _check_new_project(project_dir, if_exists)
    _check_project_files(project_dir, if_exists)
    _make_directory(directory)
    role = distributed_role()
    device = describe_device()
    if verbose:
        print(
            f"{data.name}: {len(data.train.y)} training, {len(data.validation.y)} "
            f"validation examples from {data.source}; {device}; "
            f"{tuner} search, {trials} trials, project {project_dir}"
            + ("" if role == "single" else f"; distributed {role} "
               f"{os.environ.get('KERASTUNER_TUNER_ID')}")
            + _pinning()
        )
    search = make_tuner(
        tuner,
        hypermodel,
        OBJECTIVE,
        trials=trials,
        epochs=epochs,
        executions_per_trial=executions_per_trial,
        directory=directory,
        project_name=project_name,
        overwrite=if_exists == "overwrite",
        seed=seed,
        # KerasTuner's limit counts a failure streak; None: longer than
        # any search, so a failure only skips its trial.
        max_consecutive_failed_trials=max_consecutive_failures or sys.maxsize,
    )
    callbacks = list(callbacks)
    if skewness_probe is not None:
        from keras_detinit.callbacks import SkewnessCallback

        callbacks.append(
            SkewnessCallback(data.validation.x, probe_size=skewness_probe, seed=seed)
        )
    search.search(
        *data.train,
        validation_data=tuple(data.validation),
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    parameters = tuple(hypermodel.ranges)
    if role == "worker":
        return TuningResult((), OBJECTIVE, parameters, None, None, role, device, search)
    records = tuple(results_lib.collect_records(search.oracle))
    csv_path, png_path = _write_results(records, hypermodel.ranges, project_dir, plot)
    return TuningResult(
        records, OBJECTIVE, parameters, csv_path, png_path, role, device, search,
        sigma0_estimate=sigma0_estimate,
    )


def _centred_ranges(ranges, sigma0_estimate):
    """``ranges`` with ``sigma0`` centred on the estimate, unless it sets one."""
    if sigma0_estimate is None:
        return ranges
    try:
        centred = sigma0_range(sigma0_estimate)
    except ValueError as error:
        raise ValueError(f"Invalid `sigma0_estimate`: {error}") from error
    return {"sigma0": centred, **(ranges or {})}


def _pinning() -> str:
    """The GPU pinning of this process, for the header line, if any."""
    if VISIBLE_DEVICES not in os.environ:
        return ""
    return f"; {VISIBLE_DEVICES}={os.environ[VISIBLE_DEVICES]!r}"


def _check_new_project(project_dir: str, if_exists: str) -> None:
    if if_exists == "error" and os.path.exists(project_dir):
        raise ValueError(
            f"The tuning project {project_dir!r} exists. Resume it "
            "(if_exists='resume', --resume), overwrite it "
            "(if_exists='overwrite', --overwrite) or choose another "
            "directory or project name."
        )


def _check_project_files(project_dir: str, if_exists: str) -> None:
    """On resume, every JSON file KerasTuner will reload must parse."""
    if if_exists != "resume" or not os.path.isdir(project_dir):
        return
    for path in sorted(pathlib.Path(project_dir).glob("**/*.json")):
        try:
            json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"Cannot resume the tuning project {project_dir!r}: {path} is damaged "
                f"({error}). Delete that trial's folder to resume without it, or pass "
                "--overwrite to start afresh."
            ) from None


def _make_directory(directory: str) -> None:
    # KerasTuner creates it through the backend's file API, whose errors
    # (TensorFlow's) name no option: fail here first, with a plain message.
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"Cannot create the tuning directory {directory!r} (--directory): "
            f"{error.strerror or error}."
        ) from error


def _write_results(records, ranges, project_dir: str, plot: bool):
    """Write the CSV and, if asked, the PNG; return their paths."""
    os.makedirs(project_dir, exist_ok=True)
    first = ("initializer", *ranges)
    csv_path = results_lib.write_csv(
        records, os.path.join(project_dir, RESULTS_CSV), OBJECTIVE, first
    )
    png_path = None
    if plot:
        png_path = plots.plot_objective(
            records, ranges, OBJECTIVE, os.path.join(project_dir, OBJECTIVE_PNG)
        )
    return csv_path, png_path


def distributed_role() -> str:
    """``"chief"``, ``"worker"`` or ``"single"``, from KerasTuner's variables.

    KerasTuner runs distributed when ``KERASTUNER_ORACLE_IP`` is set; the
    process whose ``KERASTUNER_TUNER_ID`` contains ``"chief"`` is the chief.
    """
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"

