"""The ``keras-detinit`` command line: parsed before Keras is imported.

Importing `keras_detinit` imports Keras and a backend (seconds), because
the package registers its initializers with Keras on import. This package
stands beside it so that ``keras-detinit --help`` and every ``keras-detinit
COMMAND --help`` answer at once: it builds the parser from the standard
library alone, reading the few names it lists (experiments, profiles) from
the source of `keras_detinit` without importing it. Only a command that
runs imports `keras_detinit.cli`, which does the work.

Every failure a user can cause ends in one line, ``keras-detinit: error:
...`` or ``keras-detinit: interrupted; ...``, and a non-zero exit status.

Example:

>>> parser = build_parser()
>>> parser.parse_args(["info"]).command
'info'
>>> "table1" in experiment_summaries()
True
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import importlib.util
import os
import pathlib
import sys
import tempfile
from typing import Any
from typing import Sequence

PROG = "keras-detinit"
#: Exit status of a run stopped with Ctrl-C (128 + SIGINT), as shells use.
INTERRUPTED = 130
#: The package whose source the parser reads without importing it.
PACKAGE = "keras_detinit"
#: The spelling of "the whole training set" (`keras_detinit.protocol.WHOLE_TRAINING_SET`,
#: repeated here because this module must not import the package).
WHOLE_TRAINING_SET = "all"
SAMPLES_PER_CLASS_HELP = ("training images per class (a few-shot training set), or 'all' "
                          "for the whole training set")
DATA_DIR_HELP = ("directory with the IDX files (else $KERAS_DETINIT_DATA_DIR, then "
                 "Keras' cache, then Keras' download)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-detinit`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        return _dispatch(args)
    except KeyboardInterrupt as interrupt:
        # `reproduce` says how many runs its CSV keeps; nothing else is lost.
        detail = str(interrupt)
        print(f"{PROG}: interrupted" + (f"; {detail}" if detail else ""), file=sys.stderr)
        return INTERRUPTED
    except (ValueError, ImportError) as error:  # bad arguments, data, missing extra
        return _fail(error)
    except OSError as error:  # a path that cannot be read, created or written
        return _fail(_describe_os_error(error))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "reproduce" and args.backend and "keras" not in sys.modules:
        # Keras reads the backend once, when imported.
        os.environ["KERAS_BACKEND"] = args.backend
    with quiet_backend_import():
        commands = importlib.import_module(f"{PACKAGE}.cli")
    return getattr(commands, f"run_{args.command}")(args)


def _fail(error: Any) -> int:
    print(f"{PROG}: error: {error}", file=sys.stderr)
    return 2


def _describe_os_error(error: OSError) -> str:
    """``[Errno 13] Permission denied: 'x'`` as ``cannot use x: permission denied``."""
    if error.filename is None:
        return str(error)
    reason = (error.strerror or str(error)).lower()
    return f"cannot use {error.filename}: {reason}"


@contextlib.contextmanager
def quiet_backend_import():
    """Hide the backends' C++ log lines while Keras is first imported.

    TensorFlow prints some lines (oneDNN notices, absl's preamble) from
    static initializers, before any Python logging setting applies, so
    only the file descriptor can hold them back. What was written is shown
    after all if the import fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401  (imported here for its side effect)
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    yield


class DefaultsFormatter(argparse.HelpFormatter):
    """Shows every option's default, unless its help already states one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unstated = (action.default is None or action.default is False
                    or action.default == [] or action.default == argparse.SUPPRESS)
        if not action.option_strings or "default" in text or unstated:
            return text
        return f"{text} (default: %(default)s)".strip()


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, built without importing Keras."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Weight initialization for Keras 3: demos and tools.",
        formatter_class=DefaultsFormatter,
    )
    commands = parser.add_subparsers(title="commands")
    _add_demo_parser(commands)
    info = commands.add_parser(
        "info", formatter_class=DefaultsFormatter, help="versions, backend library, device and initializer names",
        description="Print the versions of keras_detinit, Keras and the backend "
        "libraries, the device Keras computes on, and the initializer names.",
    )
    info.set_defaults(command="info")
    _add_tune_parser(commands)
    _add_reproduce_parser(commands)
    return parser


def _add_demo_parser(commands) -> None:
    demo = commands.add_parser(
        "demo", formatter_class=DefaultsFormatter,
        help="train a small FFNN on MNIST with Sinusoidal and Glorot init",
        description="Train the same FFNN once per initializer (Adam, batch "
        "100, 15% validation) and print validation and test accuracy. The "
        "backend is chosen by KERAS_BACKEND.",
    )
    demo.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"],
                      help="the dataset")
    demo.add_argument("--data-dir", help=DATA_DIR_HELP)
    demo.add_argument("--initializers", nargs="+", default=["sinusoidal", "glorot_uniform"],
                      help="initializer names to compare")
    demo.add_argument("--hidden", type=int, nargs="*", default=[256], help="hidden widths")
    demo.add_argument("--epochs", type=int, default=3, help="training epochs")
    demo.add_argument("--batch-size", type=int, default=100, help="batch size")
    demo.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate")
    demo.add_argument("--samples-per-class", default=WHOLE_TRAINING_SET,
                      help=SAMPLES_PER_CLASS_HELP)
    demo.add_argument("--seed", type=int, default=0,
                      help="seed of the data split, the weights and the batch order")
    demo.set_defaults(command="demo")


def _add_reproduce_parser(commands) -> None:
    experiments = experiment_summaries()
    listing = "; ".join(f"{name}: {summary}" for name, summary in experiments.items())
    reproduce = commands.add_parser(
        "reproduce", formatter_class=DefaultsFormatter,
        help="reproduce a paper's table or figure (CSV, markdown, PNG)",
        description="Run one of the papers' experiments: every configuration "
        "once per seed, one CSV row each as it finishes (resumable), then "
        "report.md with mean +- std beside the paper's values, figures/*.png "
        "and command.txt in --out. Before the first run it prints an estimate of "
        "the run time, from a rate measured on a 2-core CPU. Experiments: " + listing + ".",
    )
    reproduce.add_argument("experiment", choices=sorted(experiments))
    reproduce.add_argument(
        "--profile", default="quick", choices=source_literal("reproduce/experiment.py", "PROFILES"),
        help="quick: reduced for a 2-core CPU (reductions are printed); "
        "paper: the paper's full protocol, meant for a GPU; long (sigma0 only): the "
        "paper's training length on reduced data (default: quick)",
    )
    reproduce.add_argument(
        "--backend", choices=["tensorflow", "jax", "torch"],
        help="Keras backend (default: KERAS_BACKEND, else Keras' default)",
    )
    reproduce.add_argument("--data-dir", help=DATA_DIR_HELP)
    reproduce.add_argument("--out", help="output directory "
                           "(default: keras_detinit_results/EXPERIMENT-PROFILE)")
    reproduce.add_argument("--seeds", type=int, help="number of seeds FIRST..FIRST+N-1 "
                           "(default: the profile's, printed at the start)")
    reproduce.add_argument("--first-seed", type=int, default=0, metavar="FIRST",
                           help="the first seed, e.g. seeds a default was not tuned on "
                           "(default: 0)")
    existing = reproduce.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true",
                          help="continue the results already in --out")
    existing.add_argument("--overwrite", action="store_true",
                          help="discard the results already in --out")
    existing.add_argument("--report-only", action="store_true",
                          help="measure nothing: write report.md from the rows already in "
                          "--out (e.g. of a run still in progress)")
    reproduce.add_argument(
        "--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
        help="replace a profile setting; VALUE is JSON, e.g. --set epochs=2 "
        "--set datasets='[\"mnist\"]' (report.md lists the settings)",
    )
    reproduce.add_argument("--no-download", dest="download", action="store_false",
                           help="never download a dataset (default: Keras downloads one "
                           "found nowhere else)")
    reproduce.add_argument("--quiet", action="store_true", help="no progress lines")
    reproduce.add_argument("--stack", action="store_true",
                           help="train the runs that differ only in their initializer "
                           "(same seed) as one stacked program: the same rows up to "
                           "float rounding, in fewer steps (FFNN experiments)")
    _add_executor_options(reproduce)
    reproduce.set_defaults(command="reproduce")


def _add_executor_options(reproduce) -> None:
    # Checked, with the combinations, by keras_detinit.reproduce.executors.make_executor.
    group = reproduce.add_argument_group(
        "parallel and distributed runs",
        "Runs go to N workers; this process alone writes the CSV. --workers N > 1 "
        "without --executor means worker processes on this machine. Ray needs the "
        "'distributed' extra.",
    )
    group.add_argument("--workers", type=int, default=1, metavar="N",
                       help="runs measured at once (default: 1)")
    group.add_argument("--executor", choices=["serial", "processes", "ray"],
                       help="serial: in this process; processes: N processes on this "
                       "machine; ray: N Ray actors (default: serial for one worker, "
                       "processes for more)")
    group.add_argument("--address", metavar="ADDR",
                       help="with --executor ray: a running Ray cluster's address, e.g. "
                       "10.0.0.1:6379 (default: a local Ray instance on the loopback "
                       "interface)")
    group.add_argument("--gpus-per-task", type=float, metavar="F",
                       help="with --executor ray: GPUs per worker, in (0, 1] to share one "
                       "GPU or a whole number (default: none)")


def _add_tune_parser(commands) -> None:
    tune = commands.add_parser(
        "tune", formatter_class=DefaultsFormatter,
        help="KerasTuner search over the initializer, sigma0 and epsilon",
        description="Search the kernel initializer of the papers' FFNN with "
        "KerasTuner (objective: validation accuracy on 15% of the training "
        "set), print the ranked trials and write results.csv and "
        "objective.png into the project directory. Needs the 'tuner' extra. "
        "Set KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT to run one chief and several workers.",
    )
    tune.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"],
                      help="the dataset")
    tune.add_argument("--data-dir", help=DATA_DIR_HELP)
    tune.add_argument("--samples-per-class", default=WHOLE_TRAINING_SET,
                      help=SAMPLES_PER_CLASS_HELP)
    tune.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"],
                      help="KerasTuner's search algorithm")
    tune.add_argument("--trials", type=int, default=10, help="maximum number of trials")
    tune.add_argument("--epochs", type=int, default=5, help="epochs per trial")
    tune.add_argument("--executions-per-trial", type=int, default=1,
                      help="trainings averaged per trial")
    tune.add_argument("--directory", default="keras_detinit_tuning",
                      help="where projects are kept")
    tune.add_argument("--project-name", help="default: DATASET_TUNER")
    existing = tune.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", dest="if_exists", action="store_const", const="resume",
        help="continue an existing project",
    )
    existing.add_argument(
        "--overwrite", dest="if_exists", action="store_const", const="overwrite",
        help="delete an existing project and start afresh",
    )
    tune.add_argument(
        "--schemes", nargs="+",
        help="initializer choices: gaussian, epsilon_orthogonal, odd_sigmoid "
        "(needs an odd-sigmoid --activation such as tanh) or any "
        "initializer name (default: gaussian epsilon_orthogonal sinusoidal "
        "glorot_uniform he_normal)",
    )
    tune.add_argument(
        "--range", nargs=3, action="append", default=[], dest="ranges",
        metavar=("NAME", "LOW", "HIGH"),
        help="log-uniform range of a scheme's hyperparameter, e.g. "
        "--range sigma0 0.01 1 --range epsilon 1e-3 0.5",
    )
    tune.add_argument("--depth", type=int, nargs="+", default=[1],
                      help="hidden layers; several values are searched")
    tune.add_argument("--width", type=int, nargs="+", default=[16],
                      help="units per hidden layer; several values are searched")
    tune.add_argument("--activation", nargs="+", default=["relu"],
                      help="hidden activation; several values are searched")
    rate = tune.add_mutually_exclusive_group()
    rate.add_argument("--learning-rate", type=float, default=1e-3,
                      help="Adam's learning rate, fixed")
    rate.add_argument("--learning-rate-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                      help="search Adam's learning rate log-uniformly")
    tune.add_argument("--batch-size", type=int, default=100, help="batch size")
    tune.add_argument("--seed", type=int, default=0,
                      help="seed of the data split and of every build")
    tune.add_argument("--skewness", type=int, nargs="?", const=256, metavar="N",
                      help="attach SkewnessCallback, probing N validation images "
                      "(256 if N is left out), to every trial; its metrics go into the CSV")
    tune.add_argument("--max-consecutive-failures", type=int,
                      help="abort after this many failed trials in a row (default: never)")
    tune.add_argument("--no-plot", dest="plot", action="store_false",
                      help="write no PNG of the objective")
    tune.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2],
                      help="0 silent, 1 progress bars, 2 one line per epoch")
    tune.set_defaults(command="tune", if_exists="error")


def experiment_summaries() -> dict[str, str]:
    """``reproduce`` experiment name -> one-line summary, from the registry's source."""
    registry = source_literal("reproduce/registry.py", "EXPERIMENTS")
    return {name: entry[-1] for name, entry in registry.items()}


def source_literal(module: str, name: str) -> Any:
    """The literal value assigned to ``name`` in a module of `keras_detinit`.

    The module is read as text, never imported, so Keras stays unloaded.

    Args:
        module: The module's path inside the package, e.g.
            ``"reproduce/registry.py"``.
        name: A module-level name assigned a literal (dict, tuple, ...).

    Raises:
        LookupError: If ``name`` is not assigned a literal there.
    """
    path = _package_dir() / module
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path} assigns no literal to {name}.")


def _package_dir() -> pathlib.Path:
    # `find_spec` of a top-level package locates it without executing it.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"The package {PACKAGE} is not installed.")
    return pathlib.Path(list(spec.submodule_search_locations)[0])

