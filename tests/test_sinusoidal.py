"""Sinusoidal initializer: formula, theorems, numerics, dtypes, serialization."""

import json
import math
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_detinit
from keras_detinit import Sinusoidal
from keras_detinit import shapes

BACKEND = keras.backend.backend()


def paper_matrix(m, n):
    """Eq. (1) of the paper at a = 1, evaluated directly in float64."""
    i = np.arange(1, m + 1, dtype=np.float64)[:, None]
    j = np.arange(1, n + 1, dtype=np.float64)[None, :]
    return np.sin(2 * np.pi * i * j / n + 2 * np.pi * i / m)


def generate(shape, dtype=None, **kwargs):
    """The kernel as NumPy, with Sinusoidal's degenerate-row warning muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ops.convert_to_numpy(Sinusoidal(**kwargs)(shape, dtype=dtype))


def matrix_of(kernel):
    return np.asarray(ops.convert_to_numpy(shapes.kernel_to_matrix(kernel)), np.float64)


def max_row_sum_ratio(kernel, amplitude):
    matrix = matrix_of(kernel)
    return np.abs(matrix.sum(axis=1)).max() / (amplitude * math.sqrt(matrix.shape[1]))


@pytest.mark.parametrize("m,n", [(2, 3), (3, 2), (64, 784), (10, 10), (32, 64), (7, 5)])
def test_matches_paper_formula(m, n):
    init = Sinusoidal()
    kernel = generate((n, m))
    amplitude = init.amplitude((n, m))
    np.testing.assert_allclose(
        matrix_of(kernel), amplitude * paper_matrix(m, n), rtol=0, atol=3e-7 * amplitude
    )


def test_conv_kernel_is_the_matrix_view():
    shape = (3, 3, 4, 8)
    kernel = generate(shape)
    amplitude = Sinusoidal().amplitude(shape)
    np.testing.assert_allclose(
        matrix_of(kernel), amplitude * paper_matrix(8, 36), atol=3e-7 * amplitude
    )


RNG_SHAPES = [
    tuple(int(v) for v in sorted(np.random.default_rng(s).integers(2, 3000, 2)))
    for s in range(6)
]


@pytest.mark.parametrize(
    "m,n", [(1, 3), (2, 3), (63, 64), (64, 65), (100, 300), (500, 501)] + RNG_SHAPES
)
@pytest.mark.slow
def test_row_cancellation_when_m_below_n(m, n):
    if m == n:
        pytest.skip("needs m < n")
    kernel = generate((n, m))
    assert max_row_sum_ratio(kernel, Sinusoidal().amplitude((n, m))) <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("m,n", [(8192, 16384), (4095, 4096), (6000, 12288), (8191, 8192)])
def test_row_cancellation_float32_at_large_sizes(m, n):
    kernel = generate((n, m), dtype="float32")
    assert kernel.dtype == np.float32
    assert max_row_sum_ratio(kernel, Sinusoidal().amplitude((n, m))) <= 1e-5


@pytest.mark.parametrize("m,n", [(5, 5), (7, 3), (12, 4), (10, 6)])
def test_rows_with_i_multiple_of_n_do_not_cancel_when_m_at_least_n(m, n):
    init = Sinusoidal()
    amplitude = init.amplitude((n, m))
    row_sums = matrix_of(generate((n, m))).sum(axis=1)
    for i in range(1, m + 1):
        phase = 2 * np.pi * i / m
        expected = n * amplitude * np.sin(phase) if i % n == 0 else 0.0
        assert row_sums[i - 1] == pytest.approx(expected, abs=1e-5 * amplitude * n)
    listed = init.degenerate_rows((n, m))
    constant_rows = {i for i in range(n, m + 1, n) if abs(np.sin(2 * np.pi * i / m)) > 1e-9}
    assert set(listed.not_cancelling) == constant_rows


@pytest.mark.parametrize("n", [4, 8, 64, 100])
def test_square_even_layers_have_zero_rows(n):
    init = Sinusoidal()
    matrix = matrix_of(generate((n, n)))
    zero_rows = {i + 1 for i in np.flatnonzero(np.abs(matrix).max(axis=1) < 1e-6)}
    assert zero_rows == {n // 2, n}
    assert set(init.degenerate_rows((n, n)).zero) == {n // 2, n}
    with pytest.warns(UserWarning, match="all-zero rows"):
        init((n, n))


def test_no_warning_for_a_regular_shape():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        Sinusoidal()((784, 64))
    assert not Sinusoidal().degenerate_rows((784, 64))


@pytest.mark.parametrize("m,n", [(64, 64), (100, 30), (3, 50), (200, 8), (7, 7)])
def test_nondegenerate_frequencies_have_no_zero_rows_and_cancel(m, n):
    init = Sinusoidal(frequencies="nondegenerate")
    assert not init.degenerate_rows((n, m))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        kernel = ops.convert_to_numpy(init((n, m)))
    matrix = matrix_of(kernel)
    assert np.abs(matrix).max(axis=1).min() > 0.1 * init.amplitude((n, m))
    assert max_row_sum_ratio(kernel, init.amplitude((n, m))) <= 1e-5
    assert matrix.var() == pytest.approx(2.0 / (m + n), rel=1e-5)


def test_nondegenerate_matches_paper_when_no_row_is_degenerate():
    np.testing.assert_array_equal(
        generate((300, 100)), generate((300, 100), frequencies="nondegenerate")
    )


VARIANCE_CASES = [
    ((784, 64), 1.0, "fan_avg"),
    ((64, 64), 1.0, "fan_avg"),
    ((3, 3, 16, 32), 2.0, "fan_in"),
    ((5, 12), 0.5, "fan_out"),
    ((10, 30), 1.0, "fan_avg"),
    ((2, 3), 1.0, "fan_avg"),
]


@pytest.mark.parametrize("shape,scale,mode", VARIANCE_CASES)
def test_variance_matches_target(shape, scale, mode):
    kernel = generate(shape, scale=scale, mode=mode)
    view = shapes.matrix_view(shape)
    assert np.var(kernel.astype(np.float64)) == pytest.approx(
        scale / view.fan(mode), rel=2e-5
    )


def test_default_variance_is_glorot():
    kernel = generate((300, 100)).astype(np.float64)
    assert kernel.var() == pytest.approx(2.0 / 400, rel=1e-5)
    assert kernel.mean() == pytest.approx(0.0, abs=1e-7)


def test_deterministic_across_calls_and_instances():
    first = generate((128, 96))
    np.testing.assert_array_equal(first, generate((128, 96)))
    np.testing.assert_array_equal(first, ops.convert_to_numpy(Sinusoidal()((128, 96))))


def test_within_half_the_cross_backend_budget_of_exact_values():
    # Each backend within 5e-7 of the exact values implies any two backends
    # agree within 1e-6; test_cross_backend_agreement checks that directly.
    for m, n in [(64, 784), (512, 512), (1000, 3001)]:
        init = Sinusoidal()
        expected = init.amplitude((n, m)) * paper_matrix(m, n)
        assert np.abs(matrix_of(generate((n, m))) - expected).max() <= 5e-7


CROSS_BACKEND_SHAPES = [(784, 64), (512, 512), (3, 3, 16, 32), (3001, 1000)]
PROBE = """
import json, sys, warnings
import numpy as np
from keras import ops
import keras_detinit
warnings.simplefilter("ignore")
arrays = [
    ops.convert_to_numpy(keras_detinit.Sinusoidal()(shape, dtype="float32"))
    for shape in json.loads(sys.argv[1])
]
np.savez(sys.argv[2], *arrays)
"""


def run_backend(backend, path):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(CROSS_BACKEND_SHAPES), str(path)],
        env=env,
        check=True,
        timeout=600,
    )
    return np.load(path)


@pytest.mark.slow
@pytest.mark.cross_backend
def test_cross_backend_agreement(tmp_path):
    import importlib.util

    names = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
    available = [b for b, module in names.items() if importlib.util.find_spec(module)]
    if len(available) < 2:
        pytest.skip("needs at least two backends installed")
    results = {b: run_backend(b, tmp_path / f"{b}.npz") for b in available}
    for index, shape in enumerate(CROSS_BACKEND_SHAPES):
        key = f"arr_{index}"
        for b in available[1:]:
            difference = np.abs(results[available[0]][key] - results[b][key]).max()
            assert difference <= 1e-6, (available[0], b, shape, difference)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_float_dtypes(dtype):
    kernel = Sinusoidal()((200, 100), dtype=dtype)
    assert keras.backend.standardize_dtype(kernel.dtype) == dtype
    reference = generate((200, 100), dtype="float32").astype(np.float64)
    as_float = ops.convert_to_numpy(ops.cast(kernel, "float32")).astype(np.float64)
    resolution = {"float16": 2**-11, "bfloat16": 2**-8, "float32": 2**-24}[dtype]
    assert np.abs(as_float - reference).max() <= resolution * np.abs(reference).max()


def test_float64_where_available():
    from keras_detinit import validation

    try:
        validation.float_dtype("float64")
    except ValueError as error:
        assert "float64" in str(error)
        pytest.skip(f"float64 unavailable on {BACKEND} as configured")
    kernel = generate((300, 100), dtype="float64")
    assert kernel.dtype == np.float64
    expected = Sinusoidal().amplitude((300, 100)) * paper_matrix(100, 300)
    assert np.abs(matrix_of(kernel) - expected).max() <= 1e-12


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "int64"])
def test_non_float_dtype_raises(dtype):
    with pytest.raises(ValueError, match="dtype"):
        Sinusoidal()((4, 3), dtype=dtype)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"scale": 0.0}, "scale"),
        ({"scale": -1.0}, "scale"),
        ({"scale": float("nan")}, "scale"),
        ({"mode": "fan_max"}, "mode"),
        ({"frequencies": "random"}, "frequencies"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Sinusoidal(**kwargs)


@pytest.mark.parametrize("shape", [(5,), (0, 4), ()])
def test_bad_shapes_raise(shape):
    with pytest.raises(ValueError, match="shape"):
        Sinusoidal()(shape)


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (2, 2)])
def test_all_zero_matrix_raises(shape):
    with pytest.raises(ValueError, match="zero everywhere"):
        Sinusoidal()(shape)


def test_nondegenerate_needs_three_inputs():
    with pytest.raises(ValueError, match="n >= 3"):
        Sinusoidal(frequencies="nondegenerate")((2, 5))


def test_registered_string_names():
    assert isinstance(keras.initializers.get("sinusoidal"), Sinusoidal)
    assert keras_detinit.initializers.ALIASES["sinusoidal"] is Sinusoidal
    assert keras.saving.get_registered_name(Sinusoidal) == "keras_detinit>Sinusoidal"


def test_config_round_trip():
    init = Sinusoidal(scale=2.0, mode="fan_in", frequencies="nondegenerate")
    config = init.get_config()
    assert config == {
        "scale": 2.0,
        "mode": "fan_in",
        "frequencies": "nondegenerate",
        "input_axes": None,
        "output_axes": None,
    }
    clone = Sinusoidal.from_config(config)
    assert clone.get_config() == config
    revived = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(revived, Sinusoidal) and revived.get_config() == config


def test_dense_and_conv2d_layers_use_it():
    dense = keras.layers.Dense(64, kernel_initializer="sinusoidal")
    dense.build((None, 784))
    np.testing.assert_array_equal(
        ops.convert_to_numpy(dense.kernel), generate((784, 64))
    )
    conv = keras.layers.Conv2D(8, 3, kernel_initializer="sinusoidal")
    conv.build((None, 10, 10, 4))
    np.testing.assert_array_equal(
        ops.convert_to_numpy(conv.kernel), generate((3, 3, 4, 8))
    )


RELOAD = """
import sys
import numpy as np
import keras
import keras_detinit
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[2], np.concatenate([np.ravel(w) for w in model.get_weights()]))
"""


@pytest.mark.slow
def test_keras_file_reloads_with_identical_weights_in_a_fresh_process(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3, kernel_initializer="sinusoidal"),
            keras.layers.Flatten(),
            keras.layers.Dense(
                5, kernel_initializer=Sinusoidal(scale=2.0, mode="fan_in")
            ),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    weights = np.concatenate([np.ravel(w) for w in model.get_weights()])
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        np.concatenate([np.ravel(w) for w in reloaded.get_weights()]), weights
    )
    config = reloaded.layers[-1].kernel_initializer.get_config()
    assert config["scale"] == 2.0 and config["mode"] == "fan_in"
    out = tmp_path / "weights.npy"
    subprocess.run(
        [sys.executable, "-c", RELOAD, str(path), str(out)],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=True,
        timeout=300,
    )
    np.testing.assert_array_equal(np.load(out), weights)


def test_training_with_sinusoidal_learns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 20)).astype("float32")
    y = (x[:, :10].sum(axis=1) > x[:, 10:].sum(axis=1)).astype("int32")
    model = keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(32, activation="relu", kernel_initializer="sinusoidal"),
            keras.layers.Dense(2, activation="softmax", kernel_initializer="sinusoidal"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    before = model.evaluate(x, y, verbose=0)[1]
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    after = model.evaluate(x, y, verbose=0)[1]
    assert after >= 0.9 and after > before + 0.2
