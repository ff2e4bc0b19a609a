"""The kernel-shape <-> matrix-view mapping."""

import numpy as np
import pytest
from keras import ops
from keras.src.initializers.random_initializers import compute_fans

from keras_detinit import shapes

KERNEL_SHAPES = [
    (784, 64),  # Dense
    (5, 3, 8),  # Conv1D
    (3, 3, 16, 32),  # Conv2D
    (2, 3, 4, 5, 6),  # Conv3D
    (1, 7),
    (7, 1),
]


@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_view_matches_keras_fans(shape):
    view = shapes.matrix_view(shape)
    assert (view.fan_in, view.fan_out) == compute_fans(shape)
    assert view.rows == shape[-1]
    assert view.cols == int(np.prod(shape[:-1]))
    assert view.rows * view.cols == int(np.prod(shape))


def test_fan_modes():
    view = shapes.matrix_view((3, 3, 16, 32))
    assert view.fan("fan_in") == 144
    assert view.fan("fan_out") == 288
    assert view.fan("fan_avg") == 216
    with pytest.raises(ValueError, match="mode"):
        view.fan("fan_max")


@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_round_trip(shape):
    view = shapes.matrix_view(shape)
    matrix = np.arange(view.rows * view.cols, dtype="float32").reshape(
        view.rows, view.cols
    )
    kernel = shapes.matrix_to_kernel(matrix, view)
    assert tuple(ops.shape(kernel)) == shape
    np.testing.assert_array_equal(
        ops.convert_to_numpy(shapes.kernel_to_matrix(kernel)), matrix
    )
    via_transpose = shapes.matrix_to_kernel(matrix.T.copy(), view, transposed=True)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(via_transpose), ops.convert_to_numpy(kernel)
    )


def test_conv_layout_is_row_major_receptive_field_then_channel():
    kernel = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype("float32")
    matrix = ops.convert_to_numpy(shapes.kernel_to_matrix(kernel))
    # Unit o's weight on input (kh, kw, c) sits at column (kh * 3 + kw) * 4 + c.
    for kh, kw, c, o in [(0, 0, 0, 0), (1, 2, 3, 4), (1, 0, 2, 1)]:
        assert matrix[o, (kh * 3 + kw) * 4 + c] == kernel[kh, kw, c, o]


def test_unit_indices_are_one_based_and_transposed():
    view = shapes.matrix_view((4, 3))
    rows, cols = shapes.unit_indices(view)
    assert tuple(ops.shape(rows)) == (1, 3)
    assert tuple(ops.shape(cols)) == (4, 1)
    np.testing.assert_array_equal(ops.convert_to_numpy(rows), [[1, 2, 3]])
    np.testing.assert_array_equal(ops.convert_to_numpy(cols)[:, 0], [1, 2, 3, 4])


@pytest.mark.parametrize("shape", [(), (5,), (0, 3), (3, 0), (2, 0, 4, 4), (3, -1)])
def test_bad_shapes_raise(shape):
    with pytest.raises(ValueError, match="shape"):
        shapes.matrix_view(shape)


def test_matrix_of_wrong_shape_raises():
    view = shapes.matrix_view((4, 3))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        shapes.matrix_to_kernel(np.zeros((4, 3)), view)
