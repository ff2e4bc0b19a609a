"""The machine line of a report: backend, device, cores, OS and versions.

Example:

>>> "CPU cores" in describe_machine()
True
"""

from __future__ import annotations

import os
import platform

import keras

from keras_detinit.devices import describe_device


def describe_machine() -> str:
    """Backend, device, CPU count, OS and versions, for a report."""
    return (f"{describe_device()}; {os.cpu_count()} CPU cores; {platform.platform()}; "
            f"Python {platform.python_version()}; Keras {keras.__version__}")
