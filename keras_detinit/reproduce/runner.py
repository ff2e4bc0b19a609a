"""Run an experiment: every (configuration, seed), to CSV, resumable.

Files written under the output folder:

* ``results.csv``: one row per (configuration, seed), appended as each run
  finishes, so an interrupted run loses at most the runs in progress;
* ``failures.csv``: the runs of the latest call that raised, with the
  error's type and message (absent if none did); a resumed call retries
  them;
* ``settings.json``: experiment, profile, settings and backend, checked on
  ``resume`` so rows of different protocols never mix;
* ``report.md``: the experiment's tables (mean ± std beside the paper's
  values), its figures under ``figures/``, the command and the machine;
* ``command.txt``: the exact command that regenerates the folder.

Example:

>>> outcome = reproduce("table1", profile="quick",
...                     data_dir="../shared/data")  # doctest: +SKIP
>>> outcome.report  # doctest: +SKIP
PosixPath('keras_detinit_results/table1-quick/report.md')

The runs may execute in worker processes or on Ray
(`keras_detinit.reproduce.executors`); this process alone writes the files.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import json
import os
import pathlib
import shlex
import sys
import time
from typing import Any
from typing import Mapping

import keras

from keras_detinit import datasets
from keras_detinit import protocol
from keras_detinit import validation
from keras_detinit.devices import describe_device
from keras_detinit.reporting import tables
from keras_detinit.reproduce import estimates
from keras_detinit.reproduce import executors as executors_lib
from keras_detinit.reproduce import progress as progress_lib
from keras_detinit.reproduce import training
from keras_detinit.reproduce.experiment import Experiment
from keras_detinit.reproduce.experiment import config_columns
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.machine import describe_machine
from keras_detinit.reporting.rows import ResultStore

RESULTS_FILE = "results.csv"
FAILURES_FILE = "failures.csv"
SETTINGS_FILE = "settings.json"
REPORT_FILE = "report.md"
COMMAND_FILE = "command.txt"
FIGURES_DIR = "figures"
#: Datasets kept in memory at once (full MNIST is about 190 MB as float32).
CACHED_DATASETS = 2


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a `reproduce` call produced.

    Attributes:
        out: The output folder.
        results: All rows, resumed ones included.
        measured: Number of runs measured by this call.
        report: Path of ``report.md``.
        failures: The runs of this call that raised
            (`keras_detinit.reproduce.executors.Finished`), also in
            ``failures.csv``.
    """

    out: pathlib.Path
    results: Results
    measured: int
    report: pathlib.Path
    failures: tuple = ()


class RunContext:
    """Loads datasets for `Experiment.measure`, keeping the latest few.

    Args:
        data_dir: Folder with the IDX files, or ``None`` for the search of
            `keras_detinit.datasets.load_dataset`.
        download: Whether Keras may download a dataset found nowhere.
        reuse_models: Keep one compiled model per architecture and load
            each run's freshly initialized weights into it
            (`training.ModelPool`), instead of tracing and compiling a fresh
            model per run.

    Attributes:
        models: The `training.ModelPool`, or None without ``reuse_models``.
    """

    def __init__(self, data_dir: str | None = None, download: bool = True,
                 reuse_models: bool = True):
        self.data_dir = data_dir
        self.download = download
        self.models = training.ModelPool() if reuse_models else None
        self._cache: collections.OrderedDict = collections.OrderedDict()

    def dataset(self, name: str, samples_per_class: int | str = protocol.WHOLE_TRAINING_SET,
                seed: int = 0, pixels: str = "unit") -> datasets.Dataset:
        """``name`` split as in the papers: 15% validation, then ``k`` per class.

        Args:
            name: ``"mnist"`` or ``"fashion_mnist"``.
            samples_per_class: Training images per class, or ``"all"``
                (`keras_detinit.protocol.WHOLE_TRAINING_SET`) for the whole
                training part.
            seed: Seed of the split and the sampling.
            pixels: ``"unit"`` ([0, 1]) or ``"raw"`` (0-255), as
                `keras_detinit.datasets.PIXELS`.
        """
        samples_per_class = protocol.samples_per_class(samples_per_class)
        key = (name, samples_per_class, seed, pixels)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        data = datasets.load_dataset(
            name, data_dir=self.data_dir, samples_per_class=samples_per_class,
            validation_fraction=protocol.PAPER_PROTOCOL.validation_fraction, seed=seed,
            download=self.download, pixels=pixels,
        )
        self._cache[key] = data
        while len(self._cache) > CACHED_DATASETS:
            self._cache.popitem(last=False)
        return data


