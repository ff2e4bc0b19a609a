"""Epsilon-orthogonal initializer: paper examples, Proposition 1-2, Theorem 1-2."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_detinit
from keras_detinit import shapes
from keras_detinit import validation
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import epsilon_orthogonal_matrix
from keras_detinit.initializers import epsilon_orthogonal_q
from keras_detinit.initializers import epsilon_orthogonal_qr

BACKEND = keras.backend.backend()

# Examples 1 and 2 of the paper, as printed (4 decimals).
PAPER_EXAMPLES = [
    (0.01, [[-0.0829, 0.9097], [0.9081, -0.0993], [0.4106, 0.4032]]),
    (
        0.01,
        [
            [0.6241, -0.3762, 0.6213],
            [-0.3754, 0.6242, 0.6217],
            [0.6213, 0.6209, -0.3816],
            [0.2890, 0.2887, 0.2862],
        ],
    ),
    (
        1e-4,
        [
            [0.8581, -0.1419, -0.1419, -0.1419, 0.3581],
            [-0.1419, 0.8581, -0.1419, -0.1419, 0.3581],
            [-0.1419, -0.1419, 0.8581, -0.1419, 0.3581],
            [-0.1419, -0.1419, -0.1419, 0.8581, 0.3581],
            [0.3581, 0.3581, 0.3581, 0.3581, -0.6419],
            [0.1581, 0.1581, 0.1581, 0.1581, 0.1581],
            [0.1581, 0.1581, 0.1581, 0.1581, 0.1581],
            [0.1581, 0.1581, 0.1581, 0.1581, 0.1581],
        ],
    ),
    (
        0.1,
        [
            [0.8618, -0.1415, -0.1413, -0.1413, 0.3524],
            [-0.1341, 0.8626, -0.1374, -0.1374, 0.3563],
            [-0.1342, -0.1373, 0.8626, -0.1374, 0.3563],
            [-0.1342, -0.1373, -0.1373, 0.8626, 0.3563],
            [0.3559, 0.3528, 0.3528, 0.3528, -0.6533],
            [0.1598, 0.1567, 0.1567, 0.1567, 0.1506],
            [0.1598, 0.1567, 0.1567, 0.1567, 0.1506],
            [0.1598, 0.1567, 0.1567, 0.1567, 0.1506],
        ],
    ),
]
# Half a unit of the 4th decimal, plus float32 rounding.
PRINTED = 5e-5 + 1e-6


def numpy_of(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), np.float64)


def w(m, n, epsilon, dtype="float32"):
    return numpy_of(epsilon_orthogonal_matrix(m, n, epsilon, dtype))


def q(k, epsilon):
    return numpy_of(epsilon_orthogonal_q(k, epsilon))


def float64_or_skip():
    try:
        validation.float_dtype("float64")
    except ValueError:
        pytest.skip(f"float64 unavailable on {BACKEND} as configured")


def gram_schmidt_q(k, epsilon):
    """Theorem 1's recursion, normalized: the Gram-Schmidt factor of J + eps I."""
    ones = np.ones(k)
    u = [ones + epsilon * np.eye(k)[0]]
    for j in range(1, k):
        a_j = ones + epsilon * np.eye(k)[j]
        coefficient = 1.0 - (u[-1] @ a_j) / (u[-1] @ u[-1])
        u.append(coefficient * u[-1] + epsilon * (np.eye(k)[j] - np.eye(k)[j - 1]))
    return np.stack([v / np.linalg.norm(v) for v in u], axis=1)


@pytest.mark.parametrize("epsilon,expected", PAPER_EXAMPLES)
def test_reproduces_paper_examples(epsilon, expected):
    expected = np.array(expected)
    m, n = expected.shape
    kernel = numpy_of(EpsilonOrthogonal(epsilon)((n, m)))  # Dense (in, out)
    np.testing.assert_allclose(kernel.T, expected, rtol=0, atol=PRINTED)
    np.testing.assert_allclose(w(m, n, epsilon), expected, rtol=0, atol=PRINTED)
    np.testing.assert_allclose(
        epsilon_orthogonal_qr(m, n, epsilon), expected, rtol=0, atol=PRINTED
    )


