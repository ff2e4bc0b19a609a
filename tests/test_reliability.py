"""Bad data is never trusted: damaged results, the wrong dataset, NaN, sizes, paths.

Each test feeds one kind of damage a careless or unlucky user would, and
checks that it is repaired, refused with a clear message, or reported as
NaN with a warning, never taken as an ordinary result.
"""

import json
import math
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import pytest

import keras_detinit_cli
from keras_detinit import datasets
from keras_detinit import diagnostics
from keras_detinit import reproduce
from keras_detinit import sigma0 as sigma0_lib
from keras_detinit.callbacks import SkewnessCallback
from keras_detinit.callbacks import WeightVarianceCallback
from keras_detinit.datasets import locate
from keras_detinit.initializers import EpsilonOrthogonal
from keras_detinit.initializers import OddSigmoid
from keras_detinit.initializers import Sinusoidal
from keras_detinit.initializers import epsilon_orthogonal
from keras_detinit.initializers import odd_sigmoid
from keras_detinit.reproduce import runner
from keras_detinit.reporting.rows import ResultStore
from keras_detinit.tuning import search

from idx_files import forbid_downloads
from idx_files import replace_spec
from idx_files import write_dataset

SHARED_DATA = __import__("pathlib").Path(__file__).parents[2] / "shared" / "data"


class Labels(reproduce.Experiment):
    """Measures ``len(init) + seed`` for two initializer names."""

    name = "labels"
    title = "Labels"
    source = "no paper"
    columns = ("score",)
    profiles = {"quick": reproduce.Profile(seeds=2, settings={}),
                "paper": reproduce.Profile(seeds=2, settings={})}

    def __init__(self, interrupt_at=None):
        self.calls = []
        self.interrupt_at = interrupt_at

    def configurations(self, settings):
        return [{"init": "glorot"}, {"init": "sinusoidal"}]

    def measure(self, config, seed, settings, context):
        if (config["init"], seed) == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls.append((config["init"], seed))
        return {"score": len(config["init"]) + seed}

    def report(self, results, settings, figures):
        return "body"


def run(out, experiment=None, **kwargs):
    return reproduce.reproduce(experiment or Labels(), out=out, show_progress=False, **kwargs)


def results_text(out):
    return (out / runner.RESULTS_FILE).read_text()


# --- results.csv on --resume ------------------------------------------------


def test_a_row_cut_after_its_key_is_measured_again(tmp_path):
    run(tmp_path)
    text = results_text(tmp_path)
    last = text.splitlines()[-1]
    cut = text[: len(text) - len(last) - 1] + last.split(",")[0] + "," + last.split(",")[1] + "\n"
    (tmp_path / runner.RESULTS_FILE).write_text(cut)  # key kept, measurement lost
    again = Labels()
    with pytest.warns(UserWarning, match="removed 1 incomplete row"):
        outcome = run(tmp_path, again, resume=True)
    assert again.calls == [("sinusoidal", 1)]
    assert len(outcome.results) == 4 and "2 per configuration" in outcome.report.read_text()


def test_a_row_cut_inside_its_key_is_repaired_before_appending(tmp_path):
    run(tmp_path)
    text = results_text(tmp_path)
    (tmp_path / runner.RESULTS_FILE).write_text(text[: text.rindex("sinusoidal") + 7])
    again = Labels()
    with pytest.warns(UserWarning, match="incomplete row"):
        run(tmp_path, again, resume=True)
    assert again.calls == [("sinusoidal", 1)]
    rows = results_text(tmp_path).splitlines()
    assert "sinusoisinusoidal" not in results_text(tmp_path)
    assert sorted(row.split(",")[0] for row in rows[1:]) == ["glorot"] * 2 + ["sinusoidal"] * 2


def test_a_csv_with_other_columns_is_refused_before_anything_is_appended(tmp_path):
    run(tmp_path)
    path = tmp_path / runner.RESULTS_FILE
    damaged = path.read_text().replace("score", "accuracy", 1)
    path.write_text(damaged)
    with pytest.raises(ValueError, match=r"results.csv.*missing \['score'\], unexpected "
                                         r"\['accuracy'\]"):
        run(tmp_path, resume=True)
    assert path.read_text() == damaged


def test_a_foreign_csv_is_refused_clearly(tmp_path):
    run(tmp_path)
    (tmp_path / runner.RESULTS_FILE).write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="does not hold this experiment's results"):
        run(tmp_path, resume=True)


def test_columns_in_another_order_are_refused(tmp_path):
    run(tmp_path)
    path = tmp_path / runner.RESULTS_FILE
    path.write_text("seed,init" + path.read_text()[len("init,seed"):])
    with pytest.raises(ValueError, match="same columns in another order"):
        run(tmp_path, resume=True)


