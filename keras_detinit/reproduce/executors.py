"""Where the runs of `reproduce` execute: here, in worker processes, or on Ray.

An executor takes the pending (configuration, seed) runs of an experiment
and yields each `Finished` run as it ends, in any order. A run may also be
a stack, ``((config, config, ...), seed)``: configurations the experiment
trains as one program (`keras_detinit.reproduce.Experiment.measure_stack`),
which then end, or fail, together. It never writes
results: the process that called `reproduce` is the one writer of
``results.csv``, so rows cannot interleave and resuming works the same
whatever ran them.

* `SerialExecutor`: one run after another in this process.
* `ProcessExecutor`: ``workers`` processes on this machine (the ``spawn``
  start method, the Keras backend inherited through ``KERAS_BACKEND``),
  each with the CPU's threads divided among them.
* `RayExecutor`: ``workers`` Ray actors, on a local Ray instance that
  listens on the loopback interface only, or on a Ray cluster a user
  started (``address``); an actor may hold a fraction of a GPU. Ray is the
  optional extra ``distributed`` and is imported only here.

Every worker (`Worker`) keeps one `keras_detinit.reproduce.runner.RunContext`
for its lifetime, so datasets and compiled models are loaded and built
once per worker, not once per run. A run that raises becomes a `Finished`
whose ``error_type`` and ``error_message`` say why; the other runs go on.

Example:

>>> make_executor().describe()
'serial, in this process'
>>> ProcessExecutor(workers=2, threads=1).describe()
'2 worker processes, 1 thread each'
>>> make_executor(workers=0)
Traceback (most recent call last):
...
ValueError: `workers` must be an integer >= 1. Received: workers=0
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import ipaddress
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
import warnings
from typing import Any
from typing import Callable
from typing import Iterable
from typing import Iterator
from typing import Mapping

import keras

from keras_detinit import validation

#: The executors `make_executor` builds, by name.
EXECUTORS = ("serial", "processes", "ray")
#: The columns of ``failures.csv`` after a run's configuration and seed.
FAILURE_COLUMNS = ("error_type", "error_message")
#: The optional extra that installs Ray.
RAY_EXTRA = "distributed"
#: Variables that cap a process's compute threads, for all three backends
#: (Eigen and oneDNN in TensorFlow, XLA in JAX, OpenMP in PyTorch).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclasses.dataclass(frozen=True)
class Job:
    """What every run of one `reproduce` call shares; sent to each worker once.

    Attributes:
        experiment: The `keras_detinit.reproduce.Experiment` (picklable:
            its class must be importable by the workers).
        settings: The profile's settings with any overrides.
        make_context: Builds a worker's run context (picklable, e.g.
            ``functools.partial(RunContext, data_dir, download)``).
    """

    experiment: Any
    settings: Mapping[str, Any]
    make_context: Callable[[], Any]


@dataclasses.dataclass(frozen=True)
class Finished:
    """One run that ended, measured or failed.

    Attributes:
        config: The configuration.
        seed: The seed.
        measured: The experiment's columns, or None if the run failed.
        seconds: Wall time of the run in its worker.
        backend: The Keras backend the run used.
        error_type: The exception's class name ("" if measured).
        error_message: The exception's message ("" if measured).
        details: The traceback, for the log ("" if measured).
    """

    config: Mapping[str, Any]
    seed: int
    measured: Mapping[str, Any] | None
    seconds: float
    backend: str
    error_type: str = ""
    error_message: str = ""
    details: str = ""

    @property
    def failed(self) -> bool:
        """Whether the run raised instead of measuring."""
        return self.measured is None


def stack_of(configs) -> tuple:
    """A run's configurations: one configuration, or a stack of them.

    Example:

    >>> stack_of({"a": 1}), stack_of(({"a": 1}, {"a": 2}))
    (({'a': 1},), ({'a': 1}, {'a': 2}))
    """
    return (configs,) if isinstance(configs, Mapping) else tuple(configs)


def failures(configs, seed: int, error: BaseException, seconds: float = 0.0) -> list[Finished]:
    """The `Finished` of every configuration of a run (one, or a stack) that raised ``error``.

    The run's ``seconds`` are shared equally among its configurations.
    """
    stack = stack_of(configs)
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return [Finished(config, seed, None, seconds / len(stack), keras.backend.backend(),
                     type(error).__name__, str(error), details) for config in stack]


class Worker:
    """Measures runs of one `Job`, keeping one run context for its lifetime.

    The same class serves as a worker process's loop state and as a Ray
    actor.

    Args:
        job: The `Job`.
    """

    def __init__(self, job: Job):
        self.job = job
        self.context = job.make_context()

    def measure(self, configs, seed: int) -> list[Finished]:
        """Measure one run or stack (`stack_of`); an exception becomes failures.

        A stack's wall time is shared equally among its configurations.
        """
        stack = stack_of(configs)
        experiment, settings = self.job.experiment, self.job.settings
        start = time.perf_counter()
        try:
            if len(stack) == 1:
                measured = [experiment.measure(stack[0], seed, settings, self.context)]
            else:
                measured = experiment.measure_stack(list(stack), seed, settings, self.context)
        except Exception as error:  # recorded and reported; the other runs go on
            return failures(stack, seed, error, time.perf_counter() - start)
        seconds = (time.perf_counter() - start) / len(stack)
        return [Finished(config, seed, row, seconds, keras.backend.backend())
                for config, row in zip(stack, measured, strict=True)]


class SerialExecutor:
    """Every run in this process, one after another."""

    workers = 1

    def describe(self) -> str:
        """The executor in words, for the progress header and the report."""
        return "serial, in this process"

    def run(self, job: Job, runs: Iterable[tuple[dict, int]]) -> Iterator[Finished]:
        """Yield each run's `Finished`, in the order of ``runs``."""
        worker = None
        for config, seed in runs:
            # Built at the first run, as a resumed call with nothing left
            # to do needs no context.
            worker = worker or Worker(job)
            yield from worker.measure(config, seed)


