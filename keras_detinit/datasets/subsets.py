"""Seeded subsets of a labelled dataset: few-shot samples and validation splits.

Both selections are random but reproducible: the same labels and seed give
the same rows on every machine and backend (NumPy's ``default_rng``). The
selected rows keep their original relative order.

Example:

>>> import numpy as np
>>> y = np.repeat(np.arange(3), 10)
>>> x = np.zeros((30, 2, 2), "float32")
>>> x_few, y_few = sample_per_class(x, y, samples_per_class=2, seed=0)
>>> np.bincount(y_few).tolist()
[2, 2, 2]
>>> (x_tr, y_tr), (x_val, y_val) = train_validation_split(x, y, 0.2, seed=0)
>>> len(y_tr), len(y_val)
(24, 6)
"""

from __future__ import annotations

import numpy as np

from keras_detinit import validation


def few_shot_indices(
    y: np.ndarray,
    samples_per_class: int,
    seed: int = 0,
    num_classes: int | None = None,
) -> np.ndarray:
    """Indices of exactly ``samples_per_class`` random rows of each class.

    Args:
        y: Integer labels, shape ``(n,)``.
        samples_per_class: How many rows to take from each class, >= 1.
        seed: Seed of the random choice, an integer >= 0.
        num_classes: If given, the classes are ``0 .. num_classes - 1`` and
            each must be present; otherwise the classes are those in ``y``.

    Returns:
        Sorted ``int64`` indices into ``y``, ``samples_per_class`` per class.

    Raises:
        ValueError: If ``samples_per_class`` or ``seed`` is invalid, a label
            lies outside ``[0, num_classes)``, or a class has fewer than
            ``samples_per_class`` rows.

    Example:

    >>> y = np.array([0, 1, 0, 1, 0, 1])
    >>> np.sort(y[few_shot_indices(y, 2, seed=1)]).tolist()
    [0, 0, 1, 1]
    """
    validation.check_int("samples_per_class", samples_per_class, low=1)
    order, _, rank = _ranked(y, _generator(seed))
    labels, counts = np.unique(y, return_counts=True)
    if num_classes is not None:
        counts = _counts_by_label(y, num_classes)
        labels = np.arange(num_classes)
    short = counts < samples_per_class
    if short.any():
        found = dict(zip(labels[short].tolist(), counts[short].tolist()))
        raise ValueError(
            f"`samples_per_class={samples_per_class}` exceeds the number of "
            f"samples of some classes: {found} (class: count)."
        )
    return np.sort(order[rank < samples_per_class])


