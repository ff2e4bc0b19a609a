"""choose_initializer for users' own models, the sigma0 estimate as a search
option, and the pinning of one distributed worker per GPU."""

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

import keras_detinit
from keras_detinit import tuning
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.sigma0 import Sigma0Search

from idx_files import forbid_downloads
from idx_files import write_dataset

EXAMPLES = Path(__file__).parents[1] / "examples"
SCHEMES = ("gaussian", "epsilon_orthogonal", "he_normal")


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_DETINIT_DATA_DIR", raising=False)
    forbid_downloads(monkeypatch)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """200 training and 10 test images in <tmp>/data/mnist."""
    root = tmp_path_factory.mktemp("choose") / "data"
    write_dataset(root / "mnist", n_train=200, n_test=10)
    return root


def hp_with(**values):
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hp


def kernel(layer):
    return keras.ops.convert_to_numpy(layer.kernel)


def user_cnn(hp, ranges=None):
    """A user's CNN: two convolutions of equal kernel shape, two Dense layers."""
    initializer = tuning.choose_initializer(hp, schemes=SCHEMES, ranges=ranges)
    model = keras.Sequential([
        keras.Input((8, 8)),
        keras.layers.Reshape((8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=initializer),
        keras.layers.Conv2D(8, 1, activation="relu", kernel_initializer=initializer),
        keras.layers.Conv2D(8, 1, activation="relu", kernel_initializer=initializer),
        keras.layers.Flatten(),
        keras.layers.Dense(3, kernel_initializer=initializer),
    ])
    return keras_detinit.models.compile_classifier(model)


def load_example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


# --- choose_initializer ---------------------------------------------------


def test_registers_the_same_conditional_space_as_the_hypermodel():
    ranges = {"sigma0": (0.02, 0.5), "epsilon": (1e-3, 0.3)}
    hp = keras_tuner.HyperParameters()
    tuning.choose_initializer(hp, schemes=SCHEMES, ranges=ranges)
    reference = keras_tuner.HyperParameters()
    tuning.InitializerHyperModel((4,), 3, schemes=SCHEMES, ranges=ranges).build(reference)
    own = {p.name: p.get_config() for p in hp.space}
    assert own == {
        p.name: p.get_config() for p in reference.space if p.name in own
    }
    assert sorted(own) == ["epsilon", "initializer", "sigma0"]
    for name, scheme, (low, high) in [
        ("sigma0", "gaussian", ranges["sigma0"]),
        ("epsilon", "epsilon_orthogonal", ranges["epsilon"]),
    ]:
        parameter = next(p for p in hp.space if p.name == name)
        assert (parameter.min_value, parameter.max_value, parameter.sampling) == (
            low, high, "log")
        [condition] = parameter.conditions
        assert (condition.name, condition.values) == ("initializer", [scheme])


def test_every_layer_draws_its_own_gaussian_kernel():
    keras.utils.set_random_seed(1)
    model = user_cnn(hp_with(initializer="gaussian", sigma0=0.3))
    _, first, second = (layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert first.kernel_initializer is not second.kernel_initializer
    # Two 1 x 1 x 8 x 8 kernels of equal shape: distinct draws.
    assert kernel(first).shape == kernel(second).shape == (1, 1, 8, 8)
    assert not np.allclose(kernel(first), kernel(second))
    every = np.concatenate(
        [kernel(layer).ravel() for layer in model.layers if hasattr(layer, "kernel")])
    # 72 + 64 + 64 + 1536 N(0, 0.3^2) draws: the sample std within 7%.
    assert abs(every.std() / 0.3 - 1) < 0.07
    keras.utils.set_random_seed(1)
    again = user_cnn(hp_with(initializer="gaussian", sigma0=0.3))
    for layer, repeated in zip(model.layers, again.layers):
        if hasattr(layer, "kernel"):
            np.testing.assert_array_equal(kernel(layer), kernel(repeated))


def test_epsilon_orthogonal_kernels_are_the_initializers():
    model = user_cnn(hp_with(initializer="epsilon_orthogonal", epsilon=0.05))
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            expected = EpsilonOrthogonal(0.05)(tuple(layer.kernel.shape))
            np.testing.assert_array_equal(kernel(layer), keras.ops.convert_to_numpy(expected))


def test_returns_a_config_each_layer_deserializes():
    gaussian = tuning.choose_initializer(
        hp_with(initializer="gaussian", sigma0=0.2), schemes=SCHEMES)
    assert gaussian["class_name"] == "RandomNormal"
    assert gaussian["config"]["stddev"] == 0.2 and gaussian["config"]["seed"] is None
    first, second = (keras.initializers.get(gaussian) for _ in range(2))
    assert first is not second
    assert tuning.choose_initializer(hp_with(initializer="he_normal"), schemes=SCHEMES) == (
        "he_normal")


def test_odd_sigmoid_needs_a_fitting_activation():
    hp = hp_with(initializer="odd_sigmoid", relative_noise=0.2)
    chosen = tuning.choose_initializer(hp, schemes=("odd_sigmoid",), activation="tanh")
    instance = keras.initializers.get(chosen)
    assert instance.get_config()["activation"] == "tanh"
    assert instance.get_config()["relative_noise"] == 0.2
    with pytest.raises(ValueError, match="odd_sigmoid.*activation=None"):
        tuning.choose_initializer(keras_tuner.HyperParameters(), schemes=("odd_sigmoid",))
    with pytest.raises(ValueError, match="odd_sigmoid.*'relu'"):
        tuning.choose_initializer(
            keras_tuner.HyperParameters(), schemes=("odd_sigmoid", "gaussian"),
            activation="relu")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"schemes": ()}, "schemes"),
        ({"schemes": "gaussian"}, "schemes"),
        ({"schemes": ("no_such_init",)}, "no_such_init"),
        ({"ranges": {"sigma0": (0.5, 0.1)}}, "0 < low < high"),
        ({"ranges": {"sigma0": (0.0, 0.1)}}, "low"),
        ({"ranges": {"epsilon": (0.1, 1.0)}, "schemes": ("gaussian",)}, "epsilon.*sigma0"),
    ],
)
def test_invalid_arguments_fail_before_registering_anything(kwargs, match):
    hp = keras_tuner.HyperParameters()
    with pytest.raises(ValueError, match=match):
        tuning.choose_initializer(hp, **kwargs)
    assert hp.space == [] and hp.values == {}


