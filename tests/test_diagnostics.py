"""Skewness diagnostics: hand-computed examples, Theorem 1, OUI, probing."""

import importlib
import itertools
import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_detinit import Sinusoidal
from keras_detinit import diagnostics

oui_module = importlib.import_module("keras_detinit.diagnostics.oui")

# Phi^{-1}(0.8) and Phi^{-1}(0.6), from a standard normal table.
Z_080 = 0.8416212335729143
Z_060 = 0.2533471031357997

# Four samples (rows) of four units (columns). Worked by hand:
#   active (Z > 0):  [1 0 1 0] [1 0 1 0] [0 0 1 0] [1 1 1 0]
#   P(Z > 0) per unit: 3/4, 1/4, 1, 0 (Z = 0 is inactive)
#   |P - 1/2| = 1/4, 1/4, 1/2, 1/2 -> skewed at 0.2: all; at 0.3: units 2, 3
#   Hamming distances of the 6 pairs: 0, 1, 1, 1, 1, 2; cap 4 // 2 = 2
#   OUI = mean(min(d, 2)) / 2 = (6 / 6) / 2 = 1/2
HAND_Z = np.array(
    [
        [1.0, -1.0, 2.0, -1.0],
        [2.0, -3.0, 1.0, 0.0],
        [-1.0, -2.0, 3.0, -2.0],
        [0.5, 4.0, 5.0, -0.5],
    ]
)


def test_hand_example_balance_and_skew():
    np.testing.assert_array_equal(diagnostics.activation_balance(HAND_Z), [0.75, 0.25, 1.0, 0.0])
    assert diagnostics.skewed_fraction(HAND_Z, alpha=0.2) == 1.0
    assert diagnostics.skewed_fraction(HAND_Z, alpha=0.3) == 0.5
    np.testing.assert_array_equal(
        diagnostics.skewed_units([0.75, 0.25, 1.0, 0.0], 0.3), [False, False, True, True]
    )
    assert diagnostics.dead_fraction(HAND_Z) == 0.25
    assert diagnostics.always_active_fraction(HAND_Z) == 0.25


def test_hand_example_oui():
    assert diagnostics.oui(HAND_Z) == pytest.approx(0.5, abs=1e-12)


def test_hand_example_summary_keys_and_values():
    summary = diagnostics.layer_summary(HAND_Z, alphas=(0.2, 0.3), oui_pairs=None)
    assert summary == pytest.approx(
        {"skewed_0.2": 1.0, "skewed_0.3": 0.5, "oui": 0.5, "dead": 0.25, "always_active": 0.25}
    )
    assert list(summary) == diagnostics.metric_names((0.2, 0.3))


def test_gaussian_balance_hand_example():
    # Unit 0: mean 0.625, population variance 1.171875, so mu / sigma = 1/sqrt(3).
    expected = 0.5 * (1 + math.erf(1 / math.sqrt(3) / math.sqrt(2)))
    balance = diagnostics.gaussian_balance(HAND_Z)
    assert balance[0] == pytest.approx(expected, abs=1e-6)
    constant = np.array([[2.0, 0.0, -1.0]] * 5)
    np.testing.assert_array_equal(diagnostics.gaussian_balance(constant), [1.0, 0.0, 0.0])


def test_gaussian_method_agrees_with_empirical_on_normal_units():
    rng = np.random.default_rng(0)
    means = np.array([-1.0, -0.2, 0.0, 0.3, 2.0])
    z = rng.normal(size=(20000, 5)) + means
    gaussian = diagnostics.estimate_balance(z, "gaussian")
    empirical = diagnostics.estimate_balance(z, "empirical")
    np.testing.assert_allclose(gaussian, empirical, atol=0.01)
    assert diagnostics.skewed_fraction(z, 0.3, method="gaussian") == 0.4


@pytest.mark.parametrize("alpha", [0.0, 0.5, -0.1, 1.0, float("nan"), True])
def test_alpha_outside_open_interval_is_an_error(alpha):
    with pytest.raises(ValueError, match="alpha"):
        diagnostics.skewed_fraction(HAND_Z, alpha)


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="method"):
        diagnostics.skewed_fraction(HAND_Z, 0.1, method="median")


