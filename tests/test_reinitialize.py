"""Layer-aware matrix views and `keras_detinit.reinitialize`."""

import math
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_detinit
from keras_detinit import layer_view
from keras_detinit import shapes
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import Sinusoidal
from keras_detinit.initializers import ZerOHadamard
from keras_detinit.initializers.matrix import projection_shift

D_MODEL, HEADS, HEAD_DIM = 48, 4, 16


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def blocks_of(variable, view):
    """The ``(m, n)`` matrices of a kernel: one per group and block."""
    matrix = numpy_of(shapes.kernel_to_matrix(variable, view))
    matrix = matrix.reshape(-1, view.blocks, view.rows, view.cols)
    return [block for group in matrix for block in group]


def glorot(view):
    return 2.0 / (view.fan_in + view.fan_out)


# Layers start from constant kernels: every test below overwrites them, and a
# random start would only add, on JAX, one compilation per kernel shape.


def attention_model(initializer="zeros"):
    inputs = keras.Input((10, D_MODEL))
    attention = keras.layers.MultiHeadAttention(
        HEADS, HEAD_DIM, kernel_initializer=initializer, name="attention"
    )
    return keras.Model(inputs, attention(inputs, inputs)), attention


def reinitialized(model, initializer, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate-row notes of square kernels
        return keras_detinit.reinitialize(model, initializer, **kwargs)


def attention_kernels(attention):
    dense = [attention._query_dense, attention._key_dense, attention._value_dense,
             attention._output_dense]
    return [(layer_view.kernel_views(d)[0]) for d in dense]


@pytest.mark.parametrize("frequencies", ["paper", "nondegenerate"])
@pytest.mark.parametrize("key_dim", [HEAD_DIM, D_MODEL // HEADS])
def test_mha_kernels_have_the_glorot_variance_of_their_true_fans(frequencies, key_dim):
    inputs = keras.Input((10, D_MODEL))
    attention = keras.layers.MultiHeadAttention(HEADS, key_dim, kernel_initializer="zeros")
    model = keras.Model(inputs, attention(inputs, inputs))
    reinitialized(model, Sinusoidal(frequencies=frequencies))
    for kernel in attention_kernels(attention):
        view = kernel.view
        assert sorted([view.cols, view.rows]) == sorted([D_MODEL, HEADS * key_dim])
        (w,) = blocks_of(kernel.variable, view)
        assert w.var() == pytest.approx(glorot(view), rel=0.05)
        # Rows cancel along the true fan-in (d_model for Q, K, V), except
        # the constant rows the paper's formula has when m >= n.
        scheme = Sinusoidal(frequencies=frequencies, input_axes=list(view.input_axes),
                            output_axes=list(view.unit_axes))
        constant = [i - 1 for i in scheme.degenerate_rows(view.kernel_shape).not_cancelling]
        sums = np.delete(np.abs(w.sum(axis=1)), constant)
        assert sums.max() < 1e-5 * np.abs(w).max() * math.sqrt(view.cols)


def test_keras_rule_misses_the_glorot_variance_of_attention_kernels():
    # What the layer-aware view fixes: the shape alone reads (48, 4, 16) as
    # 16 units of fan-in 192.
    kernel = numpy_of(Sinusoidal()(shape=(D_MODEL, HEADS, HEAD_DIM)))
    true_glorot = 2.0 / (D_MODEL + HEADS * HEAD_DIM)
    assert kernel.var() < 0.5 * true_glorot


def test_query_key_value_differ_and_logits_are_not_symmetric():
    model, attention = attention_model()
    records = reinitialized(model, "sinusoidal")
    assert [r.projection for r in records] == [0, 1, 2, 0]
    q, k, v, _ = [blocks_of(kv.variable, kv.view)[0] for kv in attention_kernels(attention)]
    assert not np.allclose(q, k) and not np.allclose(k, v) and not np.allclose(q, v)
    x = np.random.default_rng(0).normal(size=(10, D_MODEL))
    logits = (x @ q.T) @ (x @ k.T).T
    assert np.abs(logits - logits.T).max() > 0.1 * np.abs(logits).max()


def test_a_projection_is_the_scheme_with_its_inputs_shifted():
    view = shapes.matrix_view((D_MODEL, HEADS, HEAD_DIM), [0], [1, 2])
    for init in [Sinusoidal(), EpsilonOrthogonal(), ZerOHadamard()]:
        base = numpy_of(shapes.kernel_to_matrix(init.kernel(view), view))
        for p in (1, 2, 3):
            shifted = numpy_of(shapes.kernel_to_matrix(init.kernel(view, projection=p), view))
            np.testing.assert_array_equal(
                shifted, np.roll(base, projection_shift(view.cols, p), axis=1)
            )


def test_einsum_dense_gets_keras_axes_directly():
    # Keras 3.15+ hands EinsumDense's axes to VarianceScaling instances.
    layer = keras.layers.EinsumDense(
        "abc,cde->abde", (None, HEADS, HEAD_DIM), kernel_initializer="sinusoidal"
    )
    layer.build((None, 10, D_MODEL))
    expected = Sinusoidal(input_axes=[0], output_axes=[1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(
            numpy_of(layer.kernel), numpy_of(expected((D_MODEL, HEADS, HEAD_DIM)))
        )
    view = shapes.matrix_view((D_MODEL, HEADS, HEAD_DIM), [0], [1, 2])
    assert numpy_of(layer.kernel).var() == pytest.approx(glorot(view), rel=1e-4)


@pytest.mark.parametrize("cls", [Sinusoidal, EpsilonOrthogonal, ZerOHadamard])
def test_axes_round_trip_through_config(cls):
    init = cls(input_axes=[0], output_axes=[1, 2])
    config = init.get_config()
    assert config["input_axes"] == [0] and config["output_axes"] == [1, 2]
    revived = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert revived.get_config() == config


@pytest.mark.parametrize(
    "axes", [([0], None), ([0], [0]), (["a"], [1]), ([0], [5])]
)
def test_bad_axes_raise(axes):
    input_axes, output_axes = axes
    with pytest.raises(ValueError, match="axes"):
        Sinusoidal(input_axes=input_axes, output_axes=output_axes)((4, 5))


def test_zero_leaves_no_depthwise_channel_dead():
    channels = 6
    model = keras.Sequential([
        keras.Input((8, 8, channels)),
        keras.layers.DepthwiseConv2D(3, depthwise_initializer="zeros"),
        keras.layers.SeparableConv2D(
            4, 3, depthwise_initializer="zeros", pointwise_initializer="zeros"
        ),
    ])
    records = reinitialized(model, "zero_hadamard")
    kernel = numpy_of(model.layers[0].kernel)
    dirac = np.zeros((3, 3, channels, 1))
    dirac[1, 1] = 1.0
    np.testing.assert_array_equal(kernel, dirac)  # per-channel Dirac identity
    depthwise = numpy_of(model.layers[1].depthwise_kernel)
    assert np.all(np.abs(depthwise).reshape(-1, depthwise.shape[2]).sum(axis=0) > 0)
    assert [r.groups for r in records] == [channels, channels, 1]
    # The identity passes the input through unchanged.
    x = np.random.default_rng(1).normal(size=(1, 8, 8, channels)).astype("float32")
    out = numpy_of(model.layers[0](x))
    np.testing.assert_allclose(out, x[:, 1:-1, 1:-1, :], atol=1e-6)


def test_conv_transpose_units_are_the_filters():
    model = keras.Sequential([keras.Input((5, 5, 3)), keras.layers.Conv2DTranspose(8, 3, kernel_initializer="zeros")])
    (record,) = reinitialized(model, "sinusoidal")
    assert (record.units, record.fan_in) == (8, 3 * 3 * 3)
    view = layer_view.kernel_views(model.layers[0])[0].view
    (w,) = blocks_of(model.layers[0].kernel, view)
    assert w.shape == (8, 27)
    assert w.var() == pytest.approx(2.0 / (27 + 8 * 9), rel=1e-4)
    assert np.abs(w.sum(axis=1)).max() < 1e-5 * np.abs(w).max() * math.sqrt(27)


@pytest.mark.parametrize("cell, gates", [(keras.layers.LSTM, 4), (keras.layers.GRU, 3)])
def test_recurrent_gates_are_blocks_with_their_own_properties(cell, gates):
    model = keras.Sequential([
        keras.Input((7, 12)),
        cell(20, kernel_initializer="zeros", recurrent_initializer="zeros"),
    ])
    records = reinitialized(model, Sinusoidal(frequencies="nondegenerate"))
    assert [(r.units, r.fan_in, r.blocks) for r in records] == [(20, 12, gates), (20, 20, gates)]
    for kernel in layer_view.kernel_views(model.layers[0].cell):
        blocks = blocks_of(kernel.variable, kernel.view)
        for w in blocks:
            assert w.var() == pytest.approx(glorot(kernel.view), rel=1e-4)
            assert np.abs(w.sum(axis=1)).max() < 1e-5 * np.abs(w).max() * math.sqrt(w.shape[1])
        assert not np.allclose(blocks[0], blocks[1])


def test_epsilon_orthogonal_gates_stay_orthogonal():
    model = keras.Sequential([
        keras.Input((7, 12)),
        keras.layers.LSTM(12, kernel_initializer="zeros", recurrent_initializer="zeros"),
    ])
    reinitialized(model, "epsilon_orthogonal")
    for kernel in layer_view.kernel_views(model.layers[0].cell):
        for w in blocks_of(kernel.variable, kernel.view):
            np.testing.assert_allclose(w @ w.T, np.eye(12), atol=1e-5)


def test_embedding_rows_are_tokens():
    model = keras.Sequential([
        keras.Input((3,), dtype="int32"),
        keras.layers.Embedding(50, 16, embeddings_initializer="zeros"),
    ])
    reinitialized(model, Sinusoidal(frequencies="nondegenerate"))
    table = numpy_of(model.layers[0].embeddings)
    assert len(np.unique(table.round(6), axis=0)) == 50  # every token its own vector
    assert np.abs(table.sum(axis=1)).max() < 1e-5 * np.abs(table).max() * 4


@pytest.mark.parametrize("scheme", ["zero_hadamard", "epsilon_orthogonal"])
def test_orthogonal_schemes_refuse_wide_vocabularies_naming_the_layer(scheme):
    model = keras.Sequential([
        keras.Input((3,), dtype="int32"),
        keras.layers.Embedding(50, 16, embeddings_initializer="zeros", name="tokens"),
        keras.layers.Dense(4, kernel_initializer="ones"),
    ])
    before = [numpy_of(w) for w in model.weights]
    with pytest.raises(ValueError, match=r"'tokens'.*Embedding.*sinusoidal"):
        keras_detinit.reinitialize(model, scheme)
    for old, new in zip(before, model.weights):  # nothing written
        np.testing.assert_array_equal(old, numpy_of(new))
    narrow = keras.Sequential([
        keras.Input((3,), dtype="int32"),
        keras.layers.Embedding(10, 16, embeddings_initializer="zeros"),
    ])
    reinitialized(narrow, scheme)
    table = numpy_of(narrow.layers[0].embeddings)
    np.testing.assert_allclose(table @ table.T, np.eye(10), atol=1e-5)


def test_dense_and_conv_match_the_initializer_on_the_layer():
    def build(initializer):
        return keras.Sequential([
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(8, 3, kernel_initializer=initializer),
            keras.layers.Flatten(),
            keras.layers.Dense(8, kernel_initializer=initializer),
            keras.layers.Dense(8, kernel_initializer=initializer),
        ])

    for scheme in ["sinusoidal", "epsilon_orthogonal", "zero_hadamard"]:
        expected = build(scheme)
        model = build("ones")
        assert not np.array_equal(numpy_of(expected.weights[0]), numpy_of(model.weights[0]))
        records = reinitialized(model, scheme)
        assert [r.projection for r in records] == [0, 0, 0]
        for a, b in zip(expected.weights, model.weights):
            np.testing.assert_array_equal(numpy_of(a), numpy_of(b))


def test_sinusoidal_matches_the_formula_on_every_backend():
    # W[i, j] = a sin(2 pi k_i j / n + 2 pi i / m), inputs shifted by s_p:
    # a NumPy float64 reference, so every backend agrees with it.
    model, attention = attention_model()
    reinitialized(model, "sinusoidal")
    for p, kernel in enumerate(attention_kernels(attention)[:3]):
        view = kernel.view
        m, n = view.rows, view.cols
        i = np.arange(1, m + 1)[:, None]
        j = np.arange(1, n + 1)[None, :]
        amplitude = Sinusoidal(
            input_axes=list(view.input_axes), output_axes=list(view.unit_axes)
        ).amplitude(view.kernel_shape)
        reference = amplitude * np.sin(2 * np.pi * ((i * j) % n) / n + 2 * np.pi * i / m)
        (w,) = blocks_of(kernel.variable, view)
        np.testing.assert_allclose(
            np.roll(w, -projection_shift(n, p), axis=1), reference, atol=1e-6 * amplitude
        )


def test_layers_filter_bias_initializer_and_records():
    model = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(4, name="first", bias_initializer="ones"),
        keras.layers.Dense(3, name="second", bias_initializer="ones"),
    ])
    second_before = numpy_of(model.layers[1].kernel)
    records = reinitialized(model, "zero_hadamard", layers=["first"], bias_initializer="zeros")
    assert [(r.layer, r.kind, r.shape) for r in records] == [
        ("first", "dense", (5, 4)), ("first", "bias", (4,))
    ]
    np.testing.assert_array_equal(numpy_of(model.layers[0].kernel), np.eye(5, 4))
    np.testing.assert_array_equal(numpy_of(model.layers[0].bias), np.zeros(4))
    np.testing.assert_array_equal(numpy_of(model.layers[1].bias), np.ones(3))
    np.testing.assert_array_equal(numpy_of(model.layers[1].kernel), second_before)
    with pytest.raises(ValueError, match="layers.*'third'"):
        keras_detinit.reinitialize(model, "zero_hadamard", layers=["third"])


class Scaled(keras.layers.Layer):
    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], 3), name="kernel")
        self.gamma = self.add_weight((3,), name="gamma", initializer="ones")

    def call(self, x):
        return x @ self.kernel * self.gamma