def sample_per_class(
    x: np.ndarray,
    y: np.ndarray,
    samples_per_class: int,
    seed: int = 0,
    num_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Balanced few-shot subset: ``samples_per_class`` random rows per class.

    Args:
        x: Inputs, first axis of length ``n``.
        y: Integer labels, shape ``(n,)``.
        samples_per_class: How many rows to take from each class, >= 1.
        seed: Seed of the random choice, an integer >= 0.
        num_classes: See `few_shot_indices`.

    Returns:
        ``(x_subset, y_subset)`` in the original row order.

    Raises:
        ValueError: As `few_shot_indices`, or if ``x`` and ``y`` differ in
            length.

    Example:

    >>> x, y = np.arange(8.0), np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> x_few, y_few = sample_per_class(x, y, 1, seed=0)
    >>> y_few.tolist()
    [0, 1]
    """
    _check_lengths(x, y)
    rows = few_shot_indices(y, samples_per_class, seed, num_classes)
    return x[rows], y[rows]


def split_indices(
    y: np.ndarray,
    validation_fraction: float = 0.15,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a random train/validation split.

    The validation part has ``round(validation_fraction * n)`` rows. With
    ``stratify=True`` each class contributes ``floor`` or ``ceil`` of
    ``validation_fraction`` times its count (largest remainders get the
    extra rows, ties broken at random), so class proportions are kept.
    With ``stratify=False`` the rows are a plain random choice.

    Args:
        y: Integer labels, shape ``(n,)``.
        validation_fraction: Share of the rows held out, in ``(0, 1)``.
        seed: Seed of the random choice, an integer >= 0.
        stratify: Whether to keep class proportions.

    Returns:
        ``(train_indices, validation_indices)``: sorted, disjoint, together
        ``0 .. n - 1``.

    Raises:
        ValueError: If ``validation_fraction`` is not in ``(0, 1)``, or leaves
            either part empty.

    Example:

    >>> y = np.repeat([0, 1], 10)
    >>> train, val = split_indices(y, 0.3, seed=0)
    >>> len(train), np.bincount(y[val]).tolist()
    (14, [3, 3])
    """
    fraction = validation.check_in_range(
        "validation_fraction", validation_fraction, 0.0, 1.0, False, False
    )
    size = len(y)
    held_out = int(np.floor(fraction * size + 0.5))
    if not 0 < held_out < size:
        raise ValueError(
            f"`validation_fraction={validation_fraction}` of {size} samples "
            f"gives {held_out} validation samples; both parts need at least "
            "one sample."
        )
    rng = _generator(seed)
    order, classes, rank = _ranked(y, rng)
    if stratify:
        quota = fraction * np.bincount(classes)
        take = np.floor(quota).astype(np.int64)
        # Largest remainder first; the random key breaks ties.
        by_remainder = np.lexsort((rng.random(len(take)), take - quota))
        take[by_remainder[: held_out - take.sum()]] += 1
        chosen = rank < take[classes]
    else:
        chosen = np.arange(size) < held_out
    return np.sort(order[~chosen]), np.sort(order[chosen])


def train_validation_split(
    x: np.ndarray,
    y: np.ndarray,
    validation_fraction: float = 0.15,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out a random, by default stratified, validation part.

    The paper's experiments use 15% of the data for validation. Rows are
    chosen at random (see `split_indices`) but both parts keep the rows'
    original relative order.

    Args:
        x: Inputs, first axis of length ``n``.
        y: Integer labels, shape ``(n,)``.
        validation_fraction: Share of the rows held out, in ``(0, 1)``.
        seed: Seed of the random choice, an integer >= 0.
        stratify: Whether to keep class proportions in both parts.

    Returns:
        ``((x_train, y_train), (x_validation, y_validation))``.

    Raises:
        ValueError: As `split_indices`, or if ``x`` and ``y`` differ in
            length.

    Example:

    >>> y = np.repeat(np.arange(10), 20)
    >>> x = np.zeros((200, 28, 28), "float32")
    >>> (x_tr, y_tr), (x_val, y_val) = train_validation_split(x, y, seed=3)
    >>> x_tr.shape, x_val.shape
    ((170, 28, 28), (30, 28, 28))
    """
    _check_lengths(x, y)
    train, held_out = split_indices(y, validation_fraction, seed, stratify)
    return (x[train], y[train]), (x[held_out], y[held_out])


def _generator(seed: int) -> np.random.Generator:
    validation.check_int("seed", seed, low=0)
    return np.random.default_rng(seed)


def _ranked(y, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Shuffle the rows and rank each one within its class.

    Returns ``(order, classes, rank)``: ``order`` is a random permutation of
    the row indices, ``classes[i]`` the class number (0-based, in label
    order) of row ``order[i]``, and ``rank[i]`` how many rows of that class
    precede it in ``order``. Taking the rows of rank < k thus takes k random
    rows per class, without a loop over rows.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"`y` must be one-dimensional. Received: y.shape={y.shape}"
        )
    order = rng.permutation(len(y))
    _, classes = np.unique(y[order], return_inverse=True)
    by_class = np.argsort(classes, kind="stable")
    counts = np.bincount(classes)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(y), np.int64)
    rank[by_class] = np.arange(len(y)) - np.repeat(starts, counts)
    return order, classes, rank


def _counts_by_label(y: np.ndarray, num_classes: int) -> np.ndarray:
    validation.check_int("num_classes", num_classes, low=1)
    y = np.asarray(y)
    outside = (y < 0) | (y >= num_classes)
    if outside.any():
        raise ValueError(
            f"Labels must lie in [0, {num_classes}). Received: "
            f"{np.unique(y[outside]).tolist()}"
        )
    return np.bincount(y, minlength=num_classes)


def _check_lengths(x: np.ndarray, y: np.ndarray):
    if len(x) != len(y):
        raise ValueError(
            f"`x` and `y` must have the same length. Received: "
            f"len(x)={len(x)}, len(y)={len(y)}"
        )
