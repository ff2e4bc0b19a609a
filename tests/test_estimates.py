"""Run-time estimates of ``keras-detinit reproduce`` (`keras_detinit.reproduce.estimates`).

The costs of the experiments must grow with their work across profiles, so
that a rate measured on one profile gives an estimate for another; the
rates table must be the one the committed results give.
"""

import csv
import importlib.util
import math
import pathlib
import sys

import keras
import pytest

from keras_detinit import reproduce
from keras_detinit.reproduce import estimates
from keras_detinit.reproduce import measured_rates
from keras_detinit.reproduce import registry
from keras_detinit.reproduce import runner
from keras_detinit.reproduce.experiment import config_columns
from keras_detinit.reproduce.progress import format_duration
from keras_detinit.reporting.rows import ResultStore

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "scripts" / "estimate_rates.py"


class Weighted(reproduce.Experiment):
    """Configurations x = 0 .. n - 1 of cost x + 1; prints when it measures."""

    name = "weighted"
    title = "Weighted"
    source = "no paper"
    columns = ("value",)
    profiles = {
        "quick": reproduce.Profile(seeds=1, settings={"n": 2}, reductions="fewer"),
        "paper": reproduce.Profile(seeds=3, settings={"n": 4}),
    }

    def configurations(self, settings):
        return [{"x": x} for x in range(settings["n"])]

    def measure(self, config, seed, settings, context):
        print(f"measuring x={config['x']} seed={seed}")
        return {"value": config["x"]}

    def report(self, results, settings, figures):
        return f"{len(results)} rows"

    def cost(self, config, settings):
        return config["x"] + 1.0


def rate(seconds_per_cost=0.5, **fields):
    return estimates.Rate(seconds_per_cost, **{"backend": "jax", "stacked": False,
                                               "folder": "results/weighted", **fields})


def runs_of(experiment, profile, seeds=None):
    settings = experiment.settings(profile)
    seeds = experiment.profiles[profile].seeds if seeds is None else seeds
    return settings, [(config, seed) for seed in range(seeds)
                      for config in experiment.configurations(settings)]


def test_estimate_scales_with_runs_and_cost():
    experiment, rates = Weighted(), {"weighted": rate(0.5)}
    settings, runs = runs_of(experiment, "paper")
    once = estimates.estimate_seconds(experiment, settings, runs, rates)
    assert once == pytest.approx(0.5 * sum(experiment.cost(c, settings) for c, _ in runs))
    assert estimates.estimate_seconds(experiment, settings, runs * 2, rates) == pytest.approx(
        2 * once)
    expensive = [({"x": 9}, 0)]  # cost 10 against 1 for x = 0
    cheap = [({"x": 0}, 0)]
    assert estimates.estimate_seconds(experiment, settings, expensive, rates) == pytest.approx(
        10 * estimates.estimate_seconds(experiment, settings, cheap, rates))
    assert estimates.estimate_seconds(experiment, settings, [], rates) == 0
    assert estimates.estimate_seconds(experiment, settings, runs, {}) is None


def test_measured_rate_gives_back_the_rows_total():
    experiment = Weighted()
    settings = experiment.settings("paper")
    rows = [{"x": "0", "seed": "0", "seconds": "1.5"}, {"x": "3", "seed": "0", "seconds": "6"},
            {"x": "7", "seed": "0", "seconds": "99"}]  # x = 7 is no configuration of n = 4
    measured = estimates.measured_rate(experiment, settings, rows)
    runs = [({"x": 0}, 0), ({"x": 3}, 0)]
    assert estimates.estimate_seconds(experiment, settings, runs,
                                      {"weighted": rate(measured)}) == pytest.approx(7.5)


def test_table2_paper_estimate_is_quick_times_the_ratio_of_costs():
    table2 = registry.get_experiment("table2")
    quick, quick_runs = runs_of(table2, "quick")
    paper, paper_runs = runs_of(table2, "paper")
    ratio = (estimates.estimate_seconds(table2, paper, paper_runs)
             / estimates.estimate_seconds(table2, quick, quick_runs))
    seeds = table2.profiles["paper"].seeds / table2.profiles["quick"].seeds
    assert len(paper_runs) == seeds * len(quick_runs)  # the same configurations
    assert ratio == pytest.approx(seeds * paper["epochs"] / quick["epochs"])


