"""``keras-detinit reproduce skewness`` and ``reproduce sigma0``, tiny.

Each experiment runs once end to end through the command line as a
subprocess (the backend of the test run is inherited), on tiny settings and,
for sigma0, on tiny IDX files written here; a second and a third call,
in-process, check resuming and the refusal to mix results. The unit tests
check properties the experiments rest on.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras_detinit_cli
from keras_detinit import cli
from keras_detinit import datasets
from keras_detinit.reproduce import Results
from keras_detinit.reporting import tables
from keras_detinit.reproduce.experiments import sigma0 as sigma0_lib
from keras_detinit.reproduce.experiments import skewness as skewness_lib
from keras_detinit.reporting.results import format_curve
from keras_detinit.reporting.results import parse_curve


PNG = b"\x89PNG\r\n\x1a\n"
SKEWNESS_SETTINGS = {"input_dim": 32, "widths": [32, 32, 16], "samples": 256,
                     "lsuv_samples": 64}
SKEWNESS_SEEDS = 2
# One dataset keeps the run short; the other follows the same code.
SIGMA0_SETTINGS = {"datasets": ["fashion_mnist"], "epochs": 2, "sigma0": [0.05, 0.5],
                   "max_pilots": 2, "hidden": [8]}


def set_arguments(settings):
    return [word for key, value in settings.items()
            for word in ("--set", f"{key}={json.dumps(value)}")]


def run_cli(out, experiment, settings, *extra):
    """Run ``keras-detinit reproduce`` in a subprocess; returns its output."""
    env = dict(os.environ, HOME=str(out.parent / "home"))
    env.pop("KERAS_DETINIT_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, "-m", "keras_detinit.cli", "reproduce", experiment, "--out", str(out),
         "--quiet", *set_arguments(settings), *extra],
        capture_output=True, text=True, env=env, cwd=out.parent, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def read_rows(out):
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def check_resume_and_refusal(out, experiment, settings, extra, capsys):
    """--resume measures nothing new; without it the folder is refused."""
    argv = ["reproduce", experiment, "--out", str(out), "--quiet",
            *set_arguments(settings), *extra]
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    assert "0 runs measured" in capsys.readouterr().out
    assert cli.main(argv) == 2
    assert "--resume" in capsys.readouterr().err


def check_figures(out, names):
    for name in names:
        png = (out / "figures" / name).read_bytes()
        assert png[:8] == PNG and len(png) > 1000, name


# -- skewness ------------------------------------------------------------------


@pytest.mark.slow
def test_skewness_end_to_end(tmp_path, capsys):
    out = tmp_path / "skewness"
    extra = ["--seeds", str(SKEWNESS_SEEDS)]
    run_cli(out, "skewness", SKEWNESS_SETTINGS, *extra)
    rows = read_rows(out)
    assert sorted((row["init"], row["seed"]) for row in rows) == sorted(
        (init, str(seed)) for init in skewness_lib.PAPER for seed in range(SKEWNESS_SEEDS))
    assert set(skewness_lib.SkewnessTable.columns) <= set(rows[0])
    assert all(0 <= float(row["last_skewed_0.1"]) <= 1 for row in rows)
    report = (out / "report.md").read_text()
    for label in skewness_lib.LABELS.values():
        assert f"| {label} |" in report
    for values in skewness_lib.PAPER.values():
        for value in values.values():
            assert f"({value:g})" in report
    assert "The paper states neither the widths nor the number of samples" in report
    assert "Theorem 1 agreement" in report and "## How this was made" in report
    for name in (skewness_lib.S_HISTOGRAM, skewness_lib.ACTIVATION_STATES):
        assert f"](figures/{name})" in report
    check_figures(out, [skewness_lib.S_HISTOGRAM, skewness_lib.ACTIVATION_STATES])
    check_resume_and_refusal(out, "skewness", SKEWNESS_SETTINGS, extra, capsys)


@pytest.fixture(scope="module")
def skewness_rows():
    """Seed 0 of three initializations on a non-square MLP (no vanishing rows)."""
    experiment = skewness_lib.SkewnessTable()
    settings = experiment.settings("quick", {"input_dim": 64, "widths": [48, 48, 64],
                                             "samples": 512, "lsuv_samples": 64})
    return {init: experiment.measure({"init": init}, 0, settings, None)
            for init in ("glorot_uniform", "lsuv", "sinusoidal")}


@pytest.mark.slow
def test_sinusoidal_first_layer_has_no_skewed_unit(skewness_rows):
    # Theorem 3: every row sums to zero, and the inputs share one mean.
    assert skewness_rows["sinusoidal"]["first_skewed_0.1"] == 0.0
    assert skewness_rows["sinusoidal"]["first_skewed_0.3"] == 0.0


@pytest.mark.slow
def test_random_schemes_skew_most_units(skewness_rows):
    for init in ("glorot_uniform", "lsuv"):
        row = skewness_rows[init]
        assert row["first_skewed_0.1"] > 0.5 and row["last_skewed_0.1"] > 0.5
        assert row["last_oui"] < skewness_rows["sinusoidal"]["last_oui"]
    assert skewness_rows["sinusoidal"]["last_skewed_0.1"] < 0.3


@pytest.mark.slow
def test_theorem_1_predicts_first_layer_skewness(skewness_rows):
    for row in skewness_rows.values():
        assert row["first_theorem1_agreement_0.3"] > 0.9


def test_vanishing_sinusoidal_rows_are_named():
    # A square 16 x 16 kernel has zero rows 8 and 16: constant sign, skewed.
    settings = {"input_dim": 16, "widths": [16, 16, 16], "samples": 128, "lsuv_samples": 32}
    data = skewness_lib.figure_data("sinusoidal", settings, seed=0)
    text = "\n".join(skewness_lib.sinusoidal_outliers(data, seed=0))
    assert "16 (P(Z > 0) = " in text and "a vanishing row" in text


def test_skewness_settings_are_checked():
    experiment = skewness_lib.SkewnessTable()
    with pytest.raises(ValueError, match="widths"):
        experiment.configurations(experiment.settings("quick", {"widths": []}))
    with pytest.raises(ValueError, match="samples"):
        experiment.configurations(experiment.settings("quick", {"samples": 0}))


# -- sigma0 --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sigma0_run(data_dir):
    out = data_dir.parent / "sigma0"
    run_cli(out, "sigma0", SIGMA0_SETTINGS, "--data-dir", str(data_dir), "--no-download")
    return out


@pytest.mark.slow
def test_sigma0_end_to_end(sigma0_run, data_dir, capsys):
    out = sigma0_run
    rows = read_rows(out)
    assert [(row["dataset"], row["init"], row["seed"]) for row in rows] == [
        ("fashion_mnist", init, "0") for init in ("0.05", "0.5", "he_normal", "optimal_sigma0")]
    assert set(sigma0_lib.Sigma0Sweep.columns) <= set(rows[0])
    report = (out / "report.md").read_text()
    for name in ("| 0.05 |", "| 0.5 |", "| he_normal |", "`optimal_sigma0` estimate"):
        assert name in report
    # The paper's protocol and findings, beside ours.
    assert "| epochs | 1000 | 2 |" in report and "| runs per sigma0 | 10 | 1 |" in report
    assert "paper: optimum near 0.15" in report
    assert "Grid argmin of the final training loss" in report
    assert "## Fashion-MNIST" in report and "## MNIST" not in report
    for name in sigma0_lib.FIGURES.values():
        assert f"](figures/{name})" in report
    check_figures(out, sigma0_lib.FIGURES.values())
    check_resume_and_refusal(out, "sigma0", SIGMA0_SETTINGS,
                             ["--data-dir", str(data_dir), "--no-download"], capsys)


@pytest.mark.slow
def test_sigma0_curves(sigma0_run):
    results = Results(read_rows(sigma0_run))
    epochs = SIGMA0_SETTINGS["epochs"]
    for init in ("0.05", "0.5", "he_normal"):
        (row,) = results.where(init=init)
        ratio = parse_curve(row["ratio_curve"])
        assert len(parse_curve(row["loss_curve"])) == epochs
        assert len(parse_curve(row["val_accuracy_curve"])) == epochs
        assert len(ratio) == len(parse_curve(row["v_curve"])) == epochs + 1  # epoch 0 first
        assert float(row["final_ratio"]) == pytest.approx(ratio[-1], rel=1e-5)
        assert float(row["acc_max"]) >= float(row["acc_epoch1"])
        assert row["acc_epoch10"] == ""  # not measured: 2 epochs
        # At initialization V is the draw's mean square: sigma0^2 up to the
        # sampling error of ~6,000 weights; He is its own reference.
        assert ratio[0] == (1.0 if init == "he_normal" else pytest.approx(1.0, abs=0.1))
    v0 = {init: parse_curve(results.where(init=init)[0]["v_curve"])[0] for init in ("0.05", "0.5")}
    assert v0["0.5"] / v0["0.05"] == pytest.approx(100, rel=1e-3)


@pytest.mark.slow
def test_sigma0_search_row(sigma0_run):
    (row,) = Results(read_rows(sigma0_run)).where(init="optimal_sigma0")
    pilots = parse_curve(row["pilot_sigma0"])
    # Bisection starts with a pilot at each end of the grid.
    assert list(pilots[:2]) == [0.05, 0.5]
    assert int(row["pilots"]) == len(pilots) == len(parse_curve(row["pilot_ratio"])) <= 2
    assert 0.05 <= float(row["estimate"]) <= 0.5
    assert row["bracketed"] in ("0", "1") and row["converged"] in ("0", "1")
    assert row["loss_curve"] == ""  # the search trains pilots only


def test_sigma0_configurations_and_cost():
    experiment = sigma0_lib.Sigma0Sweep()
    settings = experiment.settings("quick")
    configurations = experiment.configurations(settings)
    assert len(configurations) == 2 * (len(sigma0_lib.GRID) + 2)
    costs = {config["init"]: experiment.cost(config, settings) for config in configurations}
    # A search trains up to max_pilots pilots, each as long as a grid run.
    assert costs["optimal_sigma0"] == settings["max_pilots"] * costs["he_normal"]
    assert len({cost for init, cost in costs.items() if init != "optimal_sigma0"}) == 1
    without_search = experiment.settings("quick", {"max_pilots": 0})
    assert "optimal_sigma0" not in {c["init"] for c in experiment.configurations(without_search)}
    paper = experiment.settings("paper")
    assert (paper["epochs"], paper["learning_rate"]) == (1000, 1e-4)
    assert experiment.profiles["paper"].seeds == 10 and experiment.profiles["quick"].seeds == 1
    for values in (settings, paper):  # settings.json must hold them
        assert json.loads(json.dumps(values)) == values


@pytest.mark.parametrize("overrides, message", [
    ({"max_pilots": 1}, "max_pilots"),
    ({"sigma0": [0.1]}, "two distinct"),
    ({"sigma0": []}, "non-empty"),
    ({"epochs": 0}, "epochs"),
    ({"datasets": ["cifar10"]}, "cifar10"),
    ({"pixels": "percent"}, "pixels"),
    ({"validation_per_class": 0}, "samples_per_class"),
])
def test_sigma0_settings_are_checked_before_training(overrides, message):
    experiment = sigma0_lib.Sigma0Sweep()
    with pytest.raises(ValueError, match=message):
        experiment.configurations(experiment.settings("quick", overrides))


def test_number_cell():
    assert tables.number_cell((0.18941, 0.00312), ".4f") == "0.1894 ± 0.0031"
    assert tables.number_cell((0.18941, 0.0), ".4f") == "0.1894 ± 0.0000"  # several runs agree
    assert tables.number_cell((0.18941, np.nan), ".4f") == "0.1894"  # one run
    assert tables.number_cell((np.nan, np.nan), ".4f") == "–"
    assert tables.percent_cell((0.5, np.nan), 55.0) == "50.0 (55)"


# -- sigma0: the long profile and the crossing against the seeds' spread ------


def test_sigma0_long_profile_keeps_the_papers_length_on_less_data():
    experiment = sigma0_lib.Sigma0Sweep()
    long, paper = experiment.settings("long"), experiment.settings("paper")
    # The paper's epochs, rate, batch and noise temperature lr / b ...
    for key in ("epochs", "learning_rate", "batch_size", "sigma0", "hidden", "datasets",
                "pixels"):
        assert long[key] == paper[key], key
    assert (long["epochs"], long["learning_rate"]) == (sigma0_lib.PAPER_EPOCHS,
                                                       sigma0_lib.PAPER_LEARNING_RATE)
    # ... on a reduced training set, with several seeds for a spread.
    assert paper["samples_per_class"] == "all" and 1 <= long["samples_per_class"] < 6000
    assert long["validation_per_class"] == long["samples_per_class"]
    profile = experiment.profiles["long"]
    assert profile.seeds >= 3 and long["max_pilots"] == 0
    steps = long["epochs"] * 10 * long["samples_per_class"] // long["batch_size"]
    time = long["learning_rate"] * steps
    assert f"{steps:,} SGD steps" in profile.reductions
    assert f"lr x steps of {time:g} instead of" in profile.reductions
    assert json.loads(json.dumps(long)) == long
    assert "optimal_sigma0" not in {c["init"] for c in experiment.configurations(long)}


def test_long_is_a_profile_name_only_sigma0_offers():
    from keras_detinit import reproduce
    from keras_detinit.reproduce import experiment as experiment_lib

    assert "long" in experiment_lib.PROFILES
    assert keras_detinit_cli.build_parser().parse_args(
        ["reproduce", "sigma0", "--profile", "long"]).profile == "long"
    with pytest.raises(ValueError, match=r"`profile` must be one of .*'quick'.* got 'long'"):
        reproduce.get_experiment("table1").settings("long")


def power_law_rows(crossings, noise, dataset="mnist", slope=0.05, grid=sigma0_lib.GRID):
    """Rows of a sweep whose seed ``i`` has ``V(T) / V(0) = (c_i / sigma0)^slope``.

    ``noise[i]`` is seed i's draw error ``V(0) / sigma0^2 - 1``, shared by the
    whole grid as in a real sweep (one standard-normal draw, scaled).
    """
    rows = []
    for seed, (crossing, error) in enumerate(zip(crossings, noise)):
        for sigma0 in grid:
            start = sigma0**2 * (1 + error)
            end = start * (crossing / sigma0) ** slope
            rows.append({"dataset": dataset, "init": sigma0_lib.grid_label(sigma0),
                         "seed": str(seed), "final_ratio": end / sigma0**2,
                         "v_curve": format_curve([start, end]),
                         "ratio_curve": format_curve([1 + error, end / sigma0**2])})
    return Results(rows)


def test_seed_crossing_of_a_power_law():
    grid = list(sigma0_lib.GRID)
    for star in (0.07, 0.15, 0.33):
        ratio = [(star / sigma0) ** 0.3 for sigma0 in grid]
        assert sigma0_lib.seed_crossing(grid, ratio) == pytest.approx(star, rel=1e-12)
    assert np.isnan(sigma0_lib.seed_crossing(grid, [0.99] * len(grid)))  # none
    upward = [(sigma0 / 0.15) ** 0.3 for sigma0 in grid]
    assert np.isnan(sigma0_lib.seed_crossing(grid, upward))
    assert np.isnan(sigma0_lib.seed_crossing(grid, [1.1, float("nan"), *[0.9] * 6]))


def test_sides_of_one_and_the_crossing_verdict():
    assert sigma0_lib.side_of_one((0.97, 0.01)) == "below 1"
    assert sigma0_lib.side_of_one((1.0, 0.0)) == "within the spread"
    assert sigma0_lib.side_of_one((1.02, float("nan"))) == "no spread (1 seed)"
    assert sigma0_lib.side_of_one((float("nan"), float("nan"))) == "not finite"
    grid = [0.1, 0.2, 0.3]
    sides = ["above 1", "within the spread", "below 1"]
    # The point next to the crossing cannot be told from 1: inside the noise,
    # bracketed by the points that can.
    for crossing in (0.15, 0.2, 0.25):
        assert sigma0_lib.crossing_verdict(grid, sides, crossing) == (
            "inside the noise: within the spread of 1 at sigma0 = 0.2, clear of it at 0.1 "
            "and 0.3")
    assert sigma0_lib.crossing_verdict(grid, ["above 1", "below 1", "below 1"], 0.15) == (
        "resolved between sigma0 = 0.1 and 0.2")
    assert sigma0_lib.crossing_verdict(grid, ["within the spread"] * 2 + ["below 1"], 0.15) == (
        "inside the noise: no grid point below it is clear of 1 on its side")
    assert sigma0_lib.crossing_verdict(grid, ["above 1"] * 3, float("nan")) == "not defined"


@pytest.mark.parametrize("crossings, verdict", [
    # Every seed is above 1 at 0.1 and below it at 0.15.
    ([0.12, 0.125, 0.13], "resolved between sigma0 = 0.1 and 0.15"),
    # The seeds straddle 1 at sigma0 = 0.15 itself; 0.1 and 0.2 are clear of it.
    ([0.14, 0.15, 0.16],
     "inside the noise: within the spread of 1 at sigma0 = 0.15, clear of it at 0.1 and 0.2"),
])
def test_sigma0_crossing_per_seed_and_its_noise_band(crossings, verdict):
    results = power_law_rows(crossings, noise=[0.0, 0.0, 0.0])
    text = sigma0_lib.crossing_text(results, {"sigma0": list(sigma0_lib.GRID)}, "mnist")
    mean, std = np.mean(crossings), np.std(crossings)
    assert f"{mean:.4f} ± {std:.4f} over the 3 seed(s) with one" in text
    assert ", ".join(f"seed {seed}: {value:.4f}" for seed, value in enumerate(crossings)) in text
    (mean_line,) = [line for line in text.splitlines() if "Crossing of `V(W, T) / V(W, 0)" in line]
    assert verdict in mean_line


def test_sigma0_crossing_inside_the_noise_when_the_draw_dominates():
    # Training moves V by < 0.2% while the draws' errors spread by 0.3%: the
    # paper's ratio V(T) / sigma0^2 cannot place its crossing, V(T) / V(0) can.
    results = power_law_rows([0.15] * 3, noise=[-0.004, 0.0, 0.004], slope=0.001)
    text = sigma0_lib.crossing_text(results, {"sigma0": list(sigma0_lib.GRID)}, "mnist")
    paper_line, change_line = (line for line in text.splitlines()
                               if line.startswith("* Crossing of"))
    assert "seed 0: no single downward crossing" in paper_line  # shifted below 1
    assert "inside the noise" in paper_line or "no single downward crossing." in paper_line
    assert "within the spread for sigma0 in {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5}" in text
    assert "0.1500 ± 0.0000 over the 3 seed(s) with one" in change_line
    largest = 100 * (1 - (0.15 / 0.5) ** 0.001)
    assert f"for sigma0 >= 0.1 is {largest:.2f}% at sigma0 = 0.5" in text


def test_validation_subset_is_balanced_and_seeded():
    y = np.repeat(np.arange(3), 10)
    data = datasets.Dataset(
        name="toy", train=datasets.Split(np.zeros((3, 2)), np.arange(3)),
        validation=datasets.Split(np.arange(30.0)[:, None], y), test=None,
        class_names=("a", "b", "c"), source="here")
    subset = sigma0_lib.validation_subset(data, 4, seed=1)
    assert np.bincount(subset.validation.y).tolist() == [4, 4, 4]
    assert subset.train is data.train
    again = sigma0_lib.validation_subset(data, 4, seed=1)
    assert np.array_equal(subset.validation.x, again.validation.x)
    assert sigma0_lib.validation_subset(data, "all", seed=1) is data