def test_conv_channels_count_positions_as_samples():
    # (batch 2, 2 x 2 positions, 2 channels): channel 0 positive at 6 of 8
    # positions, channel 1 at 1 of 8.
    z = np.full((2, 2, 2, 2), -1.0)
    z[..., 0] = [[[1, 1], [1, 1]], [[1, 1], [-1, -1]]]
    z[0, 0, 0, 1] = 3.0
    np.testing.assert_array_equal(diagnostics.activation_balance(z), [0.75, 0.125])
    channels_first = np.moveaxis(z, -1, 1)
    np.testing.assert_array_equal(
        diagnostics.activation_balance(channels_first, axis=1), [0.75, 0.125]
    )


def test_backend_tensors_are_accepted():
    tensor = ops.convert_to_tensor(HAND_Z.astype("float32"))
    assert diagnostics.skewed_fraction(tensor, 0.3) == 0.5
    assert diagnostics.oui(tensor) == pytest.approx(0.5)


def test_statistic_s_hand_example_dense_and_conv():
    dense = np.array([[1.0, -2.0], [0.5, 3.0], [-0.5, 1.0]])  # (in 3, out 2)
    np.testing.assert_allclose(diagnostics.statistic_s(dense), [1.0, 2.0])
    conv = np.zeros((2, 2, 1, 2))  # unit 0: all ones; unit 1: one -3
    conv[..., 0] = 1.0
    conv[1, 0, 0, 1] = -3.0
    np.testing.assert_allclose(diagnostics.statistic_s(conv), [4.0, -3.0])
    variable = keras.Variable(dense.astype("float32"))
    np.testing.assert_allclose(diagnostics.statistic_s(variable), [1.0, 2.0])


def test_threshold_hand_example():
    # theta sigma sqrt(n) / mu * Phi^{-1}(1/2 + alpha) = 0.5 * 2 * 3 / 0.5 * z.
    assert diagnostics.skewness_threshold(0.3, 9, 0.5, 0.5, 2.0) == pytest.approx(6 * Z_080)
    assert diagnostics.skewness_threshold(0.1, 4, 1.0, -2.0, 1.0) == pytest.approx(Z_060)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"fan_in": 0}, "fan_in"),
        ({"weight_std": 0.0}, "weight_std"),
        ({"input_std": -1.0}, "input_std"),
        ({"input_mean": 0.0}, "input_mean"),
        ({"alpha": 0.5}, "alpha"),
    ],
)
def test_threshold_rejects_invalid_arguments(kwargs, name):
    arguments = {"alpha": 0.3, "fan_in": 4, "weight_std": 1.0, "input_mean": 1.0, "input_std": 1.0}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=name):
        diagnostics.skewness_threshold(**arguments)


def relu_gaussian_inputs(samples, fan_in, seed):
    """ReLU of standard normal inputs: mean 1/sqrt(2 pi), var 1/2 - 1/(2 pi)."""
    x = np.maximum(np.random.default_rng(seed).normal(size=(samples, fan_in)), 0.0)
    return x, 1 / math.sqrt(2 * math.pi), math.sqrt(0.5 - 1 / (2 * math.pi))


def test_theorem_1_threshold_separates_skewed_units():
    fan_in, units = 600, 300
    x, mu, sigma = relu_gaussian_inputs(4000, fan_in, seed=1)
    theta = math.sqrt(2.0 / fan_in)  # He normal
    kernel = np.random.default_rng(2).normal(scale=theta, size=(fan_in, units))
    z = x @ kernel
    for alpha in (0.1, 0.3):
        observed = diagnostics.skewed_units(diagnostics.activation_balance(z), alpha)
        predicted = diagnostics.predicted_skewed(kernel, alpha, mu, sigma, weight_std=theta)
        assert np.mean(observed == predicted) >= 0.95
        assert 0.1 < np.mean(observed) < 0.9  # both classes are present


def test_sinusoidal_first_layer_has_zero_s_and_no_skewed_units():
    fan_in, units = 256, 64
    x, mu, sigma = relu_gaussian_inputs(4000, fan_in, seed=3)
    kernel = ops.convert_to_numpy(Sinusoidal()((fan_in, units))).astype(np.float64)
    scale = np.std(kernel) * math.sqrt(fan_in)
    assert np.max(np.abs(diagnostics.statistic_s(kernel))) < 1e-4 * scale
    assert not diagnostics.predicted_skewed(kernel, 0.1, mu, sigma).any()
    assert diagnostics.skewed_fraction(x @ kernel, 0.1) == 0.0
    random_kernel = np.random.default_rng(4).normal(scale=np.std(kernel), size=kernel.shape)
    assert diagnostics.skewed_fraction(x @ random_kernel, 0.1) > 0.5


