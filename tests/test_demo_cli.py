"""The demo, the FFNN builder and the ``keras-detinit`` command."""

import os
import subprocess
import sys

import keras
import pytest

from keras_detinit import cli
from keras_detinit import demo
from keras_detinit import models

from idx_files import forbid_downloads
from idx_files import write_dataset


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """200 training and 50 test images in <tmp>/mnist; no other place."""
    write_dataset(tmp_path / "data" / "mnist", n_train=200, n_test=50)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_DETINIT_DATA_DIR", raising=False)
    forbid_downloads(monkeypatch)
    return tmp_path / "data"


def test_build_ffnn_layers_and_initializers():
    model = models.build_ffnn((28, 28), [16, 8], 10, "tanh", "sinusoidal")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [16, 8, 10]
    assert all(type(layer.kernel_initializer).__name__ == "Sinusoidal" for layer in dense)
    assert dense[-1].activation.__name__ == "linear"  # logits
    assert model.output_shape == (None, 10)


def test_build_ffnn_without_hidden_layers():
    model = models.build_ffnn((4,), [], 3)
    assert model.output_shape == (None, 3)
    assert len(model.weights) == 2


@pytest.mark.parametrize(
    "kwargs,match",
    [({"num_classes": 1}, "num_classes"), ({"hidden_units": [4, 0]}, "hidden_units")],
)
def test_build_ffnn_rejects_bad_sizes(kwargs, match):
    arguments = {"input_shape": (4,), "hidden_units": [4], "num_classes": 3} | kwargs
    with pytest.raises(ValueError, match=match):
        models.build_ffnn(**arguments)


def test_compile_rejects_bad_learning_rate():
    with pytest.raises(ValueError, match="learning_rate"):
        models.compile_classifier(models.build_ffnn((4,), [], 3), learning_rate=0.0)


@pytest.mark.slow
def test_run_demo_trains_each_initializer(data_dir):
    results = demo.run_demo(
        data_dir=str(data_dir),
        initializers=("sinusoidal", "glorot_uniform"),
        hidden_units=(16,),
        epochs=2,
        verbose=0,
    )
    assert [r.initializer for r in results] == ["sinusoidal", "glorot_uniform"]
    for r in results:
        assert len(r.validation_accuracy) == 2
        assert 0.0 <= r.test_accuracy <= 1.0 and r.seconds > 0
    table = demo.format_results(results)
    assert "sinusoidal" in table and "glorot_uniform" in table


@pytest.mark.slow
def test_cli_demo_prints_the_table(data_dir, capsys):
    status = cli.main(
        ["demo", "--data-dir", str(data_dir), "--epochs", "1", "--hidden", "8",
         "--initializers", "sinusoidal"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "test acc" in out and "sinusoidal" in out
    assert str(data_dir) in out  # says where the data came from


def test_cli_reports_missing_data_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_DETINIT_DATA_DIR", raising=False)
    forbid_downloads(monkeypatch)
    status = cli.main(["demo", "--data-dir", str(tmp_path / "nowhere"), "--epochs", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert "nowhere" in err and "KERAS_DETINIT_DATA_DIR" in err


def test_cli_rejects_bad_epochs(data_dir, capsys):
    assert cli.main(["demo", "--data-dir", str(data_dir), "--epochs", "0"]) == 2
    assert "epochs" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_info():
    out = subprocess.run(
        [sys.executable, "-m", "keras_detinit.cli", "info"],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "sinusoidal" in out and f"backend {keras.backend.backend()}" in out


def test_build_ffnn_gives_each_layer_its_own_initializer_copy():
    model = models.build_ffnn((6,), [6, 6, 6], 6, kernel_initializer=keras.initializers.RandomNormal())
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    first, second = (keras.ops.convert_to_numpy(k) for k in kernels[1:3])
    assert first.shape == second.shape and not (first == second).all()
