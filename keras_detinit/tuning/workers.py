"""One trial per GPU: the environment of each process of a distributed search.

KerasTuner's distributed mode runs one *chief*, which serves the oracle
and trains nothing, and any number of *workers*, which train the trials it
hands out. Three variables say which process is which
(``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``,
``KERASTUNER_ORACLE_PORT``); ``CUDA_VISIBLE_DEVICES`` pins each worker to
its own GPU, which all three backends (TensorFlow, JAX, PyTorch) honour.
Inside a pinned worker its GPU is the only one visible, numbered 0: the
device line reads ``gpu:0`` (``cuda:0`` on PyTorch) on every worker.

The chief sees no GPU (``CUDA_VISIBLE_DEVICES=""``): it builds no model,
and a process that sees a GPU may reserve memory on it (JAX takes 75% of
it on first use), memory the worker on that GPU needs.

On one machine, one chief and a worker per GPU; on further machines,
workers only, with a tuner-id prefix of their own (e.g. the host name) so
that ids stay distinct across machines.

Example:

>>> environments = worker_environments([0, 1], "10.0.0.5", 8000)
>>> [(e["KERASTUNER_TUNER_ID"], e["CUDA_VISIBLE_DEVICES"]) for e in environments]
[('worker-gpu0', '0'), ('worker-gpu1', '1')]
>>> chief_environment("10.0.0.5", 8000)["CUDA_VISIBLE_DEVICES"]
''
"""

from __future__ import annotations

import re
from typing import Sequence

from keras_detinit import validation

TUNER_ID = "KERASTUNER_TUNER_ID"
ORACLE_IP = "KERASTUNER_ORACLE_IP"
ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
#: KerasTuner makes the process whose tuner id contains this the chief.
CHIEF = "chief"
#: A GPU as ``CUDA_VISIBLE_DEVICES`` names one: an index, or a ``GPU-``
#: or ``MIG-`` UUID as ``nvidia-smi -L`` prints it.
_GPU = re.compile(r"\d+|(GPU|MIG)-[0-9A-Za-z-]+")


def chief_environment(oracle_ip: str, oracle_port: int) -> dict[str, str]:
    """The chief's variables: it listens on the address and sees no GPU.

    Args:
        oracle_ip: The address the chief listens on and workers connect to.
        oracle_port: Its port, 1 to 65535.

    Returns:
        Variable name -> value, to add to the process' environment.
    """
    return {TUNER_ID: CHIEF, **_oracle(oracle_ip, oracle_port), VISIBLE_DEVICES: ""}


def worker_environments(
    gpus: Sequence[int | str],
    oracle_ip: str,
    oracle_port: int,
    prefix: str = "worker",
) -> list[dict[str, str]]:
    """One worker per GPU, each pinned to its GPU.

    Args:
        gpus: The GPUs of this machine to use, one worker each: indices
            (``[0, 1, 2, 3]``) or UUIDs (``"GPU-..."``, ``"MIG-..."``),
            distinct.
        oracle_ip: The chief's address.
        oracle_port: The chief's port, 1 to 65535.
        prefix: Start of the tuner ids, ``"{prefix}-gpu{gpu}"``; give each
            machine its own (e.g. its host name). Must not contain
            ``"chief"``.

    Returns:
        One mapping of variable name -> value per GPU, in order.

    Raises:
        ValueError: For an empty or repeated GPU list, a GPU that is neither
            an index nor a UUID, a prefix naming the chief, or an invalid
            address.
    """
    if isinstance(gpus, (str, int)) or not gpus:
        raise ValueError(
            f"`gpus` must be a non-empty list of GPU indices or UUIDs, one "
            f"worker each. Received: gpus={gpus!r}"
        )
    names = [_gpu_name(gpu) for gpu in gpus]
    if len(set(names)) != len(names):
        raise ValueError(
            f"`gpus` must not repeat a GPU: one worker per GPU. Received: gpus={gpus!r}"
        )
    if not isinstance(prefix, str) or not prefix or CHIEF in prefix:
        raise ValueError(
            f"`prefix` must be a non-empty string without {CHIEF!r} (KerasTuner "
            f"makes any tuner id containing it a chief). Received: prefix={prefix!r}"
        )
    oracle = _oracle(oracle_ip, oracle_port)
    return [
        {TUNER_ID: f"{prefix}-gpu{name}", **oracle, VISIBLE_DEVICES: name}
        for name in names
    ]


def _oracle(oracle_ip: str, oracle_port: int) -> dict[str, str]:
    if not isinstance(oracle_ip, str) or not oracle_ip.strip():
        raise ValueError(
            f"`oracle_ip` must be the chief's address, a non-empty string. "
            f"Received: oracle_ip={oracle_ip!r}"
        )
    port = validation.check_int("oracle_port", oracle_port, low=1, high=65535)
    return {ORACLE_IP: oracle_ip, ORACLE_PORT: str(port)}


def _gpu_name(gpu) -> str:
    name = str(gpu) if isinstance(gpu, (int, str)) and not isinstance(gpu, bool) else ""
    if not _GPU.fullmatch(name):
        raise ValueError(
            f"Each of `gpus` must be a GPU index >= 0 or a GPU-/MIG- UUID as "
            f"`nvidia-smi -L` prints it. Received: {gpu!r}"
        )
    return name
