"""The epsilon-orthogonal initializer (Lee, Kim, Yang and Choi).

The paper defines, for ``epsilon > 0``, ``Q_k`` as the orthogonal factor of
the QR decomposition of ``J_k + epsilon I_k`` (``J`` all ones) and the
weight matrix

``W_{m x n} = Q_m I_{m x n} Q_n^T = sum_{j <= s} q_j qhat_j^T``,
``s = min(m, n)``.

**Sign convention.** A QR factor is unique only up to the signs of its
columns. The paper's printed examples (Examples 1 and 2) are reproduced by
the convention of Householder QR as LAPACK's ``geqrf`` returns it (e.g.
``numpy.linalg.qr``): ``R`` has a negative diagonal except its last entry,
which is positive. With ``Q^GS`` the Gram-Schmidt factor (positive diagonal
of ``R``, Theorem 1 of the paper),

``Q_k = Q_k^GS diag(-1, ..., -1, +1)``.

The signs enter ``W`` only through the products of matching columns: every
term ``j < s`` keeps its sign, and the last term ``j = s`` is negated
unless ``m = n`` (then ``W = Q Q^T = I``). This module fixes the
convention explicitly, so nothing depends on a QR routine.

**Closed form.** Column ``j`` of ``Q^GS`` (``t = j - 1``,
``g_t = epsilon^2 + t (k + 2 epsilon)``) is constant above the diagonal,
constant below it:

``q_j = (-(k + epsilon) [i < j], g_t + epsilon [i = j], epsilon [i > j])
/ sqrt(g_t g_{t+1})``.

It is orthogonal to ``a_i = 1 + epsilon e_i`` for ``i < j`` and lies in
their span with ``a_j``; ``g_t g_{t+1}`` is its squared norm. So each entry
of ``W`` is a sum of products of these three values, and the sums over
``j`` are suffix sums of a single sequence: ``W`` is ``a_i + b_k`` above
its diagonal and ``c_k + d_i`` below it, for vectors of length ``m`` and
``n`` built in ``O(m + n)``. Generating ``W`` costs ``O(m n)`` element-wise
work, with no QR and no matrix product.

**Where it is computed.** The vectors are computed with NumPy, in the
requested dtype, operation by operation: every backend gets the same
roundings, and a compiled program (see
`keras_detinit.initializers.compilation`) cannot fuse a product and a sum
into one rounding. The backend does the ``O(m n)`` part, which adds the
vectors and selects, so ``W_{n x m}`` is exactly ``W_{m x n}^T``.
"""

from __future__ import annotations

from typing import NamedTuple
from typing import Sequence

import keras
import ml_dtypes
import numpy as np
from keras import ops

from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers import compilation
from keras_detinit.initializers.matrix import MatrixInitializer
from keras_detinit.initializers.matrix import compute_dtype
from keras_detinit.initializers.registry import register_initializer

#: The value of epsilon in the paper's experiments (section 4.1).
DEFAULT_EPSILON = 0.1
#: Largest epsilon accepted: far beyond it, J + epsilon I is epsilon I to
#: every float precision, and float32 overflows (epsilon ~ 1e38).
MAX_EPSILON = 1e30