def test_reinitialize_draws_the_chosen_initializer_into_a_built_model():
    if not hasattr(keras_detinit, "reinitialize"):
        pytest.skip("keras_detinit.reinitialize is not available")
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(64, kernel_initializer="zeros"),
        keras.layers.Dense(64, kernel_initializer="ones"),
    ])
    initializer = tuning.choose_initializer(
        hp_with(initializer="gaussian", sigma0=0.1), schemes=SCHEMES)
    keras_detinit.reinitialize(model, initializer)
    first, second = (kernel(layer) for layer in model.layers)
    for drawn in (first, second):
        # 4096 N(0, 0.1^2) draws: the sample std within 5%.
        assert abs(drawn.std() / 0.1 - 1) < 0.05
    assert not np.allclose(first, second)


# --- acceptance: a user CNN with a plain RandomSearch -----------------------


@pytest.mark.slow
def test_plain_random_search_records_sigma0_and_epsilon_per_trial(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((60, 8, 8), dtype=np.float32)
    y = rng.integers(0, 3, 60)
    ranges = {"sigma0": (0.01, 0.5), "epsilon": (1e-3, 0.5)}
    tuner = keras_tuner.RandomSearch(
        lambda hp: user_cnn(hp, ranges), objective="val_accuracy", max_trials=4,
        seed=3, directory=tmp_path, project_name="cnn",
    )
    tuner.search(x[:40], y[:40], validation_data=(x[40:], y[40:]), epochs=1,
                 batch_size=20, verbose=0)
    records = tuning.collect_records(tuner.oracle)
    assert len(records) == 4 and all(r.status == "COMPLETED" for r in records)
    chosen = {r.hyperparameters["initializer"] for r in records}
    assert {"gaussian", "epsilon_orthogonal"} <= chosen
    for record in records:
        values = record.hyperparameters
        scheme = values["initializer"]
        # A scheme's own hyperparameter is recorded exactly when chosen.
        assert ("sigma0" in values) == (scheme == "gaussian")
        assert ("epsilon" in values) == (scheme == "epsilon_orthogonal")
        for name in ("sigma0", "epsilon"):
            if name in values:
                low, high = ranges[name]
                assert low <= values[name] <= high
    # The recorded sigma0 is the one the trial's model was built with.
    trial = next(t for t in tuner.oracle.trials.values()
                 if t.hyperparameters.values["initializer"] == "gaussian")
    rebuilt = tuner.hypermodel.build(trial.hyperparameters)
    assert rebuilt.layers[-1].kernel_initializer.stddev == (
        trial.hyperparameters.values["sigma0"])


# --- the sigma0 estimate ------------------------------------------------------


def test_sigma0_range_is_centred_on_the_estimate():
    search = Sigma0Search(0.12, "bisection", True, True, ())
    for estimate in (0.12, search, np.float32(0.12)):
        bounds = tuning.sigma0_range(estimate, factor=4.0)
        assert math.isclose(math.sqrt(bounds.low * bounds.high), 0.12, rel_tol=1e-6)
        assert math.isclose(bounds.high / bounds.low, 16.0, rel_tol=1e-9)
    default = tuning.sigma0_range(0.12)
    assert math.isclose(default.high / default.low, 100.0)


@pytest.mark.parametrize(
    "estimate,factor,match",
    [
        (math.nan, 10.0, "estimate.*nan"),
        (Sigma0Search(math.nan, "bisection", False, False, ()), 10.0, "diverged.*nan"),
        (0.0, 10.0, "estimate"),
        (-0.1, 10.0, "estimate"),
        ("0.1", 10.0, "estimate"),
        (0.1, 1.0, "factor.*1"),
        (0.1, math.inf, "factor.*inf"),
    ],
)
def test_sigma0_range_rejects_bad_estimates(estimate, factor, match):
    with pytest.raises(ValueError, match=match):
        tuning.sigma0_range(estimate, factor)


def test_compare_sigma0_reports_the_best_gaussian_trial():
    records = [
        tuning.TrialRecord("4", "COMPLETED", 0.9, {"initializer": "he_normal"}, rank=1),
        tuning.TrialRecord("2", "COMPLETED", 0.8,
                           {"initializer": "gaussian", "sigma0": 0.06}, rank=2),
        tuning.TrialRecord("7", "COMPLETED", 0.7,
                           {"initializer": "gaussian", "sigma0": 0.3}, rank=3),
        tuning.TrialRecord("9", "FAILED", None,
                           {"initializer": "gaussian", "sigma0": 0.2}),
    ]
    line = tuning.compare_sigma0(records, 0.12)
    assert line.startswith("Best gaussian trial 2: sigma0=0.06,")
    assert f"{0.06 / 0.12:.3g} x the optimal_sigma0 estimate 0.12" in line
    assert "No completed trial" in tuning.compare_sigma0(records[:1] + records[3:], 0.12)


@pytest.mark.slow
def test_tune_centres_sigma0_on_the_estimate_and_reports_it(data_dir, tmp_path):
    result = tuning.tune(
        data_dir=data_dir, trials=3, directory=tmp_path, schemes=("gaussian",),
        sigma0_estimate=0.05, samples_per_class=2, epochs=1, depth=0,
        batch_size=10, plot=False, verbose=0,
    )
    sigma0 = [r.hyperparameters["sigma0"] for r in result.records]
    assert len(sigma0) == 3 and all(0.005 <= s <= 0.5 for s in sigma0)
    best = result.best.hyperparameters["sigma0"]
    assert f"sigma0={best:.4g}, {best / 0.05:.3g} x the optimal_sigma0" in result.summary()
    with pytest.raises(ValueError, match="sigma0_estimate.*nan"):
        tuning.tune(data_dir=data_dir, directory=tmp_path / "b", sigma0_estimate=math.nan)


# --- one worker per GPU -------------------------------------------------------


def test_worker_environments_pin_one_gpu_each():
    workers = tuning.worker_environments([0, 1, "GPU-5e3f"], "10.1.2.3", 8470, prefix="node7")
    assert [w["CUDA_VISIBLE_DEVICES"] for w in workers] == ["0", "1", "GPU-5e3f"]
    assert [w["KERASTUNER_TUNER_ID"] for w in workers] == [
        "node7-gpu0", "node7-gpu1", "node7-gpuGPU-5e3f"]
    for worker in workers:
        assert worker["KERASTUNER_ORACLE_IP"] == "10.1.2.3"
        assert worker["KERASTUNER_ORACLE_PORT"] == "8470"
        assert "chief" not in worker["KERASTUNER_TUNER_ID"]
    chief = tuning.chief_environment("10.1.2.3", 8470)
    assert chief == {
        "KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "10.1.2.3",
        "KERASTUNER_ORACLE_PORT": "8470", "CUDA_VISIBLE_DEVICES": "",
    }
    # Two machines with distinct prefixes: every tuner id distinct.
    other = tuning.worker_environments([0, 1], "10.1.2.3", 8470, prefix="node8")
    ids = [e["KERASTUNER_TUNER_ID"] for e in [chief, *workers, *other]]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"gpus": []}, "gpus"),
        ({"gpus": 0}, "gpus"),
        ({"gpus": [0, 0]}, "repeat"),
        ({"gpus": [-1]}, "GPU index >= 0.*-1"),
        ({"gpus": ["0,1"]}, "0,1"),
        ({"gpus": [True]}, "True"),
        ({"prefix": "chief-node"}, "prefix.*chief"),
        ({"prefix": ""}, "prefix"),
        ({"oracle_ip": ""}, "oracle_ip"),
        ({"oracle_port": 0}, "oracle_port"),
        ({"oracle_port": 70000}, "oracle_port"),
    ],
)
def test_worker_environments_reject_bad_arguments(kwargs, match):
    arguments = {"gpus": [0], "oracle_ip": "127.0.0.1", "oracle_port": 8000} | kwargs
    with pytest.raises(ValueError, match=match):
        tuning.worker_environments(**arguments)