@pytest.mark.parametrize("name, overrides", [
    ("table2", {}), ("depth", {}), ("odd_sigmoid_scale", {}), ("convergence", {}),
    ("sigma0", {}), ("sigma0", {"samples_per_class": 50, "validation_per_class": 50}),
])
def test_cost_is_proportional_to_epochs(name, overrides):
    experiment = registry.get_experiment(name)
    settings = experiment.settings("quick", overrides)
    longer = {**settings, "epochs": 3 * settings["epochs"]}
    for config in experiment.configurations(settings):
        assert experiment.cost(config, longer) == pytest.approx(
            3 * experiment.cost(config, settings))


def test_costs_grow_with_the_work_the_profiles_differ_in():
    def total(name, profile, overrides=None):
        experiment = registry.get_experiment(name)
        settings = experiment.settings(profile, overrides)
        return sum(experiment.cost(config, settings)
                   for config in experiment.configurations(settings))

    # More training images per epoch cost more (convergence, sigma0).
    for name in ("convergence", "sigma0"):
        assert total(name, "quick", {"samples_per_class": 50}) < total(
            name, "quick", {"samples_per_class": 500})
    # sigma0: the search trains max_pilots pilots as long as a grid run.
    sigma0 = registry.get_experiment("sigma0")
    settings = sigma0.settings("quick")
    assert sigma0.cost({"dataset": "mnist", "init": "optimal_sigma0"}, settings) == (
        settings["max_pilots"] * sigma0.cost({"dataset": "mnist", "init": "he_normal"}, settings))
    # table1: the entire-set rows grow with epochs_entire, the few-shot ones do not.
    table1 = registry.get_experiment("table1")
    quick, paper = table1.settings("quick"), table1.settings("paper")
    entire = {"samples_per_class": "all", "dataset": "mnist", "hidden": 16, "init": "identity"}
    few = {**entire, "samples_per_class": 1}
    assert table1.cost(entire, paper) == pytest.approx(
        paper["epochs_entire"] / quick["epochs_entire"] * table1.cost(entire, quick))
    assert table1.cost(few, paper) == table1.cost(few, quick)
    assert table1.cost({**entire, "hidden": 512}, quick) > table1.cost(entire, quick)
    # odd_sigmoid_signal: a larger batch or width costs more.
    signal = registry.get_experiment("odd_sigmoid_signal")
    settings = signal.settings("quick")
    config = {"activation": "tanh", "init": "odd_sigmoid", "width": 32}
    assert signal.cost(config, {**settings, "batch": 1000}) > signal.cost(config, settings)
    assert signal.cost({**config, "width": 256}, settings) > signal.cost(config, settings)
    # width: the epochs of each dataset.
    assert total("width", "quick", {"epochs": {"mnist": 6, "fashion_mnist": 2}}) > total(
        "width", "quick")


def test_every_experiment_has_an_estimate_for_its_paper_profile():
    for name in registry.EXPERIMENTS:
        experiment = registry.get_experiment(name)
        settings, runs = runs_of(experiment, "paper")
        line = estimates.describe_estimate(experiment, settings, runs)
        seconds = estimates.estimate_seconds(experiment, settings, runs)
        assert seconds is not None and math.isfinite(seconds) and seconds > 0, name
        assert line.startswith("estimated: about ") and f"for {len(runs)} runs" in line, line
        rate = estimates.RATES[name]
        assert rate.folder in line and rate.backend in line
        assert ("not stacked" in line) != rate.stacked
        assert "2-core CPU" in line and "--workers N" in line


def test_describe_estimate_names_a_different_backend_or_stack():
    experiment, rates = Weighted(), {"weighted": rate(stacked=True, workers=2)}
    settings, runs = runs_of(experiment, "paper")
    line = estimates.describe_estimate(experiment, settings, runs, rates)
    assert "jax, stacked, 2 worker processes at once" in line and "this call" not in line
    line = estimates.describe_estimate(experiment, settings, runs, rates, backend="torch",
                                       stack=False)
    assert "this call: torch, not stacked" in line
    assert estimates.describe_estimate(experiment, settings, [], rates) == (
        "estimated: nothing left to run")


def test_reproduce_prints_the_estimate_before_the_first_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(estimates, "RATES", {"weighted": rate(2.0)})
    experiment = Weighted()
    reproduce.reproduce(experiment, profile="paper", out=tmp_path)
    lines = capsys.readouterr().out.splitlines()
    settings, runs = runs_of(experiment, "paper")
    expected = estimates.describe_estimate(experiment, settings, runs,
                                           backend=keras.backend.backend(), stack=False)
    first_run = next(index for index, line in enumerate(lines) if line.startswith("measuring"))
    assert expected in lines[:first_run]
    seconds = 2.0 * sum(experiment.cost(config, settings) for config, _ in runs)
    assert f"about {format_duration(seconds)} for {len(runs)} runs" in expected


