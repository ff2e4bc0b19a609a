"""Deterministic kernels as compiled programs: same values, same warnings."""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

from keras_detinit import shapes
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import MatrixInitializer
from keras_detinit.initializers import Sinusoidal
from keras_detinit.initializers import ZerOHadamard
from keras_detinit.initializers import compilation
from keras_detinit.initializers import epsilon_orthogonal_matrix

BACKEND = keras.backend.backend()

VIEWS = [
    shapes.matrix_view((30, 7)),
    shapes.matrix_view((3, 3, 4, 8)),
    shapes.matrix_view((12, 3, 4), input_axes=[0], output_axes=[1, 2]),
    shapes.layout_view((12, 4 * 6), unit_axes=[1], input_axes=[0], blocks=4),
]


def eager(initializer):
    """A copy of ``initializer`` that runs op by op on every backend."""
    copy = initializer.__class__.from_config(initializer.get_config())
    copy.jit_compile = False
    return copy


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: str(view.kernel_shape))
@pytest.mark.parametrize(
    "initializer",
    [Sinusoidal(), Sinusoidal(frequencies="nondegenerate"), EpsilonOrthogonal(0.01),
     ZerOHadamard()],
    ids=lambda init: type(init).__name__,
)
def test_compiled_kernel_equals_the_eager_one_bit_for_bit(initializer, view):
    # The blocked view's gates are projections 0 to 3: shifted inputs too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # degenerate rows of some views
        compiled = ops.convert_to_numpy(initializer.kernel(view, "float32"))
        expected = ops.convert_to_numpy(eager(initializer).kernel(view, "float32"))
    np.testing.assert_array_equal(compiled, expected)


def test_the_degenerate_row_warning_comes_on_every_call():
    init = Sinusoidal()
    for _ in range(2):  # the second call reuses the compiled program
        with pytest.warns(UserWarning, match="all-zero rows"):
            init((6, 6))


def test_errors_come_on_every_call():
    for _ in range(2):
        with pytest.raises(ValueError, match="zero everywhere"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # its rows are all zero, too
            Sinusoidal()((2, 2))


class CountingOnes(MatrixInitializer):
    """Counts how often its matrix is built (traced, on JAX)."""

    builds = 0

    def __init__(self, value=1.0, **kwargs):
        super().__init__(**kwargs)
        self.value = value

    def matrix_t(self, view, dtype):
        CountingOnes.builds += 1
        return ops.full((view.cols, view.rows), self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value, **super().get_config()}


def test_equal_configs_share_one_program_and_different_ones_do_not():
    CountingOnes.builds = 0
    first = ops.convert_to_numpy(CountingOnes(1.5)((5, 9)))
    second = ops.convert_to_numpy(CountingOnes(1.5)((5, 9)))
    # On JAX the second instance runs the program the first one compiled.
    assert CountingOnes.builds == (1 if BACKEND == "jax" else 2)
    np.testing.assert_array_equal(first, second)
    other = ops.convert_to_numpy(CountingOnes(2.5)((5, 9)))
    np.testing.assert_array_equal(other, np.full((5, 9), 2.5))
    np.testing.assert_array_equal(first, np.full((5, 9), 1.5))


def test_a_subclass_can_opt_out():
    class Eager(CountingOnes):
        jit_compile = False

    CountingOnes.builds = 0
    for _ in range(2):
        Eager(3.0)((4, 4))
    assert CountingOnes.builds == 2


@pytest.mark.parametrize("m,n", [(6, 10), (10, 6), (65, 17)])
def test_epsilon_orthogonal_transpose_is_exact(m, n):
    # The vectors are rounded by NumPy, one operation at a time, and the
    # compiled part only adds and selects: no fused multiply-add can make
    # W_{n x m} differ from W_{m x n}^T in the last bit.
    wide = ops.convert_to_numpy(epsilon_orthogonal_matrix(m, n, 0.05))
    tall = ops.convert_to_numpy(epsilon_orthogonal_matrix(n, m, 0.05))
    np.testing.assert_array_equal(wide.T, tall)


def test_call_runs_the_function_with_its_arguments():
    def ramp(length, scale):
        return ops.arange(length, dtype="float32") * scale

    for length, scale in [(3, 2.0), (3, 0.5), (5, 2.0)]:
        np.testing.assert_array_equal(
            ops.convert_to_numpy(compilation.call(ramp, length, scale)),
            np.arange(length, dtype="float32") * scale,
        )
