"""`reinitialize` with a random scheme draws every kernel afresh.

A layer gets its own copy of an initializer (as Keras gives each layer its
own instance of a name); sharing one instance would repeat its seeded draw
in every kernel of the same shape: equal query, key and value kernels, and
equal blocks.
"""

import keras
import numpy as np
import pytest

import keras_detinit


def attention_model():
    inputs = keras.Input((5, 8))
    attention = keras.layers.MultiHeadAttention(2, 4, name="attention")(inputs, inputs)
    outputs = keras.layers.Dense(8, name="second")(keras.layers.Dense(8, name="first")(attention))
    return keras.Model(inputs, outputs)


def kernels(model):
    attention = model.get_layer("attention")
    return {"query": attention.query_dense.kernel, "key": attention.key_dense.kernel,
            "value": attention.value_dense.kernel, "first": model.get_layer("first").kernel,
            "second": model.get_layer("second").kernel}


@pytest.mark.parametrize("initializer", ["arcsine", "randomized_asymmetric", "glorot_uniform",
                                         lambda: keras_detinit.initializers.Arcsine()])
def test_kernels_of_equal_shape_get_their_own_draws(initializer):
    model = attention_model()
    keras.utils.set_random_seed(0)
    keras_detinit.reinitialize(model, initializer() if callable(initializer) else initializer)
    values = {name: keras.ops.convert_to_numpy(kernel) for name, kernel in kernels(model).items()}
    for first, second in [("query", "key"), ("key", "value"), ("query", "value"),
                          ("first", "second")]:
        assert not np.allclose(values[first], values[second]), (first, second)


def test_a_seeded_instance_reinitializes_reproducibly():
    model = attention_model()
    keras_detinit.reinitialize(model, keras_detinit.initializers.Arcsine(seed=3))
    before = {name: keras.ops.convert_to_numpy(kernel) for name, kernel in kernels(model).items()}
    keras_detinit.reinitialize(model, keras_detinit.initializers.Arcsine(seed=3))
    for name, kernel in kernels(model).items():
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), before[name])