def test_a_corrupt_settings_file_is_named(tmp_path):
    run(tmp_path)
    (tmp_path / runner.SETTINGS_FILE).write_text('{"experiment": "lab')
    with pytest.raises(ValueError, match=r"settings.json is not valid JSON"):
        run(tmp_path, resume=True)


def test_the_report_counts_the_seeds_it_averages(tmp_path):
    run(tmp_path, seeds=3)
    outcome = run(tmp_path, seeds=2, resume=True)  # three seeds are in the CSV
    assert "Seeds 0..2: 3 per configuration" in outcome.report.read_text()
    path = tmp_path / runner.RESULTS_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("glorot,2")))
    outcome = run(tmp_path, seeds=1, resume=True)
    assert "between 2 and 3 per configuration" in outcome.report.read_text()


def test_an_empty_results_file_gets_its_header(tmp_path):
    store = ResultStore(tmp_path / "results.csv", ["init"], ["score"])
    store.path.write_text("")
    store.append({"init": "a", "seed": 0, "score": 1.0, "backend": "jax", "seconds": 1})
    assert [row["init"] for row in store.read()] == ["a"]


def test_an_interrupt_says_how_many_runs_are_kept(tmp_path):
    with pytest.raises(runner.Interrupted, match=r"3 runs kept in .*results.csv, resume "
                                                 "with --resume") as caught:
        run(tmp_path, Labels(interrupt_at=("sinusoidal", 1)))
    assert caught.value.kept == 3 and isinstance(caught.value, KeyboardInterrupt)
    resumed = Labels()
    run(tmp_path, resumed, resume=True)
    assert resumed.calls == [("sinusoidal", 1)]


# --- the command line -------------------------------------------------------


def test_cli_interrupt_is_one_line(monkeypatch, capsys, tmp_path):
    from keras_detinit import cli

    def interrupted(args):
        raise runner.Interrupted(3, tmp_path / "results.csv")

    monkeypatch.setattr(cli, "run_reproduce", interrupted)
    assert keras_detinit_cli.main(["reproduce", "table1"]) == keras_detinit_cli.INTERRUPTED
    err = capsys.readouterr().err
    assert err == (f"keras-detinit: interrupted; 3 runs kept in {tmp_path / 'results.csv'}, "
                   "resume with --resume\n")