def thread_environment(threads: int) -> dict[str, str]:
    """The variables that cap a new process of any backend at ``threads`` threads.

    Example:

    >>> thread_environment(1)["OMP_NUM_THREADS"]
    '1'
    """
    threads = validation.check_int("threads", threads, low=1)
    environment = dict.fromkeys(THREAD_VARIABLES, str(threads))
    # XLA reads its thread pools' sizes from XLA_FLAGS only.
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1:
        flags += " --xla_cpu_multi_thread_eigen=false"
    environment["XLA_FLAGS"] = f"{flags} intra_op_parallelism_threads={threads}".strip()
    return environment


@contextlib.contextmanager
def patched_environment(values: Mapping[str, str]):
    """Set environment variables for the processes started inside the block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _children_ignore_interrupts():
    """Start processes that ignore Ctrl-C: only the writer handles it.

    An ignored SIGINT survives ``exec``, and Python then leaves it ignored,
    so a Ctrl-C in the terminal stops the parent, which ends the workers,
    instead of printing a traceback from every worker.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _process_main(name: int, job: Job, tasks, results) -> None:
    """A worker process: measure the runs of ``tasks`` until its stop sign.

    ``results`` is this worker's own pipe: a message sent is in the pipe
    before the next run starts, so a worker that dies loses only the run
    it holds, and the closed pipe tells the writer that it has ended.
    """
    worker = Worker(job)
    results.send(("ready", None))
    for index, config, seed in iter(tasks.get, None):
        results.send(("start", index))
        results.send(("done", (index, worker.measure(config, seed))))