def brute_force_oui(patterns):
    cap = patterns.shape[1] // 2
    distances = [
        min(int(np.sum(a != b)), cap) for a, b in itertools.combinations(patterns, 2)
    ]
    return np.mean(distances) / cap


def test_oui_exact_path_matches_brute_force_over_blocks(monkeypatch):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(37, 9)) + rng.normal(size=9)
    monkeypatch.setattr(oui_module, "_BLOCK_ROWS", 8)
    assert diagnostics.oui(z) == pytest.approx(brute_force_oui(z > 0), abs=1e-12)


def test_oui_sampled_pairs_are_seeded_and_close_to_exact():
    z = np.random.default_rng(6).normal(size=(200, 32))
    exact = diagnostics.oui(z)
    sampled = diagnostics.oui(z, num_pairs=20000, seed=3)
    assert sampled == diagnostics.oui(z, num_pairs=20000, seed=3)
    assert sampled != diagnostics.oui(z, num_pairs=20000, seed=4)
    assert sampled == pytest.approx(exact, abs=0.01)
    first, second = oui_module.sample_pairs(5, 1000, seed=0)
    assert np.all(first != second)
    assert set(zip(first.tolist(), second.tolist())) == {
        (i, j) for i in range(5) for j in range(5) if i != j
    }


def test_oui_extremes():
    identical = np.tile([1.0, -1.0, 2.0, -3.0], (10, 1))
    assert diagnostics.oui(identical) == 0.0
    # Sylvester-Hadamard rows differ on exactly half their entries: OUI = 1.
    hadamard = np.array([[1.0]])
    for _ in range(3):
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    assert diagnostics.oui(hadamard) == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        diagnostics.oui(np.ones((1, 4)))
    with pytest.raises(ValueError, match="num_pairs"):
        diagnostics.oui(hadamard, num_pairs=0)


def test_summary_of_one_unit_layer_has_no_oui():
    summary = diagnostics.layer_summary(np.array([[1.0], [-1.0], [2.0]]), alphas=(0.1,))
    assert math.isnan(summary["oui"])
    assert summary["skewed_0.1"] == 1.0


def test_probe_returns_pre_activations_of_dense_layers():
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="relu", bias_initializer="ones", name="a"),
            keras.layers.Dense(3, activation="sigmoid", name="b"),
        ]
    )
    x = np.random.default_rng(7).normal(size=(6, 5)).astype("float32")
    z = diagnostics.PreActivationProbe(model)(x)
    weights = model.get_weights()
    hidden = x @ weights[0] + weights[1]
    np.testing.assert_allclose(z["a"], hidden, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        z["b"], np.maximum(hidden, 0) @ weights[2] + weights[3], rtol=1e-5, atol=1e-5
    )
    assert (z["a"] < 0).any()  # the pre-activation, not the ReLU output
    assert model.get_layer("a").activation is keras.activations.relu


def test_probe_conv_and_layer_selection():
    inputs = keras.Input((6, 6, 2))
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(2, name="head")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(8).normal(size=(3, 6, 6, 2)).astype("float32")
    z = diagnostics.PreActivationProbe(model, layers=["conv"])(x)
    assert list(z) == ["conv"] and z["conv"].shape == (3, 4, 4, 4)
    assert (z["conv"] < 0).any()
    assert diagnostics.select_layers(model) == [model.get_layer("conv"), model.get_layer("head")]
    with pytest.raises(ValueError, match="not a top-level layer"):
        diagnostics.select_layers(model, ["nope"])


def test_probe_builds_sequential_without_input():
    model = keras.Sequential([keras.layers.Dense(3, name="d")])
    z = diagnostics.PreActivationProbe(model, sample_input=np.ones((4, 2)))(np.ones((4, 2)))
    assert z["d"].shape == (4, 3)


def test_subclassed_model_cannot_be_probed():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.ones((1, 3)))
    with pytest.raises(TypeError, match="functional"):
        diagnostics.PreActivationProbe(model)
