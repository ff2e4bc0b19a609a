"""The training protocol: one value, one `train`, one spelling of "all"."""

import keras
import numpy as np
import pytest

from keras_detinit import datasets
from keras_detinit import models
from keras_detinit import protocol
from keras_detinit.initializers import OddSigmoid


def _tiny_data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    split = n * 2 // 3
    return datasets.Dataset(
        name="tiny", train=datasets.Split(x[:split], y[:split]),
        validation=datasets.Split(x[split:], y[split:]),
        test=datasets.Split(x[split:], y[split:]), class_names=("neg", "pos"), source="memory",
    )


def _ffnn(initializer="glorot_uniform", seed=0):
    keras.utils.set_random_seed(seed)
    return models.build_ffnn((6,), [8], 2, "relu", initializer)


def test_paper_protocol_holds_the_papers_constants():
    paper = protocol.PAPER_PROTOCOL
    assert (paper.optimizer, paper.learning_rate, paper.batch_size) == ("adam", 1e-3, 100)
    assert paper.validation_fraction == 0.15
    assert paper.loss == "sparse_categorical_crossentropy"


@pytest.mark.parametrize("changes,match", [
    ({"optimizer": "rmsprop"}, "`optimizer` must be one of"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"batch_size": 0}, "`batch_size` must be an integer >= 1"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"epochs": 2.5}, "`epochs` must be an integer >= 1"),
])
def test_bad_protocol_values_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        protocol.PAPER_PROTOCOL.replace(**changes)


def test_replace_keeps_the_rest_and_compiles_the_named_optimizer():
    sgd = protocol.PAPER_PROTOCOL.replace(optimizer="sgd", learning_rate=0.05)
    assert sgd.batch_size == protocol.PAPER_PROTOCOL.batch_size
    model = sgd.compile(_ffnn())
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.05)


def test_train_returns_one_value_per_epoch_and_learns():
    data = _tiny_data()
    tiny = protocol.PAPER_PROTOCOL.replace(epochs=8, batch_size=10, learning_rate=0.02)
    history = protocol.train(_ffnn(), data, tiny)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert all(len(values) == 8 for values in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert history["accuracy"][-1] > 0.8


def test_train_is_deterministic_given_the_seed():
    data = _tiny_data()
    tiny = protocol.PAPER_PROTOCOL.replace(epochs=2, batch_size=10)
    first = protocol.train(_ffnn(seed=3), data, tiny)
    keras.utils.set_random_seed(3)
    second = protocol.train(_ffnn(seed=3), data, tiny)
    np.testing.assert_allclose(first["loss"], second["loss"], rtol=1e-6)


def test_train_takes_an_xy_pair_and_keeps_a_model_s_own_compilation():
    data = _tiny_data()
    model = _ffnn()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = protocol.train(model, tuple(data.train),
                             protocol.PAPER_PROTOCOL.replace(epochs=1, batch_size=10))
    assert set(history) == {"loss"}
    assert isinstance(model.optimizer, keras.optimizers.SGD)


@pytest.mark.parametrize("value,expected", [
    ("all", None), (None, None), (4, 4), ("12", 12),
])
def test_samples_per_class_spellings(value, expected):
    assert protocol.samples_per_class(value) == expected


@pytest.mark.parametrize("value", [0, -1, "0", "some", True, 2.0])
def test_other_samples_per_class_values_are_refused_with_the_spelling(value):
    with pytest.raises(ValueError, match="`samples_per_class` must be an int >= 1, or 'all'"):
        protocol.samples_per_class(value)


def test_the_softmax_layer_of_an_odd_sigmoid_network_gets_gain_one():
    hidden = OddSigmoid(activation="tanh", target_depth=3, seed=1)
    model = models.build_ffnn((6,), [8, 8], 2, "tanh", hidden)
    kernels = [layer.kernel_initializer for layer in model.layers if hasattr(layer, "units")]
    assert [init.gain for init in kernels] == [None, None, 1.0]
    assert kernels[-1].target_depth == hidden.target_depth
    assert all(init is not hidden for init in kernels)


def test_each_layer_gets_its_own_copy_of_a_random_initializer():
    model = _ffnn(keras.initializers.RandomNormal(seed=None))
    first, second = [layer for layer in model.layers if hasattr(layer, "units")]
    assert first.kernel_initializer is not second.kernel_initializer
    assert first.kernel_initializer.seed != second.kernel_initializer.seed