def test_gram_schmidt_signs_do_not_reproduce_the_examples():
    epsilon, expected = PAPER_EXAMPLES[3]
    q8, q5 = gram_schmidt_q(8, epsilon), gram_schmidt_q(5, epsilon)
    gram_schmidt_w = q8[:, :5] @ q5[:, :5].T
    assert np.abs(gram_schmidt_w - np.array(expected)).max() > 1.0


@pytest.mark.parametrize("k", [1, 2, 3, 8, 33])
@pytest.mark.parametrize("epsilon", [1e-4, 0.1, 1.0])
def test_q_is_theorem_1_with_lapack_signs(k, epsilon):
    signs = -np.ones(k)
    signs[-1] = 1.0
    np.testing.assert_allclose(
        q(k, epsilon), gram_schmidt_q(k, epsilon) * signs, rtol=0, atol=2e-6
    )
    lapack_q = np.linalg.qr(np.ones((k, k)) + epsilon * np.eye(k))[0]
    np.testing.assert_allclose(q(k, epsilon), lapack_q, rtol=0, atol=2e-6)


@pytest.mark.parametrize("k", [2, 5, 40])
@pytest.mark.parametrize("epsilon", [1e-3, 0.1, 0.7])
def test_lemma_2_column_sums_of_q(k, epsilon):
    sums = q(k, epsilon).sum(axis=0)
    first = (k + epsilon) / math.sqrt(epsilon**2 + 2 * epsilon + k)
    assert abs(abs(sums[0]) - first) <= 1e-5 * first
    bounds = epsilon / np.sqrt(np.arange(1, k))
    assert np.all(np.abs(sums[1:]) <= bounds + 1e-6)


SHAPES = [(3, 2), (2, 3), (4, 1), (1, 4), (8, 5), (5, 8), (6, 10), (10, 6), (65, 17)]
EPSILONS = [1e-4, 0.01, 0.1, 1.0, 10.0]


@pytest.mark.parametrize("m,n", SHAPES + [(7, 7), (784, 10)])
@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.slow
def test_closed_form_equals_qr_construction(m, n, epsilon):
    difference = np.abs(w(m, n, epsilon) - epsilon_orthogonal_qr(m, n, epsilon))
    assert difference.max() <= 1e-6


@pytest.mark.parametrize("m,n", [(8, 5), (300, 299), (100, 700)])
def test_float64_closed_form_equals_qr_construction(m, n):
    float64_or_skip()
    expected = epsilon_orthogonal_qr(m, n, 0.1)
    assert np.abs(w(m, n, 0.1, "float64") - expected).max() <= 1e-12


@pytest.mark.parametrize("m,n", SHAPES)
@pytest.mark.parametrize("epsilon", [1e-4, 0.1, 1.0])
def test_proposition_1_orthogonality(m, n, epsilon):
    matrix = w(m, n, epsilon)
    s = min(m, n)
    if m >= n:  # (ii): W^T W = I, W W^T = sum of q_j q_j^T over j <= n
        q_m = q(m, epsilon)[:, :s]
        np.testing.assert_allclose(matrix.T @ matrix, np.eye(n), atol=1e-6)
        np.testing.assert_allclose(matrix @ matrix.T, q_m @ q_m.T, atol=1e-6)
    if m <= n:  # (iii): W W^T = I, W^T W = sum of qhat_j qhat_j^T over j <= m
        q_n = q(n, epsilon)[:, :s]
        np.testing.assert_allclose(matrix @ matrix.T, np.eye(m), atol=1e-6)
        np.testing.assert_allclose(matrix.T @ matrix, q_n @ q_n.T, atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 7, 64])
