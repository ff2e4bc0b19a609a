"""Which devices the Keras backend computes on, for progress and reports.

Example:

>>> from keras_detinit.devices import describe_device
>>> describe_device()  # doctest: +SKIP
'backend jax on cpu:0'
"""

from __future__ import annotations

import keras


def compute_devices() -> list[str]:
    """The devices the Keras backend computes on, e.g. ``["gpu:0"]``."""
    try:
        return [str(device) for device in keras.distribution.list_devices()]
    except AttributeError:
        # No distribution API on this backend (PyTorch): ask a tensor.
        return [str(keras.ops.zeros(()).device)]


def describe_device() -> str:
    """E.g. ``"backend jax on gpu:0"``."""
    return f"backend {keras.config.backend()} on {', '.join(compute_devices())}"
