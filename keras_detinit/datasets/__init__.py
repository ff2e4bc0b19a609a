"""MNIST and Fashion-MNIST: found offline, validated, split as in the papers.

Images come as ``float32`` arrays of shape ``(N, 28, 28)`` scaled to
``[0, 1]`` (``pixels="unit"``, the default) or kept at 0-255
(``pixels="raw"``, the deep-narrow paper's reading: it never says it
normalizes), labels as ``int64`` in ``0 .. 9``.

**Where the files are looked for**, in this order; the first place that
holds the dataset is used:

1. The ``data_dir`` argument. A named directory is authoritative: if it
   does not hold the dataset, loading fails with an error naming it, rather
   than reading a copy from elsewhere.
2. The directory named by the environment variable
   ``KERAS_DETINIT_DATA_DIR``.
3. For Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist`` (Debian's
   ``dataset-fashion-mnist`` package).
4. Keras' cache, ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``),
   under the names ``keras.datasets`` uses: ``mnist.npz``, and
   ``fashion-mnist/`` holding the four ``.gz`` files.
5. If ``download=True``: Keras' own download,
   ``keras.datasets.mnist.load_data()`` or
   ``keras.datasets.fashion_mnist.load_data()`` (which fills the cache).

A directory of step 1 or 2 holds the four standard files
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or
gzip-compressed (``.gz``), either directly or in a subdirectory ``mnist`` or
``fashion-mnist``; so one directory can serve both datasets. Files are
checked (magic numbers, dimensions, sizes, matching counts) and a bad file
raises `DatasetError` naming it.

**The dataset asked for, or an error.** MNIST and Fashion-MNIST use the
same file names, so the files found are identified by content: the
published files of each dataset have known label checksums, and files of
the other dataset raise `DatasetError` wherever they lie. Files that are
neither (a subset, a copy of one's own) are used only from a place named
for the dataset: a subfolder ``mnist`` or ``fashion-mnist`` (or a data
directory of that name), the OS package directory, Keras' cache. When no place holds the dataset, the
`DatasetError` lists every place searched and how to fix it.

Example:

>>> from keras_detinit import datasets
>>> (x_train, y_train), (x_test, y_test) = datasets.load_mnist(
...     "/data", download=False
... )  # doctest: +SKIP
>>> data = datasets.load_dataset(
...     "fashion_mnist", samples_per_class=4, validation_fraction=0.15, seed=1
... )  # doctest: +SKIP
>>> data.train.x.shape, data.validation.x.shape  # doctest: +SKIP
((40, 28, 28), (9000, 28, 28))
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator
from typing import NamedTuple

import numpy as np

from keras_detinit import validation as validation_lib
from keras_detinit.datasets import idx
from keras_detinit.datasets import locate
from keras_detinit.datasets.idx import DatasetError
from keras_detinit.datasets.locate import ENV_VAR
from keras_detinit.datasets.subsets import few_shot_indices
from keras_detinit.datasets.subsets import sample_per_class
from keras_detinit.datasets.subsets import split_indices
from keras_detinit.datasets.subsets import train_validation_split

IMAGE_SHAPE = (28, 28)
#: Input scales: ``"unit"`` is ``[0, 1]``, ``"raw"`` the 0-255 pixel values.
PIXELS = ("unit", "raw")


class Split(NamedTuple):
    """Inputs and labels of one part of a dataset; unpacks as ``(x, y)``."""

    x: np.ndarray
    y: np.ndarray


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A loaded dataset's parts, and where it was read from.

    Iterating yields ``train`` and ``test``, so a `Dataset` unpacks like the
    result of ``keras.datasets.mnist.load_data()``:
    ``(x_train, y_train), (x_test, y_test) = dataset``.

    Attributes:
        name: Canonical dataset name, ``"mnist"`` or ``"fashion_mnist"``.
        train: The training examples (after any validation split and
            few-shot subsampling).
        validation: The held-out validation examples, or None.
        test: The full test set.
        class_names: Label names, indexed by label.
        source: Where the files were read from.
    """

    name: str
    train: Split
    validation: Split | None
    test: Split
    class_names: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __iter__(self) -> Iterator[Split]:
        return iter((self.train, self.test))


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    samples_per_class: int | None = None,
    validation_fraction: float | None = None,
    seed: int = 0,
    download: bool = True,
    pixels: str = "unit",
) -> Dataset:
    """Load MNIST or Fashion-MNIST, optionally split and subsampled.

    The validation part is taken first, from the full training set
    (stratified, see `train_validation_split`); the few-shot subsample is
    then drawn from what remains. The test set is always complete. Both
    random choices use ``seed``.

    Args:
        name: ``"mnist"`` or ``"fashion_mnist"`` (also ``"fashion-mnist"``,
            ``"fmnist"``).
        data_dir: The directory to read; when given, the only place searched
            (see the module docstring).
        samples_per_class: If given, keep exactly this many training
            examples of each class.
        validation_fraction: If given, hold out this share of the training
            set, in ``(0, 1)``; the papers use 0.15.
        seed: Seed of the validation split and the subsample, >= 0.
        download: Whether Keras may download the data if no place holds it.
        pixels: ``"unit"`` for images in ``[0, 1]``, ``"raw"`` for the
            0-255 values as ``float32`` (`PIXELS`).

    Returns:
        A `Dataset`; it unpacks as ``(x_train, y_train), (x_test, y_test)``.

    Raises:
        ValueError: For an unknown name or an invalid argument.
        DatasetError: If the dataset is not found, or its files are invalid.

    Example:

    >>> data = load_dataset("mnist", samples_per_class=1, seed=0,
    ...                     download=False)  # doctest: +SKIP
    >>> data.train.x.shape, data.test.x.shape  # doctest: +SKIP
    ((10, 28, 28), (10000, 28, 28))
    >>> (x_train, y_train), (x_test, y_test) = load_dataset(
    ...     "mnist"
    ... )  # doctest: +SKIP
    """
    validation_lib.check_choice("pixels", pixels, PIXELS)
    spec = locate.get_spec(name)
    (train, test), source = locate.load_arrays(spec, data_dir, download)
    train = _examples(*train, spec, f"{source} (training set)", pixels)
    test = _examples(*test, spec, f"{source} (test set)", pixels)
    validation = None
    if validation_fraction is not None:
        train, validation = train_validation_split(
            *train, validation_fraction=validation_fraction, seed=seed
        )
        validation = Split(*validation)
    if samples_per_class is not None:
        train = sample_per_class(
            *train, samples_per_class, seed, len(spec.class_names)
        )
    return Dataset(
        name=spec.name,
        train=Split(*train),
        validation=validation,
        test=test,
        class_names=spec.class_names,
        source=source,
    )


