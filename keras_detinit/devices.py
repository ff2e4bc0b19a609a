"""Which devices and backend libraries Keras computes with, for reports.

Example:

>>> from keras_detinit.devices import describe_device
>>> describe_device()  # doctest: +SKIP
'backend jax on cpu:0'
>>> "keras" in backend_libraries()
False
"""

from __future__ import annotations

from importlib import metadata

import keras

#: The distributions that provide Keras' backends, as pip names them.
BACKEND_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch")


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


def backend_libraries() -> dict[str, str]:
    """Installed backend distributions and their versions, e.g. ``{"jax": "0.4.30"}``.

    Read from the installed packages' metadata, so no backend is imported.
    """
    versions = {}
    for name in BACKEND_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