def test_unknown_layers_are_left_with_a_warning_unless_asked():
    model = keras.Sequential([keras.Input((4,)), Scaled(name="custom")])
    before = numpy_of(model.layers[0].kernel)
    with pytest.warns(UserWarning, match="'custom'.*left as it is"):
        assert keras_detinit.reinitialize(model, "zero_hadamard") == []
    np.testing.assert_array_equal(numpy_of(model.layers[0].kernel), before)
    with pytest.warns(UserWarning, match="Keras' rule"):
        records = keras_detinit.reinitialize(model, "zero_hadamard", unknown="keras_rule")
    assert [r.kind for r in records] == ["unknown"]
    np.testing.assert_array_equal(numpy_of(model.layers[0].kernel), np.eye(4, 3))
    np.testing.assert_array_equal(numpy_of(model.layers[0].gamma), np.ones(3))
    with pytest.raises(ValueError, match="unknown"):
        keras_detinit.reinitialize(model, "zero_hadamard", unknown="maybe")


def test_unbuilt_model_raises():
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="built"):
        keras_detinit.reinitialize(model, "sinusoidal")


def test_keras_initializers_are_called_with_the_shape():
    model, attention = attention_model()
    records = keras_detinit.reinitialize(model, keras.initializers.Constant(0.5))
    assert len(records) == 4
    assert np.all(numpy_of(attention._query_dense.kernel) == 0.5)


def test_projection_must_be_a_non_negative_int():
    view = shapes.matrix_view((4, 3))
    with pytest.raises(ValueError, match="projection"):
        Sinusoidal().kernel(view, projection=-1)