def test_an_experiment_without_a_rate_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(estimates, "RATES", {})
    reproduce.reproduce(Weighted(), profile="paper", out=tmp_path)
    out = capsys.readouterr().out
    assert ("estimated: no measured rate for weighted; the progress line gives an ETA after "
            "the first run") in out
    assert out.index("no measured rate") < out.index("measuring")


def test_announce_respects_quiet(capsys):
    experiment = Weighted()
    settings, runs = runs_of(experiment, "paper")
    runner._announce(experiment, "paper", settings, range(3), runs, 0, pathlib.Path("out"),
                     False, "serial")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("fields, message", [
    ({"seconds_per_cost": -1.0}, "seconds_per_cost"),
    ({"seconds_per_cost": math.nan}, "seconds_per_cost"),
    ({"seconds_per_cost": math.inf}, "seconds_per_cost"),
    ({"backend": "numpy"}, "backend"),
    ({"stacked": "yes"}, "stacked"),
    ({"folder": ""}, "folder"),
    ({"workers": 0}, "workers"),
])
def test_bad_rates_raise(fields, message):
    arguments = {"seconds_per_cost": 1.0, "backend": "jax", "stacked": False,
                 "folder": "results/weighted", **fields}
    with pytest.raises(ValueError, match=message):
        estimates.Rate(**arguments)


def test_bad_costs_and_rows_raise():
    class Infinite(Weighted):
        def cost(self, config, settings):
            return math.inf

    settings = Weighted().settings("quick")
    with pytest.raises(ValueError, match="cost"):
        estimates.estimate_seconds(Infinite(), settings, [({"x": 0}, 0)],
                                   {"weighted": rate()})
    with pytest.raises(ValueError, match="rows"):
        estimates.measured_rate(Weighted(), settings, [{"x": "7", "seconds": "1"}])
    with pytest.raises(ValueError, match="seconds"):
        estimates.measured_rate(Weighted(), settings, [{"x": "0", "seconds": "-1"}])


def load_script():
    spec = importlib.util.spec_from_file_location("estimate_rates", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_rates_table_is_the_one_the_committed_results_give():
    if not SCRIPT.is_file():
        pytest.skip("docs/ is not here (an installed package)")
    script = load_script()
    assert script.derive_rates() == measured_rates.RATES, (
        "keras_detinit/reproduce/measured_rates.py is out of date: run "
        "python docs/scripts/estimate_rates.py")


def test_each_rate_gives_back_its_folders_measured_time():
    if not SCRIPT.is_file():
        pytest.skip("docs/ is not here (an installed package)")
    script = load_script()
    for name, rate_of in estimates.RATES.items():
        folder = script.read_folder(ROOT / rate_of.folder)
        experiment = registry.get_experiment(name)
        configurations = experiment.configurations(folder.settings)
        store = ResultStore("results.csv", config_columns(configurations), [])
        by_key = {store.key(config, ""): config for config in configurations}
        runs = [(by_key[store.key(row, "")], int(row["seed"])) for row in folder.rows]
        measured = sum(float(row["seconds"]) for row in folder.rows)
        estimate = estimates.estimate_seconds(experiment, folder.settings, runs)
        assert estimate == pytest.approx(measured, rel=1e-3), name
        with open(ROOT / rate_of.folder / "results.csv", newline="") as handle:
            assert len(list(csv.DictReader(handle))) == rate_of.runs


def test_sigma0_rate_of_the_quick_profile_carries_over_to_the_long_one():
    """10 epochs of 51,000 images against 1000 of 500: the cost must follow both."""
    long_folder = ROOT / "docs" / "results" / "reproduce" / "sigma0-long"
    if not SCRIPT.is_file() or not long_folder.is_dir():
        pytest.skip("the committed results are not here")
    script = load_script()
    folder = script.read_folder(long_folder)
    assert estimates.RATES["sigma0"].folder.endswith("/sigma0")  # measured on quick
    sigma0 = registry.get_experiment("sigma0")
    runs = [({"dataset": row["dataset"], "init": row["init"]}, int(row["seed"]))
            for row in folder.rows]
    measured = sum(float(row["seconds"]) for row in folder.rows)
    estimate = estimates.estimate_seconds(sigma0, folder.settings, runs)
    assert 0.75 < estimate / measured < 1.33
