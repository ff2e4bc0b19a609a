"""KerasTuner's distributed mode on loopback: one chief, two workers.

Three ``keras-detinit tune`` processes, as on three machines: the chief
serves the oracle on 127.0.0.1, the workers train the trials it hands out,
and the chief prints the summary and writes the results. Their variables
come from `tuning.chief_environment` and `tuning.worker_environments`, one
worker per GPU 0 and 1 (on a machine without GPUs the pinning is inert).
"""

import csv
import os
import socket
import subprocess
import sys
import time

import pytest

from keras_detinit import tuning

from idx_files import write_dataset

TRIALS = 4
WORKERS = ("tuner-gpu0", "tuner-gpu1")
TUNER_IDS = ("chief", *WORKERS)
# Startup (three processes importing Keras on two cores), four 1-epoch
# trials, and up to 20 s the chief waits between checks for the last worker.
DEADLINE_S = 240


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def trial_folders(directory):
    project = directory / "mnist_random"
    if not project.is_dir():
        return set()
    return {path.name for path in project.iterdir() if path.name.startswith("trial_")}


@pytest.mark.slow
def test_chief_and_two_workers_share_the_search(tmp_path):
    data_dir = tmp_path / "data"
    write_dataset(data_dir / "mnist", n_train=200, n_test=10)
    env = dict(os.environ, HOME=str(tmp_path / "home"), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_DETINIT_DATA_DIR", None)
    port = free_port()
    pinned = [
        tuning.chief_environment("127.0.0.1", port),
        *tuning.worker_environments([0, 1], "127.0.0.1", port, prefix="tuner"),
    ]
    environments = {variables["KERASTUNER_TUNER_ID"]: variables for variables in pinned}
    assert tuple(environments) == TUNER_IDS
    command = [
        sys.executable, "-m", "keras_detinit.cli", "tune",
        "--data-dir", str(data_dir), "--samples-per-class", "2",
        "--trials", str(TRIALS), "--epochs", "1", "--depth", "0",
        "--batch-size", "10", "--schemes", "gaussian", "epsilon_orthogonal",
        "--verbose", "1",
    ]
    processes, logs = {}, {}
    start = time.monotonic()
    try:
        for tuner_id in TUNER_IDS:
            logs[tuner_id] = open(tmp_path / f"{tuner_id}.log", "w")
            processes[tuner_id] = subprocess.Popen(
                command + ["--directory", str(tmp_path / tuner_id)],
                env=env | environments[tuner_id],
                stdout=logs[tuner_id],
                stderr=subprocess.STDOUT,
            )
        # The chief exits last: once every trial has ended and every worker
        # has been told to stop.
        for tuner_id in (*WORKERS, "chief"):
            remaining = max(DEADLINE_S - (time.monotonic() - start), 1)
            processes[tuner_id].wait(timeout=remaining)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs.values():
            log.close()
    output = {i: (tmp_path / f"{i}.log").read_text() for i in TUNER_IDS}
    print(f"loopback search took {time.monotonic() - start:.1f} s")
    for tuner_id in TUNER_IDS:
        assert processes[tuner_id].returncode == 0, output[tuner_id][-3000:]

    chief = output["chief"]
    assert f"{TRIALS} trials: {TRIALS} completed, 0 failed" in chief
    with open(tmp_path / "chief" / "mnist_random" / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == TRIALS and {row["status"] for row in rows} == {"COMPLETED"}
    assert (tmp_path / "chief" / "mnist_random" / "objective.png").is_file()

    # Every trial was trained by a worker, none by the chief, none twice.
    ran = {i: trial_folders(tmp_path / i) for i in WORKERS}
    assert ran[WORKERS[0]].isdisjoint(ran[WORKERS[1]])
    assert ran[WORKERS[0]] | ran[WORKERS[1]] == {f"trial_{row['trial_id']}" for row in rows}
    for worker in WORKERS:
        assert "Worker done" in output[worker]
    # Each process' header names its pinning: the chief sees no GPU.
    assert "CUDA_VISIBLE_DEVICES=''" in chief
    for worker, gpu in zip(WORKERS, "01"):
        assert f"distributed worker {worker}; CUDA_VISIBLE_DEVICES='{gpu}'" in output[worker]