def reproduce(
    experiment: str | Experiment,
    profile: str = "quick",
    out: str | os.PathLike | None = None,
    data_dir: str | None = None,
    seeds: int | None = None,
    first_seed: int = 0,
    resume: bool = False,
    overwrite: bool = False,
    overrides: Mapping[str, Any] | None = None,
    command: str | None = None,
    download: bool = True,
    show_progress: bool = True,
    workers: int = 1,
    executor: str | None = None,
    address: str | None = None,
    gpus_per_task: float | None = None,
    report_only: bool = False,
    stack: bool = False,
) -> Outcome:
    """Measure every (configuration, seed) of an experiment and report.

    Args:
        experiment: A name of `keras_detinit.reproduce.EXPERIMENTS` or an
            `Experiment`.
        profile: ``"quick"`` (reduced, for a CPU), ``"paper"``, or another of
            the experiment's profiles (``sigma0`` has ``"long"``).
        out: Output folder; default ``keras_detinit_results/NAME-PROFILE``.
        data_dir: Folder with the MNIST / Fashion-MNIST IDX files.
        seeds: Number of seeds, ``first_seed .. first_seed + seeds - 1``;
            default: the profile's.
        first_seed: The first seed, >= 0 (e.g. seeds a setting was not
            tuned on).
        resume: Continue the rows already in ``out`` (same settings).
        overwrite: Delete earlier results in ``out`` first.
        overrides: Settings replacing the profile's, e.g. ``{"epochs": 1}``.
        command: The command line to record; default: an equivalent one.
        download: Whether Keras may download a missing dataset.
        show_progress: Print a progress line with an ETA per finished run.
        workers: Runs measured at once, >= 1.
        executor: ``"serial"``, ``"processes"`` (worker processes on this
            machine) or ``"ray"``; default: serial for one worker,
            processes for more (`keras_detinit.reproduce.executors`).
        address: The Ray cluster to run on (``executor="ray"``); default:
            a local Ray instance.
        gpus_per_task: GPUs per Ray worker (``executor="ray"``), e.g. 0.5.
        report_only: Measure nothing: write the report from the rows already
            in ``out`` (same settings, as ``resume``), keeping its
            ``command.txt``; the report counts the runs still missing.
        stack: Train the runs that differ only in their initializer (same
            seed) as one stacked program (`Experiment.measure_stack`, for
            the FFNN experiments `keras_detinit.reproduce.stacking`): the
            same rows up to float rounding, in fewer, larger steps.

    Returns:
        An `Outcome`. A run that raised does not stop the others: it is in
        ``Outcome.failures``, ``failures.csv`` and the report, and a call
        with ``resume`` measures it again.

    Raises:
        ValueError: For an unknown experiment, profile or setting, a bad
            seed count or executor option, ``resume`` with ``overwrite``,
            existing results without either, or ``resume`` with different
            settings.
        ImportError: For ``executor="ray"`` without Ray installed.
    """
    from keras_detinit.reproduce import registry

    run_executor = executors_lib.make_executor(executor, workers, address, gpus_per_task)
    experiment = registry.get_experiment(experiment)
    settings = experiment.settings(profile, overrides)
    seeds = experiment.profiles[profile].seeds if seeds is None else seeds
    seeds = validation.check_int("seeds", seeds, low=1)
    first_seed = validation.check_int("first_seed", first_seed, low=0)
    if resume + overwrite + report_only > 1:
        raise ValueError("Pass at most one of `resume`, `overwrite` and `report_only`.")
    out = pathlib.Path(out or f"keras_detinit_results/{experiment.name}-{profile}")
    if report_only and not (out / RESULTS_FILE).is_file():
        raise ValueError(f"`report_only`: {out / RESULTS_FILE} does not exist; there is "
                         "nothing to report yet.")
    # Bad settings fail here, before the folder is touched.
    configurations = experiment.configurations(settings)
    if stack:
        experiment.check_stackable()
    record = {"experiment": experiment.name, "profile": profile, "settings": settings,
              "backend": keras.backend.backend()}
    _prepare_folder(out, record, resume or report_only, overwrite)
    command = command or default_command(experiment.name, profile, out, data_dir, seeds,
                                         overrides, first_seed)
    if report_only and (out / COMMAND_FILE).is_file():
        command = (out / COMMAND_FILE).read_text().strip()  # the measuring command
    (out / COMMAND_FILE).write_text(command + "\n")

    store = ResultStore(out / RESULTS_FILE, config_columns(configurations),
                        experiment.columns)
    store.repair()
    # Earlier failures are pending again: this call's failures replace them.
    failure_store = ResultStore(out / FAILURES_FILE, store.config_columns,
                                executors_lib.FAILURE_COLUMNS)
    if not report_only:
        failure_store.path.unlink(missing_ok=True)
    done = store.done_keys()
    pending = [(config, seed) for seed in range(first_seed, first_seed + seeds)
               for config in configurations
               if store.key(config, seed) not in done]
    if report_only:
        if show_progress:
            print(f"report only: {len(pending)} runs of seeds {first_seed}.."
                  f"{first_seed + seeds - 1} are not measured yet", flush=True)
        pending = []
    how = run_executor.describe() + (f", runs stacked over `{experiment.stack_over}`"
                                     if stack else "")
    _announce(experiment, profile, settings, range(first_seed, first_seed + seeds),
              pending, len(done), out, show_progress, how, stack)
    bar = progress_lib.ProgressBar(
        sum(experiment.cost(config, settings) for config, _ in pending), len(pending),
        stream=sys.stderr if show_progress else None,
    )
    job = executors_lib.Job(experiment, settings,
                            functools.partial(RunContext, data_dir, download))
    failures = []
    start = time.perf_counter()
    try:
        tasks = experiment.stacks(pending) if stack else pending
        with contextlib.closing(run_executor.run(job, tasks)) as finished_runs:
            for finished in finished_runs:
                _record(finished, store, failure_store, failures)
                bar.advance(experiment.cost(finished.config, settings), _progress_label(
                    finished, show_progress))
    except KeyboardInterrupt:
        raise Interrupted(len(store.read()), store.path) from None
    results = Results(store.read())
    report = write_report(experiment, profile, settings,
                          describe_seeds(results, configurations, store), results, out, command,
                          time.perf_counter() - start, len(pending) - len(failures),
                          failures, how)
    return Outcome(out, results, len(pending) - len(failures), report, tuple(failures))


