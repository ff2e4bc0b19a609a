"""Tiny IDX datasets written by the tests themselves.

Tests never depend on the real MNIST files: these helpers write the four
standard files, with a handful of 28 x 28 images, into a temporary folder.
"""

import dataclasses
import gzip
from pathlib import Path

import numpy as np

from keras_detinit.datasets import locate

NAMES = {
    "train_images": locate.TRAIN_IMAGES,
    "train_labels": locate.TRAIN_LABELS,
    "test_images": locate.TEST_IMAGES,
    "test_labels": locate.TEST_LABELS,
}


def idx_bytes(array, magic=None):
    """An IDX file's bytes: magic number, big-endian dimensions, payload."""
    array = np.asarray(array, np.uint8)
    magic = (0x0800 | array.ndim) if magic is None else magic
    header = magic.to_bytes(4, "big") + np.asarray(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def write(path, data, gz=False):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def examples(count, first=0):
    """Images whose pixel [0, 0] is their index (first + i); labels i % 10."""
    rng = np.random.default_rng(count + first)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(first, first + count)
    return images, (np.arange(count) % 10).astype(np.uint8)


def write_dataset(directory, n_train, n_test=10, gz=True):
    """The four standard files in ``directory``; returns the arrays."""
    suffix = ".gz" if gz else ""
    arrays = {}
    arrays["train_images"], arrays["train_labels"] = examples(n_train)
    arrays["test_images"], arrays["test_labels"] = examples(n_test, n_train)
    for key, array in arrays.items():
        write(Path(directory, NAMES[key] + suffix), idx_bytes(array), gz)
    return arrays


def write_npz(path, n_train, n_test=10):
    path.parent.mkdir(parents=True, exist_ok=True)
    x_train, y_train = examples(n_train)
    x_test, y_test = examples(n_test, n_train)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test,
             y_test=y_test)


def replace_spec(monkeypatch, name, **changes):
    spec = dataclasses.replace(locate.SPECS[name], **changes)
    monkeypatch.setitem(locate.SPECS, name, spec)


def no_network():
    raise AssertionError("a test tried to download a dataset")


def forbid_downloads(monkeypatch):
    """Replace every Keras dataset loader by one that fails the test."""
    for name in locate.SPECS:
        replace_spec(monkeypatch, name, keras_loader=no_network)
