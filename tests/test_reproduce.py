"""``keras-detinit reproduce``: runner, resume, metrics, paper values, CLI.

The runner is tested with a small in-process experiment that needs no
data; every deep-narrow experiment is run end to end through the command
line with tiny settings on tiny IDX files written here.
"""

import csv
import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_detinit import cli
from keras_detinit import reproduce
from keras_detinit.reproduce import paper_values
from keras_detinit.reproduce import progress
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reporting.results import Results
from keras_detinit.reporting.results import format_curve
from keras_detinit.reporting.results import parse_curve



class Squares(reproduce.Experiment):
    """Measures x^2 + seed; fails on purpose at x == fail_at (an interruption)."""

    name = "squares"
    title = "Squares"
    source = "no paper"
    columns = ("square", "curve")
    profiles = {
        "quick": reproduce.Profile(seeds=2, settings={"n": 3}, reductions="few"),
        "paper": reproduce.Profile(seeds=3, settings={"n": 5}),
    }

    def __init__(self):
        self.calls = []
        self.fail_at = -1

    def configurations(self, settings):
        if settings["n"] < 1:
            raise ValueError(f"`n` must be >= 1, got {settings['n']}.")
        return [{"x": x} for x in range(settings["n"])]

    def measure(self, config, seed, settings, context):
        if config["x"] == self.fail_at:
            raise KeyboardInterrupt
        self.calls.append((config["x"], seed))
        return {"square": config["x"] ** 2 + seed, "curve": format_curve([0.1, 0.2])}

    def report(self, results, settings, figures):
        mean, std = results.mean_std("square", x=1)
        return f"mean of x=1: {mean:g} ± {std:g}"


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_runner_writes_one_row_per_configuration_and_seed(tmp_path):
    outcome = reproduce.reproduce(Squares(), out=tmp_path, show_progress=False)
    rows = read_rows(tmp_path / "results.csv")
    assert [(row["x"], row["seed"]) for row in rows] == [
        (str(x), str(seed)) for seed in range(2) for x in range(3)]
    assert [float(row["square"]) for row in rows] == [0, 1, 4, 1, 2, 5]
    assert {row["backend"] for row in rows} == {keras.backend.backend()}
    report = outcome.report.read_text()
    assert "mean of x=1: 1.5 ± 0.5" in report  # seeds 0 and 1 read back from the CSV
    assert "Profile `quick`: reduced against the paper: few" in report
    assert "keras-detinit reproduce squares --profile quick --seeds 2" in report
    assert (tmp_path / "command.txt").read_text().startswith("KERAS_BACKEND=")
    assert json.loads((tmp_path / "settings.json").read_text())["settings"] == {"n": 3}


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    interrupted = Squares()
    interrupted.fail_at = 2
    with pytest.raises(KeyboardInterrupt, match="2 runs kept"):
        reproduce.reproduce(interrupted, out=tmp_path, show_progress=False)
    assert len(read_rows(tmp_path / "results.csv")) == 2  # x = 0, 1 of seed 0 kept
    with pytest.raises(ValueError, match="--resume"):
        reproduce.reproduce(Squares(), out=tmp_path, show_progress=False)
    with pytest.raises(ValueError, match="Cannot resume"):
        reproduce.reproduce(Squares(), out=tmp_path, resume=True, overrides={"n": 4},
                            show_progress=False)
    resumed = Squares()
    outcome = reproduce.reproduce(resumed, out=tmp_path, resume=True, show_progress=False)
    assert resumed.calls == [(2, 0), (0, 1), (1, 1), (2, 1)]
    assert outcome.measured == 4 and len(outcome.results) == 6
    fresh = Squares()
    outcome = reproduce.reproduce(fresh, out=tmp_path, overwrite=True, show_progress=False)
    assert outcome.measured == 6 and len(read_rows(tmp_path / "results.csv")) == 6