def _record(finished: executors_lib.Finished, store: ResultStore, failure_store: ResultStore,
            failures: list) -> None:
    """Append a finished run to ``results.csv``, or a failed one to ``failures.csv``."""
    row = {**finished.config, "seed": finished.seed, "backend": finished.backend,
           "seconds": round(finished.seconds, 2)}
    if finished.failed:
        failures.append(finished)
        failure_store.append({**row, "error_type": finished.error_type,
                              "error_message": finished.error_message})
    else:
        store.append({**row, **finished.measured})


def _progress_label(finished: executors_lib.Finished, show_progress: bool) -> str:
    label = f"{describe_config(finished.config)} seed={finished.seed}"
    if not finished.failed:
        return f"{label} ({finished.seconds:.1f}s)"
    if show_progress:
        print(finished.details, file=sys.stderr, end="", flush=True)
    return f"{label} FAILED ({finished.error_type}: {finished.error_message})"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during `reproduce`: every finished run is kept in the CSV.

    Attributes:
        kept: Rows in the CSV.
        path: The CSV file.
    """

    def __init__(self, kept: int, path: pathlib.Path):
        super().__init__(f"{kept} runs kept in {path}, resume with --resume")
        self.kept = kept
        self.path = path


def describe_seeds(results: Results, configurations: list[dict], store: ResultStore) -> str:
    """The seeds the report's means average over, counted in the rows.

    Example:

    >>> store = ResultStore("results.csv", ["x"], [])
    >>> rows = Results([{"x": "1", "seed": "0"}, {"x": "1", "seed": "1"},
    ...                 {"x": "2", "seed": "0"}])
    >>> describe_seeds(rows, [{"x": 1}, {"x": 2}], store)
    'Seeds 0..1: between 1 and 2 per configuration (some runs are missing); mean ± standard deviation over the seeds present.'
    """
    found = collections.defaultdict(set)
    for row in results.rows:
        found[store.key(row, "")].add(str(row["seed"]))
    counts = [len(found.get(store.key(config, ""), ())) for config in configurations]
    seeds = sorted(set().union(*found.values()), key=int)
    listed = (f"0..{len(seeds) - 1}" if seeds == [str(seed) for seed in range(len(seeds))]
              else ", ".join(seeds))
    low, high = min(counts, default=0), max(counts, default=0)
    if low == high:
        sentence = f"Seeds {listed}: {low} per configuration; mean ± standard deviation over them."
    else:
        sentence = (f"Seeds {listed}: between {low} and {high} per configuration (some runs "
                    "are missing); mean ± standard deviation over the seeds present.")
    stray = len(results) - sum(counts)
    if stray:
        sentence += f" {stray} rows name no configuration of these settings and are left out."
    return sentence


def describe_config(config: Mapping[str, Any]) -> str:
    """``{"dataset": "mnist", "hidden": 16}`` -> ``"dataset=mnist hidden=16"``."""
    return " ".join(f"{key}={value}" for key, value in config.items())


def command_line(arguments, backend: bool = True) -> str:
    """``keras-detinit ARGUMENTS`` as a shell line, after ``KERAS_BACKEND=`` if asked."""
    line = shlex.join(["keras-detinit", *map(str, arguments)])
    return f"KERAS_BACKEND={keras.backend.backend()} {line}" if backend else line


def default_command(name: str, profile: str, out, data_dir, seeds: int, overrides,
                    first_seed: int = 0) -> str:
    """The ``keras-detinit reproduce`` command equivalent to a call."""
    arguments = ["reproduce", name, "--profile", profile, "--seeds", seeds, "--out", out]
    if first_seed:
        arguments += ["--first-seed", first_seed]
    if data_dir:
        arguments += ["--data-dir", data_dir]
    for key, value in (overrides or {}).items():
        arguments += ["--set", f"{key}={json.dumps(value)}"]
    return command_line(arguments)


def _prepare_folder(out: pathlib.Path, record: dict, resume: bool, overwrite: bool) -> None:
    settings_path = out / SETTINGS_FILE
    results_path = out / RESULTS_FILE
    if overwrite:
        for name in (RESULTS_FILE, FAILURES_FILE, SETTINGS_FILE, REPORT_FILE, COMMAND_FILE):
            (out / name).unlink(missing_ok=True)
        for figure in (out / FIGURES_DIR).glob("*.png"):
            figure.unlink()
    elif results_path.exists() and not resume:
        raise ValueError(
            f"{results_path} already holds results. Pass --resume to continue them "
            "or --overwrite to start afresh, or choose another --out."
        )
    elif resume and settings_path.exists():
        earlier = _read_settings(settings_path)
        if earlier != json.loads(json.dumps(record)):
            raise ValueError(
                f"Cannot resume {out}: its results were measured with {earlier}, "
                f"this run asks for {record}. Use the same profile, settings and "
                "backend, or another --out."
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / FIGURES_DIR).mkdir(exist_ok=True)
        settings_path.write_text(json.dumps(record, indent=2) + "\n")
    except OSError as error:
        raise ValueError(
            f"Cannot write the results folder {out}: {error.strerror or error} "
            f"({error.filename}). Choose another --out."
        ) from error


def _read_settings(path: pathlib.Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"Cannot resume: {path} is not valid JSON ({error}). Delete it to "
            "resume anyway, or pass --overwrite to start afresh."
        ) from None


def changed_settings(experiment: Experiment, profile: str, settings: Mapping[str, Any]) -> str:
    """The settings that differ from the profile's, as text ("" if none)."""
    defaults = experiment.profiles[profile].settings
    return ", ".join(f"{key}={json.dumps(value)}" for key, value in settings.items()
                     if json.dumps(value) != json.dumps(defaults[key]))


