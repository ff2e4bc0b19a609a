"""SkewnessCallback: logs, History + CSVLogger, epoch 0, models, deep copies."""

import copy
import csv

import keras
import numpy as np
import pytest

from keras_detinit import diagnostics
from keras_detinit.callbacks import SkewnessCallback

RNG = np.random.default_rng(0)
X = RNG.normal(size=(96, 6)).astype("float32")
Y = RNG.integers(0, 3, size=96)


def mlp(name_prefix="m"):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name=f"{name_prefix}_hidden"),
            keras.layers.Dense(3, activation="softmax", name=f"{name_prefix}_out"),
        ]
    )
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    return model


def direct_values(model, probe_x, alphas=(0.1, 0.3), oui_pairs=4096, seed=0):
    """The callback's numbers, computed here from the diagnostics functions."""
    z = diagnostics.PreActivationProbe(model)(probe_x)
    return {
        name: diagnostics.layer_summary(values, alphas, "empirical", oui_pairs, seed)
        for name, values in z.items()
    }


def test_history_and_csv_logger_record_current_and_initial_values(tmp_path):
    model = mlp()
    probe_x = X[:48]
    initial = direct_values(model, probe_x)
    path = tmp_path / "log.csv"
    skew = SkewnessCallback(probe_x, probe_size=None)
    history = model.fit(
        X, Y, epochs=2, batch_size=16, verbose=0,
        callbacks=[skew, keras.callbacks.CSVLogger(str(path))],
    )
    final = direct_values(model, probe_x)
    hidden_key = "skew/m_hidden/skewed_0.1"
    init_key = "skew_init/m_hidden/skewed_0.1"
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    for key in (hidden_key, init_key, "skew_mean/oui", "skew_init_mean/oui", "skew/m_out/dead"):
        assert key in rows[0] and key in history.history
        assert len(history.history[key]) == 2
        assert [float(row[key]) for row in rows] == pytest.approx(history.history[key])
    # Epoch 0 (the initialization) is in every row under the skew_init keys.
    for metric, value in initial["m_hidden"].items():
        assert history.history[f"skew_init/m_hidden/{metric}"] == pytest.approx([value, value])
        assert skew.history[f"skew/m_hidden/{metric}"][0] == pytest.approx(value)
    # The last row holds the trained model's values, not stale ones.
    for metric, value in final["m_out"].items():
        assert history.history[f"skew/m_out/{metric}"][-1] == pytest.approx(value)
        assert skew.history[f"skew/m_out/{metric}"][-1] == pytest.approx(value)
    assert all(len(values) == 3 for values in skew.history.values())
    assert len(skew.seconds) == 3
    mean_oui = np.mean([initial[name]["oui"] for name in initial])
    assert skew.initial["skew_mean/oui"] == pytest.approx(mean_oui)


def test_training_changes_the_logged_values():
    model = mlp()
    skew = SkewnessCallback(X, probe_size=64, seed=1, log_layers=False)
    history = model.fit(X, Y, epochs=3, batch_size=8, verbose=0, callbacks=[skew])
    assert not any(key.startswith("skew/") for key in history.history)
    assert history.history["skew_mean/oui"] != history.history["skew_init_mean/oui"]


def test_functional_model_conv_and_layer_selection():
    inputs = keras.Input((5, 5, 1))
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(
        keras.layers.GlobalAveragePooling2D()(hidden)
    )
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = RNG.normal(size=(32, 5, 5, 1)).astype("float32")
    skew = SkewnessCallback(x, probe_size=16, layers=["conv"], alphas=(0.2,), log_initial=False)
    history = model.fit(x, Y[:32], epochs=1, verbose=0, callbacks=[skew])
    logged = sorted(key for key in history.history if key.startswith("skew"))
    assert logged == sorted(
        [f"skew/conv/{m}" for m in ("skewed_0.2", "oui", "dead", "always_active")]
        + [f"skew_mean/{m}" for m in ("skewed_0.2", "oui", "dead", "always_active")]
    )


def test_sequential_without_input_is_built_from_the_probe():
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", name="h"), keras.layers.Dense(3)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(X, Y, epochs=1, verbose=0, callbacks=[SkewnessCallback(X, probe_size=32)])
    assert "skew/h/oui" in history.history


def test_subclassed_model_gets_a_clear_error():
    class Doubling(keras.Model):  # subclassed: no graph to probe
        def call(self, x):
            return 2.0 * x

    model = Doubling()
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="functional model"):
        model.fit(X, X, epochs=1, verbose=0, callbacks=[SkewnessCallback(X, probe_size=8)])


def test_probe_batch_is_a_seeded_draw():
    first = SkewnessCallback(X, probe_size=10, seed=3).probe_data
    np.testing.assert_array_equal(first, SkewnessCallback(X, probe_size=10, seed=3).probe_data)
    assert not np.array_equal(first, SkewnessCallback(X, probe_size=10, seed=4).probe_data)
    assert len({row.tobytes() for row in first}) == 10
    assert all(any(np.array_equal(row, x) for x in X) for row in first)
    assert len(SkewnessCallback(X, probe_size=1000).probe_data) == len(X)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"probe_size": 1}, "probe_size"),
        ({"alphas": (0.6,)}, "alpha"),
        ({"alphas": ()}, "alphas"),
        ({"method": "mode"}, "method"),
        ({"oui_pairs": 0}, "oui_pairs"),
        ({"seed": -1}, "seed"),
        ({"prefix": ""}, "prefix"),
    ],
)
def test_invalid_arguments_are_errors(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SkewnessCallback(X, **kwargs)


def test_deep_copy_keeps_settings_not_model():
    original = SkewnessCallback(X, probe_size=20, seed=2, alphas=(0.25,), oui_pairs=50)
    model = mlp("c")
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[original])
    duplicate = copy.deepcopy(original)
    assert duplicate.model is None and duplicate.history == {}
    np.testing.assert_array_equal(duplicate.probe_data, original.probe_data)
    assert duplicate.probe_data is not original.probe_data
    assert (duplicate.alphas, duplicate.oui_pairs, duplicate.seed) == ((0.25,), 50, 2)
    other = mlp("d")
    history = other.fit(X, Y, epochs=1, verbose=0, callbacks=[duplicate])
    assert "skew/d_hidden/skewed_0.25" in history.history
    assert original.model is model


def test_tensorboard_records_the_logged_values(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("tensorflow")
    from tensorboard.backend.event_processing import event_accumulator

    model = mlp()
    skew = SkewnessCallback(X[:48], probe_size=None)
    history = model.fit(
        X, Y, epochs=2, batch_size=16, verbose=0,
        callbacks=[skew, keras.callbacks.TensorBoard(str(tmp_path), write_graph=False)],
    )
    events = event_accumulator.EventAccumulator(
        str(tmp_path / "train"), size_guidance={event_accumulator.TENSORS: 0}
    )
    events.Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])
    for key in ("skew/m_hidden/skewed_0.1", "skew_init_mean/oui", "skew_mean/oui"):
        tag = f"epoch_{key}"
        assert tag in tags, sorted(tags)
        values = [
            float(keras.ops.convert_to_numpy(tf_value))
            for tf_value in _scalar_values(events, tag)
        ]
        assert values == pytest.approx(history.history[key], rel=1e-6)


def _scalar_values(events, tag):
    import tensorflow as tf

    if tag in events.Tags()["scalars"]:
        return [event.value for event in events.Scalars(tag)]
    return [tf.make_ndarray(event.tensor_proto) for event in events.Tensors(tag)]
