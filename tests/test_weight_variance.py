"""WeightVarianceCallback: V(W, t), mean and V / sigma0^2 in the logs."""

import keras
import numpy as np
import pytest

from keras_detinit.callbacks import WeightVarianceCallback

SIGMA0 = 0.2


def tiny_model(learning_rate=0.1):
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(5, activation="relu", name="hidden",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=SIGMA0, seed=1)),
        keras.layers.Dense(3, activation="softmax", name="out",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=SIGMA0, seed=2)),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss="sparse_categorical_crossentropy")
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, 40)


def kernels(model):
    return {layer.name: keras.ops.convert_to_numpy(layer.kernel).astype("float64")
            for layer in model.layers}


def test_logs_keys_and_epoch_zero_values():
    model = tiny_model()
    initial = kernels(model)
    watch = WeightVarianceCallback(sigma0=SIGMA0)
    history = model.fit(*data(), epochs=2, batch_size=8, verbose=0, callbacks=[watch]).history
    expected = {f"wvar{part}/{metric}"
                for part in ("/hidden", "/out", "_overall")
                for metric in ("v", "mean", "ratio")}
    expected |= {key.replace("wvar", "wvar_init", 1) for key in expected}
    assert expected <= set(history)
    # Epoch 0 is the initialization: V is the mean of the squared entries.
    pooled = np.concatenate([k.ravel() for k in initial.values()])
    assert history["wvar_init_overall/v"] == [pytest.approx(np.mean(pooled**2))] * 2
    assert watch.history["wvar/hidden/v"][0] == pytest.approx(np.mean(initial["hidden"]**2))
    assert watch.history["wvar/out/mean"][0] == pytest.approx(np.mean(initial["out"]))
    # After training: the logs hold the current kernels.
    final = kernels(model)
    assert history["wvar/out/v"][-1] == pytest.approx(np.mean(final["out"]**2))
    assert history["wvar_overall/ratio"][-1] == pytest.approx(
        history["wvar_overall/v"][-1] / SIGMA0**2)
    assert len(watch.history["wvar_overall/v"]) == 3


def test_overall_is_pooled_over_entries():
    model = tiny_model()
    values = WeightVarianceCallback().evaluate(model)
    sizes = {"hidden": 30, "out": 15}
    pooled = sum(sizes[n] * values[f"wvar/{n}/v"] for n in sizes) / 45
    assert values["wvar_overall/v"] == pytest.approx(pooled)


def test_without_training_steps_the_ratio_stays():
    model = tiny_model(learning_rate=0.0)
    watch = WeightVarianceCallback()  # reference: the epoch-0 V
    model.fit(*data(), epochs=2, verbose=0, callbacks=[watch])
    assert watch.history["wvar_overall/ratio"] == pytest.approx([1.0, 1.0, 1.0])


def test_layer_selection_biases_and_options():
    model = tiny_model()
    model.layers[1].bias.assign(np.full(3, 2.0, "float32"))
    values = WeightVarianceCallback(layers=["out"], include_biases=True,
                                    log_layers=False).evaluate(model)
    kernel = kernels(model)["out"].ravel()
    both = np.concatenate([kernel, np.full(3, 2.0)])
    assert set(values) == {"wvar_overall/v", "wvar_overall/mean", "wvar_overall/ratio"}
    assert values["wvar_overall/v"] == pytest.approx(np.mean(both**2))
    history = model.fit(*data(), epochs=1, verbose=0, callbacks=[
        WeightVarianceCallback(prefix="w", log_initial=False)]).history
    assert "w/out/v" in history and not any(k.startswith("w_init") for k in history)


@pytest.mark.parametrize("kwargs", [{"sigma0": 0.0}, {"sigma0": -1.0}, {"prefix": ""}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        WeightVarianceCallback(**kwargs)


def test_model_without_kernels_is_an_error():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Activation("relu")])
    with pytest.raises(ValueError, match="no layer with a kernel"):
        WeightVarianceCallback().evaluate(model)