class ProcessExecutor:
    """Runs in ``workers`` processes of this machine, results back to the caller.

    Args:
        workers: Number of worker processes, >= 1.
        threads: Compute threads of each worker; default: this machine's
            CPUs divided among the workers (at least 1), as threads beyond
            the cores only compete for them.
    """

    def __init__(self, workers: int, threads: int | None = None):
        self.workers = validation.check_int("workers", workers, low=1)
        default = max(1, (os.cpu_count() or 1) // self.workers)
        self.threads = validation.check_int("threads", default if threads is None else threads,
                                            low=1)

    def describe(self) -> str:
        """The executor in words, for the progress header and the report."""
        plural = "es" if self.workers > 1 else ""
        threads = "thread" if self.threads == 1 else "threads"
        return f"{self.workers} worker process{plural}, {self.threads} {threads} each"

    def run(self, job: Job, runs: Iterable[tuple[dict, int]]) -> Iterator[Finished]:
        """Yield each run's `Finished` as a worker ends it.

        A worker that dies (killed, out of memory) fails the run it held,
        and a new worker takes its place.

        Raises:
            RuntimeError: If a worker process dies before it is ready (its
                error is printed above by the worker itself).
        """
        runs = list(runs)
        if not runs:
            return
        spawn = multiprocessing.get_context("spawn")
        tasks = spawn.Queue()
        for index, (config, seed) in enumerate(runs):
            tasks.put((index, config, seed))
        count = min(self.workers, len(runs))
        for _ in range(count):
            tasks.put(None)  # one stop sign per worker
        pool = _ProcessPool(spawn, job, tasks, self.threads)
        try:
            for _ in range(count):
                pool.start()
            reported = set()
            while len(reported) < len(runs):
                for index, finished in pool.next_results(runs):
                    reported.add(index)
                    yield from finished
                if not pool.processes:
                    # Every worker has stopped: runs they never reported
                    # were lost with a worker that died.
                    for index in sorted(set(range(len(runs))) - reported):
                        reported.add(index)
                        yield from failures(*runs[index], RuntimeError(
                            "lost: its worker process stopped without reporting it"))
        finally:
            pool.close()


class _ProcessPool:
    """The worker processes of one `ProcessExecutor.run`, and their messages."""

    def __init__(self, spawn, job: Job, tasks, threads: int):
        self.spawn = spawn
        self.job = job
        self.tasks = tasks
        self.environment = {"KERAS_BACKEND": keras.backend.backend(),
                            **thread_environment(threads)}
        self.processes: dict[int, Any] = {}
        self.pipes: dict[int, Any] = {}
        self.ready: set[int] = set()
        self.running: dict[int, int] = {}
        self.started = 0

    def start(self) -> None:
        name = self.started
        self.started += 1
        receiver, sender = self.spawn.Pipe(duplex=False)
        process = self.spawn.Process(target=_process_main,
                                     args=(name, self.job, self.tasks, sender),
                                     daemon=True, name=f"keras-detinit-worker-{name}")
        with patched_environment(self.environment), _children_ignore_interrupts():
            process.start()
        sender.close()  # the worker holds the only sending end: its exit closes the pipe
        self.processes[name] = process
        self.pipes[name] = receiver

    def next_results(self, runs: list) -> list[tuple[int, Finished]]:
        """The runs that ended by the next message: reported, or lost with a dead worker."""
        names = {pipe: name for name, pipe in self.pipes.items()}
        finished = []
        for pipe in multiprocessing.connection.wait(list(names)):
            name = names[pipe]
            try:
                kind, payload = pipe.recv()
            except EOFError:
                finished += self._ended(name, runs)
                continue
            if kind == "ready":
                self.ready.add(name)
            elif kind == "start":
                self.running[name] = payload
            else:
                self.running.pop(name, None)
                finished.append(payload)
        return finished

    def _ended(self, name: int, runs: list) -> list[tuple[int, Finished]]:
        process = self.processes.pop(name)
        self.pipes.pop(name).close()
        process.join()
        if process.exitcode == 0:
            return []  # it took its stop sign
        if name not in self.ready:
            raise RuntimeError(
                f"A worker process could not start (exit code {process.exitcode}); "
                "its error is printed above.")
        self.start()  # the stop sign it never took is still queued
        if name not in self.running:
            return []
        index = self.running.pop(name)
        return [(index, failures(*runs[index], RuntimeError(
            f"its worker process died (exit code {process.exitcode})")))]

    def close(self) -> None:
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        for name, process in self.processes.items():
            process.join()
            self.pipes[name].close()
        # Tasks no worker took must not keep this process from exiting.
        self.tasks.cancel_join_thread()
        self.tasks.close()


def import_ray(local: bool):
    """Import Ray, which the ``distributed`` extra installs.

    A local instance started by this process is kept on the loopback
    interface: Ray treats a node as part of no cluster (its address is
    ``127.0.0.1`` and its servers listen there only) when its
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is 0, on Linux too, and reads it
    when imported.

    Raises:
        ImportError: If Ray is not installed, naming the extra.
    """
    try:
        with patched_environment(_LOOPBACK if local else {}):
            import ray
    except ImportError as error:
        raise ImportError(
            "The ray executor needs Ray, which is not installed. Install the "
            f"'{RAY_EXTRA}' extra: pip install 'keras-detinit[{RAY_EXTRA}]'."
        ) from error
    return ray


_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


class RayExecutor:
    """Runs as tasks of ``workers`` Ray actors, each holding one run context.

    Args:
        workers: Number of actors, >= 1; each reserves one CPU (and
            ``gpus_per_task`` GPU) of the Ray cluster.
        address: A running Ray cluster's address (``HOST:PORT`` or
            ``ray://HOST:PORT``); None starts a local instance on the
            loopback interface, without dashboard, for this call only.
        gpus_per_task: GPUs each actor holds, in (0, 1] or a whole number;
            None for none. Fractions share a GPU, so the backends are told
            to allocate its memory as they go.
    """

    def __init__(self, workers: int, address: str | None = None,
                 gpus_per_task: float | None = None):
        self.workers = validation.check_int("workers", workers, low=1)
        self.address = address
        self.gpus_per_task = gpus_per_task
        self.ray = import_ray(local=address is None)

    def describe(self) -> str:
        """The executor in words, for the progress header and the report."""
        where = (f"the Ray cluster at {self.address}" if self.address
                 else "a local Ray instance")
        gpus = f", {self.gpus_per_task:g} GPU each" if self.gpus_per_task else ""
        return f"{self.workers} Ray actor{'s' * (self.workers > 1)} on {where}{gpus}"

    def environment(self) -> dict[str, str]:
        """The variables of every actor: the backend, one thread, GPU sharing."""
        environment = {"KERAS_BACKEND": keras.backend.backend(), **thread_environment(1)}
        if self.gpus_per_task and self.gpus_per_task < 1:
            # JAX takes 75% of a GPU's memory and TensorFlow all of it at
            # first use, which leaves nothing to the actors sharing it.
            environment.update(XLA_PYTHON_CLIENT_PREALLOCATE="false",
                               TF_FORCE_GPU_ALLOW_GROWTH="true")
        return environment

    def run(self, job: Job, runs: Iterable[tuple[dict, int]]) -> Iterator[Finished]:
        """Yield each run's `Finished` as an actor ends it.

        An actor that dies fails the run it held, and a new actor takes
        its place.

        Raises:
            ValueError: If the cluster has no room for a single actor.
        """
        runs = collections.deque(enumerate(runs))
        if not runs:
            return
        ray = self.ray
        started = self._connect()
        actors: list = []
        try:
            count = min(self.workers, len(runs), self._room())
            job_ref = ray.put(job)
            actor_class = ray.remote(Worker).options(
                num_cpus=1, num_gpus=self.gpus_per_task or 0,
                runtime_env={"env_vars": self.environment()})
            in_flight = {}

            def submit(actor) -> None:
                if runs:
                    index, (config, seed) = runs.popleft()
                    in_flight[actor.measure.remote(config, seed)] = (actor, config, seed)

            for _ in range(count):
                actors.append(actor_class.remote(job_ref))
                submit(actors[-1])
            while in_flight:
                [ref], _ = ray.wait(list(in_flight), num_returns=1)
                actor, config, seed = in_flight.pop(ref)
                try:
                    finished = ray.get(ref)
                except ray.exceptions.RayActorError as error:
                    # The actor died (killed, out of memory): a new one goes on.
                    finished = failures(config, seed, error)
                    actors.remove(actor)
                    actor = actor_class.remote(job_ref)
                    actors.append(actor)
                except ray.exceptions.RayError as error:
                    finished = failures(config, seed, error)
                yield from finished
                submit(actor)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started:
                ray.shutdown()

    def _connect(self) -> bool:
        """Connect to the cluster or start a local instance; True if started here."""
        ray = self.ray
        if ray.is_initialized():
            return False  # the caller's own Ray session
        options = dict(include_dashboard=False, logging_level=logging.WARNING)
        if self.address:
            ray.init(address=self.address, **options)
            return True
        with patched_environment(_LOOPBACK):
            ray.init(num_cpus=self.workers, _node_ip_address="127.0.0.1", **options)
        node = ray.util.get_node_ip_address()
        if not ipaddress.ip_address(node).is_loopback:
            warnings.warn(f"The local Ray instance listens on {node}, not only on the loopback "
                          "interface: Ray was imported before keras_detinit could set it up.",
                          stacklevel=3)
        return True

    def _room(self) -> int:
        """How many actors the cluster can hold at once (warns below ``workers``)."""
        resources = self.ray.cluster_resources()
        room = int(resources.get("CPU", 0))
        if self.gpus_per_task:
            room = min(room, int(resources.get("GPU", 0) / self.gpus_per_task + 1e-9))
        if room < 1:
            gpus = f" and {self.gpus_per_task:g} GPU" if self.gpus_per_task else ""
            raise ValueError(
                f"{self.describe()}: the Ray cluster has no room for one worker, which needs "
                f"1 CPU{gpus}; it has {resources.get('CPU', 0):g} CPU and "
                f"{resources.get('GPU', 0):g} GPU. Lower --gpus-per-task or add nodes.")
        if room < self.workers:
            warnings.warn(f"The Ray cluster has room for {room} of the {self.workers} "
                          f"workers at once; running {room}.", stacklevel=3)
        return room


def make_executor(executor: str | None = None, workers: int = 1, address: str | None = None,
                  gpus_per_task: float | None = None):
    """The executor of `reproduce`, its options checked before anything runs.

    Args:
        executor: ``"serial"``, ``"processes"`` or ``"ray"``; None means
            ``"serial"`` for one worker and ``"processes"`` for more.
        workers: Runs at once, >= 1 (1 with ``"serial"``).
        address: The Ray cluster's address (``"ray"`` only); None starts a
            local Ray instance.
        gpus_per_task: GPUs per Ray actor (``"ray"`` only), in (0, 1] or
            a whole number.

    Raises:
        ValueError: For a bad value or a combination that means nothing.
        ImportError: For ``"ray"`` without Ray installed.
    """
    workers = validation.check_int("workers", workers, low=1)
    if executor is None:
        executor = "serial" if workers == 1 else "processes"
    validation.check_choice("executor", executor, EXECUTORS)
    if executor != "ray":
        for name, value in (("address", address), ("gpus_per_task", gpus_per_task)):
            if value is not None:
                raise ValueError(
                    f"`{name}` is an option of the ray executor (--executor ray). "
                    f"Received: {name}={value!r} with executor={executor!r}")
    if executor == "serial":
        if workers != 1:
            raise ValueError("The serial executor runs one run at a time: `workers` must be 1 "
                             f"with it. Received: workers={workers}")
        return SerialExecutor()
    if executor == "processes":
        return ProcessExecutor(workers)
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise ValueError(f"`address` must be a Ray cluster's address such as "
                         f"'10.0.0.1:6379'. Received: address={address!r}")
    if gpus_per_task is not None:
        _check_gpus(gpus_per_task)
    return RayExecutor(workers, address, gpus_per_task)


def _check_gpus(gpus_per_task) -> None:
    number = (float(gpus_per_task) if isinstance(gpus_per_task, (int, float))
              and not isinstance(gpus_per_task, bool) else math.nan)
    # Ray shares one GPU among actors but never splits several.
    if not (0 < number <= 1 or (number > 1 and number.is_integer() and math.isfinite(number))):
        raise ValueError("`gpus_per_task` must be in (0, 1] (a share of one GPU) or a whole "
                         f"number of GPUs. Received: gpus_per_task={gpus_per_task!r}")