def test_cli_unwritable_out_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    status = keras_detinit_cli.main(["reproduce", "table1", "--out", str(blocker / "out"),
                                     "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("keras-detinit: error: Cannot write the results folder")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_other_os_errors_are_one_line(monkeypatch, capsys):
    from keras_detinit import cli

    def denied(args):
        raise PermissionError(13, "Permission denied", "/root/x")

    monkeypatch.setattr(cli, "run_demo", denied)
    assert keras_detinit_cli.main(["demo"]) == 2
    assert capsys.readouterr().err == "keras-detinit: error: cannot use /root/x: permission denied\n"


def test_tune_directory_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match=r"Cannot create the tuning directory .*--directory"):
        search._make_directory(str(blocker / "tuning"))


def test_tune_resume_names_a_damaged_trial_file(tmp_path):
    trial = tmp_path / "project" / "trial_00"
    trial.mkdir(parents=True)
    (trial / "trial.json").write_text('{"trial_id": ')
    with pytest.raises(ValueError, match=r"trial_00/trial.json is damaged"):
        search._check_project_files(str(tmp_path / "project"), "resume")


def test_help_lists_what_the_registry_holds():
    from keras_detinit.reproduce import experiment
    from keras_detinit.reproduce import registry
    from keras_detinit.tuning import search_space

    tune_help = keras_detinit_cli.build_parser()._subparsers._group_actions[0].choices[
        "tune"].format_help()
    assert " ".join(search_space.DEFAULT_SCHEMES) in " ".join(tune_help.split())

    summaries = keras_detinit_cli.experiment_summaries()
    assert summaries == {name: entry[-1] for name, entry in registry.EXPERIMENTS.items()}
    assert tuple(keras_detinit_cli.source_literal(
        "reproduce/experiment.py", "PROFILES")) == experiment.PROFILES


@pytest.mark.slow
@pytest.mark.parametrize("command", [[], ["demo"], ["info"], ["tune"], ["reproduce"]])
def test_help_imports_no_keras_and_prints_no_backend_noise(command):
    code = ("import sys, keras_detinit_cli\n"
            "try:\n"
            f"    keras_detinit_cli.main({[*command, '--help']!r})\n"
            "except SystemExit:\n"
            "    pass\n"
            "heavy = {'keras', 'keras_detinit', 'tensorflow', 'jax', 'torch'} & set(sys.modules)\n"
            "print('imported:', sorted(heavy))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.startswith("usage: keras-detinit")
    assert "imported: []" in done.stdout and done.stderr == ""


# --- the wrong dataset ------------------------------------------------------


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    forbid_downloads(monkeypatch)
    return tmp_path


def published(monkeypatch, name, directory):
    """Write a dataset and make its labels the 'published' ones of ``name``."""
    arrays = write_dataset(directory, n_train=20)
    found = ((None, arrays["train_labels"]), (None, arrays["test_labels"]))
    replace_spec(monkeypatch, name, labels_sha256=locate.labels_fingerprint(found))


@pytest.mark.parametrize("asked,held", [("fashion_mnist", "mnist"), ("mnist", "fashion_mnist")])
def test_a_folder_of_the_other_dataset_is_refused(isolated, monkeypatch, asked, held):
    published(monkeypatch, held, isolated / "data")
    title = locate.SPECS[held].title
    with pytest.raises(datasets.DatasetError, match=f"holds {title}, not "):
        datasets.load_dataset(asked, data_dir=isolated / "data", download=False)
    # Even under the other dataset's subfolder name: the content decides.
    subfolder = isolated / "other" / locate.SPECS[asked].subdirectory
    published(monkeypatch, held, subfolder)
    with pytest.raises(datasets.DatasetError, match=f"holds {title}"):
        datasets.load_dataset(asked, data_dir=isolated / "other", download=False)


def test_the_published_files_load_from_any_folder(isolated, monkeypatch):
    published(monkeypatch, "mnist", isolated / "anywhere")
    data = datasets.load_dataset("mnist", data_dir=isolated / "anywhere", download=False)
    assert len(data.train.y) == 20


def test_unknown_files_need_a_folder_named_for_the_dataset(isolated):
    write_dataset(isolated / "data", n_train=20)
    with pytest.raises(datasets.DatasetError, match=r"Cannot tell whether .* holds MNIST.*"
                                                    r"subfolder 'mnist'"):
        datasets.load_dataset("mnist", data_dir=isolated / "data", download=False)
    write_dataset(isolated / "named" / "fashion-mnist", n_train=20)
    data = datasets.load_dataset("fashion_mnist", data_dir=isolated / "named", download=False)
    assert data.name == "fashion_mnist"


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared data absent")
def test_real_mnist_folder_is_not_fashion_mnist(isolated):
    with pytest.raises(datasets.DatasetError, match="holds MNIST, not Fashion-MNIST"):
        datasets.load_dataset("fashion_mnist", data_dir=SHARED_DATA / "mnist", download=False)
    with pytest.raises(datasets.DatasetError, match="holds Fashion-MNIST, not MNIST"):
        datasets.load_dataset("mnist", data_dir=SHARED_DATA / "fashion-mnist", download=False)


# --- NaN is reported as NaN -------------------------------------------------


def small_model(kernel_initializer="glorot_uniform", output_initializer="glorot_uniform"):
    return keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(6, activation="relu", kernel_initializer=kernel_initializer),
        keras.layers.Dense(2, kernel_initializer=output_initializer),
    ])


def test_skewness_of_nan_weights_is_nan_not_dead():
    model = small_model(keras.initializers.Constant(float("nan")))
    skew = SkewnessCallback(np.random.default_rng(0).random((16, 4)), probe_size=None)
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        values = skew.evaluate(model)
    assert values and all(math.isnan(value) for value in values.values())


def test_skewness_of_a_nan_probe_is_nan():
    probe = np.full((16, 4), np.nan)
    skew = SkewnessCallback(probe, probe_size=None)
    with pytest.warns(RuntimeWarning):
        values = skew.evaluate(small_model())
    assert math.isnan(values["skew_mean/dead"]) and math.isnan(values["skew_mean/oui"])


@pytest.mark.parametrize("function", [
    diagnostics.dead_fraction, diagnostics.always_active_fraction, diagnostics.oui,
    lambda z: diagnostics.skewed_fraction(z, 0.1),
    lambda z: diagnostics.skewed_fraction(z, 0.1, method="gaussian"),
])
def test_diagnostics_of_non_finite_values_are_nan(function):
    z = np.ones((8, 4))
    z[3, 2] = np.inf
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        assert math.isnan(function(z))


def test_balance_is_nan_only_for_the_diverged_unit():
    z = np.array([[1.0, -1.0], [np.nan, 2.0]])
    balance = diagnostics.activation_balance(z)
    assert math.isnan(balance[0]) and balance[1] == 0.5


def fit(model, callback, epochs=1):
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    model.fit(x, np.zeros((16, 2)), epochs=epochs, verbose=0, callbacks=[callback])


