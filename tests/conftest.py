"""Fixtures shared by the test modules, and the once-per-suite rule.

Tests marked ``cross_backend`` start every backend themselves (in
subprocesses), so running them under each ``KERAS_BACKEND`` repeats the same
check: they run in the TensorFlow run only (Keras' default backend, and
the first of `.ci/run`'s three).
"""

import os

import pytest

from idx_files import write_dataset

#: The backend whose run executes the ``cross_backend`` tests.
CROSS_BACKEND_RUN = "tensorflow"


def pytest_collection_modifyitems(config, items):
    backend = os.environ.get("KERAS_BACKEND", CROSS_BACKEND_RUN)
    if backend == CROSS_BACKEND_RUN:
        return
    skip = pytest.mark.skip(
        reason=f"cross-backend test: it starts every backend itself and runs once, in the "
        f"KERAS_BACKEND={CROSS_BACKEND_RUN} run")
    for item in items:
        if "cross_backend" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Both datasets, 200 training and 20 test images each, under <tmp>/data.

    Modules that need another layout define their own ``data_dir``.
    """
    root = tmp_path_factory.mktemp("datasets") / "data"
    write_dataset(root / "mnist", n_train=200, n_test=20)
    write_dataset(root / "fashion-mnist", n_train=200, n_test=20)
    return root