def load_mnist(
    data_dir: str | os.PathLike | None = None, download: bool = True
) -> tuple[Split, Split]:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        data_dir: The directory to read; when given, the only place searched
            (see the module docstring).
        download: Whether Keras may download the data if no place holds it.

    Returns:
        Training (60,000) and test (10,000) examples: ``float32`` images in
        ``[0, 1]`` of shape ``(N, 28, 28)``, ``int64`` labels.

    Raises:
        DatasetError: If MNIST is not found, or its files are invalid.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_mnist(
    ...     "/data", download=False
    ... )  # doctest: +SKIP
    >>> x_train.shape, x_train.dtype, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('float32'), dtype('int64'))
    """
    return tuple(load_dataset("mnist", data_dir, download=download))


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None, download: bool = True
) -> tuple[Split, Split]:
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``.

    Zalando's 10 clothing classes (names in ``locate.SPECS``), in the same
    sizes and types as `load_mnist`.

    Args:
        data_dir: Searched first; may be shared with MNIST, the files then
            lying in its subdirectory ``fashion-mnist``.
        download: Whether Keras may download the data if it is not found.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``, as `load_mnist`.

    Raises:
        DatasetError: If Fashion-MNIST is not found, or a file is invalid.

    Example:

    >>> (x_train, y_train), _ = load_fashion_mnist(
    ...     download=False
    ... )  # doctest: +SKIP
    >>> int(y_train.max())  # doctest: +SKIP
    9
    """
    return tuple(load_dataset("fashion_mnist", data_dir, download=download))


def _examples(images, labels, spec: locate.DatasetSpec, origin: str,
              pixels: str = "unit") -> Split:
    """Check raw ``uint8`` arrays and convert them to the returned types."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(
            f"{origin}: images are {images.dtype} of shape {images.shape}; "
            f"expected uint8 of shape (N, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]})."
        )
    if labels.ndim != 1:
        raise DatasetError(
            f"{origin}: labels have shape {labels.shape}; expected (N,)."
        )
    idx.check_same_count(images, labels, origin)
    labels = labels.astype(np.int64)
    num_classes = len(spec.class_names)
    if labels.size and not 0 <= labels.min() <= labels.max() < num_classes:
        raise DatasetError(
            f"{origin}: labels range over [{labels.min()}, {labels.max()}]; "
            f"{spec.title} labels lie in [0, {num_classes - 1}]."
        )
    x = images.astype(np.float32)
    if pixels == "unit":
        x /= 255  # In place: one float32 copy of the images, not two.
    return Split(x, labels)


__all__ = [
    "Dataset",
    "DatasetError",
    "ENV_VAR",
    "PIXELS",
    "Split",
    "few_shot_indices",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "sample_per_class",
    "split_indices",
    "train_validation_split",
]