def test_launcher_plans_a_chief_and_one_worker_per_gpu(capsys):
    launcher = load_example("tune_one_worker_per_gpu")
    assert launcher.main(
        ["--gpus", "0", "1", "--prefix", "box", "--dry-run", "--", "--trials", "4"]) == 0
    output = capsys.readouterr().out.splitlines()
    assert len(output) == 3
    assert output[0].startswith("KERASTUNER_TUNER_ID=chief ") and (
        "CUDA_VISIBLE_DEVICES='' " in output[0])
    for line, gpu in zip(output[1:], "01"):
        assert f"KERASTUNER_TUNER_ID=box-gpu{gpu} " in line
        assert f"CUDA_VISIBLE_DEVICES={gpu} " in line
        assert line.endswith(
            f"tune --trials 4 --directory keras_detinit_tuning_workers/box-gpu{gpu}")
    assert launcher.main(["--gpus", "3", "--no-chief", "--dry-run"]) == 0
    workers_only = capsys.readouterr().out.splitlines()
    assert len(workers_only) == 1 and "CUDA_VISIBLE_DEVICES=3 " in workers_only[0]
    with pytest.raises(SystemExit):
        launcher.main(["--gpus", "0", "0", "--dry-run"])
    assert "must not repeat a GPU" in capsys.readouterr().err


# --- the examples -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tune_cnn_initializer", "tune_transformer_initializer"])
def test_tuning_examples(name, data_dir, tmp_path, capsys):
    example = load_example(name)
    records = example.main([
        "--data-dir", str(data_dir), "--samples-per-class", "2", "--trials", "2",
        "--epochs", "1", "--directory", str(tmp_path), "--sigma0-estimate", "0.1",
    ])
    assert len(records) == 2 and all(r.status == "COMPLETED" for r in records)
    for record in records:
        if "sigma0" in record.hyperparameters:
            assert 0.01 <= record.hyperparameters["sigma0"] <= 1.0
    out = capsys.readouterr().out
    assert f"backend {keras.config.backend()} on " in out and "rank trial val_accuracy" in out
    assert "optimal_sigma0 estimate 0.1" in out
    help_text = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--help"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    assert "--sigma0-estimate" in help_text and "--data-dir" in help_text
