"""One `keras-detinit tune` search, one worker per GPU of this machine.

Starts KerasTuner's chief (which serves the oracle, trains nothing and
sees no GPU) and one worker per GPU given, each pinned to its GPU with
``CUDA_VISIBLE_DEVICES`` (`keras_detinit.tuning.worker_environments`),
then waits for all of them. Everything after ``--`` goes to every
``keras-detinit tune`` process unchanged: give them all the same search.
Each process writes into ``--directory``/its tuner id, its output into
``--directory``/its tuner id``.log``; the chief's log ends with the
summary, and the chief's folder holds ``results.csv``.

On one machine with four GPUs:

    python examples/tune_one_worker_per_gpu.py --gpus 0 1 2 3 -- \\
        --data-dir ../shared/data --trials 16 --epochs 5

Across machines, run the chief's machine as above with ``--oracle-ip``
set to its address on the network, and on every further machine

    python examples/tune_one_worker_per_gpu.py --no-chief --gpus 0 1 \\
        --oracle-ip 10.0.0.5 -- --data-dir ../shared/data --trials 16 --epochs 5

(its tuner ids start with its host name). ``--dry-run`` prints the
commands with their variables instead of running them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys

from keras_detinit import tuning

TUNE = [sys.executable, "-m", "keras_detinit.cli", "tune"]


def processes(args: argparse.Namespace) -> list[tuple[dict[str, str], list[str]]]:
    """Each process to start: its variables and its command."""
    environments = tuning.worker_environments(
        args.gpus, args.oracle_ip, args.oracle_port, prefix=args.prefix
    )
    if not args.no_chief:
        environments.insert(0, tuning.chief_environment(args.oracle_ip, args.oracle_port))
    return [
        (
            environment,
            TUNE + args.tune_args
            + ["--directory", os.path.join(args.directory, environment["KERASTUNER_TUNER_ID"])],
        )
        for environment in environments
    ]


def run(planned, directory: str) -> int:
    """Start every process, wait for all; the highest exit status."""
    os.makedirs(directory, exist_ok=True)
    started = []
    for environment, command in planned:
        log = open(os.path.join(directory, environment["KERASTUNER_TUNER_ID"] + ".log"), "w")
        started.append((environment, log, subprocess.Popen(
            command, env=os.environ | environment, stdout=log, stderr=subprocess.STDOUT
        )))
    status = 0
    for environment, log, process in started:
        code = process.wait()
        log.close()
        print(f"{environment['KERASTUNER_TUNER_ID']}: exit status {code}, log {log.name}")
        status = max(status, code)
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", nargs="+", required=True,
                        help="GPU indices or UUIDs of this machine, one worker each")
    parser.add_argument("--oracle-ip", default="127.0.0.1",
                        help="the chief's address (default: this machine only)")
    parser.add_argument("--oracle-port", type=int, default=8000)
    parser.add_argument("--no-chief", action="store_true",
                        help="workers only: the chief runs on another machine")
    parser.add_argument("--prefix", default=socket.gethostname(),
                        help="start of this machine's worker ids (default: host name)")
    parser.add_argument("--directory", default="keras_detinit_tuning_workers")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("tune_args", nargs=argparse.REMAINDER,
                        help="-- then the arguments of keras-detinit tune")
    args = parser.parse_args(argv)
    args.tune_args = args.tune_args[1:] if args.tune_args[:1] == ["--"] else args.tune_args
    try:
        planned = processes(args)
    except ValueError as error:
        parser.error(str(error))
    if args.dry_run:
        for environment, command in planned:
            variables = " ".join(f"{k}={shlex.quote(v)}" for k, v in environment.items())
            print(f"{variables} {shlex.join(command)}")
        return 0
    return run(planned, args.directory)


if __name__ == "__main__":
    sys.exit(main())