def test_resume_measures_only_the_missing_pairs(tmp_path):
    reproduce.reproduce(Squares(), out=tmp_path, seeds=1, show_progress=False)
    experiment = Squares()
    outcome = reproduce.reproduce(experiment, out=tmp_path, seeds=2, resume=True,
                                  show_progress=False)
    assert experiment.calls == [(0, 1), (1, 1), (2, 1)]
    assert outcome.measured == 3 and len(outcome.results) == 6
    again = Squares()
    assert reproduce.reproduce(again, out=tmp_path, seeds=2, resume=True,
                               show_progress=False).measured == 0
    assert again.calls == []


def test_report_only_reports_the_rows_so_far_and_measures_nothing(tmp_path):
    with pytest.raises(ValueError, match="nothing to report"):
        reproduce.reproduce(Squares(), out=tmp_path, report_only=True, show_progress=False)
    reproduce.reproduce(Squares(), out=tmp_path, seeds=1, show_progress=False,
                        command="the measuring command")
    experiment = Squares()
    outcome = reproduce.reproduce(experiment, out=tmp_path, seeds=2, report_only=True,
                                  show_progress=False)
    assert experiment.calls == [] and outcome.measured == 0 and len(outcome.results) == 3
    report = outcome.report.read_text()
    assert "Seeds 0..0: 1 per configuration" in report
    assert (tmp_path / "command.txt").read_text() == "the measuring command\n"
    with pytest.raises(ValueError, match="at most one"):
        reproduce.reproduce(Squares(), out=tmp_path, resume=True, report_only=True,
                            show_progress=False)


class FloatSquares(Squares):
    """Configurations with float values, which the CSV writes shortened."""

    def configurations(self, settings):
        return [{"x": 0.123456789}, {"x": 1.0}]

    def measure(self, config, seed, settings, context):
        self.calls.append((config["x"], seed))
        return {"square": config["x"] ** 2, "curve": ""}


def test_float_configurations_resume_as_done(tmp_path):
    reproduce.reproduce(FloatSquares(), out=tmp_path, show_progress=False)
    again = FloatSquares()
    assert reproduce.reproduce(again, out=tmp_path, resume=True, show_progress=False).measured == 0
    assert again.calls == []


