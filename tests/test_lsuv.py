"""LSUV: unit variance within tolerance, orthonormal start, caps, errors."""

import keras
import numpy as np
import pytest

from keras_detinit.lsuv import lsuv_initialize

X = np.random.default_rng(0).normal(loc=0.5, scale=3.0, size=(128, 12)).astype("float32")


def mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((12,)),
            keras.layers.Dense(10, activation="relu", name="a"),
            keras.layers.Dense(8, activation="tanh", name="b"),
            keras.layers.Dense(3, name="c"),
        ]
    )


def numpy_pre_activations(model, x):
    """Each Dense layer's pre-activation, recomputed here with NumPy."""
    outputs, h = [], x.astype(np.float64)
    for layer in model.layers:
        kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
        z = h @ kernel + bias
        outputs.append(z)
        h = np.asarray(keras.ops.convert_to_numpy(layer.activation(keras.ops.convert_to_tensor(z))))
    return outputs


def test_every_layer_reaches_unit_variance_within_tolerance():
    model = mlp()
    report = lsuv_initialize(model, X, tolerance=0.05, seed=1)
    assert [r.name for r in report] == ["a", "b", "c"]
    for layer_report, z in zip(report, numpy_pre_activations(model, X)):
        assert layer_report.converged
        assert abs(np.var(z) - 1.0) < 0.05
        assert layer_report.final_variance == pytest.approx(np.var(z), rel=1e-4)
        assert 0 <= layer_report.iterations <= 10


def test_kernels_are_scaled_orthonormal_matrices():
    model = mlp()
    lsuv_initialize(model, X, seed=2)
    for layer in model.layers:
        kernel = layer.get_weights()[0].astype(np.float64)  # (in, out), in >= out
        gram = kernel.T @ kernel
        scale = gram[0, 0]
        np.testing.assert_allclose(gram, scale * np.eye(kernel.shape[1]), atol=1e-5 * scale)


def test_seeded_and_deterministic():
    first, second, third = mlp(0), mlp(1), mlp(0)
    lsuv_initialize(first, X, seed=5)
    lsuv_initialize(second, X, seed=5)
    lsuv_initialize(third, X, seed=6)
    for a, b, c in zip(first.get_weights(), second.get_weights(), third.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        if a.ndim == 2:
            assert not np.allclose(a, c)


def test_without_orthonormal_start_only_the_scale_changes():
    model = mlp()
    before = [layer.get_weights()[0] for layer in model.layers]
    lsuv_initialize(model, X, orthonormal=False)
    for old, layer in zip(before, model.layers):
        new = layer.get_weights()[0]
        ratio = new.ravel() @ old.ravel() / (old.ravel() @ old.ravel())
        np.testing.assert_allclose(new, ratio * old, rtol=1e-4, atol=1e-6)


def test_iteration_cap_and_report():
    model = mlp()
    report = lsuv_initialize(model, X * 100, tolerance=1e-9, max_iterations=1, seed=0)
    assert all(r.iterations == 1 for r in report)
    assert report[0].initial_variance > 100
    assert report[0].converged == (abs(report[0].final_variance - 1) < 1e-9)


def test_conv_layers_and_selection():
    inputs = keras.Input((6, 6, 2))
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(2, name="head")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, outputs)
    head_before = model.get_layer("head").get_weights()[0]
    x = np.random.default_rng(3).normal(size=(16, 6, 6, 2)).astype("float32")
    (report,) = lsuv_initialize(model, x, layers=["conv"], seed=0)
    assert report.name == "conv" and report.converged
    kernel, bias = model.get_layer("conv").get_weights()
    patches = np.stack(
        [x[:, i : i + 3, j : j + 3, :].reshape(16, -1) for i in range(4) for j in range(4)], axis=1
    )
    z = patches @ kernel.reshape(-1, 4) + bias
    assert abs(np.var(z) - 1.0) < 0.1
    np.testing.assert_array_equal(model.get_layer("head").get_weights()[0], head_before)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"tolerance": 0.0}, "tolerance"), ({"tolerance": 1.0}, "tolerance"),
     ({"max_iterations": 0}, "max_iterations"), ({"seed": -2}, "seed")],
)
def test_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        lsuv_initialize(mlp(), X, **kwargs)


def test_constant_pre_activation_is_an_error():
    with pytest.raises(ValueError, match="variance"):
        lsuv_initialize(mlp(), np.zeros_like(X), seed=0)