def _announce(experiment, profile, settings, seeds, pending, done, out, show,
              executor: str, stack: bool = False) -> None:
    """Print what the call will do, and how long it should take, before any run starts.

    ``pending`` are the ``(configuration, seed)`` pairs still to measure.

    Example:

    >>> from keras_detinit.reproduce import registry
    >>> table2 = registry.get_experiment("table2")
    >>> settings = table2.settings("paper")
    >>> pending = [(config, 0) for config in table2.configurations(settings)]
    >>> _announce(table2, "paper", settings, range(1), pending, 0, pathlib.Path("out"), True,
    ...           "serial, in this process")  # doctest: +ELLIPSIS
    table2: Deep-narrow paper, Table 2: activations in a 120-layer 10/6 FFNN
    profile paper (the paper's protocol)
    82 runs to do, 0 already in out/results.csv; seeds 0..0; ...; serial, in this process
    estimated: about ... for 82 runs in one process (from the rate measured in ...); --workers N and a GPU shorten it
    """
    if not show:
        return
    reductions = experiment.profiles[profile].reductions
    print(f"{experiment.name}: {experiment.title}", flush=True)
    print(f"profile {profile}" + (f" (reduced: {reductions})" if reductions else
                                 " (the paper's protocol)"), flush=True)
    changed = changed_settings(experiment, profile, settings)
    if changed:
        print(f"changed from the profile: {changed}", flush=True)
    print(f"{len(pending)} runs to do, {done} already in {out / RESULTS_FILE}; "
          f"seeds {seeds.start}..{seeds.stop - 1}; "
          f"{describe_device()}; {executor}", flush=True)
    print(estimates.describe_estimate(experiment, settings, pending,
                                      backend=keras.backend.backend(), stack=stack), flush=True)


