"""Baselines of the epsilon-orthogonal paper: ZerO, RAI, GSM, and Arcsine."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_detinit
from keras_detinit import shapes
from keras_detinit.initializers import Arcsine
from keras_detinit.initializers import GaussianSubmatrix
from keras_detinit.initializers import RandomizedAsymmetric
from keras_detinit.initializers import ZerOHadamard
from keras_detinit.initializers.randomized_asymmetric import RAI_STDDEV

SEEDED = [RandomizedAsymmetric, GaussianSubmatrix, Arcsine]
#: The kernel shape of the seeding and naming tests: one shape, because on JAX
#: every new layer width compiles the random draws again (RAI's Beta draw
#: takes seconds), and these properties do not depend on the shape.
SHAPE = (20, 30)
NAMES = {
    "zero_hadamard": ZerOHadamard,
    "randomized_asymmetric": RandomizedAsymmetric,
    "gaussian_submatrix": GaussianSubmatrix,
    "arcsine": Arcsine,
}


def numpy_of(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), np.float64)


def sylvester(order):
    matrix = np.ones((1, 1))
    while len(matrix) < order:
        matrix = np.kron(np.array([[1.0, 1.0], [1.0, -1.0]]), matrix)
    return matrix


# ZerO -------------------------------------------------------------------


@pytest.mark.parametrize("inputs,units", [(5, 3), (4, 4), (784, 10), (1, 1)])
def test_zero_is_partial_identity_when_units_at_most_inputs(inputs, units):
    kernel = numpy_of(ZerOHadamard()((inputs, units)))
    np.testing.assert_array_equal(kernel, np.eye(inputs, units))


def test_zero_hadamard_worked_example():
    # in = 2, out = 4: W = H_2[:, :2] / 2, the kernel is its transpose.
    expected = [[0.5, 0.5, 0.5, 0.5], [0.5, -0.5, 0.5, -0.5]]
    np.testing.assert_array_equal(numpy_of(ZerOHadamard()((2, 4))), expected)


@pytest.mark.parametrize("inputs,units", [(3, 5), (10, 16), (6, 10), (7, 100), (1, 3)])
def test_zero_is_truncated_sylvester_hadamard_when_units_exceed_inputs(inputs, units):
    order = 2 ** math.ceil(math.log2(units))
    expected = sylvester(order)[:units, :inputs] / math.sqrt(order)
    kernel = numpy_of(ZerOHadamard()((inputs, units)))
    np.testing.assert_allclose(kernel.T, expected, rtol=1e-7, atol=0)


@pytest.mark.parametrize("inputs,units", [(3, 8), (10, 16), (1, 64)])
def test_zero_columns_are_orthonormal_for_power_of_two_units(inputs, units):
    matrix = numpy_of(ZerOHadamard()((inputs, units))).T  # W: (out, in)
    np.testing.assert_allclose(matrix.T @ matrix, np.eye(inputs), atol=1e-6)


@pytest.mark.parametrize("spatial", [(3,), (3, 3), (2, 2), (3, 5, 1)])
@pytest.mark.parametrize("inputs,units", [(4, 4), (2, 6)])
def test_zero_conv_kernel_is_the_matrix_at_the_center(spatial, inputs, units):
    kernel = numpy_of(ZerOHadamard()((*spatial, inputs, units)))
    center = tuple(size // 2 for size in spatial)
    dense = numpy_of(ZerOHadamard()((inputs, units)))
    np.testing.assert_array_equal(kernel[center], dense)
    kernel[center] = 0.0
    assert not kernel.any()


# RAI --------------------------------------------------------------------


def test_rai_stddev_constant():
    assert abs(RAI_STDDEV - 0.6007) < 5e-5


@pytest.mark.parametrize("shape", [(2500, 400), (5, 5, 100, 400)])
def test_rai_one_beta_entry_per_unit_and_scaled_normal_elsewhere(shape):
    matrix = numpy_of(shapes.kernel_to_matrix(RandomizedAsymmetric(seed=3)(shape)))
    fan_in = matrix.shape[1]
    # Normal entries have std 0.6007 / 50 = 0.012: none reaches 0.1 (8 sigma),
    # while a Beta(2, 1) entry does with probability 0.99.
    large = matrix > 0.1
    assert large.sum(axis=1).max() <= 1
    assert large.sum(axis=1).mean() >= 0.95
    beta_values = matrix[large]
    assert abs(beta_values.mean() - 2.0 / 3.0) < 0.05
    assert beta_values.max() <= 1.0
    # The chosen inputs spread over the fan-in (400 draws among 2500).
    assert len(set(np.nonzero(large)[1])) > 300
    normal = matrix[~large]
    assert abs(normal.std() / (RAI_STDDEV / math.sqrt(fan_in)) - 1.0) < 0.03
    assert abs(normal.mean()) < 0.002


# GSM --------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 4), (3, 3, 4, 6), (800, 600)])
def test_gsm_has_negated_blocks(shape):
    kernel = numpy_of(GaussianSubmatrix(seed=1)(shape))
    half_in, half_out = shape[-2] // 2, shape[-1] // 2
    block = kernel[..., :half_in, :half_out]
    np.testing.assert_array_equal(kernel[..., half_in:, :half_out], -block)
    np.testing.assert_array_equal(kernel[..., :half_in, half_out:], -block)
    np.testing.assert_array_equal(kernel[..., half_in:, half_out:], block)
    assert np.all(block != 0.0)


def test_gsm_block_is_he_normal_of_the_half_shape():
    kernel = numpy_of(GaussianSubmatrix(seed=2)((800, 600)))
    block = kernel[:400, :300]
    assert abs(block.std() / math.sqrt(2.0 / 400) - 1.0) < 0.03
    # Keras' HeNormal truncates at two standard deviations of its normal.
    assert np.abs(block).max() <= 2.0 * math.sqrt(2.0 / 400) / 0.8796 * 1.0001


@pytest.mark.parametrize("inputs,units", [(5, 3), (1, 1), (7, 2), (2, 9)])
def test_gsm_odd_sizes_drop_the_last_row_or_column(inputs, units):
    kernel = numpy_of(GaussianSubmatrix(seed=4)((inputs, units)))
    assert kernel.shape == (inputs, units)
    half_in, half_out = (inputs + 1) // 2, (units + 1) // 2
    block = kernel[:half_in, :half_out]
    lower = kernel[half_in:, :half_out]
    np.testing.assert_array_equal(lower, -block[: len(lower)])
    right = kernel[:half_in, half_out:]
    np.testing.assert_array_equal(right, -block[:, : right.shape[1]])


# Arcsine ----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,scale,mode,fan",
    [
        ((600, 400), 1.0, "fan_avg", 500.0),
        ((600, 400), 2.0, "fan_in", 600.0 / 2.0),
        ((3, 3, 16, 32), 1.0, "fan_out", 288.0),
    ],
)
def test_arcsine_variance_matches_sinusoidal_rule(shape, scale, mode, fan):
    init = Arcsine(scale=scale, mode=mode, seed=0)
    values = numpy_of(init(shape)).ravel()
    amplitude = math.sqrt(2.0 / fan)
    assert init.amplitude(shape) == pytest.approx(amplitude)
    assert abs(values.var() * fan - 1.0) < 0.03
    assert np.abs(values).max() <= amplitude * (1 + 1e-6)


def test_arcsine_distribution_quantiles():
    init = Arcsine(seed=5)
    values = numpy_of(init((500, 500))).ravel()
    amplitude = init.amplitude((500, 500))
    levels = np.linspace(0.05, 0.95, 19)
    expected = amplitude * np.sin(np.pi * (levels - 0.5))
    np.testing.assert_allclose(np.quantile(values, levels), expected, atol=0.01 * amplitude)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"scale": 0.0}, "scale"), ({"scale": float("inf")}, "scale"), ({"mode": "avg"}, "mode")],
)
def test_arcsine_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Arcsine(**kwargs)


# Seeding, names, serialization (all baselines) ---------------------------


@pytest.mark.parametrize("cls", SEEDED)
def test_int_seed_repeats_and_seeds_differ(cls):
    first = numpy_of(cls(seed=7)(SHAPE))
    np.testing.assert_array_equal(first, numpy_of(cls(seed=7)(SHAPE)))
    init = cls(seed=7)
    np.testing.assert_array_equal(numpy_of(init(SHAPE)), numpy_of(init(SHAPE)))
    assert not np.array_equal(first, numpy_of(cls(seed=8)(SHAPE)))


@pytest.mark.parametrize("cls", SEEDED)
def test_seed_generator_gives_new_values_per_call(cls):
    init = cls(seed=keras.random.SeedGenerator(11))
    assert not np.array_equal(numpy_of(init(SHAPE)), numpy_of(init(SHAPE)))


@pytest.mark.parametrize("cls", SEEDED)
def test_unseeded_instance_repeats_itself(cls):
    init = cls()
    np.testing.assert_array_equal(numpy_of(init(SHAPE)), numpy_of(init(SHAPE)))


@pytest.mark.parametrize("cls", SEEDED)
@pytest.mark.parametrize("seed", ["1", 1.5, True, [1]])
def test_bad_seed_raises(cls, seed):
    with pytest.raises(ValueError, match="seed"):
        cls(seed=seed)


@pytest.mark.parametrize("name,cls", sorted(NAMES.items()))
def test_string_name_and_config_round_trip(name, cls):
    assert isinstance(keras.initializers.get(name), cls)
    assert keras_detinit.initializers.ALIASES[name] is cls
    init = cls(seed=5) if cls in SEEDED else cls()
    config = init.get_config()
    revived = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(revived, cls) and revived.get_config() == config
    np.testing.assert_array_equal(numpy_of(revived(SHAPE)), numpy_of(init(SHAPE)))


def test_arcsine_config_has_every_argument():
    config = Arcsine(scale=3.0, mode="fan_out", seed=2).get_config()
    assert config == {
        "scale": 3.0,
        "mode": "fan_out",
        "seed": 2,
        "input_axes": None,
        "output_axes": None,
    }


def test_seed_generator_config_round_trip():
    init = RandomizedAsymmetric(seed=keras.random.SeedGenerator(9))
    revived = RandomizedAsymmetric.from_config(init.get_config())
    assert isinstance(revived.seed, keras.random.SeedGenerator)


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_non_float_dtype_raises(name, dtype):
    with pytest.raises(ValueError, match="dtype"):
        keras.initializers.get(name)((4, 6), dtype=dtype)


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_dtype_and_shape(name, dtype):
    # Conv layouts have tests of their own above; this one is about the dtype.
    kernel = keras.initializers.get(name)(SHAPE, dtype=dtype)
    assert tuple(kernel.shape) == SHAPE
    assert keras.backend.standardize_dtype(kernel.dtype) == dtype


def test_keras_file_round_trip(tmp_path):
    model = keras.Sequential(
        [keras.Input((SHAPE[0],))]
        + [
            keras.layers.Dense(SHAPE[1], kernel_initializer=init)
            for init in (
                ZerOHadamard(),
                RandomizedAsymmetric(seed=1),
                GaussianSubmatrix(seed=2),
                Arcsine(scale=2.0, mode="fan_in", seed=3),
            )
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    for before, after in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert reloaded.layers[-1].kernel_initializer.get_config() == {
        "scale": 2.0,
        "mode": "fan_in",
        "seed": 3,
        "input_axes": None,
        "output_axes": None,
    }
