"""KerasTuner search over the initialization: space, search, report, CLI."""

import csv
import importlib.util
import math
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

from keras_detinit import cli
from keras_detinit import tuning
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import OddSigmoid
from keras_detinit.tuning import schemes as schemes_lib
from keras_detinit.tuning.failures import failure_reason

from idx_files import forbid_downloads
from idx_files import write_dataset

EXAMPLE = Path(__file__).parents[1] / "examples" / "tune_sigma0_epsilon.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A tiny search: 20 training images (2 per class), 30 validation images,
# no hidden layer, one epoch per trial.
TINY = dict(samples_per_class=2, epochs=1, depth=0, batch_size=10, plot=False, verbose=0)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """200 training and 10 test images in <tmp>/data/mnist, for every test."""
    root = tmp_path_factory.mktemp("tuning") / "data"
    write_dataset(root / "mnist", n_train=200, n_test=10)
    return root


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Only the named directory holds data, and downloads fail the test."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_DETINIT_DATA_DIR", raising=False)
    forbid_downloads(monkeypatch)


def nan_scheme(with_parameter=False):
    """A scheme whose kernels are NaN: its trials must fail."""
    if with_parameter:
        return tuning.Scheme(
            "nan_init",
            lambda nan_scale: keras.initializers.Constant(math.nan),
            {"nan_scale": (1.0, 10.0)},
        )
    return tuning.Scheme("nan_init", lambda: keras.initializers.Constant(math.nan))


def build(hypermodel, **values):
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hypermodel.build(hp), hp


def dense_kernels(model):
    return [
        keras.ops.convert_to_numpy(layer.kernel)
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    ]


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


# --- ranges and schemes ---------------------------------------------------


@pytest.mark.parametrize(
    "value,match",
    [
        ((0.0, 1.0), "low"),
        ((1e-3, math.nan), "high"),
        ((0.5, 0.5), "0 < low < high"),
        ((0.5, 0.1), "0 < low < high"),
        ((0.1,), "sigma0"),
        ("wide", "sigma0"),
    ],
)
def test_log_range_rejects_bad_ranges(value, match):
    with pytest.raises(ValueError, match=match):
        tuning.LogRange.of("sigma0", value)


def test_registered_schemes_build_their_initializers():
    gaussian = tuning.get_scheme("gaussian").build(sigma0=0.15)
    assert isinstance(gaussian, keras.initializers.RandomNormal)
    assert (gaussian.mean, gaussian.stddev) == (0.0, 0.15)
    orthogonal = tuning.get_scheme("epsilon_orthogonal").build(epsilon=0.01)
    assert isinstance(orthogonal, EpsilonOrthogonal) and orthogonal.epsilon == 0.01
    assert tuning.get_scheme("he_normal").hyperparameters == {}


def test_get_scheme_rejects_unknown_names():
    with pytest.raises(ValueError, match="not_an_init.*gaussian"):
        tuning.get_scheme("not_an_init")


def test_register_scheme_rejects_taken_and_reserved_names(monkeypatch):
    monkeypatch.setattr(schemes_lib, "SCHEMES", dict(schemes_lib.SCHEMES))
    uniform = tuning.Scheme(
        "uniform", lambda limit: keras.initializers.RandomUniform(-limit, limit),
        {"limit": (0.01, 1.0)},
    )
    assert tuning.register_scheme(uniform) is schemes_lib.SCHEMES["uniform"]
    with pytest.raises(ValueError, match="already registered"):
        tuning.register_scheme(uniform)
    with pytest.raises(ValueError, match="sigma0.*gaussian"):
        tuning.register_scheme(tuning.Scheme("other", lambda sigma0: None, {"sigma0": (1, 2)}))
    with pytest.raises(ValueError, match="reserved"):
        tuning.Scheme("lr", lambda learning_rate: None, {"learning_rate": (1e-4, 1e-2)})


# --- the search space -----------------------------------------------------