def write_report(experiment: Experiment, profile: str, settings: Mapping[str, Any],
                 seeds: str, results: Results, out: pathlib.Path, command: str,
                 seconds: float, measured: int, failures=(),
                 executor: str = "serial, in this process") -> pathlib.Path:
    """Write ``report.md``: the experiment's body between header and run facts.

    ``seeds`` is the sentence of `describe_seeds`; ``failures`` the runs of
    this call that raised (`keras_detinit.reproduce.executors.Finished`);
    ``executor`` where the runs executed, in words.
    """
    body = (experiment.report(results, settings, out / FIGURES_DIR) if len(results)
            else "No run has finished yet.")
    reductions = experiment.profiles[profile].reductions
    run_seconds = sum(results.values("seconds"))
    changed = changed_settings(experiment, profile, settings)
    lines = [
        f"# {experiment.title}",
        "",
        f"Reproduces: {experiment.source}",
        "",
        f"Profile `{profile}`: " + (f"reduced against the paper: {reductions}"
                                    if reductions else "the paper's protocol."),
        *([f"Changed from the profile: {changed}."] if changed else []),
        seeds,
        "",
        body.strip(),
        "",
        *describe_failures(failures),
        "## How this was made",
        "",
        "```bash",
        command,
        "```",
        "",
        "Settings: " + ", ".join(f"`{key}={json.dumps(value)}`" for key, value in settings.items()),
        "",
        f"Machine: {describe_machine()}.",
        f"{len(results)} runs, {progress_lib.format_duration(run_seconds)} of measuring in all; "
        f"this invocation measured {measured} of them in "
        f"{progress_lib.format_duration(seconds)} ({executor}).",
        "",
    ]
    path = out / REPORT_FILE
    path.write_text("\n".join(lines))
    return path


def describe_failures(failures) -> list[str]:
    """The report's section on the runs that raised (no lines if none did).

    Example:

    >>> from keras_detinit.reproduce.executors import Finished
    >>> failed = Finished({"x": 1}, 0, None, 0.5, "jax", "ValueError", "bad | value")
    >>> print("\\n".join(describe_failures([failed])))  # doctest: +NORMALIZE_WHITESPACE
    ## Failed runs
    <BLANKLINE>
    1 run raised; it is listed in `failures.csv` and measured again by a call with `--resume`.
    <BLANKLINE>
    | Run | Error |
    |---|---|
    | x=1 seed=0 | ValueError: bad \\| value |
    <BLANKLINE>
    """
    if not failures:
        return []
    count = len(failures)
    rows = [[f"{describe_config(failed.config)} seed={failed.seed}",
             f"{failed.error_type}: {failed.error_message}".replace("|", "\\|")
             .replace("\n", " ")] for failed in failures]
    return [
        "## Failed runs",
        "",
        f"{count} run{'s' * (count > 1)} raised; {'they are' if count > 1 else 'it is'} listed "
        f"in `{FAILURES_FILE}` and measured again by a call with `--resume`.",
        "",
        tables.markdown_table(["Run", "Error"], rows),
        "",
    ]