def test_report_names_settings_changed_from_the_profile(tmp_path):
    outcome = reproduce.reproduce(Squares(), out=tmp_path, overrides={"n": 2},
                                  show_progress=False)
    assert "Changed from the profile: n=2." in outcome.report.read_text()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"profile": "full"}, "profile"),
        ({"overrides": {"epochs": 3}}, "Unknown setting 'epochs'"),
        ({"seeds": 0}, "seeds"),
        ({"resume": True, "overwrite": True}, "at most one"),
        ({"overrides": {"n": 0}}, "`n` must be >= 1"),
    ],
)
def test_bad_arguments_raise_clear_errors(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        reproduce.reproduce(Squares(), out=tmp_path / "out", show_progress=False, **kwargs)
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_unknown_experiment_lists_the_known_ones():
    with pytest.raises(ValueError, match="table1"):
        reproduce.get_experiment("table3")


def test_convergence_metrics():
    metrics = reproduce.convergence_metrics([0.2, 0.6, 0.4] + [0.5] * 7, checkpoints=(1, 10, 100))
    assert metrics["acc_epoch1"] == 0.2 and metrics["acc_epoch10"] == 0.5
    assert math.isnan(metrics["acc_epoch100"])  # not trained that long
    assert metrics["acc_max"] == 0.6
    assert metrics["auc"] == pytest.approx((0.2 + 0.6 + 0.4 + 3.5) / 10)
    with pytest.raises(ValueError, match="curve"):
        reproduce.convergence_metrics([])


def test_progress_eta_weights_remaining_cost():
    times = iter([0.0, 10.0, 40.0])
    bar = progress.ProgressBar(total_cost=10.0, total_runs=3, clock=lambda: next(times))
    line = bar.advance(2.0, "cheap run")
    assert "1/3" in line and "elapsed 10s" in line and "ETA 40s" in line  # 8 cost left at 5 s
    line = bar.advance(6.0, "dear run")
    assert " 80%" in line and "ETA 10s" in line
    assert progress.format_duration(3725) == "1h02m"


def test_results_select_and_parse_curves():
    results = Results([{"init": "a", "seed": "0", "acc": "0.5", "val_accuracy_curve": "0.1;0.5"},
                       {"init": "a", "seed": "1", "acc": "", "val_accuracy_curve": "0.2;0.6"},
                       {"init": "b", "seed": "0", "acc": "0.9", "val_accuracy_curve": ""}])
    mean, std = results.mean_std("acc", init="a")  # the empty cell is skipped: one value
    assert mean == 0.5 and math.isnan(std)
    assert all(math.isnan(v) for v in results.mean_std("acc", init="c"))
    np.testing.assert_allclose(results.curves("val_accuracy_curve", init="a")[1], [0.2, 0.6])
    assert parse_curve(format_curve([0.25, 1 / 3])).tolist() == pytest.approx([0.25, 1 / 3])
    assert ffnn.final_accuracy(results, init="a") == pytest.approx((0.55, 0.05))
    assert math.isnan(ffnn.final_accuracy(results, init="b")[0])  # its curve is empty


def test_paper_tables_match_the_values_quoted_in_the_papers_text():
    # Sec. 4.6 quotes Table 2; Sec. 4.3 discusses Table 1's proposed column.
    assert paper_values.table2_value("gelu", "fashion_mnist", "epsilon_orthogonal") == 68.1
    assert paper_values.table2_value("relu", "fashion_mnist", "epsilon_orthogonal") == 76.5
    assert paper_values.table2_value("gelu", "mnist", "epsilon_orthogonal") == 83.6
    assert paper_values.table2_value("relu", "mnist", "epsilon_orthogonal") == 86.7
    assert paper_values.table1_value("all", "mnist", 512, "epsilon_orthogonal", 100) == 97.6
    assert paper_values.table1_value("all", "mnist", 512, "sinusoidal", 10) is None
    # Every row of Table 1 holds all eight columns for 4 sizes x 2 datasets x 3 widths.
    cells = [paper_values.table1_value(k, d, h, i, e) for k in ("all", 1, 2, 4)
             for d in ("mnist", "fashion_mnist") for h in (0, 16, 512)
             for i in paper_values.PAPER_INITIALIZERS for e in (10, 100)]
    assert len(cells) == 384 and all(0 <= cell <= 100 for cell in cells)


@pytest.mark.parametrize(
    "name,count",
    [("table1", 4 * 2 * 3 * 9), ("table2", 2 * (5 * 8 + 1)), ("depth", 2 * 2 * 3 * 4 + 3 * 4),
     ("width", 2 * 5 * 5 * 8)],
)
def test_quick_profiles_cover_the_papers_grids(name, count):
    experiment = reproduce.get_experiment(name)
    configs = experiment.configurations(experiment.settings("quick"))
    assert len(configs) == count
    assert len({json.dumps(config, sort_keys=True) for config in configs}) == count


def test_odd_sigmoid_column_only_where_the_activation_is_in_its_class():
    experiment = reproduce.get_experiment("table2")
    configs = experiment.configurations(experiment.settings("paper"))
    assert {c["activation"] for c in configs if c["init"] == "odd_sigmoid"} == {"tanh"}


def run_cli(data_dir, out, *args):
    env = dict(os.environ, HOME=str(data_dir.parent / "home"))
    env.pop("KERAS_DETINIT_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, "-m", "keras_detinit.cli", "reproduce", *args, "--data-dir",
         str(data_dir), "--out", str(out), "--no-download"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


SMOKE = {
    "table1": ["--set", 'samples_per_class=["all", 1]', "--set", "hidden=[0, 4]",
               "--set", 'initializers=["epsilon_orthogonal", "sinusoidal"]',
               "--set", 'datasets=["mnist"]', "--set", "epochs_entire=1",
               "--set", "epochs_few_shot=2"],
    "table2": ["--set", "depth=4", "--set", 'activations=["tanh", "relu"]',
               "--set", 'initializers=["epsilon_orthogonal", "odd_sigmoid"]',
               "--set", "epochs=1"],
    "depth": ["--set", "depths=[2]", "--set", "alternating_depths=[4]", "--set", "widths=[4]",
              "--set", 'initializers=["epsilon_orthogonal", "randomized_asymmetric"]',
              "--set", "epochs=2"],
    "width": ["--set", "widths=[2, 3]", "--set", 'initializers=["epsilon_orthogonal"]',
              "--set", 'epochs={"mnist": 1, "fashion_mnist": 1}'],
}
EXPECTED_ROWS = {"table1": 8, "table2": 6, "depth": 6, "width": 8}
PAPER_TEXT = {"table1": "(88.2)", "table2": "(86.7)", "depth": "RAI and GSM work up to 50",
              "width": "(paper 54.3%)"}


@pytest.mark.parametrize("name", sorted(SMOKE))
@pytest.mark.slow
def test_each_experiment_runs_from_the_command_line(name, data_dir, tmp_path, capsys):
    code, output = run_cli(data_dir, tmp_path, name, *SMOKE[name])
    assert code == 0, output[-3000:]
    assert "ETA" in output and "runs to do" in output
    rows = read_rows(tmp_path / "results.csv")
    assert len(rows) == EXPECTED_ROWS[name]
    assert all(0.0 <= float(row["acc_max"]) <= 1.0 for row in rows)
    assert all(parse_curve(row["val_accuracy_curve"]).size >= 1 for row in rows)
    report = (tmp_path / "report.md").read_text()
    assert PAPER_TEXT[name] in report
    assert f"keras-detinit reproduce {name}" in report
    pngs = list((tmp_path / "figures").glob("*.png"))
    assert pngs and all(png.stat().st_size > 1000 for png in pngs)
    for png in pngs:  # every figure is linked from the report
        assert f"figures/{png.name}" in report
    # In-process from here on: a second process start would double the test's time.
    argv = ["reproduce", name, *SMOKE[name], "--data-dir", str(data_dir), "--out",
            str(tmp_path), "--no-download", "--quiet"]
    capsys.readouterr()
    assert cli.main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert cli.main([*argv, "--resume"]) == 0
    assert "0 runs measured" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.cross_backend
def test_backend_option_runs_under_that_backend(data_dir, tmp_path):
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    code, output = run_cli(data_dir, tmp_path, "width", *SMOKE["width"], "--seeds", "1",
                           "--set", "widths=[2]", "--backend", other)
    assert code == 0, output[-3000:]
    assert {row["backend"] for row in read_rows(tmp_path / "results.csv")} == {other}
    assert f"backend {other} on" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    "name,overrides,match",
    [
        ("table1", {"epochs_entire": 0}, "`epochs_entire` must be an integer >= 1"),
        ("table1", {"hidden": [16, -1]}, "`hidden` must be an integer >= 0"),
        ("table1", {"datasets": ["cifar10"]}, "cifar10"),
        ("table1", {"initializers": ["he_normal", "nope"]}, "`initializers`: 'nope'"),
        ("table1", {"initializers": []}, "non-empty list"),
        ("table2", {"activations": ["relu", "swishy"]}, "`activations`: 'swishy'"),
        ("depth", {"depths": [10, 0]}, "`depths` must be an integer >= 1"),
        ("depth", {"alternating_dataset": "cifar10"}, "cifar10"),
        ("width", {"epochs": {"mnist": 3}}, "`epochs` needs a value for every dataset"),
        ("width", {"widths": [2, 2.5]}, "`widths` must be an integer >= 1"),
    ],
)
def test_bad_settings_fail_before_any_run(tmp_path, name, overrides, match):
    with pytest.raises(ValueError, match=match):
        reproduce.reproduce(name, out=tmp_path / "out", overrides=overrides,
                            show_progress=False)
    assert not (tmp_path / "out").exists()
