"""Runs of ``reproduce`` in this process, in worker processes and on Ray.

Whatever executes the runs, the rows must be those of a serial run, a run
that raises must be recorded while the others complete, a resumed call
must measure only what is missing, and Ctrl-C must keep every finished
row. The experiments here are tiny: `Arithmetic` needs no data, and
Table 1 runs with one epoch on the tiny IDX files of ``conftest.py``.
Worker processes import this module to unpickle `Arithmetic`: the
``spawn`` start method hands them the test process's ``sys.path``.
"""

import _thread
import csv
import importlib.util
import multiprocessing
import os
import re
import signal
import threading
import time
import warnings

import keras
import pytest

from keras_detinit import cli
from keras_detinit import reproduce
from keras_detinit.reproduce import executors
from keras_detinit.reproduce import registry
from keras_detinit.reproduce import runner


class Arithmetic(reproduce.Experiment):
    """Measures x^2 + seed and the worker's pid.

    Faults are attributes, not settings, so that a resumed call (which
    must use the same settings) can run without them.

    Args:
        fail: Values of x whose runs raise.
        exit: Values of x whose runs kill their worker process.
        pause: Seconds each run takes.
    """

    name = "arithmetic"
    title = "Arithmetic"
    source = "no paper"
    columns = ("square", "pid")
    profiles = {"quick": reproduce.Profile(seeds=2, settings={"n": 4})}

    def __init__(self, fail=(), exit=(), pause=0.0):
        self.fail, self.exit, self.pause = fail, exit, pause

    def configurations(self, settings):
        return [{"x": x} for x in range(settings["n"])]

    def measure(self, config, seed, settings, context):
        if config["x"] in self.fail:
            raise ValueError(f"x={config['x']} is refused")
        if config["x"] in self.exit:
            os._exit(3)  # a worker killed mid-run, as by the out-of-memory killer
        time.sleep(self.pause)
        return {"square": config["x"] ** 2 + seed, "pid": os.getpid()}

    def report(self, results, settings, figures):
        return f"{len(results)} rows"


#: Table 1 cut to four one-epoch runs on one image per class.
TINY_TABLE1 = {"datasets": ["mnist", "fashion_mnist"], "hidden": [0],
               "samples_per_class": [1], "initializers": ["he_normal", "glorot_uniform"],
               "epochs_few_shot": 1, "epochs_entire": 1}


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def by_run(rows):
    """Rows keyed by (configuration, seed), without ``seconds`` (wall time may differ)."""
    measured = reproduce.get_experiment("table1").columns
    return {tuple(value for name, value in row.items() if name not in (*measured, "seconds")):
            {name: value for name, value in row.items() if name != "seconds"} for row in rows}


