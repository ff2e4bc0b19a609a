"""Fixtures shared by the test modules."""

import pytest

from idx_files import write_dataset


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Both datasets, 200 training and 20 test images each, under <tmp>/data.

    Modules that need another layout define their own ``data_dir``.
    """
    root = tmp_path_factory.mktemp("datasets") / "data"
    write_dataset(root / "mnist", n_train=200, n_test=20)
    write_dataset(root / "fashion-mnist", n_train=200, n_test=20)
    return root