def test_space_is_conditional_on_the_scheme():
    hypermodel = tuning.InitializerHyperModel(
        (4,), 3, schemes=("gaussian", "epsilon_orthogonal", "he_normal"),
        ranges={"sigma0": (0.01, 0.5)},
    )
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    space = {p.name: p for p in hp.space}
    assert space["initializer"].values == ["gaussian", "epsilon_orthogonal", "he_normal"]
    for name, scheme, (low, high) in [
        ("sigma0", "gaussian", (0.01, 0.5)),
        ("epsilon", "epsilon_orthogonal", (1e-4, 1.0)),
    ]:
        parameter = space[name]
        assert (parameter.min_value, parameter.max_value) == (low, high)
        assert parameter.sampling == "log"
        [condition] = parameter.conditions
        assert condition.name == "initializer" and condition.values == [scheme]
    for chosen, active, inactive in [
        ("gaussian", "sigma0", "epsilon"),
        ("epsilon_orthogonal", "epsilon", "sigma0"),
    ]:
        hp.values["initializer"] = chosen
        assert hp.is_active(active) and not hp.is_active(inactive)
    hp.values["initializer"] = "he_normal"
    assert not hp.is_active("sigma0") and not hp.is_active("epsilon")


def test_gaussian_trials_have_std_sigma0_and_distinct_layers():
    hypermodel = tuning.InitializerHyperModel(
        (64,), 3, depth=2, width=64, schemes=("gaussian",), seed=3
    )
    model, _ = build(hypermodel, initializer="gaussian", sigma0=0.2)
    first, second, _ = dense_kernels(model)
    for kernel in (first, second):
        # 4096 normal draws: the sample std is within 5% of sigma0.
        assert abs(kernel.std() / 0.2 - 1) < 0.05 and abs(kernel.mean()) < 0.02
    assert not np.allclose(first, second)  # layers of equal shape differ
    again, _ = build(hypermodel, initializer="gaussian", sigma0=0.2)
    for kernel, repeated in zip(dense_kernels(model), dense_kernels(again)):
        np.testing.assert_array_equal(kernel, repeated)  # seeded builds


def test_epsilon_orthogonal_trials_use_epsilon():
    hypermodel = tuning.InitializerHyperModel((6,), 3, depth=1, width=4)
    model, hp = build(hypermodel, initializer="epsilon_orthogonal", epsilon=0.01)
    assert "sigma0" not in hp.values or not hp.is_active("sigma0")
    hidden, output = dense_kernels(model)
    expected = EpsilonOrthogonal(0.01)
    np.testing.assert_array_equal(hidden, keras.ops.convert_to_numpy(expected((6, 4))))
    np.testing.assert_array_equal(output, keras.ops.convert_to_numpy(expected((4, 3))))


def test_odd_sigmoid_trials_use_the_activation_and_relative_noise():
    hypermodel = tuning.InitializerHyperModel(
        (6,), 3, depth=2, width=5, activation=["tanh", "softsign"],
        schemes=("odd_sigmoid", "gaussian"),
    )
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    [condition] = next(p for p in hp.space if p.name == "relative_noise").conditions
    assert condition.values == ["odd_sigmoid"]
    model, _ = build(
        hypermodel, initializer="odd_sigmoid", relative_noise=0.3, activation="softsign"
    )
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer in dense:
        assert isinstance(layer.kernel_initializer, OddSigmoid)
        config = layer.kernel_initializer.get_config()
        assert config["activation"] == "softsign" and config["relative_noise"] == 0.3
    assert dense[0].kernel_initializer is not dense[1].kernel_initializer


def test_odd_sigmoid_scheme_rejects_relu_before_any_trial():
    with pytest.raises(ValueError, match="odd_sigmoid.*'relu'"):
        tuning.InitializerHyperModel((6,), 3, activation=["tanh", "relu"],
                                     schemes=("odd_sigmoid",))