@pytest.mark.parametrize(
    "options,match",
    [
        ({"workers": 0}, "`workers` must be an integer >= 1. Received: workers=0"),
        ({"workers": 2.5}, "`workers` must be an integer >= 1"),
        ({"executor": "threads"}, "`executor` must be one of .*'ray'.*executor='threads'"),
        ({"executor": "serial", "workers": 2}, "`workers` must be 1 with it.*workers=2"),
        ({"workers": 2, "address": "10.0.0.1:6379"},
         "`address` is an option of the ray executor.*executor='processes'"),
        ({"gpus_per_task": 0.5}, "`gpus_per_task` is an option of the ray executor"),
        ({"executor": "ray", "gpus_per_task": 0},
         r"`gpus_per_task` must be in \(0, 1\] .* or a whole number of GPUs.*=0$"),
        ({"executor": "ray", "gpus_per_task": float("nan")}, "`gpus_per_task` must be.*nan"),
        ({"executor": "ray", "gpus_per_task": float("inf")}, "`gpus_per_task` must be.*inf"),
        ({"executor": "ray", "gpus_per_task": 1.5}, "`gpus_per_task` must be.*=1.5"),
        ({"executor": "ray", "address": " "}, "`address` must be a Ray cluster's address"),
    ],
)
def test_bad_executor_options_raise_clear_errors(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        reproduce.reproduce(Arithmetic(), out=tmp_path / "out", show_progress=False, **options)
    assert not (tmp_path / "out").exists()  # checked before the folder is touched


def test_workers_choose_the_executor_and_divide_the_cores():
    assert isinstance(executors.make_executor(), executors.SerialExecutor)
    pool = executors.make_executor(workers=3)
    assert isinstance(pool, executors.ProcessExecutor)
    assert pool.threads == max(1, os.cpu_count() // 3)
    assert executors.make_executor("processes", workers=1).describe() == (
        f"1 worker process, {os.cpu_count()} thread{'s' * (os.cpu_count() > 1)} each")


def test_thread_environment_caps_every_backend():
    environment = executors.thread_environment(1)
    assert {environment[name] for name in executors.THREAD_VARIABLES} == {"1"}
    assert "--xla_cpu_multi_thread_eigen=false" in environment["XLA_FLAGS"]
    assert "intra_op_parallelism_threads=2" in executors.thread_environment(2)["XLA_FLAGS"]


@pytest.mark.parametrize("argv,match", [
    (["--workers", "0"], "`workers` must be an integer >= 1"),
    (["--address", "10.0.0.1:6379"], "`address` is an option of the ray executor"),
    (["--workers", "2", "--executor", "serial"], "`workers` must be 1"),
])
def test_cli_rejects_bad_executor_options(tmp_path, capsys, argv, match):
    status = cli.main(["reproduce", "table1", "--out", str(tmp_path / "out"), "--quiet", *argv])
    error = capsys.readouterr().err
    assert status == 2 and error.startswith("keras-detinit: error:")
    assert re.search(match, error), error
    assert not (tmp_path / "out").exists()


def test_a_failing_run_is_recorded_the_others_complete_and_resume_retries_it(tmp_path):
    outcome = reproduce.reproduce(Arithmetic(fail=(1,)), out=tmp_path, show_progress=False)
    rows = read_rows(tmp_path / "results.csv")
    assert sorted((row["x"], row["seed"]) for row in rows) == [
        (str(x), str(seed)) for x in (0, 2, 3) for seed in (0, 1)]
    failed = read_rows(tmp_path / runner.FAILURES_FILE)
    assert [(row["x"], row["seed"], row["error_type"], row["error_message"]) for row in failed] == [
        ("1", "0", "ValueError", "x=1 is refused"), ("1", "1", "ValueError", "x=1 is refused")]
    assert outcome.measured == 6 and len(outcome.failures) == 2
    report = outcome.report.read_text()
    assert "## Failed runs" in report and "| x=1 seed=1 | ValueError: x=1 is refused |" in report
    # A resumed call retries exactly the failed runs, which succeed now.
    outcome = reproduce.reproduce(Arithmetic(), out=tmp_path, show_progress=False, resume=True)
    assert outcome.measured == 2 and outcome.failures == ()
    assert not (tmp_path / runner.FAILURES_FILE).exists()
    assert "## Failed runs" not in outcome.report.read_text()
    assert len(read_rows(tmp_path / "results.csv")) == 8


def test_the_cli_exits_non_zero_when_a_run_failed(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(registry, "get_experiment", lambda name: Arithmetic(fail=(0,)))
    argv = ["reproduce", "table1", "--out", str(tmp_path), "--quiet"]
    assert cli.main(argv) == 1
    assert "2 runs failed" in capsys.readouterr().err


@pytest.mark.slow
def test_processes_give_the_rows_of_a_serial_run(tmp_path, data_dir):
    common = dict(data_dir=str(data_dir), download=False, show_progress=False,
                  overrides=TINY_TABLE1, seeds=2)
    serial = reproduce.reproduce("table1", out=tmp_path / "serial", **common)
    parallel = reproduce.reproduce("table1", out=tmp_path / "processes", workers=2, **common)
    for outcome in (serial, parallel):
        assert outcome.failures == (), outcome.failures[0].details
    assert serial.measured == parallel.measured == 8
    serial_rows = read_rows(tmp_path / "serial" / "results.csv")
    parallel_rows = read_rows(tmp_path / "processes" / "results.csv")
    assert list(parallel_rows[0]) == list(serial_rows[0])  # the same columns, in order
    assert by_run(parallel_rows) == by_run(serial_rows)
    assert {row["backend"] for row in parallel_rows} == {keras.backend.backend()}
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_processes_record_failures_survive_a_dead_worker_and_resume(tmp_path):
    common = dict(out=tmp_path, workers=2, seeds=1, overrides={"n": 5}, show_progress=False)
    outcome = reproduce.reproduce(Arithmetic(fail=(1,), exit=(3,)), **common)
    rows = read_rows(tmp_path / "results.csv")
    assert sorted(int(row["x"]) for row in rows) == [0, 2, 4]
    assert all(int(row["square"]) == int(row["x"]) ** 2 for row in rows)
    assert str(os.getpid()) not in {row["pid"] for row in rows}  # measured by the workers
    failed = {row["x"]: row["error_type"] + ": " + row["error_message"]
              for row in read_rows(tmp_path / runner.FAILURES_FILE)}
    assert failed == {"1": "ValueError: x=1 is refused",
                      "3": "RuntimeError: its worker process died (exit code 3)"}
    assert len(outcome.failures) == 2 and outcome.measured == 3
    assert multiprocessing.active_children() == []
    # Resumed: only the two failed runs are measured, and they succeed now.
    outcome = reproduce.reproduce(Arithmetic(), resume=True, **common)
    assert outcome.measured == 2 and outcome.failures == ()
    assert not (tmp_path / runner.FAILURES_FILE).exists()
    assert sorted(int(row["x"]) for row in read_rows(tmp_path / "results.csv")) == list(range(5))


@pytest.mark.slow
def test_ctrl_c_keeps_every_finished_row_and_stops_the_workers(tmp_path):
    settings = {"n": 10}
    results = tmp_path / "results.csv"

    def interrupt_after_two_rows():
        while not results.exists() or len(read_rows(results)) < 2:
            time.sleep(0.05)
        _thread.interrupt_main()  # what Ctrl-C does to the main thread

    # Python's own Ctrl-C handler: a process started in the background
    # (`command &`, as CI may run the suite) inherits SIGINT ignored, and
    # then interrupt_main() does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=interrupt_after_two_rows, daemon=True)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="runs kept") as interrupted:
            reproduce.reproduce(Arithmetic(pause=0.5), out=tmp_path, workers=2,
                                show_progress=False, overrides=settings)
    finally:
        signal.signal(signal.SIGINT, previous)
    kept = read_rows(results)
    assert interrupted.value.kept == len(kept) and 2 <= len(kept) < 20
    assert multiprocessing.active_children() == []
    outcome = reproduce.reproduce(Arithmetic(), out=tmp_path, show_progress=False,
                                  overrides=settings, resume=True)
    assert outcome.measured == 20 - len(kept)
    keys = [(row["x"], row["seed"]) for row in read_rows(results)]
    assert sorted(keys) == sorted({(str(x), str(seed)) for x in range(10) for seed in (0, 1)})


@pytest.mark.slow
def test_ray_actors_on_a_local_instance_give_the_rows_of_a_serial_run(tmp_path, data_dir):
    # Not imported here: the executor imports Ray itself, to keep it on the loopback.
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the 'distributed' extra is not installed")
    common = dict(data_dir=str(data_dir), download=False, show_progress=False,
                  overrides=TINY_TABLE1)
    serial = reproduce.reproduce("table1", out=tmp_path / "serial", **common)
    with warnings.catch_warnings():
        # The local instance must listen on the loopback interface only.
        warnings.filterwarnings("error", message=".*loopback.*")
        distributed = reproduce.reproduce("table1", out=tmp_path / "ray", executor="ray",
                                          workers=2, **common)
    for outcome in (serial, distributed):
        assert outcome.failures == (), outcome.failures[0].details
    assert serial.measured == distributed.measured == 4
    serial_rows = read_rows(tmp_path / "serial" / "results.csv")
    ray_rows = read_rows(tmp_path / "ray" / "results.csv")
    assert list(ray_rows[0]) == list(serial_rows[0])
    assert by_run(ray_rows) == by_run(serial_rows)
    import ray

    assert not ray.is_initialized()  # the instance started for the call is gone
