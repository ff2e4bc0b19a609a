"""The deterministic Sinusoidal initializer (Fernández-Hernández et al.)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Sequence

import keras
import numpy as np
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers.matrix import MatrixInitializer
from keras_detinit.initializers.matrix import compute_dtype
from keras_detinit.initializers.registry import register_initializer
from keras_detinit.shapes import MODES
FREQUENCIES = ("paper", "nondegenerate")

# Exact int32 products need both factors below this bound.
_INT32_LIMIT = 2**31


@dataclasses.dataclass(frozen=True)
class DegenerateRows:
    """Rows of the paper's matrix that are not proper zero-sum sinusoids.

    Attributes:
        zero: One-based indices ``i`` of rows that are entirely zero
            (``n | 2i`` and ``m | 2i``).
        not_cancelling: One-based indices of rows whose entries do not sum to
            zero: constant rows (``n | i``), possible only when ``m >= n``.
    """

    zero: tuple[int, ...]
    not_cancelling: tuple[int, ...]

    def __bool__(self) -> bool:
        return bool(self.zero or self.not_cancelling)


@register_initializer("sinusoidal")
class Sinusoidal(MatrixInitializer):
    """Deterministic Sinusoidal initializer.

    Builds the paper's matrix ``W`` (``m`` units by ``n = fan_in``) as

    ``W[i, j] = a * sin(k_i * x_j + phi_i)``, with ``k_i = 2 pi i``,
    ``x_j = j / n``, ``phi_i = 2 pi i / m``, ``i = 1..m``, ``j = 1..n``

    (eq. 1 of "Sinusoidal Initialization, Time for a New Start") and lays it
    out as the Keras kernel (``W^T`` for Dense; see `keras_detinit.shapes`).
    Every call returns the same values, on every backend.

    **Variance.** The amplitude ``a`` is chosen so that the population
    variance of all ``m * n`` kernel entries (mean subtracted) equals
    ``scale / fan``, with ``fan`` from ``mode`` as in Keras'
    ``VarianceScaling``. The defaults (``scale=1``, ``mode="fan_avg"``) give
    the paper's Glorot variance ``2 / (fan_in + fan_out)``. The variance
    ``v`` of the matrix at ``a = 1`` is obtained in closed form, not from the
    generated matrix: a row of frequency ``k`` has squared sum ``n / 2``
    unless ``n | 2k``, where it is ``n sin^2(phi_i)``, and it sums to zero
    unless ``n | k``, where it sums to ``n sin(phi_i)``. Then
    ``a = sqrt(scale / (fan * v))``.

    **Numerics.** The phase is reduced exactly before the sine, with int32
    arithmetic: ``k_i x_j = 2 pi ((i * j) mod n) / n`` and
    ``phi_i = 2 pi (i mod m) / m`` are combined into one integer multiple
    of ``2 pi / (m n)``, taken modulo ``m n`` and centered, so the sine sees
    an angle in ``[-pi, pi)`` rounded once. Float32 thus keeps every row sum
    at zero at large sizes: ``max |row sum| / (a sqrt(n)) < 1e-5`` up to
    8192 x 16384 (the naive float32 argument reaches ``2 pi m``, where its
    rounding error alone is of order ``1e-3``). Kernels need
    ``m * n < 858,993,459`` entries.

    **Degenerate rows.** Theorem 3 (row cancellation) holds for every row
    when ``m < n``. With the paper's frequencies, some shapes give rows that
    are all zero (``n | 2i`` and ``m | 2i``; e.g. a square layer of even
    width ``n`` has zero rows ``i = n/2`` and ``i = n``) and, when
    ``m >= n``, rows ``i = n, 2n, ...`` are constant and do not cancel. Such
    shapes emit a warning; `degenerate_rows` lists the rows. With
    ``frequencies="nondegenerate"`` row ``i`` takes the ``i``-th positive
    integer ``k`` with ``n`` dividing neither ``k`` nor ``2k``: every row is
    then a genuine sinusoid (never zero) that sums to zero, for any ``m``,
    and ``v = 1/2`` exactly. That option needs ``n >= 3``. The paper's
    formula is the default.

    **Other layers.** Through `MatrixInitializer` the matrix is laid out for
    any kernel whose axes are known (``EinsumDense`` and attention kernels
    via Keras' ``input_axes``/``output_axes``; every layer through
    `keras_detinit.reinitialize`). Projection ``p`` of a layer shifts the
    inputs by ``s_p``, which is the phase offset ``2 pi k_i s_p / n`` of
    row ``i``: variance and row sums stay as they are.

    Args:
        scale: Positive scaling factor of the variance.
        mode: One of ``"fan_avg"`` (default, Glorot), ``"fan_in"`` (use
            ``scale=2`` for He), ``"fan_out"``.
        frequencies: ``"paper"`` (default, ``k_i = 2 pi i``) or
            ``"nondegenerate"`` (skips frequencies that give degenerate
            rows).
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.

    Example:

    >>> init = Sinusoidal()
    >>> kernel = init(shape=(784, 64))
    >>> layer = keras.layers.Dense(64, kernel_initializer="sinusoidal")
    >>> conv = keras.layers.Conv2D(32, 3, kernel_initializer=Sinusoidal(
    ...     scale=2.0, mode="fan_in"))
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_avg",
        frequencies: str = "paper",
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(input_axes, output_axes)
        self.scale = validation.check_positive("scale", scale)
        self.mode = validation.check_choice("mode", mode, MODES)
        self.frequencies = validation.check_choice(
            "frequencies", frequencies, FREQUENCIES
        )

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        return _sinusoid_rows_t(
            self._frequency_residues(view), view, self._amplitude(view), compute_dtype(dtype)
        )

    def amplitude(self, shape: Sequence[int]) -> float:
        """Return the amplitude ``a`` used for a kernel shape.

        Args:
            shape: The Keras kernel shape.

        Returns:
            ``a = sqrt(scale / (fan * v))`` as described in the class
            docstring.

        Raises:
            ValueError: If the matrix is zero at every entry for this shape
                (e.g. ``(1, 1)`` or ``(2, 1)``), so no amplitude reaches the
                variance.
        """
        return self._amplitude(self.view(shape))

    def _amplitude(self, view: shapes.MatrixView) -> float:
        unit_variance = self._unit_variance(view)
        if unit_variance <= 0.0:
            raise ValueError(
                f"The Sinusoidal matrix of kernel shape {view.kernel_shape} "
                "is zero everywhere, so no amplitude gives it a variance. "
                "Use frequencies='nondegenerate' (needs fan-in n >= 3) or a "
                "layer with more inputs."
            )
        return math.sqrt(self.scale / view.fan(self.mode) / unit_variance)

    def degenerate_rows(self, shape: Sequence[int]) -> DegenerateRows:
        """List the rows of ``W`` that are zero or do not sum to zero.

        Args:
            shape: The Keras kernel shape.

        Returns:
            A `DegenerateRows`; always empty for
            ``frequencies="nondegenerate"``.
        """
        return self._degenerate_rows(self.view(shape))

    def _degenerate_rows(self, view: shapes.MatrixView) -> DegenerateRows:
        if self.frequencies == "nondegenerate":
            return DegenerateRows(zero=(), not_cancelling=())
        m, n = view.rows, view.cols
        zero, not_cancelling = [], []
        for i in _rows_with_n_dividing_2i(m, n):
            if (2 * i) % m == 0:
                zero.append(i)
            elif i % n == 0:
                not_cancelling.append(i)
        return DegenerateRows(zero=tuple(zero), not_cancelling=tuple(not_cancelling))

    def get_config(self) -> dict:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "frequencies": self.frequencies,
            **super().get_config(),
        }

    def _unit_variance(self, view: shapes.MatrixView) -> float:
        m, n = view.rows, view.cols
        if self.frequencies == "nondegenerate":
            _check_nondegenerate_possible(n)
            return 0.5
        square_sum = m * n / 2.0
        total = 0.0
        for i in _rows_with_n_dividing_2i(m, n):
            sin_phase = math.sin(2.0 * math.pi * (i % m) / m)
            square_sum += n * sin_phase**2 - n / 2.0
            if i % n == 0:
                total += n * sin_phase
        mean = total / (m * n)
        return square_sum / (m * n) - mean**2

    def _frequency_residues(self, view: shapes.MatrixView) -> np.ndarray:
        """Row frequencies ``k_i / (2 pi)`` modulo ``n``, shape ``(1, m)``."""
        rows = _one_based(view.rows)
        n = view.cols
        if self.frequencies == "paper":
            return np.mod(rows, n)
        _check_nondegenerate_possible(n)
        # Residues 1..n-1, skipping n/2 when n is even, repeated cyclically.
        allowed = n - 1 - (1 - n % 2)
        offset = np.mod(rows - 1, allowed) + 1
        if n % 2 == 0:
            offset = offset + (offset >= n // 2).astype(np.int32)
        return offset

    def check_view(self, view: shapes.MatrixView) -> None:
        _check_size(view)  # before the row scans and tables, which grow with m * n

    def warn_view(self, view: shapes.MatrixView) -> None:
        rows = self._degenerate_rows(view)
        problems = []
        if rows.zero:
            problems.append(f"all-zero rows {_summarize(rows.zero)}")
        if rows.not_cancelling:
            problems.append(
                f"rows that do not sum to zero {_summarize(rows.not_cancelling)}"
            )
        if problems:
            warnings.warn(
                f"Sinusoidal kernel of shape {view.kernel_shape} (m={view.rows} "
                f"units, n={view.cols} inputs) has {' and '.join(problems)} "
                "(1-based row indices of the paper's formula). Pass "
                "frequencies='nondegenerate' to avoid them.",
                stacklevel=4,  # the caller of the initializer
            )


def _sinusoid_rows_t(
    residues: np.ndarray, view: shapes.MatrixView, amplitude: float, dtype: str
):
    """``a * sin(k_i x_j + phi_i)`` laid out as ``W^T`` (shape ``(n, m)``).

    The whole phase is reduced exactly in int32: in units of ``1 / (m n)``
    of a turn it is ``V = m ((k_i j) mod n) + n (i mod m)``, taken modulo
    ``m n`` and centered on zero. One rounding then gives an angle in
    ``[-pi, pi)``. Rows with a large ``gcd(k_i, n)`` repeat a few distinct
    values many times, so any error in those values adds up coherently in
    the row sum; the exact phase keeps that error at float32 resolution.

    With ``j = q B + d + 1`` and ``B ~ sqrt(n)``, ``V`` is the sum of a
    ``(n / B, m)`` table over ``q`` and a ``(B, m)`` table over ``d``, so the
    integer products and the reductions are paid on small tables only. Both
    tables lie in ``[0, m n)``, so their sum wraps at most once: a compare and
    select reduces the full-size table, where an integer modulo costs more
    than the sine itself on TensorFlow.

    The small tables are exact integers, computed with NumPy (the same int32
    arithmetic): a few operations on ``O(m sqrt(n))`` entries, instead of
    two dozen backend dispatches. The backend does the full-size work.
    """
    m, n = view.rows, view.cols
    period = m * n
    fine = math.isqrt(n - 1) + 1
    coarse = -(-n // fine)
    offsets = np.arange(0, fine, dtype=np.int32)[:, None]
    fine_turns = ops.convert_to_tensor((m * _mulmod(residues, offsets, n))[None, :, :])
    half = period // 2
    row_turns = n * np.mod(_one_based(m), m) + half
    starts = np.mod(np.arange(0, coarse, dtype=np.int32)[:, None] * fine + 1, n)
    # The centered phase of each coarse step, before the fine steps are added.
    coarse_turns = np.mod(m * _mulmod(residues, starts, n) + row_turns, period) - half
    step = 2.0 * math.pi / period

    def block(first: int, stop: int):
        # The centered phase before its single wrap: in [-half, 2 m n - half).
        turns = ops.convert_to_tensor(coarse_turns[first:stop, None, :]) + fine_turns
        turns = ops.where(turns >= period - half, turns - period, turns)
        turns = ops.reshape(turns, (-1, m))[: n - first * fine]
        return ops.sin(ops.cast(turns, dtype) * step) * amplitude

    per_block = max(1, _block_entries() // (fine * m))
    parts = [
        block(first, min(first + per_block, coarse))
        for first in range(0, coarse, per_block)
    ]
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=0)


def _block_entries() -> int:
    """Entries of ``W^T`` generated at a time.

    PyTorch and JAX run these element-wise ops eagerly, one full-size
    temporary each; blocks of about 2**20 entries stay in cache and reuse
    freed memory, which makes generation ~2x faster. TensorFlow runs each
    op multi-threaded and is fastest on the whole matrix at once.
    """
    return _INT32_LIMIT if keras.backend.backend() == "tensorflow" else 2**20


def _check_size(view: shapes.MatrixView) -> None:
    """The limits of the exact int32 phase: ``m * n`` and the fan-in ``n``."""
    if 5 * view.rows * view.cols >= 2 * _INT32_LIMIT:
        raise ValueError(
            "Sinusoidal supports kernels with m * n < 858,993,459 entries "
            f"(exact int32 phases). Received shape {view.kernel_shape} "
            f"({view.rows * view.cols:,} entries)."
        )
    n = view.cols
    # `_mulmod` splits b = high * base + low; high * (n - 1) must fit int32.
    if (n - 1) ** 2 >= _INT32_LIMIT and (n - 1) * ((n - 1) // (_INT32_LIMIT // n)) >= _INT32_LIMIT:
        raise ValueError(
            "Sinusoidal supports a fan-in n up to 1,600,000 (n**3 < 2**62). "
            f"Received n={n} for shape {view.kernel_shape}."
        )


def _one_based(length: int) -> np.ndarray:
    """``1..length`` as an int32 row, shape ``(1, length)``."""
    return np.arange(1, length + 1, dtype=np.int32)[None, :]


def _mulmod(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """``(a * b) mod n`` in int32 for ``0 <= a, b < n``, without overflow."""
    if (n - 1) ** 2 < _INT32_LIMIT:
        return np.mod(a * b, n)
    # Split b = high * base + low so that every partial product fits int32
    # (`_check_size` has made sure it can).
    base = _INT32_LIMIT // n
    high = np.mod(a * (b // base), n)
    low = np.mod(a * np.mod(b, base), n)
    return np.mod(np.mod(high * base, n) + low, n)


def _rows_with_n_dividing_2i(m: int, n: int) -> range:
    step = n // 2 if n % 2 == 0 else n
    return range(step, m + 1, step)


def _check_nondegenerate_possible(n: int) -> None:
    if n < 3:
        raise ValueError(
            "frequencies='nondegenerate' needs a fan-in n >= 3 (for n <= 2 "
            f"every frequency gives a constant or alternating row). Received n={n}."
        )


def _summarize(indices: tuple[int, ...], limit: int = 6) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    more = f", ... ({len(indices)} in all)" if len(indices) > limit else ""
    return f"[{shown}{more}]"