def test_proposition_1_square_is_identity(n):
    np.testing.assert_array_equal(w(n, n, 0.1), np.eye(n))
    np.testing.assert_array_equal(numpy_of(EpsilonOrthogonal()((n, n))), np.eye(n))


@pytest.mark.parametrize("m,n", SHAPES)
def test_proposition_1_transpose_is_swapped_shape(m, n):
    np.testing.assert_allclose(w(m, n, 0.05).T, w(n, m, 0.05), rtol=0, atol=1e-7)


def harmonic(k):
    return math.fsum(1.0 / i for i in range(1, k + 1))


@pytest.mark.parametrize("m,n", [(8, 5), (5, 8), (10, 6), (6, 10), (200, 100), (64, 300)])
@pytest.mark.parametrize("epsilon", [1e-3, 0.1, 0.5])
@pytest.mark.slow
def test_proposition_2_row_and_column_sums(m, n, epsilon):
    matrix = w(m, n, epsilon)
    s = min(m, n)
    q_1, q_hat_1 = q(m, epsilon)[:, 0], q(n, epsilon)[:, 0]
    bound = epsilon * math.sqrt(harmonic(s - 1)) + 1e-6
    column_gap = matrix.sum(axis=0) - q_hat_1 * q_1.sum()
    row_gap = matrix.sum(axis=1) - q_1 * q_hat_1.sum()
    assert np.abs(column_gap).max() <= bound
    assert np.abs(row_gap).max() <= bound


@pytest.mark.parametrize("n_1,n_x", [(200, 100), (100, 200), (10, 784), (60, 50)])
@pytest.mark.parametrize("epsilon", [1e-3, 0.1])
@pytest.mark.slow
def test_theorem_2_mean_preservation(n_1, n_x, epsilon):
    x = np.random.default_rng(n_1 + n_x).uniform(0.0, 1.0, size=(n_x, 16))
    matrix = w(n_1, n_x, epsilon)
    input_mean = x.mean(axis=0)
    scaled_output_mean = math.sqrt(n_1 / n_x) * (matrix @ x).mean(axis=0)
    # The proof's two approximations, made explicit: column sums of W are
    # qhat_1 <q_1, 1> within eps sqrt(H_{s-1}) (Proposition 2), and
    # qhat_1 <q_1, 1> is sqrt(n_1 / n_x) up to O(eps) (Lemma 2).
    q_hat_1 = q(n_x, epsilon)[:, 0]
    first_sum = (n_1 + epsilon) / math.sqrt(epsilon**2 + 2 * epsilon + n_1)
    spread = np.abs(np.abs(q_hat_1) * first_sum - math.sqrt(n_1 / n_x)).max()
    gap = epsilon * math.sqrt(harmonic(min(n_1, n_x) - 1)) + spread
    tolerance = np.abs(x).sum(axis=0) * gap / math.sqrt(n_1 * n_x) + 1e-6
    assert np.all(np.abs(input_mean - scaled_output_mean) <= tolerance)
    if epsilon <= 1e-3:  # then the bound is tight enough to mean something
        assert np.all(tolerance <= 0.05 * input_mean)


@pytest.mark.parametrize("m,n", [(1024, 1000), (1000, 1024), (777, 300)])
@pytest.mark.parametrize("epsilon", [1e-4, 0.1, 1.0])
@pytest.mark.slow
def test_float32_orthogonality(m, n, epsilon):
    matrix = w(m, n, epsilon)
    gram = matrix.T @ matrix if m >= n else matrix @ matrix.T
    assert np.abs(gram - np.eye(min(m, n))).max() <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("m,n", [(8192, 8191), (8192, 4096), (4096, 8192)])