def test_weight_variance_of_a_zero_kernel_is_nan_not_a_crash():
    watch = WeightVarianceCallback(sigma0=None)
    with pytest.warns(RuntimeWarning, match="starts with all weights 0"):
        fit(small_model(output_initializer="zeros"), watch)
    ratios = watch.history[f"wvar/{watch.model.layers[1].name}/ratio"]
    assert all(math.isnan(ratio) for ratio in ratios)
    assert watch.history["wvar_overall/ratio"][0] == 1.0


def test_weight_variance_of_nan_weights_is_nan():
    model = small_model(keras.initializers.Constant(float("nan")))
    with pytest.warns(RuntimeWarning, match="NaN or infinite weights"):
        values = WeightVarianceCallback(sigma0=0.1).evaluate(model)
    assert math.isnan(values["wvar_overall/v"])


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(6, activation="relu")
        self.out = keras.layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


@pytest.mark.parametrize("build", [
    Subclassed, lambda: keras.Sequential([keras.layers.Dense(6), keras.layers.Dense(2)])])
def test_weight_variance_watches_models_built_during_fit(build):
    watch = WeightVarianceCallback(sigma0=0.1)
    with warnings.catch_warnings():
        # TensorFlow builds these models at the first step: epoch 0 is unknown.
        warnings.simplefilter("ignore", RuntimeWarning)
        fit(build(), watch, epochs=2)
    curve = watch.history["wvar_overall/v"]
    assert len(curve) == 3 and all(np.isfinite(curve[1:]))
    built_at_start = keras.backend.backend() != "tensorflow"
    assert np.isfinite(curve[0]) == built_at_start


def diverging_model(initializer):
    model = small_model(initializer, initializer)
    model.compile(keras.optimizers.SGD(1e12), "mse")
    return model


@pytest.mark.parametrize("method", ["bisection", "fixed_point"])
def test_optimal_sigma0_with_a_diverging_pilot_is_nan(method):
    x = np.random.default_rng(0).random((20, 4)).astype("float32")
    y = np.full((20, 2), 1e3, dtype="float32")
    with pytest.warns(RuntimeWarning, match="diverged"):
        result = sigma0_lib.optimal_sigma0(diverging_model, x, y, lower=0.1, upper=1.0,
                                           batch_size=10, method=method, max_pilots=3)
    assert math.isnan(result.sigma0) and not result.bracketed and not result.converged
    assert len(result.trace) >= 1


# --- sizes and parameters ---------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 10**9), (10**9, 1), (3 * 10**4, 3 * 10**4)])
def test_sinusoidal_refuses_huge_kernels_at_once(shape):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"m \* n < 858,993,459 entries"):
        Sinusoidal()(shape)
    assert time.perf_counter() - start < 1.0


def test_sinusoidal_refuses_a_huge_fan_in_at_once():
    with pytest.raises(ValueError, match="fan-in n up to 1,600,000.*n=2000000"):
        Sinusoidal()((2 * 10**6, 1))


def test_odd_sigmoid_depth_is_bounded():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"`target_depth` must be an integer in \[1, 10000\]"
                                         r". Received: target_depth=10000000"):
        OddSigmoid(target_depth=10**7)
    with pytest.raises(ValueError, match="target_depth"):
        odd_sigmoid.relative_noise_for("tanh", 10**7)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("epsilon", [1e300, 1e31, float("inf")])
def test_epsilon_orthogonal_refuses_an_epsilon_that_overflows(epsilon):
    with pytest.raises(ValueError, match=r"`epsilon` must be .*\(0, 1e\+30\]"):
        EpsilonOrthogonal(epsilon=epsilon)
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_orthogonal.epsilon_orthogonal_matrix(4, 3, epsilon)


def test_epsilon_orthogonal_is_finite_up_to_its_limit():
    # float32, the narrower type, is the one that overflowed.
    kernel = EpsilonOrthogonal(epsilon=epsilon_orthogonal.MAX_EPSILON)((40, 7), dtype="float32")
    assert np.isfinite(keras.ops.convert_to_numpy(kernel)).all()


# --- names as Keras resolves them -------------------------------------------


@pytest.mark.parametrize("name", ["Sinusoidal", "EpsilonOrthogonal", "OddSigmoid"])
def test_class_names_resolve_like_keras_own(name):
    assert type(keras.initializers.get(name)).__name__ == name
    layer = keras.layers.Dense(3, kernel_initializer=name)
    assert type(layer.kernel_initializer).__name__ == name


def test_registration_keeps_another_class_of_the_same_name():
    assert type(keras.initializers.get("GlorotUniform")) is keras.initializers.GlorotUniform


def test_settings_json_is_written_back_readable(tmp_path):
    run(tmp_path)
    assert json.loads((tmp_path / runner.SETTINGS_FILE).read_text())["experiment"] == "labels"