@register_initializer("epsilon_orthogonal")
class EpsilonOrthogonal(MatrixInitializer):
    """Deterministic epsilon-orthogonal initializer for deep, narrow ReLU nets.

    Builds the paper's matrix ``W_{m x n} = Q_m I_{m x n} Q_n^T`` (``m``
    units, ``n = fan_in`` inputs), ``Q_k`` the orthogonal QR factor of
    ``J_k + epsilon I_k`` in the LAPACK sign convention (see the module
    docstring), and lays it out as the Keras kernel. Since
    ``W_{m x n}^T = W_{n x m}`` (Proposition 1 (iv)), a Dense kernel of shape
    ``(in, out)`` is ``W_{in x out}``. Conv kernels use the flattened
    ``(receptive_field * in, out)`` view of `keras_detinit.shapes`.

    Properties (section 3 of the paper):

    * ``W^T W = I`` if ``m >= n``, ``W W^T = I`` if ``m <= n``
      (Proposition 1); a square kernel is the identity.
    * Column sums (and row sums) differ from those of the rank-one term
      ``q_1 qhat_1^T`` by at most ``epsilon sqrt(H_{s-1})`` (Proposition 2),
      so every unit sees nearly the same, positive, sum of inputs, and the
      mean of a positive input is carried through (Theorem 2).

    The matrix is computed in closed form, in ``O(m n)`` time and memory,
    in float32 (float64 when that dtype is requested); ``W^T W`` deviates
    from the identity by less than ``1e-5`` in float32 up to 8192 units.
    Every call returns the same values, on every backend.

    **Other layers.** Projection ``p`` of a layer (see `MatrixInitializer`)
    permutes the inputs cyclically, ``W_p = W P_p``: orthogonality and row
    sums are kept, column sums are permuted. On an ``Embedding`` (one row
    per token) the scheme needs ``input_dim <= output_dim``: with more
    tokens than dimensions, every token beyond the first ``output_dim + 1``
    gets the same vector, so that layout is refused.

    Args:
        epsilon: The diagonal shift of ``J + epsilon I``, in (0, `MAX_EPSILON`].
            Small values give more nearly equal column sums; the paper uses
            0.1 in its experiments.
        input_axes: Kernel axes of the fan-in, or None (Keras' rule).
        output_axes: Kernel axes of the units, or None.

    Example:

    >>> init = EpsilonOrthogonal(epsilon=0.1)
    >>> kernel = init(shape=(784, 10))
    >>> layer = keras.layers.Dense(
    ...     10, activation="relu", kernel_initializer="epsilon_orthogonal")
    """

    def __init__(
        self,
        epsilon: float = DEFAULT_EPSILON,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(input_axes, output_axes)
        self.epsilon = _check_epsilon(epsilon)

    def matrix_t(self, view: shapes.MatrixView, dtype: str):
        # The kernel's matrix is W^T of shape (n, m), which is W_{n x m}.
        return epsilon_orthogonal_matrix(
            view.cols, view.rows, self.epsilon, compute_dtype(dtype)
        )

    def check_view(self, view: shapes.MatrixView) -> None:
        if view.kind == "embedding" and view.rows > view.cols + 1:
            raise ValueError(
                f"epsilon_orthogonal on an Embedding of {view.rows} tokens and "
                f"{view.cols} dimensions gives {view.rows - view.cols} tokens "
                "the same vector (it needs input_dim <= output_dim + 1). Use "
                "'sinusoidal' there, or leave the embedding to its own initializer."
            )

    def get_config(self) -> dict:
        return {"epsilon": self.epsilon, **super().get_config()}


def epsilon_orthogonal_matrix(
    m: int, n: int, epsilon: float = DEFAULT_EPSILON, dtype: str = "float32"
):
    """Return the paper's ``W_{m x n}`` as a backend tensor, in closed form.

    Args:
        m: Number of rows (output units), >= 1.
        n: Number of columns (inputs), >= 1.
        epsilon: In (0, `MAX_EPSILON`].
        dtype: Floating dtype of the computation and the result.

    Returns:
        A tensor of shape ``(m, n)``, equal to
        `epsilon_orthogonal_qr` ``(m, n, epsilon)`` up to rounding.

    Example:

    >>> w = epsilon_orthogonal_matrix(3, 2, epsilon=0.01)
    >>> keras.ops.convert_to_numpy(w).round(4)[0]
    array([-0.0829,  0.9097], dtype=float32)
    """
    m = validation.check_int("m", m)
    n = validation.check_int("n", n)
    epsilon = _check_epsilon(epsilon)
    dtype = validation.float_dtype(dtype)
    return compilation.call(_closed_form, m, n, epsilon, dtype)


def _closed_form(m: int, n: int, epsilon: float, dtype: str):
    if m == n:
        # Proposition 1 (i): W = Q Q^T, exactly the identity.
        return ops.eye(m, dtype=dtype)
    s = min(m, n)
    rows = _column_entries(m, s, epsilon, dtype)
    cols = _column_entries(n, s, epsilon, dtype)
    # The sign convention negates the last term of the sum (m != n); the
    # row side carries that sign.
    sign = _signs(s, rest=1.0, last=-1.0, dtype=dtype)
    rows = _Entries(*(values * sign for values in rows[:3]), rows.ratio)
    return _assemble(rows, cols, m, n, s)


def epsilon_orthogonal_q(k: int, epsilon: float = DEFAULT_EPSILON, dtype="float32"):
    """Return ``Q^epsilon_k`` in the paper's sign convention, in closed form.

    This materializes the whole ``k x k`` factor and is meant for analysis
    (e.g. Lemma 2's column sums); `EpsilonOrthogonal` never builds it.

    Args:
        k: Size of ``J_k + epsilon I_k``, >= 1.
        epsilon: In (0, `MAX_EPSILON`].
        dtype: Floating dtype of the result.

    Returns:
        A ``(k, k)`` tensor equal to ``numpy.linalg.qr(J + epsilon I)[0]``
        up to rounding.
    """
    k = validation.check_int("k", k)
    epsilon = _check_epsilon(epsilon)
    dtype = validation.float_dtype(dtype)
    return compilation.call(_q_factor, k, epsilon, dtype)


def _q_factor(k: int, epsilon: float, dtype: str):
    above, diag, below, _ = _column_entries(k, k, epsilon, dtype)
    sign = _signs(k, rest=-1.0, last=1.0, dtype=dtype)
    i = ops.arange(k, dtype="int32")[:, None]
    j = ops.arange(k, dtype="int32")[None, :]
    return ops.where(
        i < j, _row(above * sign), ops.where(i == j, _row(diag * sign), _row(below * sign))
    )


def epsilon_orthogonal_qr(m: int, n: int, epsilon: float = DEFAULT_EPSILON) -> np.ndarray:
    """Reference construction of ``W_{m x n}`` by dense QR (slow, NumPy).

    This follows the paper's definition literally: two dense QR
    decompositions in float64 (``O(m^3 + n^3)``) and a matrix product
    (``O(m n min(m, n))``). It exists to check and benchmark the closed form;
    at 8192 it takes minutes where `epsilon_orthogonal_matrix` takes a
    fraction of a second. The column signs of each ``Q`` are first
    normalized to the Gram-Schmidt convention (positive diagonal of ``R``)
    and then set to the paper's convention, so the result does not depend
    on the QR routine. For ``epsilon`` so small that ``J + epsilon I`` is
    numerically singular in float64 (about ``epsilon < 1e-12``), QR loses
    all accuracy while the closed form does not.

    Args:
        m: Number of rows, >= 1.
        n: Number of columns, >= 1.
        epsilon: In (0, `MAX_EPSILON`].

    Returns:
        ``W_{m x n}`` as a float64 NumPy array.
    """
    epsilon = _check_epsilon(epsilon)
    s = min(validation.check_int("m", m), validation.check_int("n", n))
    q_m = _reference_q(m, epsilon)[:, :s]
    q_n = q_m if n == m else _reference_q(n, epsilon)[:, :s]
    return q_m @ q_n.T


def _reference_q(k: int, epsilon: float) -> np.ndarray:
    q, r = np.linalg.qr(np.ones((k, k)) + epsilon * np.eye(k))
    gram_schmidt_signs = np.where(np.diag(r) < 0.0, -1.0, 1.0)
    paper_signs = np.ones(k)
    paper_signs[:-1] = -1.0
    return q * (gram_schmidt_signs * paper_signs)


def _check_epsilon(epsilon) -> float:
    return validation.check_in_range("epsilon", epsilon, low=0.0, high=MAX_EPSILON,
                                     low_inclusive=False)


def _numpy_dtype(dtype: str) -> np.dtype:
    # NumPy has no bfloat16 of its own; ml_dtypes (a Keras dependency) does.
    return np.dtype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def _signs(length: int, rest: float, last: float, dtype: str) -> np.ndarray:
    """A vector of ``length`` entries: ``rest`` everywhere but the last."""
    signs = np.full((length,), rest, dtype=_numpy_dtype(dtype))
    signs[-1] = last
    return signs


class _Entries(NamedTuple):
    """Per-column values of a ``Q^GS``: above, diagonal and below.

    ``ratio = epsilon / (k + epsilon)`` is ``-below / above`` of every
    column ``j >= 2``.
    """

    above: object
    diag: object
    below: object
    ratio: float


def _column_entries(k: int, s: int, epsilon: float, dtype: str) -> _Entries:
    """The three values of the first ``s`` columns of ``Q^GS_k``.

    Everything is divided by ``p^2`` (``p = k + epsilon``) first, so that no
    intermediate overflows or underflows for any finite ``epsilon``:
    ``g'_t = g_t / p^2 = ratio^2 + t (k + 2 epsilon) / p^2``. Column 1
    (``t = 0``) is written without ``g'_0 = ratio^2``, which may underflow.
    ``above[0]`` is 0 (column 1 has no entry above its diagonal).
    """
    p = k + epsilon
    ratio = epsilon / p
    growth = (k + 2.0 * epsilon) / p / p
    steps = np.arange(1, s + 1, dtype=_numpy_dtype(dtype))
    root = np.sqrt(ratio * ratio + steps * growth)  # sqrt(g'_t), t = 1..s
    # Slices, not scalars: NumPy 1 would compute a scalar expression in float64.
    first = np.concatenate([1.0 / (p * root[:1]), (ratio + 1.0 / p) / root[:1]])
    norm = p * root[:-1] * root[1:]  # columns j = 2..s
    g_t = np.square(root[:-1])
    zero = np.zeros((1,), dtype=root.dtype)
    above = np.concatenate([zero, -1.0 / norm])
    diag = np.concatenate([first[1:], (g_t + ratio / p) * p / norm])
    below = np.concatenate([first[:1], ratio / norm])
    return _Entries(above, diag, below, ratio)


def _assemble(rows: _Entries, cols: _Entries, m: int, n: int, s: int):
    """Build ``W[i, k] = sum_j rows_j[i] cols_j[k]`` from suffix sums.

    With ``kappa_j = above_j * above'_j`` (``j >= 2``) and its suffix sums
    ``K(x) = sum_{j = x}^{s} kappa_j`` (zero for ``x > s``), every partial
    sum over ``j`` is ``K`` at two points times a constant, because
    ``below = -ratio * above`` in every column ``j >= 2``. Suffix sums are
    accumulated from the small terms up, and ``kappa_1`` (of order
    ``1 / epsilon^2``) never enters them, which keeps float32 accurate.
    """
    size = max(m, n) + 2
    kappa = rows.above[1:] * cols.above[1:]
    suffix = _suffix_sums(kappa)
    dtype = suffix.dtype
    k_ext = np.concatenate(
        [np.zeros((2,), dtype=dtype), suffix, np.zeros((size - s - 1,), dtype=dtype)]
    )
    e_r, e_c = rows.ratio, cols.ratio
    below_11 = rows.below[0] * cols.below[0]

    def k_at(first: int, length: int):
        """``K(x)`` for ``x = first .. first + length - 1``."""
        return k_ext[first : first + length]

    def pad(values, length: int):
        return np.concatenate([values, np.zeros((length - s,), dtype=dtype)])

    def below_both(length: int):
        """``sum_{j < x} below_j below'_j`` for ``x = 1..length``."""
        tail = below_11 + e_r * e_c * (k_ext[2] - k_at(1, length))
        tail[0] = 0.0  # x = 1: an empty sum
        return tail

    upper_row = below_both(m) + pad(rows.diag * cols.below, m) - e_c * k_at(2, m)
    upper_col = e_c * k_at(1, n) + pad(rows.above * cols.diag, n) + k_at(2, n)
    lower_col = below_both(n) + pad(rows.below * cols.diag, n) - e_r * k_at(2, n)
    lower_row = e_r * k_at(1, m) + pad(rows.diag * cols.above, m) + k_at(2, m)
    diagonal = below_both(m) + pad(rows.diag * cols.diag, m) + k_at(2, m)

    # The O(m n) part, on the backend: sums of two vectors, and selections.
    i = ops.arange(m, dtype="int32")[:, None]
    k = ops.arange(n, dtype="int32")[None, :]
    return ops.where(
        i < k,
        _column(upper_row) + _row(upper_col),
        ops.where(i > k, _row(lower_col) + _column(lower_row), _column(diagonal)),
    )


def _column(values: np.ndarray):
    return _tensor(values[:, None])


def _row(values: np.ndarray):
    return _tensor(values[None, :])


def _tensor(values: np.ndarray):
    if values.dtype == ml_dtypes.bfloat16:
        # Not every backend reads ml_dtypes arrays; float32 holds them exactly.
        return ops.cast(ops.convert_to_tensor(values.astype(np.float32)), "bfloat16")
    return ops.convert_to_tensor(values)


def _suffix_sums(values: np.ndarray) -> np.ndarray:
    """``out[i] = sum(values[i:])`` by ``log2(len)`` shifted additions.

    A Hillis-Steele scan made of slices and additions only: each sum is a
    balanced tree, accurate to ``O(log len)`` roundings (a running sum such
    as ``cumsum`` accumulates ``O(len)``).
    """
    length = values.shape[0]
    shift = 1
    while shift < length:
        tail = np.zeros((shift,), dtype=values.dtype)
        values = values + np.concatenate([values[shift:], tail])
        shift *= 2
    return values