@pytest.mark.parametrize("epsilon", [1e-4, 0.1, 1.0])
def test_float32_orthogonality_at_8192(m, n, epsilon):
    matrix = w(m, n, epsilon)
    if m < n:
        matrix = matrix.T
    s = matrix.shape[1]
    # Rows of W^T W - I: the first and last 64 and 128 random ones.
    picked = np.concatenate(
        [np.arange(64), np.arange(s - 64, s), np.random.default_rng(0).choice(s, 128)]
    )
    gram_rows = matrix[:, picked].T @ matrix
    assert np.abs(gram_rows - np.eye(s)[picked]).max() <= 1e-5


@pytest.mark.parametrize("epsilon", [1e-30, 1e-12, 1e6])
def test_extreme_epsilon_stays_finite_and_orthogonal(epsilon):
    matrix = w(40, 25, epsilon)
    assert np.all(np.isfinite(matrix))
    np.testing.assert_allclose(matrix.T @ matrix, np.eye(25), atol=1e-5)


def test_conv_kernel_is_the_matrix_view():
    kernel = EpsilonOrthogonal(0.1)((3, 3, 4, 8))
    matrix = numpy_of(shapes.kernel_to_matrix(kernel))
    np.testing.assert_allclose(matrix, w(8, 36, 0.1), rtol=0, atol=1e-7)


def test_dense_layer_kernel_is_w_in_x_out():
    layer = keras.layers.Dense(6, kernel_initializer="epsilon_orthogonal")
    layer.build((None, 10))
    kernel = numpy_of(layer.kernel)
    np.testing.assert_allclose(kernel, w(10, 6, 0.1), rtol=0, atol=1e-7)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(6), atol=1e-6)


def test_deterministic_across_calls_and_instances():
    first = numpy_of(EpsilonOrthogonal(0.2)((30, 7)))
    np.testing.assert_array_equal(first, numpy_of(EpsilonOrthogonal(0.2)((30, 7))))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_float_dtypes(dtype):
    kernel = EpsilonOrthogonal()((50, 20), dtype=dtype)
    assert keras.backend.standardize_dtype(kernel.dtype) == dtype
    resolution = {"float16": 2**-11, "bfloat16": 2**-8, "float32": 2**-21}[dtype]
    values = numpy_of(ops.cast(kernel, "float32"))
    assert np.abs(values - epsilon_orthogonal_qr(50, 20, 0.1)).max() <= resolution


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool"])
def test_non_float_dtype_raises(dtype):
    with pytest.raises(ValueError, match="dtype"):
        EpsilonOrthogonal()((4, 3), dtype=dtype)


@pytest.mark.parametrize(
    "epsilon", [0.0, -0.1, float("nan"), float("inf"), "small", None, True]
)
def test_bad_epsilon_raises(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        EpsilonOrthogonal(epsilon)
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_orthogonal_qr(3, 2, epsilon)


@pytest.mark.parametrize("shape", [(5,), (0, 4), ()])
def test_bad_shapes_raise(shape):
    with pytest.raises(ValueError, match="shape"):
        EpsilonOrthogonal()(shape)


def test_registered_string_name_and_config_round_trip():
    assert isinstance(keras.initializers.get("epsilon_orthogonal"), EpsilonOrthogonal)
    assert keras_detinit.initializers.ALIASES["epsilon_orthogonal"] is EpsilonOrthogonal
    init = EpsilonOrthogonal(epsilon=0.03)
    assert init.get_config() == {"epsilon": 0.03, "input_axes": None, "output_axes": None}
    revived = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(revived, EpsilonOrthogonal) and revived.epsilon == 0.03
    assert EpsilonOrthogonal.from_config(init.get_config()).epsilon == 0.03


def test_keras_file_round_trip(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            keras.layers.Conv2D(5, 2, kernel_initializer=EpsilonOrthogonal(0.01)),
            keras.layers.Flatten(),
            keras.layers.Dense(6, kernel_initializer="epsilon_orthogonal"),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    for before, after in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert reloaded.layers[0].kernel_initializer.get_config() == {
        "epsilon": 0.01,
        "input_axes": None,
        "output_axes": None,
    }
