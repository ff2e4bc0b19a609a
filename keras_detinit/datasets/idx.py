"""Reading and validating IDX files, the format MNIST and Fashion-MNIST use.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension,
then the values in C order. The magic number's bytes are ``0, 0, type,
ndim``; both datasets store unsigned bytes (type ``0x08``), so images have
magic number 2051 (three dimensions) and labels 2049 (one dimension).
Files may be gzip-compressed; this is recognised from their content, not
their name.

Example:

>>> images, labels = read_examples(
...     "mnist/train-images-idx3-ubyte.gz",
...     "mnist/train-labels-idx1-ubyte.gz",
... )  # doctest: +SKIP
>>> images.shape, images.dtype, labels.shape  # doctest: +SKIP
((60000, 28, 28), dtype('uint8'), (60000,))
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

UNSIGNED_BYTE = 0x08
IMAGES_MAGIC = 0x0803  # unsigned byte, 3 dimensions: 2051
LABELS_MAGIC = 0x0801  # unsigned byte, 1 dimension: 2049

_GZIP_MAGIC = b"\x1f\x8b"
_KINDS = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}


class DatasetError(ValueError):
    """A dataset file is missing, corrupt or inconsistent.

    The message names the file (or every place searched) and what is wrong.
    """


def read_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX images file (magic number 2051).

    Args:
        path: The file, raw or gzip-compressed.

    Returns:
        A read-only ``uint8`` array of shape ``(count, rows, columns)``.

    Raises:
        DatasetError: If the file is not a valid IDX images file.

    Example:

    >>> read_images("t10k-images-idx3-ubyte.gz").shape  # doctest: +SKIP
    (10000, 28, 28)
    """
    return _read_idx(path, IMAGES_MAGIC)


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX labels file (magic number 2049).

    Args:
        path: The file, raw or gzip-compressed.

    Returns:
        A read-only ``uint8`` array of shape ``(count,)``.

    Raises:
        DatasetError: If the file is not a valid IDX labels file.

    Example:

    >>> read_labels("t10k-labels-idx1-ubyte.gz").shape  # doctest: +SKIP
    (10000,)
    """
    return _read_idx(path, LABELS_MAGIC)


def read_examples(
    images_path: str | os.PathLike, labels_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and its labels file, checking that they match.

    Args:
        images_path: The IDX images file.
        labels_path: The IDX labels file.

    Returns:
        ``(images, labels)`` as returned by `read_images` and `read_labels`.

    Raises:
        DatasetError: If either file is invalid, or they hold different
            numbers of examples.

    Example:

    >>> images, labels = read_examples(
    ...     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
    ... )  # doctest: +SKIP
    >>> len(images) == len(labels)  # doctest: +SKIP
    True
    """
    images = read_images(images_path)
    labels = read_labels(labels_path)
    check_same_count(images, labels, f"{images_path} and {labels_path}")
    return images, labels


def check_same_count(images: np.ndarray, labels: np.ndarray, origin: str):
    """Raise `DatasetError` unless there is one label per image."""
    if len(images) != len(labels):
        raise DatasetError(
            f"{origin}: {len(images)} images but {len(labels)} labels; the "
            "counts must agree."
        )


def _read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    data = _decompressed_bytes(path)
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DatasetError(
            f"{path}: truncated IDX header ({len(data)} bytes; an IDX "
            f"{_KINDS[magic]} header has {header_size})."
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DatasetError(
            f"{path}: bad magic number {found} (0x{found:08X}); expected "
            f"{magic} for IDX {_KINDS[magic]} ({_describe(found)})."
        )
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    if min(dims) < 1:
        raise DatasetError(
            f"{path}: header declares dimensions {dims}; each must be >= 1."
        )
    size = math.prod(dims)
    payload = len(data) - header_size
    if payload != size:
        problem = "truncated" if payload < size else "oversized"
        raise DatasetError(
            f"{path}: {problem} payload: {payload} bytes of data, but the "
            f"header's dimensions {dims} call for exactly {size}."
        )
    return np.frombuffer(data, np.uint8, size, offset=header_size).reshape(dims)


def _decompressed_bytes(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error}).") from error
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(
            f"{path}: corrupt gzip stream ({error}). Delete the file and "
            "fetch it again."
        ) from error


def _describe(magic: int) -> str:
    """Say why a magic number is not the expected one, for error messages."""
    if magic >> 16:
        return "not an IDX file: its first two bytes must be zero"
    if (magic >> 8) != UNSIGNED_BYTE:
        return (
            f"data type 0x{magic >> 8:02X}, but only unsigned byte "
            f"(0x{UNSIGNED_BYTE:02X}) is supported"
        )
    if magic in _KINDS:
        return f"this is an IDX {_KINDS[magic]} file"
    return f"unsigned bytes with {magic & 0xFF} dimensions"