def test_architecture_and_learning_rate_as_hyperparameters():
    hypermodel = tuning.InitializerHyperModel(
        (5,), 4, depth=[1, 3], width=[2, 7], activation=["tanh", "relu"],
        schemes=("glorot_uniform",), learning_rate=(1e-4, 1e-1),
    )
    model, hp = build(hypermodel, depth=3, width=7, activation="tanh", learning_rate=0.02)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [7, 7, 7, 4]
    assert dense[0].activation.__name__ == "tanh"
    assert math.isclose(float(model.optimizer.learning_rate), 0.02, rel_tol=1e-6)
    space = {p.name: p for p in hp.space}
    assert space["depth"].values == [1, 3] and space["activation"].values == ["tanh", "relu"]
    assert space["learning_rate"].sampling == "log"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ranges": {"epsilon": (0.1, 0.01)}}, "0 < low < high"),
        ({"ranges": {"sigma": (0.1, 1.0)}}, "sigma.*sigma0"),
        ({"schemes": ("he_normal",), "ranges": {"sigma0": (0.1, 1.0)}}, "sigma0"),
        ({"schemes": ()}, "schemes"),
        ({"schemes": "gaussian"}, "schemes"),
        ({"schemes": ("gaussian", "gaussian")}, "twice"),
        ({"schemes": ("no_such_init",)}, "no_such_init"),
        ({"depth": -1}, "depth"),
        ({"width": [4, 0]}, "width"),
        ({"activation": "no_such_activation"}, "activation"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": (1e-2, 1e-4)}, "0 < low < high"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
def test_hypermodel_validates_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tuning.InitializerHyperModel(**({"input_shape": (4,)} | kwargs))


def test_failure_reason_is_the_exception_line():
    message = "Traceback (most recent call last):\n  ...\nkeras_tuner.src.errors.FailedTrialError: x\n"
    assert failure_reason(message) == "FailedTrialError: x"
    assert failure_reason(None) == "no error message"


# --- searches ---------------------------------------------------------------


@pytest.mark.slow
def test_random_search_writes_ranked_csv_and_png(data_dir, tmp_path):
    result = tuning.tune(
        data_dir=data_dir, trials=3, directory=tmp_path / "runs",
        schemes=("gaussian", "epsilon_orthogonal"), **(TINY | {"plot": True}),
    )
    assert result.role == "single" and len(result.records) == 3
    scores = [r.score for r in result.records]
    assert scores == sorted(scores, reverse=True) and result.best is result.records[0]
    assert [r.rank for r in result.records] == [1, 2, 3]
    rows = read_csv(result.csv_path)
    assert [row["trial_id"] for row in rows] == [r.trial_id for r in result.records]
    for row in rows:
        # A scheme's own hyperparameter is filled exactly when it is chosen.
        assert (row["sigma0"] != "") == (row["initializer"] == "gaussian")
        assert (row["epsilon"] != "") == (row["initializer"] == "epsilon_orthogonal")
        assert 0.0 <= float(row["val_accuracy"]) <= 1.0 and row["status"] == "COMPLETED"
    assert Path(result.png_path).read_bytes()[:8] == PNG_MAGIC
    summary = result.summary()
    assert "3 completed, 0 failed" in summary and result.csv_path in summary


@pytest.mark.slow
def test_failed_trials_are_reported_and_skipped(data_dir, tmp_path, capsys):
    result = tuning.tune(
        data_dir=data_dir, trials=2, directory=tmp_path / "runs",
        schemes=("glorot_uniform", nan_scheme()), **TINY,
    )
    statuses = {r.hyperparameters["initializer"]: r.status for r in result.records}
    assert statuses == {"glorot_uniform": "COMPLETED", "nan_init": "FAILED"}
    failed = next(r for r in result.records if r.failed)
    assert "non-finite training loss" in failed.message and failed.rank is None
    assert result.best.hyperparameters["initializer"] == "glorot_uniform"
    assert "failed and is skipped: FailedTrialError: non-finite" in capsys.readouterr().out
    assert "Failed trials (skipped):" in result.summary()
    rows = read_csv(result.csv_path)
    assert rows[-1]["status"] == "FAILED" and rows[-1]["val_accuracy"] == ""


@pytest.mark.slow
def test_a_failure_streak_aborts_only_when_asked(data_dir, tmp_path):
    arguments = dict(data_dir=data_dir, schemes=(nan_scheme(True),), **TINY)
    result = tuning.tune(trials=3, directory=tmp_path / "a", **arguments)
    assert [r.status for r in result.records] == ["FAILED"] * 3
    assert result.best is None and "No trial completed." in result.summary()
    with pytest.raises(RuntimeError, match="consecutive failures"):
        tuning.tune(trials=3, directory=tmp_path / "b", max_consecutive_failures=1, **arguments)


@pytest.mark.slow
def test_existing_projects_error_resume_or_overwrite(data_dir, tmp_path):
    arguments = dict(
        data_dir=data_dir, directory=tmp_path / "runs", schemes=("gaussian",), **TINY
    )
    first = tuning.tune(trials=1, **arguments)
    with pytest.raises(ValueError, match="exists.*resume.*overwrite"):
        tuning.tune(trials=2, **arguments)
    resumed = tuning.tune(trials=2, if_exists="resume", **arguments)
    assert len(resumed.records) == 2
    assert first.records[0].trial_id in [r.trial_id for r in resumed.records]
    restarted = tuning.tune(trials=1, if_exists="overwrite", **arguments)
    assert len(restarted.records) == 1


@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
@pytest.mark.slow
def test_other_tuners(data_dir, tmp_path, tuner):
    if tuner == "bayesian":
        pytest.importorskip("sklearn", reason="KerasTuner's Bayesian search needs scikit-learn")
    # Hyperband's first bracket trains 1-epoch trials when max_epochs is 3.
    result = tuning.tune(
        data_dir=data_dir, tuner=tuner, trials=2, directory=tmp_path / "runs",
        **(TINY | {"epochs": 3}),
    )
    assert len(result.records) == 2 and result.best is not None
    assert Path(result.csv_path).name == "results.csv"
    assert Path(result.csv_path).parent.name == f"mnist_{tuner}"


@pytest.mark.slow
def test_skewness_callback_attached_to_trials(data_dir, tmp_path):
    from keras_detinit.callbacks import SkewnessCallback

    x_probe = np.random.default_rng(0).random((40, 28, 28), dtype=np.float32)
    skewness = SkewnessCallback(x_probe, probe_size=32, seed=0)
    result = tuning.tune(
        data_dir=data_dir, trials=2, directory=tmp_path / "runs",
        schemes=("gaussian", "he_normal"), callbacks=[skewness],
        **(TINY | {"depth": 1, "width": 8}),
    )
    assert skewness.history == {}  # KerasTuner trained deep copies of it
    for record in result.records:
        oui = record.metrics["skew_mean/oui"]
        assert 0.0 <= oui <= 1.0
    assert "skew_mean/oui" in read_csv(result.csv_path)[0]


@pytest.mark.slow
def test_cli_tune_prints_summary(data_dir, tmp_path, capsys):
    arguments = [
        "tune", "--data-dir", str(data_dir), "--samples-per-class", "2",
        "--trials", "2", "--epochs", "1", "--depth", "0", "--batch-size", "10",
        "--directory", str(tmp_path / "runs"), "--schemes", "gaussian", "he_normal",
        "--range", "sigma0", "0.01", "0.5", "--verbose", "0", "--skewness", "16",
    ]
    assert cli.main(arguments) == 0
    out = capsys.readouterr().out
    assert "2 trials: 2 completed, 0 failed" in out and "rank" in out
    assert "backend " + keras.config.backend() in out
    rows = read_csv(tmp_path / "runs" / "mnist_random" / "results.csv")
    sigma0 = [float(row["sigma0"]) for row in rows if row["sigma0"]]
    assert all(0.01 <= value <= 0.5 for value in sigma0)
    assert "skew_mean/oui" in rows[0]
    # The project now exists: a second run must choose.
    assert cli.main(arguments) == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--range", "sigma0", "1", "0.1"], "0 < low < high"),
        (["--range", "sigma0", "x", "1"], "not a number"),
        (["--range", "beta", "0.1", "1"], "beta"),
        (["--trials", "0"], "trials"),
        (["--tuner", "hyperband", "--epochs", "2"], "epochs"),
    ],
)
def test_cli_tune_rejects_bad_arguments(data_dir, tmp_path, capsys, extra, match):
    arguments = ["tune", "--data-dir", str(data_dir), "--directory", str(tmp_path)]
    assert cli.main(arguments + extra) == 2
    assert match in capsys.readouterr().err


@pytest.mark.slow
def test_example_script(data_dir, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("tune_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(
        ["--data-dir", str(data_dir), "--samples-per-class", "2", "--trials", "2",
         "--epochs", "1", "--directory", str(tmp_path / "runs"), "--verbose", "0"]
    )
    assert len(result.records) == 2
    assert {r.hyperparameters["initializer"] for r in result.records} <= {
        "gaussian", "epsilon_orthogonal"}
    assert "ranked by val_accuracy" in capsys.readouterr().out
